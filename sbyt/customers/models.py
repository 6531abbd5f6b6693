from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from sbyt.core.timezones import is_valid_time_zone


def validate_time_zone(value: str) -> None:
    from django.core.exceptions import ValidationError

    if not is_valid_time_zone(value):
        raise ValidationError("Неизвестный часовой пояс: %(value)s", params={"value": value})


class Branch(models.Model):
    """A branch of the supplier: its clients, its time zone, its contact-centre numbers and its rules."""

    class LateReadingPolicy(models.TextChoices):
        NEXT_PERIOD = "next_period", "принять и учесть в следующем периоде"
        REFUSE = "refuse", "отказать с указанием дат приёма"

    code = models.CharField("код", max_length=16, unique=True)
    name = models.CharField("название", max_length=200)
    time_zone = models.CharField(
        "часовой пояс", max_length=64, default="Europe/Moscow", validators=[validate_time_zone]
    )
    contact_phones = models.CharField(
        "телефоны контакт-центра", max_length=200, blank=True, help_text="Через запятую, как печатаются в счёте"
    )
    late_reading_policy = models.CharField(
        "показания вне периода приёма",
        max_length=16,
        choices=LateReadingPolicy.choices,
        default=LateReadingPolicy.NEXT_PERIOD,
    )
    implausible_factor = models.DecimalField(
        "порог проверки: кратность среднему расходу",
        max_digits=5,
        decimal_places=2,
        default=5,
        help_text="Reading held for an operator when its daily consumption exceeds this multiple of the average.",
    )
    implausible_floor_kwh = models.PositiveIntegerField("порог проверки: не менее, кВт·ч в месяц", default=1500)
    implausible_floor_m3 = models.PositiveIntegerField("порог проверки: не менее, м³ в месяц", default=30)

    class Meta:
        verbose_name = "филиал"
        verbose_name_plural = "филиалы"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def phones(self) -> list[str]:
        return [p.strip() for p in self.contact_phones.split(",") if p.strip()]


class Customer(models.Model):
    """A client: a person, a sole trader or an organisation."""

    class Kind(models.TextChoices):
        PERSON = "person", "физическое лицо"
        SOLE_TRADER = "sole_trader", "индивидуальный предприниматель"
        ORGANISATION = "organisation", "юридическое лицо"

    kind = models.CharField("вид", max_length=16, choices=Kind.choices, default=Kind.PERSON)
    last_name = models.CharField("фамилия", max_length=100, blank=True)
    first_name = models.CharField("имя", max_length=100, blank=True)
    middle_name = models.CharField("отчество", max_length=100, blank=True)
    birth_date = models.DateField("дата рождения", null=True, blank=True)
    org_name = models.CharField("наименование организации", max_length=300, blank=True)
    inn = models.CharField("ИНН", max_length=12, blank=True)
    phone = models.CharField("мобильный телефон", max_length=16, blank=True, help_text="+7XXXXXXXXXX")
    email = models.EmailField("e-mail", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "клиент"
        verbose_name_plural = "клиенты"
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def display_name(self) -> str:
        if self.kind == self.Kind.ORGANISATION:
            return self.org_name or self.full_name
        return self.full_name or self.org_name


class Account(models.Model):
    """The client number (лицевой счёт / номер клиента) printed on every bill; the login for the cabinet."""

    number = models.CharField(
        "номер клиента",
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d{4,20}$", "Номер клиента состоит из цифр")],
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="accounts")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="accounts")
    opened_on = models.DateField("открыт", null=True, blank=True)
    closed_on = models.DateField("закрыт", null=True, blank=True)

    class Meta:
        verbose_name = "лицевой счёт"
        verbose_name_plural = "лицевые счета"

    def __str__(self) -> str:
        return self.number


class AccountAccess(models.Model):
    """A login's right to an account, granted after proof of ownership."""

    class Proof(models.TextChoices):
        SMS_CODE = "sms_code", "код по SMS на телефон клиента"
        RECOVERY = "recovery", "восстановление по данным клиента"
        OPERATOR = "operator", "оператор контакт-центра или офиса"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_links")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="logins")
    proof = models.CharField(max_length=16, choices=Proof.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "доступ к лицевому счёту"
        verbose_name_plural = "доступы к лицевым счетам"
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="uniq_account_access")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.account_id}"


class Premises(models.Model):
    """The supplied premises: address and what the norm and the tariff group depend on."""

    class StoveType(models.TextChoices):
        GAS = "gas", "газовая плита"
        ELECTRIC = "electric", "электроплита"
        NONE = "none", "нет плиты"

    class Settlement(models.TextChoices):
        URBAN = "urban", "город"
        RURAL = "rural", "сельская местность"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="premises")
    address = models.CharField("адрес", max_length=400)
    residents = models.PositiveSmallIntegerField("проживающих", default=1)
    rooms = models.PositiveSmallIntegerField("комнат", default=1, validators=[MinValueValidator(0)])
    stove_type = models.CharField("плита", max_length=16, choices=StoveType.choices, default=StoveType.GAS)
    settlement = models.CharField("местность", max_length=8, choices=Settlement.choices, default=Settlement.URBAN)
    is_residential = models.BooleanField("жилое помещение", default=True)

    class Meta:
        verbose_name = "помещение"
        verbose_name_plural = "помещения"

    def __str__(self) -> str:
        return self.address


class Contract(models.Model):
    """A supply contract for one resource, with its own number (used in «ПС <договор> <показания>»)."""

    class Resource(models.TextChoices):
        ELECTRICITY = "electricity", "электроэнергия"
        HOT_WATER = "hot_water", "горячая вода"
        COLD_WATER = "cold_water", "холодная вода"

    class Status(models.TextChoices):
        ACTIVE = "active", "действует"
        SUSPENDED = "suspended", "приостановлен"
        TERMINATED = "terminated", "расторгнут"

    number = models.CharField(
        "номер договора",
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d{3,20}$", "Номер договора состоит из цифр")],
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="contracts")
    premises = models.ForeignKey(Premises, on_delete=models.PROTECT, related_name="contracts")
    resource = models.CharField("ресурс", max_length=16, choices=Resource.choices, default=Resource.ELECTRICITY)
    start_date = models.DateField("дата начала")
    end_date = models.DateField("дата окончания", null=True, blank=True)
    status = models.CharField("статус", max_length=16, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        verbose_name = "договор"
        verbose_name_plural = "договоры"

    def __str__(self) -> str:
        return f"№ {self.number} ({self.get_resource_display()})"

    @property
    def unit(self) -> str:
        return "кВт·ч" if self.resource == self.Resource.ELECTRICITY else "м³"


class Consent(models.Model):
    """Consent to personal data processing and its kin (152-ФЗ: a separate document from 01.09.2025)."""

    class Kind(models.TextChoices):
        PERSONAL_DATA = "personal_data", "обработка персональных данных"
        ELECTRONIC_BILLS = "electronic_bills", "счета в электронном виде"
        NOTIFICATIONS = "notifications", "информирование по SMS и e-mail"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    document_version = models.CharField("редакция согласия", max_length=32, default="2025-09")
    channel = models.CharField("где дано", max_length=32, default="cabinet")
    given_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "согласие"
        verbose_name_plural = "согласия"
        indexes = [models.Index(fields=["customer", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.given_at:%d.%m.%Y})"
