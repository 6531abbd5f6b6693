"""Billing: tariffs and norms (configuration as data), billing runs, charges, the ledger and issued bills.

Configuration an administrator edits: tariffs with their prices, zone hours, consumption norms, the key-rate
history, penalty moratoria, due days, the payee details printed on bills, a contract's tariff group when it is
not the one its premises imply. Records of what happened (runs, charges, ledger entries, invoices) are written
only by the services in ``run.py`` / ``services.py``; amounts are never edited — a correction is a new row.

Money is Decimal: rubles with 2 places, prices with 6, volumes (kWh, m³) with 2 in computed charges.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property

from sbyt.core.fields import DocumentField
from sbyt.customers.models import Contract, Premises

RESOURCE_CHOICES = Contract.Resource.choices
ZONES_CHOICES = [(1, "однотарифный"), (2, "двухзонный"), (3, "трёхзонный")]
UNITS = {"electricity": "кВт·ч", "hot_water": "м³", "cold_water": "м³"}


def money_field(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=0, **kwargs)


def volume_field(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=0, **kwargs)


def _check_validity(valid_from, valid_to) -> None:
    if valid_to and valid_from and valid_to < valid_from:
        raise ValidationError("Дата окончания действия раньше даты начала.")


# --------------------------------------------------------------------------------------------------- tariffs


class TariffGroup(models.TextChoices):
    """Tariff groups of household consumers (regional tariff orders) and the rest."""

    URBAN_GAS = "urban_gas", "население (город, газовые плиты)"
    URBAN_ELECTRIC = "urban_electric", "население (город, электроплиты, электроотопление)"
    RURAL = "rural", "население (сельская местность)"
    EQUATED = "equated", "приравненные к населению категории"
    OTHER = "other", "прочие потребители"
    ANY = "any", "все группы"


class Tariff(models.Model):
    """Prices of one resource for one tariff group and meter type in a branch's region, valid for dated days.

    Zones follow the meter's registers: 1 — single rate; 2 — day (t1), night (t2); 3 — peak (t1), semi-peak
    (t2), night (t3). Volume ranges: the part of a month's volume up to ``range1_upto`` is priced at range 1,
    the part up to ``range2_upto`` at range 2, the rest at range 3 (marginal). No limits: one range."""

    branch = models.ForeignKey("customers.Branch", on_delete=models.PROTECT, related_name="tariffs")
    resource = models.CharField("ресурс", max_length=16, choices=RESOURCE_CHOICES, default="electricity")
    group = models.CharField("тарифная группа", max_length=16, choices=TariffGroup.choices)
    zones = models.PositiveSmallIntegerField("зон суток", choices=ZONES_CHOICES, default=1)
    valid_from = models.DateField("действует с")
    valid_to = models.DateField("действует по", null=True, blank=True)
    range1_upto = models.DecimalField(
        "1-й диапазон объёма: до (в месяц)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    range2_upto = models.DecimalField(
        "2-й диапазон объёма: до (в месяц)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    source = models.CharField("основание", max_length=300, blank=True, help_text="Приказ органа регулирования")

    class Meta:
        verbose_name = "тариф"
        verbose_name_plural = "тарифы"
        ordering = ["branch", "resource", "group", "zones", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "resource", "group", "zones", "valid_from"], name="uniq_tariff")
        ]

    def __str__(self) -> str:
        return f"{self.get_group_display()}, {self.get_zones_display()}, с {self.valid_from:%d.%m.%Y}"

    @property
    def ranges(self) -> int:
        return 1 + (self.range1_upto is not None) + (self.range2_upto is not None)

    def clean(self):
        _check_validity(self.valid_from, self.valid_to)
        if self.range2_upto is not None and self.range1_upto is None:
            raise ValidationError("Второй диапазон задаётся только вместе с первым.")
        if self.range1_upto is not None and self.range2_upto is not None and self.range2_upto <= self.range1_upto:
            raise ValidationError("Граница второго диапазона должна быть больше границы первого.")
        if self.resource != "electricity" and self.zones != 1:
            raise ValidationError("Вода тарифицируется без зон суток.")


class TariffPrice(models.Model):
    """The price of one zone and one volume range of a tariff, per unit (kWh or m³), VAT included."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="prices")
    zone = models.PositiveSmallIntegerField("зона", validators=[MinValueValidator(1), MaxValueValidator(3)])
    range_no = models.PositiveSmallIntegerField(
        "диапазон", default=1, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    price = models.DecimalField(
        "цена за единицу, ₽", max_digits=12, decimal_places=6, validators=[MinValueValidator(0)]
    )

    class Meta:
        verbose_name = "цена тарифа"
        verbose_name_plural = "цены тарифа"
        ordering = ["tariff", "zone", "range_no"]
        constraints = [models.UniqueConstraint(fields=["tariff", "zone", "range_no"], name="uniq_tariff_price")]

    def __str__(self) -> str:
        return f"зона {self.zone}, диапазон {self.range_no}: {self.price}"


class ZoneHours(models.Model):
    """Hours of a day zone in local time, start inclusive, end exclusive (an interval may cross midnight)."""

    branch = models.ForeignKey("customers.Branch", on_delete=models.CASCADE, related_name="zone_hours")
    zones = models.PositiveSmallIntegerField("зон суток", choices=ZONES_CHOICES[1:])
    zone = models.PositiveSmallIntegerField("зона", validators=[MinValueValidator(1), MaxValueValidator(3)])
    starts = models.TimeField("с")
    ends = models.TimeField("до")
    valid_from = models.DateField("действует с", default=dt.date(2000, 1, 1))
    valid_to = models.DateField("действует по", null=True, blank=True)

    class Meta:
        verbose_name = "часы зоны суток"
        verbose_name_plural = "часы зон суток"
        ordering = ["branch", "zones", "zone", "starts"]

    def __str__(self) -> str:
        return f"{self.zones} зоны, зона {self.zone}: {self.starts:%H:%M}–{self.ends:%H:%M}"

    def clean(self):
        _check_validity(self.valid_from, self.valid_to)
        if self.zone > self.zones:
            raise ValidationError("Номер зоны больше числа зон.")
        if self.starts == self.ends:
            raise ValidationError("Начало и конец зоны совпадают.")


class ConsumptionNorm(models.Model):
    """A regional consumption norm per person per month (ПП 354: billing without readings, after the average).

    Matched by resource, stove type, rooms and residents; an empty stove type or 0 rooms / residents matches any;
    the largest number of rooms (residents) in the table also covers more."""

    branch = models.ForeignKey("customers.Branch", on_delete=models.CASCADE, related_name="consumption_norms")
    resource = models.CharField("ресурс", max_length=16, choices=RESOURCE_CHOICES, default="electricity")
    stove_type = models.CharField(
        "плита", max_length=16, choices=Premises.StoveType.choices, blank=True, help_text="Пусто — любая"
    )
    rooms = models.PositiveSmallIntegerField("комнат", default=0, help_text="0 — любое число")
    residents = models.PositiveSmallIntegerField("проживающих", default=0, help_text="0 — любое число")
    per_person = models.DecimalField(
        "норматив на 1 человека в месяц", max_digits=10, decimal_places=3, validators=[MinValueValidator(0)]
    )
    valid_from = models.DateField("действует с", default=dt.date(2000, 1, 1))
    valid_to = models.DateField("действует по", null=True, blank=True)
    source = models.CharField("основание", max_length=300, blank=True)

    class Meta:
        verbose_name = "норматив потребления"
        verbose_name_plural = "нормативы потребления"
        ordering = ["branch", "resource", "stove_type", "rooms", "residents", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["branch", "resource", "stove_type", "rooms", "residents", "valid_from"], name="uniq_norm"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_resource_display()}: {self.per_person} на человека"

    def clean(self):
        _check_validity(self.valid_from, self.valid_to)


class ContractTariffGroup(models.Model):
    """A contract's tariff group set by hand (e.g. an equated category), instead of the one its premises imply."""

    contract = models.OneToOneField("customers.Contract", on_delete=models.CASCADE, related_name="tariff_group")
    group = models.CharField("тарифная группа", max_length=16, choices=TariffGroup.choices)
    note = models.CharField("основание", max_length=300, blank=True)

    class Meta:
        verbose_name = "тарифная группа договора"
        verbose_name_plural = "тарифные группы договоров"

    def __str__(self) -> str:
        return f"{self.contract_id}: {self.get_group_display()}"


# --------------------------------------------------------------------------------------- penalties and dues


class KeyRate(models.Model):
    """The Bank of Russia key rate from a date (ЖК РФ ст. 155 ч. 14 refers to it)."""

    valid_from = models.DateField("действует с", unique=True)
    rate = models.DecimalField("ставка, % годовых", max_digits=5, decimal_places=2, validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = "ключевая ставка ЦБ РФ"
        verbose_name_plural = "ключевая ставка ЦБ РФ"
        ordering = ["-valid_from"]

    def __str__(self) -> str:
        return f"{self.rate} % с {self.valid_from:%d.%m.%Y}"


class PenaltyMoratorium(models.Model):
    """A decree suspending penalties (zero rate) or capping the rate on the days it covers."""

    class Kind(models.TextChoices):
        ZERO = "zero", "пени не начисляются"
        CAP = "cap", "ставка ограничена"

    class Mode(models.TextChoices):
        LOWER_OF = "lower_of", "наименьшая из ключевой и предельной"
        FIXED = "fixed", "предельная ставка вместо ключевой"

    starts = models.DateField("с")
    ends = models.DateField("по")
    kind = models.CharField("вид", max_length=8, choices=Kind.choices)
    cap_rate = models.DecimalField("предельная ставка, %", max_digits=5, decimal_places=2, null=True, blank=True)
    mode = models.CharField("применение", max_length=8, choices=Mode.choices, default=Mode.LOWER_OF)
    basis = models.CharField("основание", max_length=300, blank=True)

    class Meta:
        verbose_name = "мораторий на пени"
        verbose_name_plural = "моратории на пени"
        ordering = ["starts"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.starts:%d.%m.%Y}–{self.ends:%d.%m.%Y}"

    def clean(self):
        if self.ends < self.starts:
            raise ValidationError("Дата окончания раньше даты начала.")
        if self.kind == self.Kind.CAP and self.cap_rate is None:
            raise ValidationError("Укажите предельную ставку.")


class DueDay(models.Model):
    """The day of the next month by which a period's bill is to be paid, from a date (ЖК РФ ст. 155 ч. 1)."""

    class Payer(models.TextChoices):
        HOUSEHOLD = "household", "граждане"
        BUSINESS = "business", "организации и предприниматели"

    payer = models.CharField("плательщики", max_length=16, choices=Payer.choices, default=Payer.HOUSEHOLD)
    day = models.PositiveSmallIntegerField("число", validators=[MinValueValidator(1), MaxValueValidator(28)])
    valid_from = models.DateField("для сроков оплаты с")
    basis = models.CharField("основание", max_length=300, blank=True)

    class Meta:
        verbose_name = "срок оплаты"
        verbose_name_plural = "сроки оплаты"
        ordering = ["payer", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["payer", "valid_from"], name="uniq_due_day")]

    def __str__(self) -> str:
        return f"{self.get_payer_display()}: до {self.day}-го с {self.valid_from:%d.%m.%Y}"


class BillingSettings(models.Model):
    """A branch's bill settings: the payee's bank details printed on bills and encoded in the payment QR code, the
    other service channels printed under the contact-centre phone (BIL-3), and when the periodic loop bills."""

    branch = models.OneToOneField("customers.Branch", on_delete=models.CASCADE, related_name="billing_settings")
    payee_name = models.CharField("получатель платежа", max_length=160)
    inn = models.CharField("ИНН", max_length=12, validators=[RegexValidator(r"^\d{10}$|^\d{12}$", "10 или 12 цифр")])
    kpp = models.CharField("КПП", max_length=9, blank=True, validators=[RegexValidator(r"^\d{9}$", "9 цифр")])
    account = models.CharField("расчётный счёт", max_length=20, validators=[RegexValidator(r"^\d{20}$", "20 цифр")])
    bank_name = models.CharField("банк", max_length=160)
    bic = models.CharField("БИК", max_length=9, validators=[RegexValidator(r"^\d{9}$", "9 цифр")])
    corr_account = models.CharField(
        "корреспондентский счёт", max_length=20, validators=[RegexValidator(r"^\d{20}$", "20 цифр")]
    )
    purpose = models.CharField("назначение платежа", max_length=210, default="Оплата за электроэнергию")
    address = models.CharField("адрес поставщика", max_length=300, blank=True)
    channels = models.TextField(
        "другие каналы обслуживания",
        blank=True,
        help_text="По одному на строку, как печатаются в счёте: «Личный кабинет: lk.example.ru»",
    )
    auto_run = models.BooleanField("расчёт по расписанию", default=True)
    run_day = models.PositiveSmallIntegerField(
        "день расчёта",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Пусто — на следующий день после окончания приёма показаний",
    )

    class Meta:
        verbose_name = "настройки счетов филиала"
        verbose_name_plural = "настройки счетов филиалов"

    def __str__(self) -> str:
        return f"{self.payee_name} ({self.branch})"

    @property
    def channel_lines(self) -> list[str]:
        return [line.strip() for line in self.channels.splitlines() if line.strip()]

    def payee(self) -> dict:
        """The payee block of a bill's snapshot (printed and QR-encoded)."""
        return {
            "name": self.payee_name,
            "inn": self.inn,
            "kpp": self.kpp,
            "account": self.account,
            "bank_name": self.bank_name,
            "bic": self.bic,
            "corr_account": self.corr_account,
            "purpose": self.purpose,
            "address": self.address,
        }


def bill_header(branch, settings: BillingSettings | None) -> dict:
    """What every bill of a branch prints the same: the branch and its phones, the other channels, the payee (None
    without bill settings). Stored once per billing run (``BillingRun.header``, fixed when the run starts); documents
    on request build it afresh."""
    return {
        "branch": {"code": branch.code, "name": branch.name, "phones": branch.phones},
        "channels": settings.channel_lines if settings else [],
        "payee": settings.payee() if settings else None,
    }


class BillDelivery(models.Model):
    """How a client gets bills (CAB-11, BIL-4). No row: on paper."""

    class Method(models.TextChoices):
        PAPER = "paper", "на бумаге (почтой)"
        EMAIL = "email", "по электронной почте"
        CABINET = "cabinet", "только в личном кабинете"

    account = models.OneToOneField("customers.Account", on_delete=models.CASCADE, related_name="bill_delivery")
    method = models.CharField("способ доставки счёта", max_length=8, choices=Method.choices, default=Method.PAPER)
    email = models.EmailField("e-mail для счетов", blank=True, help_text="Пусто — e-mail клиента")
    changed_at = models.DateTimeField("изменён", auto_now=True)
    changed_by = models.CharField("кем изменён", max_length=120, blank=True)

    class Meta:
        verbose_name = "доставка счетов"
        verbose_name_plural = "доставка счетов"

    def __str__(self) -> str:
        return f"{self.account_id}: {self.get_method_display()}"


# ----------------------------------------------------------------------------------------------- the records


class Method(models.TextChoices):
    """How a charge's volume was found (DOMAIN: billing without readings and recalculation)."""

    READING = "reading", "по показаниям"
    AVERAGE = "average", "по среднемесячному"
    NORM = "norm", "по нормативу"
    RECALCULATION = "recalculation", "перерасчёт по показаниям"


ESTIMATED = (Method.AVERAGE, Method.NORM)


class BillingRun(models.Model):
    """One billing of a branch for a period: progress, a cursor to resume from, and what it did."""

    class State(models.TextChoices):
        PENDING = "pending", "ожидает запуска"
        RUNNING = "running", "выполняется"
        FAILED = "failed", "прерван с ошибкой"
        DONE = "done", "завершён"

    branch = models.ForeignKey("customers.Branch", on_delete=models.PROTECT, related_name="billing_runs")
    period = models.DateField("расчётный период")
    state = models.CharField("состояние", max_length=8, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField("создан", auto_now_add=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField("кем запущен", max_length=120, blank=True)
    started_at = models.DateTimeField("начат", null=True, blank=True)
    finished_at = models.DateTimeField("завершён", null=True, blank=True)
    heartbeat_at = models.DateTimeField("последний шаг", null=True, blank=True)
    worker = models.CharField("обработчик", max_length=64, blank=True)
    cursor = models.BigIntegerField("обработано до лицевого счёта (id)", default=0)
    total = models.PositiveIntegerField("лицевых счетов", default=0)
    processed = models.PositiveIntegerField("обработано", default=0)
    chunk_size = models.PositiveIntegerField("размер порции", default=2000)
    penalty_as_of = models.DateField("пени по состоянию на", null=True, blank=True)
    stats = models.JSONField("итоги", default=dict, blank=True)
    header = models.JSONField(
        "шапка счетов",
        null=True,
        blank=True,
        help_text="What every bill of the run prints the same (branch, channels, payee): stored here once, when the "
        "run starts, instead of in each bill (see Invoice.snapshot)",
    )
    error = models.TextField("ошибка", blank=True)
    delivery_planned_at = models.DateTimeField(
        "счета переданы в доставку",
        null=True,
        blank=True,
        help_text="When the e-mails of the bills it issued were planned and their print batch requested",
    )

    class Meta:
        verbose_name = "расчёт начислений"
        verbose_name_plural = "расчёты начислений"
        ordering = ["-created_at", "-id"]
        permissions = [("run_billing", "Запускать расчёт начислений")]
        constraints = [
            # One unfinished run per branch and period: a failed one is resumed, not started again beside it.
            models.UniqueConstraint(
                fields=["branch", "period"],
                condition=Q(state__in=["pending", "running", "failed"]),
                name="one_open_billing_run",
            )
        ]

    def __str__(self) -> str:
        return f"{self.branch} — {self.period:%m.%Y} ({self.get_state_display()})"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.processed * 100 / self.total))

    @property
    def is_open(self) -> bool:
        return self.state != self.State.DONE


class Charge(models.Model):
    """What a contract is charged for a period: the method, the volumes per zone and per range, the priced lines.

    ``kind``: the period's first charge, or an adjustment a later run added when the computation changed (the
    difference; an issued bill is never edited). The period's effective volume is the sum of its charges; its
    effective method is the latest charge's."""

    class Kind(models.TextChoices):
        PRIMARY = "primary", "начисление"
        ADJUSTMENT = "adjustment", "перерасчёт"

    # Internal references of the million-row tables carry no database constraint or index of their own (written by
    # the run in one transaction with what they point at); the composite indexes below serve every lookup.
    run = models.ForeignKey(
        BillingRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        db_constraint=False,
        db_index=False,
    )
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="charges", db_index=False)
    contract = models.ForeignKey("customers.Contract", on_delete=models.PROTECT, related_name="charges", db_index=False)
    period = models.DateField("расчётный период")
    kind = models.CharField("вид", max_length=12, choices=Kind.choices, default=Kind.PRIMARY)
    method = models.CharField("способ расчёта", max_length=16, choices=Method.choices)
    zones = models.PositiveSmallIntegerField("зон в расчёте", default=1)
    volume = volume_field("объём")
    volume_t1 = volume_field("объём: зона 1 (день / пик)")
    volume_t2 = volume_field("объём: зона 2 (ночь / полупик)")
    volume_t3 = volume_field("объём: зона 3 (ночь)")
    volume_r1 = volume_field("объём в 1-м диапазоне")
    volume_r2 = volume_field("объём во 2-м диапазоне")
    volume_r3 = volume_field("объём в 3-м диапазоне")
    amount = money_field("сумма, ₽")
    lines = DocumentField("строки расчёта", default=list, blank=True)
    basis = DocumentField("основание расчёта", default=dict, blank=True)
    created_at = models.DateTimeField("создано", auto_now_add=True)

    class Meta:
        verbose_name = "начисление"
        verbose_name_plural = "начисления"
        ordering = ["period", "contract", "id"]
        indexes = [
            models.Index(fields=["contract", "period"]),
            models.Index(fields=["account", "period"]),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.period:%m.%Y}: {self.amount}"

    @property
    def zone_volumes(self) -> tuple:
        return (self.volume_t1, self.volume_t2, self.volume_t3)[: self.zones]


class LedgerEntry(models.Model):
    """One immutable movement of a client's money: + increases the debt (charge, penalty, a correction up),
    − reduces it (payment, a correction down). A balance is the sum of the entries.

    ``document_type`` / ``document_id`` name the source (a charge, a payment, a registry line); ``invoice`` is set
    once, when the entry is first shown on a bill."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "начисление"
        CORRECTION = "correction", "перерасчёт"
        PENALTY = "penalty", "пени"
        PAYMENT = "payment", "оплата"

    account = models.ForeignKey(
        "customers.Account", on_delete=models.PROTECT, related_name="ledger_entries", db_index=False
    )
    contract = models.ForeignKey(
        "customers.Contract",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
    )
    kind = models.CharField("вид", max_length=12, choices=Kind.choices)
    amount = money_field("сумма, ₽", help_text="+ долг растёт, − уменьшается")
    period = models.DateField(
        "период", null=True, blank=True, help_text="Charges: the billing period; a payment: the period it names"
    )
    due_date = models.DateField(
        "срок оплаты", null=True, blank=True, help_text="Charges: when due; penalties: the due date of the debt"
    )
    value_date = models.DateField("дата операции")
    document_type = models.CharField("документ", max_length=32, blank=True)
    document_id = models.CharField("номер документа", max_length=64, blank=True)
    charge = models.ForeignKey(
        Charge, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    run = models.ForeignKey(
        BillingRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    invoice = models.ForeignKey(
        "Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        db_constraint=False,
        db_index=False,
    )
    note = models.CharField("примечание", max_length=300, blank=True)
    created_at = models.DateTimeField("записано", auto_now_add=True)

    class Meta:
        verbose_name = "операция по лицевому счёту"
        verbose_name_plural = "операции по лицевым счетам"
        ordering = ["value_date", "id"]
        permissions = [("post_correction", "Вносить корректировки в лицевой счёт")]
        indexes = [
            models.Index(fields=["account", "invoice"]),
            models.Index(fields=["contract", "kind"]),
        ]
        constraints = [
            # A payment document is posted once per contract: a replayed registry line or callback changes nothing.
            models.UniqueConstraint(
                fields=["document_type", "document_id", "contract"],
                condition=Q(kind="payment"),
                name="uniq_payment_document",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.value_date:%d.%m.%Y})"


class Invoice(models.Model):
    """An issued bill (счёт-квитанция) of an account for a period: numbered per branch and period, never edited.

    ``data`` is the snapshot of what is printed (contracts, meters with previous and current readings,
    consumption and its method, priced lines, payments, adjustments). What every bill of a run prints the same
    (branch, channels, payee) is its run's ``header``, and the period, due date and totals are the bill's own columns;
    bills issued before these were stored once (``data["v"]`` 1) carry them in ``data``. Read all through
    ``snapshot``."""

    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="invoices", db_index=False)
    branch = models.ForeignKey("customers.Branch", on_delete=models.PROTECT, related_name="+", db_index=False)
    period = models.DateField("расчётный период")
    seq = models.PositiveIntegerField("порядковый номер")
    number = models.CharField("номер счёта", max_length=32)
    run = models.ForeignKey(
        BillingRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
        db_constraint=False,
        db_index=False,
    )
    issued_at = models.DateTimeField("выставлен")
    due_date = models.DateField("оплатить до")
    opening_balance = money_field("долг (+) / переплата (−) на начало")
    charged = money_field("начислено")
    penalties = money_field("пени")
    paid = money_field("оплачено")
    closing_balance = money_field("итого на конец")
    total_due = money_field("к оплате")
    delivery = models.CharField("доставка", max_length=8, choices=BillDelivery.Method.choices)
    email = models.EmailField("e-mail доставки", blank=True)
    data = DocumentField("содержание счёта", default=dict)

    TOTALS = ("opening_balance", "charged", "penalties", "paid", "closing_balance", "total_due")  # columns, not data

    class Meta:
        verbose_name = "счёт"
        verbose_name_plural = "счета"
        ordering = ["-period", "number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "period"], name="one_invoice_per_account_period"),
            models.UniqueConstraint(fields=["branch", "period", "seq"], name="uniq_invoice_seq"),
            models.UniqueConstraint(fields=["number"], name="uniq_invoice_number"),
        ]

    def __str__(self) -> str:
        return f"№ {self.number}"

    @cached_property
    def snapshot(self) -> dict:
        """Everything the bill prints: ``data`` with its columns' period, due date and totals, and its run's header
        (one query for the run unless selected)."""
        data = {
            "period": self.period.isoformat(),
            "due_date": self.due_date.isoformat(),
            **{name: str(getattr(self, name)) for name in self.TOTALS},
            **(self.data or {}),
        }
        if "payee" in data or self.run_id is None:
            return data
        return {**data, **(self.run.header or {})}


# ------------------------------------------------------------------------------------------------ delivery


class BillEmail(models.Model):
    """A bill to send by e-mail (the bill's delivery at issue was «e-mail»), one per bill: the record that it was
    sent once. ``pending`` → (the PDF made and the e-mail stored in messaging) ``queued`` → ``sent`` or ``failed``
    (the mail server refused it every time, or the e-mail could not be made ``attempts`` times)."""

    class Status(models.TextChoices):
        PENDING = "pending", "ожидает отправки"
        QUEUED = "queued", "передано на отправку"
        SENT = "sent", "отправлено"
        FAILED = "failed", "не отправлено"

    invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, related_name="email_delivery", verbose_name="счёт"
    )
    run = models.ForeignKey(BillingRun, on_delete=models.PROTECT, related_name="+", db_index=False)
    address = models.EmailField("адрес")
    status = models.CharField("состояние", max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("попыток подготовить письмо", default=0)
    next_try_at = models.DateTimeField("следующая попытка", null=True, blank=True)
    message = models.ForeignKey(
        "messaging.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="исходящее сообщение",
    )
    error = models.CharField("ошибка", max_length=500, blank=True)
    created_at = models.DateTimeField("создано", auto_now_add=True)
    updated_at = models.DateTimeField("изменено", auto_now=True)
    sent_at = models.DateTimeField("отправлено", null=True, blank=True)

    class Meta:
        verbose_name = "счёт по e-mail"
        verbose_name_plural = "счета по e-mail"
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["run", "status"], name="billemail_run_status"),
            models.Index(fields=["status", "id"], name="billemail_open", condition=Q(status__in=["pending", "queued"])),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} → {self.address}: {self.get_status_display()}"


def print_batch_path(instance, filename: str) -> str:
    return f"billing/print/{instance.run_id}/{filename}"


class PrintBatch(models.Model):
    """The printing-house batch of a billing run: the paper bills it issued as one ZIP (PDFs in delivery-route
    order and a register), one per run, kept under MEDIA_ROOT (not served: downloaded through the back office)."""

    class State(models.TextChoices):
        PENDING = "pending", "ожидает формирования"
        BUILDING = "building", "формируется"
        READY = "ready", "готов"
        FAILED = "failed", "ошибка"

    run = models.OneToOneField(BillingRun, on_delete=models.PROTECT, related_name="print_batch")
    branch = models.ForeignKey("customers.Branch", on_delete=models.PROTECT, related_name="+")
    period = models.DateField("расчётный период")
    state = models.CharField("состояние", max_length=8, choices=State.choices, default=State.PENDING)
    file = models.FileField("файл", upload_to=print_batch_path, max_length=300, blank=True)
    count = models.PositiveIntegerField("счетов", default=0)
    total_due = money_field("к оплате по реестру, ₽")
    error = models.TextField("ошибка", blank=True)
    requested_by = models.CharField("кем запрошен", max_length=120, blank=True)
    token = models.CharField("сборка", max_length=32, blank=True, help_text="The build that holds it")
    created_at = models.DateTimeField("создан", auto_now_add=True)
    updated_at = models.DateTimeField("изменён", auto_now=True)
    built_at = models.DateTimeField("сформирован", null=True, blank=True)

    class Meta:
        verbose_name = "пакет счетов для типографии"
        verbose_name_plural = "пакеты счетов для типографии"
        ordering = ["-period", "branch"]
        permissions = [("build_printbatch", "Формировать пакет счетов для типографии")]

    def __str__(self) -> str:
        return f"{self.branch} — {self.period:%m.%Y}: {self.get_state_display()}"
