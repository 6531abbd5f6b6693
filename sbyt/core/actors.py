"""Who acts: a signed-in person, a process named by a string (``"periodic"``, ``"import_registry"``, ``"sms:+7…"``),
or the system (None). Services take any of them as ``actor``."""

from .errors import PermissionDenied


def is_user(actor) -> bool:
    """A signed-in person (not a named process, not the system, not an anonymous visitor)."""
    return getattr(actor, "is_authenticated", False)


def actor_label(actor) -> str:
    """How an actor is named in the audit log and on the documents it makes (``Payment.actor_label`` …)."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor[:120]
    return actor.get_username()[:120] if is_user(actor) else "anonymous"


def require_permission(actor, permission: str, message: str) -> None:
    """People need ``permission``; the system and named processes act freely. Raises ``PermissionDenied``."""
    if actor is not None and not isinstance(actor, str) and not (is_user(actor) and actor.has_perm(permission)):
        raise PermissionDenied(message)
