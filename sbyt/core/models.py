from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One write by any service, or one look by staff at a client's data (152-ФЗ)."""

    class Kind(models.TextChoices):
        WRITE = "write", "изменение"
        VIEW = "view", "просмотр"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.WRITE)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=120, blank=True, help_text="Channel or process when no person acted, e.g. «sms»"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    account_number = models.CharField(max_length=32, blank=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "запись журнала аудита"
        verbose_name_plural = "журнал аудита"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"
