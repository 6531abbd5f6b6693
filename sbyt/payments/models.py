"""Payments: the credited payment documents, online orders at a provider, raw provider notifications, bank and post
registries with their suspense lines, autopay mandates, and the registry layouts (configuration as data).

A ``Payment`` is money the supplier has received for an account: written once by ``services`` (or the registry
import in ``registries``), never edited; a refund is a new ``Payment`` of kind «возврат» pointing at the first,
posted from a ``RefundRequest`` (for an online payment only once the provider has returned the money).
``(channel, external_id)`` is unique: a replayed notification or a re-imported registry line credits nothing twice.
Everything inbound is stored raw before it is processed (``ProviderEvent``, ``Registry.content``)."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def money_field(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


class PaymentChannel(models.TextChoices):
    """How the money came (PAY-1)."""

    CARD = "card", "банковская карта онлайн"
    SBP = "sbp", "система быстрых платежей"
    BANK = "bank", "банк (реестр)"
    POST = "post", "почта (реестр)"
    OFFICE = "office", "касса офиса"
    TERMINAL = "terminal", "платёжный терминал"
    TRANSFER = "transfer", "банковский перевод"


ONLINE_CHANNELS = (PaymentChannel.CARD, PaymentChannel.SBP)
REGISTRY_CHANNELS = (PaymentChannel.BANK, PaymentChannel.POST)


class Payment(models.Model):
    """One credited payment (or refund) of one account. Immutable: services only ever insert."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "оплата"
        REFUND = "refund", "возврат"

    kind = models.CharField("вид", max_length=8, choices=Kind.choices, default=Kind.PAYMENT)
    channel = models.CharField("способ оплаты", max_length=8, choices=PaymentChannel.choices)
    external_id = models.CharField(
        "идентификатор у источника", max_length=100, help_text="Provider's payment id, registry file and line, …"
    )
    # Indexes (Meta): a registry writes 100 000 payments at a time, so no index is kept twice — the account's and the
    # registry's are the leading columns of the composite ones — and the links empty on most rows are indexed only
    # where set.
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="payments", db_index=False)
    contract = models.ForeignKey(
        "customers.Contract", null=True, blank=True, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    amount = money_field("сумма, ₽", validators=[MinValueValidator(0)])
    period = models.DateField("период, указанный плательщиком", null=True, blank=True)
    paid_at = models.DateTimeField("оплачено")
    paid_on = models.DateField("дата операции", help_text="The day of payment in the account's local time")
    credited_at = models.DateTimeField("зачислено", default=timezone.now)
    payer = models.CharField("плательщик", max_length=200, blank=True)
    intent = models.ForeignKey(
        "PaymentIntent", null=True, blank=True, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    registry = models.ForeignKey(
        "Registry", null=True, blank=True, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    line_no = models.PositiveIntegerField("строка реестра", null=True, blank=True)
    refund_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
        verbose_name="возврат платежа",
        db_index=False,
    )
    actor_label = models.CharField("кем принят", max_length=120, blank=True)
    note = models.CharField("примечание", max_length=300, blank=True)

    class Meta:
        verbose_name = "платёж"
        verbose_name_plural = "платежи"
        ordering = ["-paid_at", "-id"]
        indexes = [
            models.Index(fields=["account", "paid_at"]),
            models.Index(fields=["registry", "line_no"]),
            models.Index(fields=["contract"], name="payment_contract_idx", condition=Q(contract__isnull=False)),
            models.Index(fields=["intent"], name="payment_intent_idx", condition=Q(intent__isnull=False)),
            models.Index(fields=["refund_of"], name="payment_refund_of_idx", condition=Q(refund_of__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="uniq_payment_source"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        permissions = [
            ("take_payment", "Принимать оплату в кассе офиса"),
            ("refund_payment", "Оформлять возврат платежа"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ₽ ({self.account_id}, {self.paid_on:%d.%m.%Y})"

    @property
    def signed_amount(self):
        return -self.amount if self.kind == self.Kind.REFUND else self.amount


class PaymentIntent(models.Model):
    """An online payment order at a provider: several accounts in one payment, its state as the provider reports it.
    Payments are credited from it once, when the provider's API confirms success."""

    class Status(models.TextChoices):
        CREATED = "created", "создан"
        PENDING = "pending", "ожидает оплаты"
        SUCCEEDED = "succeeded", "оплачен и зачислен"
        CANCELED = "canceled", "отменён"
        FAILED = "failed", "не удалось создать"

    class Source(models.TextChoices):
        CABINET = "cabinet", "личный кабинет"
        PUBLIC = "public", "сайт без входа"
        APP = "app", "мобильное приложение"
        AUTOPAY = "autopay", "автоплатёж"

    token = models.UUIDField("номер заказа", default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField("платёжный сервис", max_length=16)
    provider_payment_id = models.CharField("идентификатор платежа у сервиса", max_length=64, blank=True)
    method = models.CharField(
        "способ", max_length=8, choices=[(c.value, c.label) for c in ONLINE_CHANNELS], default=PaymentChannel.CARD
    )
    amount = money_field("сумма, ₽")
    status = models.CharField("состояние", max_length=10, choices=Status.choices, default=Status.CREATED)
    source = models.CharField("откуда", max_length=8, choices=Source.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField("e-mail для подтверждения", blank=True)
    phone = models.CharField("телефон для подтверждения", max_length=16, blank=True)
    save_method = models.BooleanField("сохранить карту для автоплатежа", default=False)
    mandate = models.ForeignKey(
        "AutopayMandate", null=True, blank=True, on_delete=models.PROTECT, related_name="intents"
    )
    autopay_period = models.DateField("период автоплатежа", null=True, blank=True)
    confirmation_url = models.URLField("страница оплаты", max_length=500, blank=True)
    payment_method_id = models.CharField("сохранённый способ оплаты", max_length=64, blank=True)
    payment_method_title = models.CharField("карта", max_length=64, blank=True)
    cancel_reason = models.CharField("причина отмены", max_length=100, blank=True)
    error = models.CharField("ошибка", max_length=300, blank=True)
    created_at = models.DateTimeField("создан", default=timezone.now)
    checked_at = models.DateTimeField("проверен у сервиса", null=True, blank=True)
    checks = models.PositiveIntegerField("проверок", default=0)
    paid_at = models.DateTimeField("оплачен", null=True, blank=True)
    credited_at = models.DateTimeField("зачислен", null=True, blank=True)

    class Meta:
        verbose_name = "онлайн-платёж (заказ)"
        verbose_name_plural = "онлайн-платежи (заказы)"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "checked_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_payment_id"],
                condition=~Q(provider_payment_id=""),
                name="uniq_intent_provider_payment",
            ),
            models.UniqueConstraint(
                fields=["mandate", "autopay_period"],
                condition=Q(mandate__isnull=False) & ~Q(status__in=["failed", "canceled"]),
                name="one_autopay_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.token} ({self.get_status_display()}, {self.amount} ₽)"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.CANCELED, self.Status.FAILED)


class IntentItem(models.Model):
    """One account in an online payment, with its share of the amount and the period it pays for."""

    intent = models.ForeignKey(PaymentIntent, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="+")
    amount = money_field("сумма, ₽")
    period = models.DateField("период", null=True, blank=True)

    class Meta:
        verbose_name = "лицевой счёт в онлайн-платеже"
        verbose_name_plural = "лицевые счета в онлайн-платеже"
        ordering = ["intent", "id"]
        constraints = [models.UniqueConstraint(fields=["intent", "account"], name="uniq_intent_account")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount}"


class ProviderEvent(models.Model):
    """A notification (webhook) from a payment provider, stored raw before anything is done with it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "получено"
        PROCESSED = "processed", "обработано"
        IGNORED = "ignored", "не относится к нашим платежам"
        REFUSED = "refused", "отклонено (не от сервиса)"
        FAILED = "failed", "ошибка обработки"

    provider = models.CharField("платёжный сервис", max_length=16)
    key = models.CharField("ключ", max_length=200, help_text="event, object id and a hash of the body")
    event = models.CharField("событие", max_length=64, blank=True)
    object_id = models.CharField("идентификатор платежа", max_length=64, blank=True)
    body = models.TextField("тело запроса")
    remote_ip = models.GenericIPAddressField("адрес отправителя", null=True, blank=True)
    received_at = models.DateTimeField("получено", default=timezone.now)
    status = models.CharField("состояние", max_length=10, choices=Status.choices, default=Status.RECEIVED)
    note = models.CharField("примечание", max_length=300, blank=True)
    repeats = models.PositiveIntegerField("повторов", default=0)
    intent = models.ForeignKey(PaymentIntent, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")

    class Meta:
        verbose_name = "уведомление платёжного сервиса"
        verbose_name_plural = "уведомления платёжных сервисов"
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "key"], name="uniq_provider_event")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event} {self.object_id}"


class RefundRequest(models.Model):
    """A staff refund of a payment. For an online payment (card, SBP) the provider is asked to return the money to the
    card; the refund document (a ``Payment`` of kind «возврат», ``document``) is posted only when the provider reports
    it succeeded. For any other payment the money goes back outside Sbyt and the document is posted at once.
    ``idempotence_key`` is the refund form's own key: the same form submitted twice is one refund."""

    class Status(models.TextChoices):
        CREATED = "created", "отправляется в платёжный сервис"
        PENDING = "pending", "выполняется платёжным сервисом"
        SUCCEEDED = "succeeded", "выполнен"
        CANCELED = "canceled", "отклонён платёжным сервисом"
        FAILED = "failed", "не выполнен"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refund_requests")
    idempotence_key = models.UUIDField("ключ идемпотентности", unique=True)
    provider = models.CharField(
        "платёжный сервис", max_length=16, blank=True, help_text="Empty: the money goes back outside Sbyt"
    )
    provider_refund_id = models.CharField("идентификатор возврата у сервиса", max_length=64, blank=True)
    amount = money_field("сумма, ₽", validators=[MinValueValidator(0)])
    reason = models.CharField("причина", max_length=300)
    status = models.CharField("состояние", max_length=10, choices=Status.choices, default=Status.CREATED)
    cancel_reason = models.CharField("причина отказа сервиса", max_length=100, blank=True)
    error = models.CharField("ошибка", max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField("кем оформлен", max_length=120, blank=True)
    created_at = models.DateTimeField("оформлен", default=timezone.now)
    checked_at = models.DateTimeField("проверен у сервиса", null=True, blank=True)
    checks = models.PositiveIntegerField("обращений к сервису", default=0)
    finished_at = models.DateTimeField("завершён", null=True, blank=True)
    document = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="документ возврата"
    )

    class Meta:
        verbose_name = "возврат платежа (заявка)"
        verbose_name_plural = "возвраты платежей (заявки)"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "checked_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_refund_id"],
                condition=~Q(provider_refund_id=""),
                name="uniq_refund_provider_id",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ₽ ({self.get_status_display()})"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.CANCELED, self.Status.FAILED)

    @property
    def online(self) -> bool:
        return bool(self.provider)


class AutopayMandate(models.Model):
    """A client's consent to charge a saved card for an account's bills (PAY-5): the limit per charge, the day of
    the month, the consent's text version; cancelled at any time."""

    class Status(models.TextChoices):
        AWAITING_CARD = "awaiting", "ожидает привязки карты"
        ACTIVE = "active", "действует"
        CANCELLED = "cancelled", "отключён"

    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="autopay_mandates")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    provider = models.CharField("платёжный сервис", max_length=16)
    payment_method_id = models.CharField("сохранённый способ оплаты", max_length=64, blank=True)
    card_title = models.CharField("карта", max_length=64, blank=True)
    limit = money_field("лимит списания, ₽", validators=[MinValueValidator(1)])
    day = models.PositiveSmallIntegerField(
        "число месяца", default=12, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    consent_version = models.CharField("редакция согласия", max_length=32)
    consent_given_at = models.DateTimeField("согласие дано")
    consent_channel = models.CharField("где дано согласие", max_length=16, default="cabinet")
    status = models.CharField("состояние", max_length=10, choices=Status.choices, default=Status.AWAITING_CARD)
    created_at = models.DateTimeField("создан", default=timezone.now)
    cancelled_at = models.DateTimeField("отключён", null=True, blank=True)
    last_period = models.DateField("последний оплаченный период", null=True, blank=True)
    last_result = models.CharField("последний результат", max_length=300, blank=True)

    class Meta:
        verbose_name = "автоплатёж"
        verbose_name_plural = "автоплатежи"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(status__in=["awaiting", "active"]), name="one_live_autopay_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.get_status_display()}"


class RegistryFormat(models.Model):
    """The layout of a payment agent's registry file (DOMAIN: no national format, each agreement brings its own).

    ``fields``: the names of the ``;``-separated fields in order, from ``date``, ``time``, ``datetime``,
    ``account``, ``name``, ``address``, ``period``, ``amount``, ``transfer``, ``commission``, ``operation``,
    ``-`` (ignored) and ``extras`` (this field and every one after it are tagged extras such as
    ``CounterVal_1:12345``). ``trailer_fields`` name the fields of the totals line after its prefix."""

    code = models.SlugField("код", max_length=32, unique=True)
    name = models.CharField("название", max_length=200)
    channel = models.CharField(
        "канал", max_length=8, choices=[(c.value, c.label) for c in REGISTRY_CHANNELS], default=PaymentChannel.BANK
    )
    encoding = models.CharField("кодировка", max_length=16, default="cp1251")
    delimiter = models.CharField("разделитель полей", max_length=1, default=";")
    fields = models.CharField(
        "поля строки",
        max_length=400,
        default="date,time,-,-,-,account,name,address,period,amount,transfer,commission,extras",
    )
    date_format = models.CharField("формат даты", max_length=32, default="%d-%m-%Y")
    time_format = models.CharField("формат времени", max_length=32, default="%H-%M-%S", blank=True)
    period_format = models.CharField("формат периода", max_length=32, default="%m%y", blank=True)
    time_zone = models.CharField("часовой пояс дат реестра", max_length=64, default="Europe/Moscow")
    header_lines = models.PositiveSmallIntegerField("строк заголовка", default=0)
    trailer_prefix = models.CharField("начало итоговой строки", max_length=8, default="=", blank=True)
    trailer_fields = models.CharField(
        "поля итоговой строки", max_length=200, default="count,amount,transfer,commission"
    )
    reading_tag = models.CharField("метка показаний", max_length=32, default="CounterVal")
    active = models.BooleanField("используется", default=True)

    class Meta:
        verbose_name = "формат реестра"
        verbose_name_plural = "форматы реестров"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Registry(models.Model):
    """A registry file from a bank or the post, stored as received (``content``), then checked and imported."""

    class Status(models.TextChoices):
        RECEIVED = "received", "получен"
        IMPORTING = "importing", "загружается"
        IMPORTED = "imported", "загружен"
        REFUSED = "refused", "отклонён"
        FAILED = "failed", "ошибка загрузки"

    format = models.ForeignKey(RegistryFormat, on_delete=models.PROTECT, related_name="registries")
    channel = models.CharField("канал", max_length=8, choices=[(c.value, c.label) for c in REGISTRY_CHANNELS])
    file_name = models.CharField("файл", max_length=255)
    sha256 = models.CharField("контрольная сумма SHA-256", max_length=64, unique=True)
    size = models.PositiveIntegerField("размер, байт")
    content = models.BinaryField("содержимое файла")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField("кем загружен", max_length=120, blank=True)
    received_at = models.DateTimeField("получен", default=timezone.now)
    status = models.CharField("состояние", max_length=10, choices=Status.choices, default=Status.RECEIVED)
    refusal = models.CharField("причина отказа", max_length=500, blank=True)
    declared_count = models.PositiveIntegerField("строк по итогу реестра", null=True, blank=True)
    declared_amount = money_field("сумма по итогу реестра", null=True, blank=True)
    lines = models.PositiveIntegerField("строк платежей", default=0)
    lines_amount = money_field("сумма строк", default=0)
    processed = models.PositiveIntegerField("обработано строк", default=0)
    payments_count = models.PositiveIntegerField("зачислено платежей", default=0)
    payments_amount = money_field("зачислено, ₽", default=0)
    suspense_count = models.PositiveIntegerField("невыясненных", default=0)
    suspense_amount = money_field("невыясненных, ₽", default=0)
    duplicate_count = models.PositiveIntegerField("уже зачисленных ранее", default=0)
    broken_count = models.PositiveIntegerField("ошибочных строк", default=0)
    readings_count = models.PositiveIntegerField("показаний", default=0)
    readings_accepted = models.PositiveIntegerField("показаний принято", default=0)
    problems = models.JSONField("ошибки строк", default=list, blank=True)
    reading_notes = models.JSONField("непринятые показания", default=list, blank=True)
    started_at = models.DateTimeField("начат", null=True, blank=True)
    finished_at = models.DateTimeField("завершён", null=True, blank=True)

    class Meta:
        verbose_name = "реестр платежей"
        verbose_name_plural = "реестры платежей"
        ordering = ["-received_at", "-id"]
        permissions = [
            ("import_registry", "Загружать реестры платежей"),
            ("resolve_suspense", "Разносить невыясненные платежи"),
            ("export_debt_registry", "Выгружать реестр задолженности для банков"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status in (self.Status.IMPORTED, self.Status.REFUSED):
            return 100
        return min(100, int(self.processed * 100 / self.lines)) if self.lines else 0

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.RECEIVED, self.Status.IMPORTING)

    @property
    def totals_match(self) -> bool | None:
        if self.declared_count is None:
            return None
        return self.declared_count == self.lines and self.declared_amount == self.lines_amount


class SuspenseItem(models.Model):
    """A registry line whose account was not found (невыясненный платёж): waits for an operator to assign it."""

    class Status(models.TextChoices):
        OPEN = "open", "не разнесён"
        ASSIGNED = "assigned", "разнесён"
        RETURNED = "returned", "возвращён плательщику"

    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="suspense_items")
    line_no = models.PositiveIntegerField("строка реестра")
    account_text = models.CharField("указанный лицевой счёт", max_length=100, blank=True)
    payer = models.CharField("плательщик", max_length=200, blank=True)
    address = models.CharField("адрес", max_length=300, blank=True)
    amount = money_field("сумма, ₽")
    period = models.DateField("период", null=True, blank=True)
    paid_at = models.DateTimeField("оплачено")
    raw = models.CharField("строка", max_length=1000, blank=True)
    status = models.CharField("состояние", max_length=10, choices=Status.choices, default=Status.OPEN)
    payment = models.OneToOneField(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField("разнесён", null=True, blank=True)
    note = models.CharField("комментарий", max_length=300, blank=True)

    class Meta:
        verbose_name = "невыясненный платёж"
        verbose_name_plural = "невыясненные платежи"
        ordering = ["status", "paid_at", "id"]
        constraints = [models.UniqueConstraint(fields=["registry", "line_no"], name="uniq_suspense_line")]

    def __str__(self) -> str:
        return f"{self.account_text or '—'}: {self.amount} ₽"


class SandboxCharge(models.Model):
    """The sandbox provider's own book: what the pretend bank knows about a payment (demo and tests only)."""

    class Status(models.TextChoices):
        PENDING = "pending", "ожидает"
        SUCCEEDED = "succeeded", "успешно"
        CANCELED = "canceled", "отменён"

    id = models.CharField(primary_key=True, max_length=40)
    amount = money_field("сумма, ₽")
    description = models.CharField("назначение", max_length=200, blank=True)
    return_url = models.CharField("адрес возврата", max_length=500, blank=True)
    method = models.CharField("способ", max_length=8, default="card")
    save_method = models.BooleanField(default=False)
    payment_method_id = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    cancel_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "платёж песочницы"
        verbose_name_plural = "платежи песочницы"

    def __str__(self) -> str:
        return self.id


class SandboxRefund(models.Model):
    """The sandbox provider's refunds of its payments (demo and tests only)."""

    class Status(models.TextChoices):
        PENDING = "pending", "выполняется"
        SUCCEEDED = "succeeded", "выполнен"
        CANCELED = "canceled", "отклонён"

    id = models.CharField(primary_key=True, max_length=40)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="refunds")
    idempotence_key = models.CharField(max_length=64, unique=True)
    amount = money_field("сумма, ₽")
    description = models.CharField("основание", max_length=250, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    cancel_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "возврат песочницы"
        verbose_name_plural = "возвраты песочницы"

    def __str__(self) -> str:
        return self.id
