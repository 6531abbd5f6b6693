"""The timings of the smart-office kiosk mode for its page chrome (one source: smart_office_views)."""

from django import template

register = template.Library()


@register.simple_tag
def kiosk_timing() -> dict:
    from sbyt.portal.smart_office_views import KEEPALIVE_SECONDS, KIOSK_IDLE_SECONDS, KIOSK_WARNING_SECONDS

    return {"idle": KIOSK_IDLE_SECONDS, "warning": KIOSK_WARNING_SECONDS, "keepalive": KEEPALIVE_SECONDS}
