"""Offices: the directory, the electronic queue, appointments, video consultations, the complaints book.

Everything here is configuration an administrator edits (offices, hours, windows, services, priority
categories) or a record of what happened (tickets, window events, appointments, complaint entries).
Times are stored in UTC; an office's local time is its branch's IANA zone.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class OfficeFunction(models.Model):
    """What an office does: «Офис обслуживания населения», «Центр обслуживания юридических лиц», a cash desk…"""

    code = models.SlugField("код", max_length=32, unique=True)
    name = models.CharField("название", max_length=200)

    class Meta:
        verbose_name = "функция офиса"
        verbose_name_plural = "функции офисов"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Office(models.Model):
    """A customer-service office (центр обслуживания клиентов, участок, отделение)."""

    branch = models.ForeignKey("customers.Branch", on_delete=models.PROTECT, related_name="offices")
    code = models.SlugField("код", max_length=64, unique=True)
    name = models.CharField("название", max_length=300)
    town = models.CharField("населённый пункт", max_length=120, db_index=True)
    address = models.CharField("адрес", max_length=400)
    postcode = models.CharField("индекс", max_length=6, blank=True)
    phones = models.TextField(
        "телефоны", blank=True, help_text="One per line, as printed: «+7 (815 2) 69-23-07 — договорный отдел»"
    )
    email = models.EmailField("e-mail", blank=True)
    serves_households = models.BooleanField("обслуживает физических лиц", default=True)
    serves_businesses = models.BooleanField("обслуживает юридических лиц", default=False)
    functions = models.ManyToManyField(OfficeFunction, blank=True, related_name="offices", verbose_name="функции")
    latitude = models.DecimalField("широта", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("долгота", max_digits=9, decimal_places=6, null=True, blank=True)
    note = models.TextField("примечание", blank=True)
    is_active = models.BooleanField("работает", default=True)
    has_queue = models.BooleanField("электронная очередь", default=False)
    accepts_appointments = models.BooleanField("запись на приём", default=False)
    appointment_minutes = models.PositiveSmallIntegerField("длительность записи, мин", default=15)
    appointment_days_ahead = models.PositiveSmallIntegerField("запись вперёд, дней", default=14)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="offices",
        verbose_name="сотрудники",
        help_text="Who may work at this office's windows and see its queue",
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="managed_offices",
        verbose_name="руководители",
        help_text="Receive the hall's waiting-time alerts and review the complaints book",
    )
    wait_alert_sent_at = models.DateTimeField("предупреждение об ожидании отправлено", null=True, blank=True)

    class Meta:
        verbose_name = "офис"
        verbose_name_plural = "офисы"
        ordering = ["branch__code", "town", "name"]

    def __str__(self) -> str:
        return f"{self.name}, {self.address}"

    @property
    def time_zone(self) -> str:
        return self.branch.time_zone


class OfficeHours(models.Model):
    """Opening hours of an office on one weekday (0 = Monday), with an optional break."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(
        "день недели",
        choices=[
            (i, n)
            for i, n in enumerate(["понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье"])
        ],
    )
    opens = models.TimeField("открытие")
    closes = models.TimeField("закрытие")
    break_starts = models.TimeField("перерыв с", null=True, blank=True)
    break_ends = models.TimeField("перерыв до", null=True, blank=True)

    class Meta:
        verbose_name = "часы работы"
        verbose_name_plural = "часы работы"
        ordering = ["office", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["office", "weekday"], name="uniq_office_weekday"),
            models.CheckConstraint(condition=Q(opens__lt=models.F("closes")), name="office_hours_opens_before_closes"),
            models.CheckConstraint(
                condition=(Q(break_starts__isnull=True) & Q(break_ends__isnull=True))
                | (Q(break_starts__lt=models.F("break_ends"))),
                name="office_hours_break_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class OfficeDay(models.Model):
    """An exception for one date: closed, or open at other hours (a sanitary day, a shortened eve)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="special_days")
    date = models.DateField("дата")
    closed = models.BooleanField("не работает", default=True)
    opens = models.TimeField("открытие", null=True, blank=True)
    closes = models.TimeField("закрытие", null=True, blank=True)
    reason = models.CharField("причина", max_length=200, blank=True)

    class Meta:
        verbose_name = "особый день"
        verbose_name_plural = "особые дни"
        constraints = [models.UniqueConstraint(fields=["office", "date"], name="uniq_office_day")]

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y}"


class Service(models.Model):
    """A queue service with the standard's norms (OFF-2): consultation 10 + 10, cash 5 + 5, both 15 + 15."""

    code = models.SlugField("код", max_length=32, unique=True)
    name = models.CharField("название", max_length=200)
    letter = models.CharField("буква талона", max_length=2, help_text="Prefix of the ticket number: К-015")
    wait_norm_minutes = models.PositiveSmallIntegerField("норматив ожидания, мин", default=10)
    service_norm_minutes = models.PositiveSmallIntegerField("норматив обслуживания, мин", default=10)
    order = models.PositiveSmallIntegerField("порядок на киоске", default=0)
    is_active = models.BooleanField("доступна", default=True)

    class Meta:
        verbose_name = "услуга очереди"
        verbose_name_plural = "услуги очереди"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class PriorityCategory(models.Model):
    """A category served out of turn (OFF-3); staff confirm the document at the window."""

    code = models.SlugField("код", max_length=32, unique=True)
    name = models.CharField("название", max_length=200)
    document_hint = models.CharField("подтверждающий документ", max_length=200, blank=True)
    order = models.PositiveSmallIntegerField("порядок", default=0)
    is_active = models.BooleanField("действует", default=True)

    class Meta:
        verbose_name = "льготная категория"
        verbose_name_plural = "льготные категории"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Window(models.Model):
    """A service window (окно) in an office's client hall."""

    class State(models.TextChoices):
        CLOSED = "closed", "закрыто"
        OPEN = "open", "работает"
        BREAK = "break", "перерыв"

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="windows")
    number = models.PositiveSmallIntegerField("номер")
    label = models.CharField("подпись", max_length=100, blank=True)
    services = models.ManyToManyField(Service, related_name="windows", verbose_name="услуги")
    is_duty_admin = models.BooleanField("администратор зала", default=False)
    is_active = models.BooleanField("используется", default=True)
    state = models.CharField("состояние", max_length=8, choices=State.choices, default=State.CLOSED)
    specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="специалист",
    )
    state_changed_at = models.DateTimeField("состояние с", null=True, blank=True)

    class Meta:
        verbose_name = "окно"
        verbose_name_plural = "окна"
        ordering = ["office", "number"]
        constraints = [models.UniqueConstraint(fields=["office", "number"], name="uniq_office_window")]

    def __str__(self) -> str:
        return f"Окно {self.number}"


class Ticket(models.Model):
    """A queue ticket (талон). Numbered per office, service and local day: К-001, К-002…"""

    class Status(models.TextChoices):
        WAITING = "waiting", "ожидает"
        CALLED = "called", "вызван"
        SERVING = "serving", "обслуживается"
        SERVED = "served", "обслужен"
        NO_SHOW = "no_show", "не явился"
        REDIRECTED = "redirected", "перенаправлен"
        CANCELLED = "cancelled", "отменён"

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="tickets")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tickets")
    day = models.DateField("день (местный)")
    sequence = models.PositiveIntegerField("порядковый номер")
    number = models.CharField("номер", max_length=8)
    status = models.CharField("состояние", max_length=12, choices=Status.choices, default=Status.WAITING)
    priority = models.ForeignKey(
        PriorityCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name="вне очереди",
    )
    priority_confirmed = models.BooleanField("документ проверен", null=True, blank=True)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    client_number = models.CharField("номер клиента (как введён)", max_length=20, blank=True)
    appointment = models.OneToOneField(
        "Appointment", on_delete=models.SET_NULL, null=True, blank=True, related_name="ticket"
    )
    redirected_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redirects"
    )
    window = models.ForeignKey(Window, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets")
    specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField("выдан")
    called_at = models.DateTimeField("вызван", null=True, blank=True)
    started_at = models.DateTimeField("начало обслуживания", null=True, blank=True)
    finished_at = models.DateTimeField("окончание", null=True, blank=True)
    call_count = models.PositiveSmallIntegerField("вызовов", default=0)

    class Meta:
        verbose_name = "талон"
        verbose_name_plural = "талоны"
        permissions = [
            ("serve_window", "Вести приём в окне"),
            ("view_queue_stats", "Видеть статистику очереди"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["office", "day", "number"], name="uniq_ticket_number"),
            models.UniqueConstraint(fields=["office", "service", "day", "sequence"], name="uniq_ticket_sequence"),
        ]
        indexes = [models.Index(fields=["office", "day", "status"], name="ticket_queue_idx")]

    def __str__(self) -> str:
        return self.number


class WindowEvent(models.Model):
    """What happened at a window: opened, break, closed, called, recalled, served, no-show, redirected."""

    window = models.ForeignKey(Window, on_delete=models.CASCADE, related_name="events")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField("событие", max_length=16)
    at = models.DateTimeField("время", db_index=True)

    class Meta:
        verbose_name = "событие окна"
        verbose_name_plural = "события окон"
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.window} {self.kind}"


class Appointment(models.Model):
    """A booked visit to an office window or a video consultation with a specialist (OFF-5, CAB-12)."""

    class Kind(models.TextChoices):
        VISIT = "visit", "посещение офиса"
        VIDEO = "video", "видеоконсультация"

    class Status(models.TextChoices):
        BOOKED = "booked", "записан"
        CHECKED_IN = "checked_in", "пришёл"
        DONE = "done", "состоялась"
        NO_SHOW = "no_show", "не пришёл"
        CANCELLED = "cancelled", "отменена"

    ACTIVE = (Status.BOOKED, Status.CHECKED_IN)

    kind = models.CharField("вид", max_length=8, choices=Kind.choices, default=Kind.VISIT)
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    window = models.ForeignKey(
        Window,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
        help_text="The window whose slot is taken (visits)",
    )
    specialist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
        help_text="The specialist whose slot is taken (video consultations)",
    )
    starts_at = models.DateTimeField("начало")
    ends_at = models.DateTimeField("окончание")
    status = models.CharField("состояние", max_length=12, choices=Status.choices, default=Status.BOOKED)
    code = models.CharField(
        "код записи",
        max_length=8,
        db_index=True,
        help_text="Typed or scanned at the kiosk; unique among live bookings (reused after a booking ends)",
    )
    account = models.ForeignKey(
        "customers.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="appointments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="booked_visits",
        help_text="The cabinet login that booked it, if any",
    )
    name = models.CharField("имя", max_length=200)
    phone = models.CharField("телефон", max_length=16, blank=True)
    email = models.EmailField("e-mail", blank=True)
    topic = models.CharField("вопрос", max_length=500, blank=True)
    channel = models.CharField("как записан", max_length=16, default="site")
    video_room = models.CharField("комната видеосвязи", max_length=100, blank=True)
    reminder_sent_at = models.DateTimeField("напоминание отправлено", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "запись на приём"
        verbose_name_plural = "записи на приём"
        permissions = [("book_for_client", "Записывать клиентов на приём")]
        ordering = ["starts_at"]
        constraints = [
            # Never two live bookings for one slot, even under concurrent requests (the database decides).
            models.UniqueConstraint(
                fields=["window", "starts_at"],
                condition=Q(status__in=["booked", "checked_in"]) & Q(window__isnull=False),
                name="uniq_window_slot",
            ),
            models.UniqueConstraint(
                fields=["specialist", "starts_at"],
                condition=Q(status__in=["booked", "checked_in"]) & Q(specialist__isnull=False),
                name="uniq_specialist_slot",
            ),
            # Six digits are a million codes: unique among the live bookings only, so they never run out.
            models.UniqueConstraint(
                fields=["code"], condition=Q(status__in=["booked", "checked_in"]), name="uniq_live_code"
            ),
        ]
        indexes = [models.Index(fields=["office", "starts_at"], name="appointment_office_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.starts_at:%d.%m.%Y %H:%M}"


class VideoSpecialist(models.Model):
    """A specialist who gives video consultations, with their weekly hours (slots come from these)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="video_profile")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="video_specialists")
    services = models.ManyToManyField(Service, related_name="video_specialists", verbose_name="услуги")
    display_name = models.CharField("имя для клиента", max_length=200)
    is_active = models.BooleanField("ведёт приём", default=True)

    class Meta:
        verbose_name = "специалист видеоконсультаций"
        verbose_name_plural = "специалисты видеоконсультаций"

    def __str__(self) -> str:
        return self.display_name


class VideoHours(models.Model):
    specialist = models.ForeignKey(VideoSpecialist, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField("день недели")
    starts = models.TimeField("с")
    ends = models.TimeField("до")

    class Meta:
        verbose_name = "часы видеоконсультаций"
        verbose_name_plural = "часы видеоконсультаций"
        ordering = ["specialist", "weekday", "starts"]

    def __str__(self) -> str:
        return f"{self.weekday} {self.starts:%H:%M}–{self.ends:%H:%M}"


class ComplaintBookEntry(models.Model):
    """An entry of the office's complaints and suggestions book (OFF-7), reviewed daily."""

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="complaint_entries")
    number = models.PositiveIntegerField("номер записи")
    written_at = models.DateTimeField("дата записи")
    author_name = models.CharField("автор", max_length=200)
    contact = models.CharField("контакт для ответа", max_length=200, blank=True)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="complaint_entries"
    )
    text = models.TextField("текст")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField("рассмотрено", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review_note = models.TextField("отметка о рассмотрении", blank=True)
    sent_to_head_office_at = models.DateTimeField("передано в головной офис", null=True, blank=True)

    class Meta:
        verbose_name = "запись книги жалоб и предложений"
        verbose_name_plural = "книга жалоб и предложений"
        permissions = [("review_complaints", "Рассматривать книгу жалоб и предложений")]
        ordering = ["-written_at"]
        constraints = [models.UniqueConstraint(fields=["office", "number"], name="uniq_complaint_number")]

    def __str__(self) -> str:
        return f"№ {self.number}"
