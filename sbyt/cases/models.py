"""Appeals, claims and applications: one case engine (APL, APP, CAB-13/14, PUB-4, CC-2/5/7).

A ``Case`` is any appeal (question, claim, suggestion, review) or application (contract, re-registration, meter
work, extra service, certificate, supply report) from any channel. Its deadlines are ``CaseClock`` rows started
from ``Norm`` rows (SLA norms) — configuration an administrator edits, seeded with the standards' values. Topics, answer
templates, document checklists and the operators' FAQ are data too. Everything changes through ``services``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    # appeals
    QUESTION = "question", "вопрос"
    CLAIM = "claim", "претензия (жалоба)"
    SUGGESTION = "suggestion", "предложение"
    REVIEW = "review", "отзыв"
    # applications
    CONTRACT_CONCLUSION = "contract_conclusion", "заключение договора"
    CONTRACT_CHANGE = "contract_change", "изменение договора"
    CONTRACT_TERMINATION = "contract_termination", "расторжение договора"
    REREGISTRATION = "reregistration", "переоформление лицевого счёта при смене собственника"
    METER_INSTALLATION = "meter_installation", "установка прибора учёта"
    METER_REPLACEMENT = "meter_replacement", "замена прибора учёта"
    METER_VERIFICATION = "meter_verification", "поверка прибора учёта"
    EXTRA_SERVICE = "extra_service", "дополнительная услуга"
    NO_DEBT_CERTIFICATE = "no_debt_certificate", "справка об отсутствии задолженности"
    SUPPLY_REPORT = "supply_report", "сообщение о некачественном электроснабжении или его прекращении"


APPEAL_KINDS = (Kind.QUESTION, Kind.CLAIM, Kind.SUGGESTION, Kind.REVIEW)
APPLICATION_KINDS = tuple(k for k in Kind if k not in APPEAL_KINDS)


class Channel(models.TextChoices):
    """How the case arrived."""

    OFFICE_ORAL = "office_oral", "устно в офисе"
    OFFICE_WRITTEN = "office_written", "письменно в офисе"
    COMPLAINTS_BOOK = "complaints_book", "книга жалоб и предложений"
    PHONE = "phone", "телефон"
    POST = "post", "почта"
    POST_OFFICE_SCAN = "post_office_scan", "через отделение почты (скан)"
    EMAIL = "email", "электронная почта"
    CABINET = "cabinet", "личный кабинет"
    WEB_FORM = "web_form", "форма на сайте"
    MESSENGER = "messenger", "мессенджер"


ONLINE_CHANNELS = (Channel.CABINET, Channel.WEB_FORM, Channel.EMAIL, Channel.MESSENGER)


class AnswerChannel(models.TextChoices):
    """How the client is answered (APL-6): the channel used, or the one the client chose."""

    EMAIL = "email", "по электронной почте"
    SMS = "sms", "SMS"
    CABINET = "cabinet", "в личном кабинете"
    POST = "post", "письмом по почте"
    PHONE = "phone", "по телефону"
    MESSENGER = "messenger", "в мессенджере, из которого написал клиент"


class Messenger(models.TextChoices):
    """The messengers a client may write from and be answered in (``messaging`` channels)."""

    TELEGRAM = "telegram", "Telegram"
    VK = "vk", "ВКонтакте"
    VIBER = "viber", "Viber"
    WHATSAPP = "whatsapp", "WhatsApp"


class Segment(models.TextChoices):
    HOUSEHOLD = "household", "физическое лицо, жилое помещение"
    BUSINESS = "business", "юридическое лицо или нежилое помещение"


class Status(models.TextChoices):
    RECEIVED = "received", "поступило, ожидает регистрации"
    IN_WORK = "in_work", "на рассмотрении"
    WAITING = "waiting", "ожидает сведений от клиента"
    ANSWERED = "answered", "рассмотрено, ответ дан"
    REFUSED = "refused", "отказано"
    NOT_CONSIDERED = "not_considered", "не рассматривается по существу"
    NO_CONTACT = "no_contact", "оставлено без ответа: нет контактных данных"


OPEN_STATUSES = (Status.RECEIVED, Status.IN_WORK, Status.WAITING)
CLOSED_STATUSES = (Status.ANSWERED, Status.REFUSED, Status.NOT_CONSIDERED, Status.NO_CONTACT)


class Rejection(models.TextChoices):
    """Grounds for not considering an appeal on the merits (APL-7; A ch.4 §3 5, E 2.7.3)."""

    OFFENSIVE = "offensive", "нецензурные или оскорбительные выражения, угрозы (без вопроса по существу)"
    UNREADABLE = "unreadable", "текст не поддаётся прочтению"
    REPEAT = "repeat", "повторный вопрос без новых доводов"
    TRADE_SECRET = "trade_secret", "ответ невозможен без разглашения коммерческой тайны"


class Topic(models.Model):
    """The classifier of appeals (APL-1, APL-9): a tree an administrator edits, seeded from the standards."""

    code = models.SlugField("код", max_length=64, unique=True)
    name = models.CharField("название", max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name="раздел"
    )
    order = models.PositiveSmallIntegerField("порядок", default=0)
    is_active = models.BooleanField("используется", default=True)
    public = models.BooleanField("предлагается клиенту в формах", default=True)

    class Meta:
        verbose_name = "тема обращения"
        verbose_name_plural = "классификатор тем обращений"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return f"{self.parent.name} → {self.name}" if self.parent_id else self.name


class Milestone(models.TextChoices):
    REGISTRATION = "registration", "регистрация и передача исполнителю"
    RESPONSE = "response", "первый ответ клиенту (промежуточный ответ, связь, уведомление)"
    RESOLUTION = "resolution", "ответ по существу / результат"
    STAGE = "stage", "этап заявки"


class Unit(models.TextChoices):
    WORKING_DAYS = "working_days", "рабочих дней"
    CALENDAR_DAYS = "calendar_days", "календарных дней"


class Norm(models.Model):
    """An SLA norm: a deadline as data (ARCHITECTURE «configuration is data»). A case gets a clock for every norm
    that applies to its kind, channel and segment; of several norms for the same milestone the strictest (earliest
    deadline) wins. A running clock keeps a copy of the norm's values: editing a norm changes new cases only."""

    code = models.SlugField("код", max_length=64, unique=True)
    name = models.CharField("название", max_length=200)
    milestone = models.CharField("что останавливает срок", max_length=16, choices=Milestone.choices)
    kinds = models.JSONField("виды обращений", default=list, blank=True, help_text="Пусто — все виды.")
    channels = models.JSONField("каналы поступления", default=list, blank=True, help_text="Пусто — все каналы.")
    segment = models.CharField("категория клиента", max_length=16, choices=Segment.choices, blank=True)
    start_stage = models.CharField(
        "срок начинается с этапа", max_length=32, blank=True, help_text="Пусто — со дня поступления."
    )
    stop_stage = models.CharField(
        "срок останавливается на этапе", max_length=32, blank=True, help_text="Только для «этап заявки»."
    )
    amount = models.PositiveSmallIntegerField("срок", help_text="0 рабочих дней — в тот же рабочий день.")
    unit = models.CharField("единица", max_length=16, choices=Unit.choices)
    agreed_max = models.PositiveSmallIntegerField(
        "можно продлить по согласованию с клиентом до", null=True, blank=True, help_text="В тех же единицах."
    )
    source = models.CharField("основание", max_length=200, blank=True)
    is_active = models.BooleanField("действует", default=True)

    class Meta:
        verbose_name = "норматив срока"
        verbose_name_plural = "нормативы сроков"
        ordering = ["milestone", "code"]

    def __str__(self) -> str:
        from .sla import term_text

        return f"{self.name}: {term_text(self.amount, self.unit)}"

    def applies_to(self, *, kind: str, channel: str, segment: str) -> bool:
        return (
            self.is_active
            and (not self.kinds or kind in self.kinds)
            and (not self.channels or channel in self.channels)
            and (not self.segment or self.segment == segment)
        )


class ChecklistItem(models.Model):
    """A document an application of a kind needs (APP-1): the checklist of the documents stage."""

    kind = models.CharField("вид заявки", max_length=32, choices=Kind.choices)
    name = models.CharField("документ", max_length=300)
    required = models.BooleanField("обязательный", default=True)
    order = models.PositiveSmallIntegerField("порядок", default=0)
    is_active = models.BooleanField("используется", default=True)

    class Meta:
        verbose_name = "документ к заявке"
        verbose_name_plural = "перечни документов к заявкам"
        ordering = ["kind", "order", "pk"]

    def __str__(self) -> str:
        return self.name


class AnswerTemplate(models.Model):
    """A template of a message to the client (CC-7, APL-7): ``{{ name }}``-style variables, see ``templating``."""

    class Purpose(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", "подтверждение получения"
        INFO_REQUEST = "info_request", "запрос недостающих сведений"
        INTERIM = "interim", "промежуточный ответ"
        FINAL = "final", "ответ по существу"
        NOT_CONSIDERED = "not_considered", "уведомление: не рассматривается по существу"
        REFUSAL = "refusal", "отказ по заявке"
        MISSING_DOCUMENTS = "missing_documents", "недостающие документы"
        STAGE = "stage", "уведомление об этапе заявки"

    code = models.SlugField("код", max_length=64, unique=True)
    name = models.CharField("название", max_length=200)
    purpose = models.CharField("назначение", max_length=32, choices=Purpose.choices)
    rejection = models.CharField(
        "основание отказа в рассмотрении", max_length=16, choices=Rejection.choices, blank=True
    )
    subject = models.CharField("тема письма", max_length=200, blank=True)
    text = models.TextField("текст")
    is_active = models.BooleanField("используется", default=True)

    class Meta:
        verbose_name = "шаблон ответа"
        verbose_name_plural = "шаблоны ответов"
        ordering = ["purpose", "name"]

    def __str__(self) -> str:
        return self.name


class FaqEntry(models.Model):
    """The operators' question-and-answer base (CC-7; A ch.4 §2 10)."""

    question = models.CharField("вопрос", max_length=300)
    answer = models.TextField("ответ")
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL, verbose_name="тема")
    is_active = models.BooleanField("используется", default=True)
    order = models.PositiveSmallIntegerField("порядок", default=0)

    class Meta:
        verbose_name = "вопрос-ответ для операторов"
        verbose_name_plural = "база вопросов и ответов для операторов"
        ordering = ["order", "question"]

    def __str__(self) -> str:
        return self.question


class CaseCounter(models.Model):
    """The last case number of a year: numbers are taken one at a time under this row's lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "счётчик номеров обращений"
        verbose_name_plural = "счётчики номеров обращений"

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Case(models.Model):
    """One appeal or application with its questions, stages, clocks, attachments and messages."""

    Kind = Kind
    Channel = Channel
    AnswerChannel = AnswerChannel
    Segment = Segment
    Status = Status
    Rejection = Rejection

    number = models.CharField("номер", max_length=20, unique=True)
    kind = models.CharField("вид", max_length=32, choices=Kind.choices)
    channel = models.CharField("канал поступления", max_length=20, choices=Channel.choices)
    topic = models.ForeignKey(
        Topic, null=True, blank=True, on_delete=models.PROTECT, related_name="cases", verbose_name="тема"
    )
    status = models.CharField("состояние", max_length=16, choices=Status.choices, default=Status.RECEIVED)
    stage = models.CharField("этап", max_length=32, blank=True)
    segment = models.CharField("категория клиента", max_length=16, choices=Segment.choices, default=Segment.HOUSEHOLD)
    branch = models.ForeignKey("customers.Branch", on_delete=models.PROTECT, related_name="+", verbose_name="филиал")
    office = models.ForeignKey(
        "offices.Office", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="офис"
    )
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name="лицевой счёт",
    )
    applicant_name = models.CharField("заявитель", max_length=200, blank=True)
    email = models.EmailField("e-mail для ответа", blank=True)
    phone = models.CharField("телефон для ответа", max_length=16, blank=True)
    postal_address = models.CharField("почтовый адрес для ответа", max_length=400, blank=True)
    answer_channel = models.CharField(
        "способ ответа", max_length=16, choices=AnswerChannel.choices, default=AnswerChannel.EMAIL
    )
    messenger = models.CharField("мессенджер клиента", max_length=16, choices=Messenger.choices, blank=True)
    messenger_chat = models.CharField(
        "чат в мессенджере", max_length=128, blank=True, help_text="The sender of the client's message, as stored."
    )
    subject = models.CharField("кратко", max_length=200, blank=True)
    received_at = models.DateTimeField("поступило", db_index=True)
    registered_at = models.DateTimeField("зарегистрировано", null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        verbose_name="исполнитель",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    needs_routing = models.BooleanField(
        "у оператора маршрутизации", default=False, help_text="Жалоба с сайта до проверки полноты (APL-8)."
    )
    rejection = models.CharField(
        "основание отказа в рассмотрении", max_length=16, choices=Rejection.choices, blank=True
    )
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="повтор обращения"
    )
    closed_at = models.DateTimeField("закрыто", null=True, blank=True)
    source_ref = models.CharField(
        "источник", max_length=64, blank=True, help_text="E.g. «complaint_book:12» for a complaints-book entry."
    )

    class Meta:
        verbose_name = "обращение"
        verbose_name_plural = "обращения и заявки"
        ordering = ["-received_at", "-pk"]
        permissions = [
            ("register_case", "Регистрировать обращения из офиса, по телефону, почте"),
            ("route_case", "Проверять и маршрутизировать жалобы с сайта"),
            ("work_case", "Рассматривать обращения и отвечать клиентам"),
            ("supervise_cases", "Контролировать сроки обращений, отчёты"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["account", "received_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["source_ref"], condition=~Q(source_ref=""), name="uniq_case_source_ref"),
        ]

    def __str__(self) -> str:
        return f"№ {self.number}"

    @property
    def is_application(self) -> bool:
        return self.kind in APPLICATION_KINDS

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def has_contact(self) -> bool:
        return bool(self.email or self.phone or self.postal_address or self.account_id)


class Question(models.Model):
    """«One window» (APL-2): every question of a case is answered on the merits."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField("порядок", default=1)
    text = models.TextField("вопрос")
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.PROTECT, verbose_name="тема")
    answer = models.TextField("ответ", blank=True)
    answered_at = models.DateTimeField("ответ подготовлен", null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "вопрос обращения"
        verbose_name_plural = "вопросы обращения"
        ordering = ["case", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.case} / {self.order}"


class Attachment(models.Model):
    """A file the client or staff attached: type and size checked, stored under a random name, served only
    through the views that check access."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("файл", upload_to="cases/%Y/%m/", max_length=200)
    original_name = models.CharField("имя файла", max_length=200)
    content_type = models.CharField("тип", max_length=100)
    size = models.PositiveIntegerField("размер, байт")
    sha256 = models.CharField(max_length=64)
    from_client = models.BooleanField("от клиента", default=True)
    uploaded_at = models.DateTimeField("загружен", auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "вложение"
        verbose_name_plural = "вложения"
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.original_name


class DocumentCheck(models.Model):
    """One line of an application's checklist: received or still missing."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    name = models.CharField("документ", max_length=300)
    required = models.BooleanField("обязательный", default=True)
    received = models.BooleanField("получен", default=False)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "документ заявки"
        verbose_name_plural = "документы заявки"
        ordering = ["case", "order", "pk"]

    def __str__(self) -> str:
        return self.name


class CaseClock(models.Model):
    """One deadline of a case, copied from its norm when started. Paused while the case waits for the client
    (the pause moves the deadline by the days it lasted); stopped by its milestone."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clocks")
    norm = models.ForeignKey(Norm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField("срок", max_length=200)
    milestone = models.CharField(max_length=16, choices=Milestone.choices)
    stage = models.CharField("этап", max_length=32, blank=True, help_text="Stage clocks: the stage that stops it.")
    amount = models.PositiveSmallIntegerField()
    unit = models.CharField(max_length=16, choices=Unit.choices)
    agreed_max = models.PositiveSmallIntegerField(null=True, blank=True)
    started_on = models.DateField("начало отсчёта")
    due_on = models.DateField("срок до", db_index=True)
    extension = models.PositiveSmallIntegerField("продление на время ожидания клиента", default=0)
    agreed_on = models.DateField("срок согласован с клиентом до", null=True, blank=True)
    paused_on = models.DateField("приостановлен с", null=True, blank=True)
    stopped_at = models.DateTimeField("выполнен", null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)
    met = models.BooleanField("в срок", null=True)
    warned_at = models.DateTimeField("предупреждение отправлено", null=True, blank=True)
    breach_notified_at = models.DateTimeField("нарушение сообщено", null=True, blank=True)

    class Meta:
        verbose_name = "срок обращения"
        verbose_name_plural = "сроки обращений"
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["stopped_at", "due_on"])]

    def __str__(self) -> str:
        return f"{self.name} — {self.due_on:%d.%m.%Y}"

    @property
    def term(self) -> str:
        from .sla import term_text

        return term_text(self.amount, self.unit)

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.paused_on is None

    @property
    def paused(self) -> bool:
        return self.stopped_at is None and self.paused_on is not None


class CaseEvent(models.Model):
    """The case's history; ``public`` events are what the client sees as the stages of the case."""

    class Type(models.TextChoices):
        RECEIVED = "received", "поступило"
        REGISTERED = "registered", "зарегистрировано"
        ROUTED = "routed", "передано на рассмотрение"
        ASSIGNED = "assigned", "назначен исполнитель"
        INFO_REQUESTED = "info_requested", "запрошены сведения у клиента"
        CLIENT_REPLIED = "client_replied", "клиент ответил"
        RESUMED = "resumed", "рассмотрение продолжено"
        STAGE = "stage", "этап"
        DOCUMENT = "document", "документ"
        QUESTION_ANSWERED = "question_answered", "подготовлен ответ на вопрос"
        INTERIM = "interim", "промежуточный ответ"
        DEADLINE_AGREED = "deadline_agreed", "срок согласован с клиентом"
        ANSWERED = "answered", "дан ответ"
        REFUSED = "refused", "отказано"
        NOT_CONSIDERED = "not_considered", "не рассматривается по существу"
        NO_CONTACT = "no_contact", "оставлено без ответа"
        NOTE = "note", "заметка"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    type = models.CharField(max_length=24, choices=Type.choices)
    text = models.TextField(blank=True)
    public = models.BooleanField(default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "событие обращения"
        verbose_name_plural = "история обращений"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_type_display()}"


class CaseMessage(models.Model):
    """A message to the client (acknowledgement, request, interim or final answer, notice) or from the client
    (a reply in the cabinet), with the channel it went through."""

    class Direction(models.TextChoices):
        OUT = "out", "клиенту"
        IN = "in", "от клиента"

    Purpose = AnswerTemplate.Purpose

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=4, choices=Direction.choices, default=Direction.OUT)
    purpose = models.CharField("назначение", max_length=32, choices=AnswerTemplate.Purpose.choices, blank=True)
    channel = models.CharField("канал", max_length=16, choices=AnswerChannel.choices)
    subject = models.CharField("тема", max_length=255, blank=True)
    text = models.TextField("текст")
    at = models.DateTimeField(db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outbound = models.ForeignKey(
        "messaging.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "сообщение по обращению"
        verbose_name_plural = "сообщения по обращениям"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_direction_display()} {self.at:%d.%m.%Y}"


class CallerIdentification(models.Model):
    """CC-5 / SEC-2: the caller named themselves and gave the client number or the address; recorded before the
    confidential part of the client card is shown to the operator, valid for a short while."""

    class Method(models.TextChoices):
        NAME_AND_NUMBER = "name_number", "ФИО и номер клиента"
        NAME_AND_ADDRESS = "name_address", "ФИО и адрес"

    class Relation(models.TextChoices):
        OWNER = "owner", "собственник"
        TENANT = "tenant", "наниматель"
        RESIDENT = "resident", "зарегистрированный проживающий"
        REPRESENTATIVE = "representative", "представитель организации"

    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    caller_name = models.CharField("как представился", max_length=200)
    method = models.CharField("способ", max_length=16, choices=Method.choices)
    relation = models.CharField("кем приходится", max_length=16, choices=Relation.choices)
    at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "идентификация звонящего"
        verbose_name_plural = "идентификации звонящих"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.caller_name} ({self.get_method_display()})"


class Call(models.Model):
    """A contact-centre call registered with its topic, operator and durations (CC-2, CC-3)."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "вопрос решён за один контакт"
        CASE_OPENED = "case_opened", "зарегистрировано обращение, обещан обратный звонок"
        TRANSFERRED = "transferred", "переведён на специалиста"
        REFUSED_IDENTIFICATION = "no_identification", "отказ в информации: звонящий не идентифицирован"

    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    caller_phone = models.CharField("номер звонящего", max_length=16, blank=True)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, verbose_name="тема")
    started_at = models.DateTimeField("начало разговора", db_index=True)
    talk_seconds = models.PositiveIntegerField("разговор, с")
    after_call_seconds = models.PositiveIntegerField("постобработка, с", default=0)
    outcome = models.CharField("результат", max_length=20, choices=Outcome.choices)
    note = models.TextField("суть", blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    identified = models.BooleanField("звонящий идентифицирован", default=False)

    class Meta:
        verbose_name = "звонок"
        verbose_name_plural = "звонки контакт-центра"
        ordering = ["-started_at"]
        permissions = [("register_call", "Регистрировать звонки контакт-центра")]

    def __str__(self) -> str:
        return f"{self.started_at:%d.%m.%Y %H:%M} {self.topic}"
