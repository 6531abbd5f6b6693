import datetime as dt
import sys
import threading

from django.conf import settings

from .base import SmsBackend

_lock = threading.Lock()


class ConsoleSmsBackend(SmsBackend):
    """Development: print the SMS where the worker's output goes."""

    def send(self, *, to: str, text: str, sender: str = "") -> str:
        with _lock:
            sys.stdout.write(f"\n===== SMS to {to} =====\n{text}\n=====\n")
            sys.stdout.flush()
        return ""


class FileSmsBackend(SmsBackend):
    """Development: append each SMS to a file (``SBYT_SMS_FILE``)."""

    def send(self, *, to: str, text: str, sender: str = "") -> str:
        path = settings.SBYT_SMS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with _lock, path.open("a", encoding="utf-8") as fh:
            fh.write(f"{dt.datetime.now(dt.UTC).isoformat()}\t{to}\t{text}\n")
        return ""
