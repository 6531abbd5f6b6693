"""Rate limits of the portal: every attempt is counted per IP address and per identifier (client number,
login, user). The rates come from settings; ``RATELIMIT_ENABLE`` switches them off (django-ratelimit)."""

from django.conf import settings
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited

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
    return "".join(str(identifier).split()).lower()


def too_many(request, purpose: str, *identifiers) -> bool:
    """Count this attempt and say whether it is over the limit. Every counter is incremented, so a client
    cannot reset one by switching the other."""
    rate = getattr(settings, RATES[purpose])
    limited = [
        is_ratelimited(request, group=f"portal.{purpose}.ip", key="ip", rate=rate, method="POST", increment=True)
    ]
    for identifier in identifiers:
        value = _normalize(identifier)
        if not value:
            continue
        limited.append(
            is_ratelimited(
                request,
                group=f"portal.{purpose}.id",
                key=lambda _group, _request, value=value: value,
                rate=rate,
                method="POST",
                increment=True,
            )
        )
    return any(limited)
