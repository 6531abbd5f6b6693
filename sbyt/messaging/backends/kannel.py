"""Kannel's sendsms HTTP interface (smsbox ``sendsms-port``): GET /cgi-bin/sendsms?username=…&to=…&text=…

Text goes as UTF-8 (``charset=UTF-8``); Cyrillic text asks for UCS-2 on the air (``coding=2``), which
Kannel converts to, plain ASCII text stays in the default alphabet (``coding=0``).
"""

import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from .base import SmsBackend, SmsDeliveryError


def needs_ucs2(text: str) -> bool:
    return not text.isascii()


class KannelSmsBackend(SmsBackend):
    def __init__(self, url: str | None = None, opener=None):
        self.url = url or settings.SBYT_KANNEL_URL
        self.opener = opener or urllib.request.urlopen

    def build_url(self, *, to: str, text: str, sender: str = "") -> str:
        params = {
            "username": settings.SBYT_KANNEL_USERNAME,
            "password": settings.SBYT_KANNEL_PASSWORD,
            "to": to,
            "text": text,
            "charset": "UTF-8",
            "coding": "2" if needs_ucs2(text) else "0",
        }
        if sender or settings.SBYT_KANNEL_FROM:
            params["from"] = sender or settings.SBYT_KANNEL_FROM
        return f"{self.url}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"

    def send(self, *, to: str, text: str, sender: str = "") -> str:
        url = self.build_url(to=to, text=text, sender=sender)
        try:
            with self.opener(url, timeout=settings.SBYT_KANNEL_TIMEOUT) as response:
                body = response.read().decode("utf-8", "replace")
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsDeliveryError(f"Kannel HTTP {exc.code}: {exc.read()[:200]!r}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SmsDeliveryError(f"Kannel unreachable: {exc}") from exc
        # Kannel answers 202 "0: Accepted for delivery" or "3: Queued for later delivery".
        if status not in (200, 202) or not body.lstrip().startswith(("0:", "3:")):
            raise SmsDeliveryError(f"Kannel refused: {status} {body[:200]}")
        return ""
