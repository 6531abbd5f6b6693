"""Outbound SMS gateways behind one interface; chosen by ``SBYT_SMS_BACKEND``."""

from django.conf import settings
from django.utils.module_loading import import_string

from .base import SmsBackend, SmsDeliveryError

BACKENDS = {
    "console": "sbyt.messaging.backends.console.ConsoleSmsBackend",
    "file": "sbyt.messaging.backends.console.FileSmsBackend",
    "kannel": "sbyt.messaging.backends.kannel.KannelSmsBackend",
    "locmem": "sbyt.messaging.backends.locmem.LocmemSmsBackend",
}


def get_sms_backend() -> SmsBackend:
    name = settings.SBYT_SMS_BACKEND
    return import_string(BACKENDS.get(name, name))()


__all__ = ["SmsBackend", "SmsDeliveryError", "get_sms_backend"]
