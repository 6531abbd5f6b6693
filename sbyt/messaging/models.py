from django.conf import settings
from django.db import models


class MessageChannel(models.TextChoices):
    """The text channels a client writes in and is answered through."""

    SMS = "sms", "SMS"
    EMAIL = "email", "e-mail"
    TELEGRAM = "telegram", "Telegram"
    VK = "vk", "ВКонтакте"
    VIBER = "viber", "Viber"
    WHATSAPP = "whatsapp", "WhatsApp"
    WEBCHAT = "webchat", "чат на сайте"


class OutboundMessage(models.Model):
    """A message to a client through a gateway, with its delivery state."""

    Channel = MessageChannel

    class Status(models.TextChoices):
        QUEUED = "queued", "в очереди"
        SENT = "sent", "отправлено"
        FAILED = "failed", "ошибка"

    channel = models.CharField(max_length=16, choices=Channel.choices)
    to = models.CharField("кому", max_length=254)
    subject = models.CharField("тема", max_length=255, blank=True, help_text="E-mail only.")
    body = models.TextField("текст")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    purpose = models.CharField("назначение", max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    external_id = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=500, blank=True)
    extra = models.JSONField(
        "параметры мессенджера", default=dict, blank=True, help_text="Messengers only: e.g. a reply keyboard."
    )

    class Meta:
        verbose_name = "исходящее сообщение"
        verbose_name_plural = "исходящие сообщения"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to}: {self.status}"


class OutboundAttachment(models.Model):
    """A file sent with an e-mail (e.g. a bill's PDF). Stored with the message, so a retry sends the same bytes; once
    the message is sent its content is dropped (name, type, size and SHA-256 stay: what was sent can be checked
    against a document made again — bills are rendered byte for byte the same)."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField("имя файла", max_length=200)
    content_type = models.CharField("тип", max_length=100, default="application/octet-stream")
    content = models.BinaryField("содержимое", blank=True, help_text="Emptied once the message is sent.")
    size = models.PositiveIntegerField("размер, байт", default=0)
    sha256 = models.CharField("SHA-256", max_length=64)

    class Meta:
        verbose_name = "вложение исходящего сообщения"
        verbose_name_plural = "вложения исходящих сообщений"
        ordering = ["message", "pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.size} байт)"


class InboundMessage(models.Model):
    """One message a client sent through a text channel, stored raw before it is processed.

    ``(channel, external_id)`` is unique: a gateway's retry of the same message finds the stored one and gets
    the stored reply (answered once). A message whose processing failed stays here as ``failed`` with the error
    and can be retried (``manage.py inbound_retry``)."""

    Channel = MessageChannel

    class Status(models.TextChoices):
        RECEIVED = "received", "получено"
        PROCESSED = "processed", "обработано"
        FAILED = "failed", "ошибка обработки"

    channel = models.CharField("канал", max_length=16, choices=Channel.choices)
    external_id = models.CharField("идентификатор у шлюза", max_length=128)
    sender = models.CharField("отправитель", max_length=128, db_index=True)
    receiver = models.CharField("получатель (номер филиала, бот)", max_length=128, blank=True)
    text = models.TextField("текст", blank=True)
    raw = models.JSONField("как пришло", default=dict, blank=True)
    received_at = models.DateTimeField("получено", db_index=True)
    status = models.CharField("состояние", max_length=16, choices=Status.choices, default=Status.RECEIVED)
    reply = models.TextField("ответ", blank=True)
    reason = models.CharField("код результата", max_length=32, blank=True)
    error = models.TextField("ошибка", blank=True)
    processed_at = models.DateTimeField("обработано", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("попыток обработки", default=0)

    class Meta:
        verbose_name = "входящее сообщение"
        verbose_name_plural = "входящие сообщения"
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="inbound_unique_channel_external_id")
        ]
        indexes = [models.Index(fields=["received_at"], name="inbound_failed_idx", condition=models.Q(status="failed"))]

    def __str__(self) -> str:
        return f"{self.channel} {self.external_id} от {self.sender}: {self.status}"


class Conversation(models.Model):
    """The dialogue state of one sender on one channel (a reading being collected zone by zone)."""

    channel = models.CharField("канал", max_length=16, choices=InboundMessage.Channel.choices)
    sender = models.CharField("отправитель", max_length=128)
    state = models.JSONField("состояние диалога", default=dict)
    updated_at = models.DateTimeField("изменено", auto_now=True)
    expires_at = models.DateTimeField("истекает", db_index=True)

    class Meta:
        verbose_name = "диалог"
        verbose_name_plural = "диалоги"
        constraints = [models.UniqueConstraint(fields=["channel", "sender"], name="conversation_unique_channel_sender")]

    def __str__(self) -> str:
        return f"{self.channel} {self.sender} до {self.expires_at:%Y-%m-%d %H:%M}"


class MessengerLink(models.Model):
    """A messenger chat whose owner proved a phone number (Telegram: shared their own contact). The chat is then
    offered the contracts of the accounts whose client has that phone (buttons «ПС <договор>»)."""

    channel = models.CharField("канал", max_length=16, choices=InboundMessage.Channel.choices)
    chat_id = models.CharField("чат", max_length=128)
    phone = models.CharField("телефон", max_length=16, help_text="+7XXXXXXXXXX")
    created_at = models.DateTimeField("создано", auto_now_add=True)
    updated_at = models.DateTimeField("изменено", auto_now=True)

    class Meta:
        verbose_name = "привязка мессенджера"
        verbose_name_plural = "привязки мессенджеров"
        constraints = [models.UniqueConstraint(fields=["channel", "chat_id"], name="messengerlink_unique_chat")]
        indexes = [models.Index(fields=["phone"], name="messengerlink_phone_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.chat_id} → {self.phone}"


class VoiceMessage(models.Model):
    """A message left on the readings answering machine (IVR key 3, the 18th–20th): the recording waits in the
    back-office queue until an operator takes it, enters the readings through the readings service (channel
    «voice») and closes it. ``call_id`` is Asterisk's ``agi_uniqueid``: one message per call."""

    class Status(models.TextChoices):
        NEW = "new", "новое"
        IN_WORK = "in_work", "в работе"
        DONE = "done", "обработано"
        REJECTED = "rejected", "отклонено"

    call_id = models.CharField("идентификатор звонка", max_length=64, unique=True)
    caller = models.CharField("номер звонившего", max_length=40, blank=True)
    account_number = models.CharField("номер клиента (набран в тоновом режиме)", max_length=20, blank=True)
    recording = models.CharField("файл записи", max_length=255, help_text="Path relative to SBYT_VOICE_RECORDINGS_DIR.")
    duration = models.PositiveIntegerField("длительность, с", default=0)
    received_at = models.DateTimeField("получено")
    status = models.CharField("состояние", max_length=16, choices=Status.choices, default=Status.NEW)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="оператор",
    )
    taken_at = models.DateTimeField("взято в работу", null=True, blank=True)
    finished_at = models.DateTimeField("закрыто", null=True, blank=True)
    result_note = models.CharField("результат", max_length=300, blank=True)
    readings = models.ManyToManyField(
        "metering.Reading", blank=True, related_name="+", verbose_name="показания по сообщению"
    )

    class Meta:
        verbose_name = "сообщение автоответчика"
        verbose_name_plural = "сообщения автоответчика"
        ordering = ["received_at", "pk"]
        permissions = [("process_voice", "Обработка сообщений автоответчика")]
        indexes = [models.Index(fields=["status", "received_at"], name="voice_status_received_idx")]

    def __str__(self) -> str:
        return f"{self.caller or '?'} {self.received_at:%Y-%m-%d %H:%M}: {self.status}"
