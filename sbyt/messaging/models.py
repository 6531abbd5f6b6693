from django.db import models


class OutboundMessage(models.Model):
    """A message to a client through a gateway, with its delivery state."""

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "e-mail"

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

    class Meta:
        verbose_name = "исходящее сообщение"
        verbose_name_plural = "исходящие сообщения"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to}: {self.status}"
