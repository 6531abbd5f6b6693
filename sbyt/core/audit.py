"""The audit log: services call ``audit`` for every write; staff views call ``audit_view``."""

from collections.abc import Iterable

from django.db import models

from .actors import actor_label, is_user
from .models import AuditEntry
from .rows import insert

Actor = object  # a user, a channel name ("sms", "import"), or None for the system


def _actor_fields(actor) -> dict:
    return {"actor": actor if is_user(actor) else None, "actor_label": actor_label(actor)}


def _target_fields(target) -> dict:
    if target is None:
        return {"target_type": "", "target_id": ""}
    if isinstance(target, models.Model):
        return {"target_type": target._meta.label_lower, "target_id": str(target.pk)}
    kind, ident = target
    return {"target_type": kind, "target_id": str(ident)}


def audit(actor, action: str, target=None, *, account_number: str = "", **details) -> AuditEntry:
    return insert(
        AuditEntry(
            kind=AuditEntry.Kind.WRITE,
            action=action,
            account_number=account_number or "",
            details=details,
            **_actor_fields(actor),
            **_target_fields(target),
        )
    )


def audit_view(actor, action: str, target=None, *, account_number: str = "", **details) -> AuditEntry:
    return insert(
        AuditEntry(
            kind=AuditEntry.Kind.VIEW,
            action=action,
            account_number=account_number or "",
            details=details,
            **_actor_fields(actor),
            **_target_fields(target),
        )
    )


def audit_many(actor, action: str, rows: Iterable[tuple[object, str, dict]], *, kind=AuditEntry.Kind.WRITE) -> int:
    """Bulk variant for set-based services (and lists staff look at, ``kind=VIEW``): rows of
    (target, account_number, details)."""
    actor_fields = _actor_fields(actor)
    entries = [
        AuditEntry(
            kind=kind,
            action=action,
            account_number=account_number,
            details=details,
            **actor_fields,
            **_target_fields(target),
        )
        for target, account_number, details in rows
    ]
    AuditEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)
