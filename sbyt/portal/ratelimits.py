"""Rate limits of the portal: every attempt is counted per IP address and per identifier (client number,
login, user). The rates come from settings; ``RATELIMIT_ENABLE`` switches them off (django-ratelimit)."""

from django.conf import settings
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited

from sbyt.core.phones import normalize_phone

LOGIN = "login"
CODES = "codes"
RECOVERY = "recovery"
PUBLIC_READINGS = "public_readings"

RATES = {
    LOGIN: "RATELIMIT_LOGIN",
    CODES: "RATELIMIT_CODES",
    RECOVERY: "RATELIMIT_CODES",
    PUBLIC_READINGS: "RATELIMIT_PUBLIC_READINGS",
}


def too_many_message() -> str:
    return _("Too many attempts. Please wait a while and try again, or call the contact centre.")


def _normalize(identifier) -> str:
    """One key per identifier however it is written: a phone in any notation counts as the same phone."""
    text = str(identifier)
    return normalize_phone(text) or "".join(text.split()).lower()


def _count(request, group: str, value: str, rate: str) -> bool:
    return is_ratelimited(
        request, group=group, key=lambda _group, _request: value, rate=rate, method="POST", increment=True
    )


def too_many(request, purpose: str, *identifiers, user=None) -> bool:
    """Count this attempt and say whether it is over the limit: per IP, per typed identifier and per login
    (each in its own group, so nothing a client types can use up another login's counter). Every counter is
    incremented, so a client cannot reset one by switching the other."""
    rate = getattr(settings, RATES[purpose])
    limited = [
        is_ratelimited(request, group=f"portal.{purpose}.ip", key="ip", rate=rate, method="POST", increment=True)
    ]
    limited += [
        _count(request, f"portal.{purpose}.id", value, rate)
        for value in (_normalize(identifier) for identifier in identifiers)
        if value
    ]
    if user is not None:
        limited.append(_count(request, f"portal.{purpose}.user", str(user.pk), rate))
    return any(limited)
