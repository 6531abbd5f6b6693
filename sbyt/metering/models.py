import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .rules import ZONE_NAMES


class Channel(models.TextChoices):
    """Where a reading (or any client input) came from."""

    CABINET = "cabinet", "личный кабинет"
    PUBLIC = "public", "сайт без регистрации"
    APP = "app", "мобильное приложение"
    SMS = "sms", "SMS"
    TELEGRAM = "telegram", "Telegram"
    VK = "vk", "ВКонтакте"
    VIBER = "viber", "Viber"
    WHATSAPP = "whatsapp", "WhatsApp"
    EMAIL = "email", "e-mail робот"
    IVR = "ivr", "телефон (тоновый режим)"
    VOICE = "voice", "автоответчик"
    OFFICE = "office", "офис"
    TERMINAL = "terminal", "терминал самообслуживания"
    BANK = "bank", "банк"
    POST = "post", "почта"
    SMART = "smart", "интеллектуальная система учёта"
    IMPORT = "import", "загрузка данных"


class ReadingWindow(models.Model):
    """Days of the month when readings are accepted for the current period, per branch, dated."""

    branch = models.ForeignKey("customers.Branch", on_delete=models.CASCADE, related_name="reading_windows")
    channel = models.CharField(
        "канал", max_length=16, choices=Channel.choices, blank=True, help_text="Пусто — для всех каналов"
    )
    first_day = models.PositiveSmallIntegerField(
        "с числа", default=18, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    last_day = models.PositiveSmallIntegerField(
        "по число", default=25, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    valid_from = models.DateField("действует с", default=dt.date(2000, 1, 1))
    valid_to = models.DateField("действует по", null=True, blank=True)

    class Meta:
        verbose_name = "период приёма показаний"
        verbose_name_plural = "периоды приёма показаний"
        ordering = ["branch", "channel", "-valid_from"]

    def __str__(self) -> str:
        return f"{self.branch}: {self.first_day}–{self.last_day}"

    def clean(self):
        if self.first_day > self.last_day:
            raise ValidationError("Первый день периода приёма не может быть позже последнего.")
        if self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError("Дата окончания раньше даты начала.")


class Meter(models.Model):
    """A meter (прибор учёта) of one contract: 1, 2 or 3 tariff zones, a register of N digits."""

    class Status(models.TextChoices):
        IN_SERVICE = "in_service", "в работе"
        FAULTY = "faulty", "неисправен"
        REMOVED = "removed", "снят"

    contract = models.ForeignKey("customers.Contract", on_delete=models.PROTECT, related_name="meters")
    serial = models.CharField("заводской номер", max_length=32, db_index=True)
    model_name = models.CharField("тип", max_length=100, blank=True)
    zones = models.PositiveSmallIntegerField(
        "тарифных зон", choices=[(1, "однотарифный"), (2, "двухтарифный"), (3, "трёхтарифный")], default=1
    )
    digits = models.PositiveSmallIntegerField(
        "разрядность", default=6, validators=[MinValueValidator(3), MaxValueValidator(12)]
    )
    installed_on = models.DateField("установлен", null=True, blank=True)
    verified_on = models.DateField("дата поверки", null=True, blank=True)
    verification_due = models.DateField("следующая поверка", null=True, blank=True)
    is_smart = models.BooleanField("в интеллектуальной системе учёта", default=False)
    status = models.CharField("состояние", max_length=16, choices=Status.choices, default=Status.IN_SERVICE)

    class Meta:
        verbose_name = "прибор учёта"
        verbose_name_plural = "приборы учёта"

    def __str__(self) -> str:
        return f"№ {self.serial}"

    @property
    def zone_names(self) -> tuple[str, ...]:
        return ZONE_NAMES[self.zones]

    @property
    def register_max(self) -> int:
        return 10**self.digits - 1


class Reading(models.Model):
    """One submission of a meter's register values. Never edited by a client; replaced, history kept."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "принято"
        HELD = "held", "на проверке"
        SUPERSEDED = "superseded", "заменено"
        REJECTED = "rejected", "отклонено"

    # No separate FK index: the (meter, period) index serves every lookup by meter.
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="readings", db_index=False)
    period = models.DateField("расчётный период", help_text="First day of the month the reading is billed in")
    t1 = models.BigIntegerField("показание (день / пик)", null=True, blank=True)
    t2 = models.BigIntegerField("показание (ночь / полупик)", null=True, blank=True)
    t3 = models.BigIntegerField("показание (ночь)", null=True, blank=True)
    raw = models.CharField("введено", max_length=200, blank=True)
    received_at = models.DateTimeField("получено", db_index=True)
    channel = models.CharField("канал", max_length=16, choices=Channel.choices)
    # The two user links are empty on nearly every row (channels, registries): partial indexes (Meta) instead of
    # full ones, so bulk intake does not index NULLs; a user's deletion still finds their rows by index.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    source = models.CharField("источник", max_length=120, blank=True, help_text="Sender, message or file line")
    status = models.CharField("статус", max_length=16, choices=Status.choices)
    reason = models.CharField("код причины", max_length=32, blank=True)
    is_rollover = models.BooleanField("переход через ноль", default=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField("комментарий проверки", max_length=300, blank=True)

    class Meta:
        verbose_name = "показание"
        verbose_name_plural = "показания"
        indexes = [
            models.Index(fields=["meter", "period"]),
            models.Index(fields=["status", "received_at"]),
            models.Index(
                fields=["submitted_by"], name="reading_submitted_by_idx", condition=models.Q(submitted_by__isnull=False)
            ),
            models.Index(
                fields=["reviewed_by"], name="reading_reviewed_by_idx", condition=models.Q(reviewed_by__isnull=False)
            ),
        ]
        constraints = [
            # At most one live (accepted or held) reading per meter and period; replacements supersede.
            models.UniqueConstraint(
                fields=["meter", "period"],
                condition=models.Q(status__in=["accepted", "held"]),
                name="one_live_reading_per_period",
            )
        ]
        permissions = [("review_reading", "Проверка показаний, задержанных для проверки")]

    def __str__(self) -> str:
        return f"{self.meter_id}: {self.values} ({self.period:%m.%Y})"

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(v for v in (self.t1, self.t2, self.t3) if v is not None)
