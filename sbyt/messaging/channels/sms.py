"""Inbound SMS: Kannel's ``sms-service`` ``get-url`` and an aggregator's JSON webhook → ``receive_text``.

The HTTP views live in the interface app (``sbyt/api/channels.py``); this module holds what is SMS-specific:
the shared secret, reading Kannel's query string (its text may come in another charset than UTF-8), reading the
webhook's JSON, and normalising phone numbers. See docs/channels-sms.md.

Kannel's ``get-url`` (escape codes of the Kannel user guide, "Parameters (Escape Codes)")::

    get-url = "https://sbyt.example/channels/sms/kannel?secret=…&id=%I&from=%p&to=%P&text=%b&coding=%c&charset=%C"

``%I`` Kannel's internal message id (a UUID; kept on Kannel's retries), ``%p`` the sender's number, ``%P`` the
number the SMS was sent to (the branch number), ``%b`` the original message text (``%a``, all words joined by a
single space, works too), ``%c``/``%C`` its coding and charset: a UCS-2 message (Cyrillic) not recoded by
Kannel arrives as UTF-16BE bytes and is decoded here.
"""

import codecs
import hmac
import urllib.parse

from django.conf import settings
from django.utils.translation import gettext as _

from sbyt.core.phones import normalize_phone

from ..inbound import InboundResult, receive_text
from .wire import Malformed, load_json

CHANNEL = "sms"
SECRET_HEADER = "X-Sbyt-Secret"  # noqa: S105 - the header's name, not a secret
MAX_BODY_BYTES = 64 * 1024

# Kannel's %C: "UTF-16BE" for UCS-2 (coding 2), "UTF-8" once recoded (mo-recode), "GSM"/"" for the default
# alphabet (Kannel hands it over already converted), "ISO-8859-1"/"WINDOWS-1252" on some set-ups.
_CHARSET_ALIASES = {"ucs-2": "utf-16-be", "ucs2": "utf-16-be", "utf-16": "utf-16-be", "gsm": "utf-8", "": "utf-8"}


def secret_ok(provided: str | None) -> bool:
    """The shared secret (``SBYT_SMS_INBOUND_SECRET``); with none configured every request is refused."""
    expected = settings.SBYT_SMS_INBOUND_SECRET
    if not expected or not provided:
        return False
    return hmac.compare_digest(provided.encode("utf-8", "replace"), expected.encode("utf-8"))


def _decode(raw: bytes, charset: str) -> str:
    name = _CHARSET_ALIASES.get(charset.strip().lower(), charset.strip().lower())
    try:
        codecs.lookup(name)
    except LookupError:
        name = "utf-8"
    if name.replace("_", "-") in ("utf-8", "utf8"):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")  # Kannel set-ups that hand over the default alphabet as ISO-8859-1
    return raw.decode(name, "replace")


def kannel_params(query_string: str) -> dict[str, str]:
    """Kannel's query parameters; ``text`` decoded by ``charset``, the rest as UTF-8. The first of each wins."""
    raw: dict[str, bytes] = {}
    for key, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True, encoding="latin-1"):
        raw.setdefault(key, value.encode("latin-1"))
    params = {key: value.decode("utf-8", "replace") for key, value in raw.items() if key != "text"}
    if "text" in raw:
        params["text"] = _decode(raw["text"], params.get("charset", ""))
    return params


def _address(value) -> str:
    """A phone number as +7…, or as sent (a short number, an alphanumeric sender)."""
    value = str(value).strip()
    return (normalize_phone(value) or value) if value else ""


def _field(data: dict, name: str, *, required: bool = True, numbers: bool = True) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise Malformed(_("Field «%(name)s» is missing.") % {"name": name})
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int) or (isinstance(value, int) and not numbers):
        raise Malformed(_("Field «%(name)s» must be a string.") % {"name": name})
    return str(value)


def receive_kannel(query_string: str) -> InboundResult:
    """A Kannel ``get-url`` request (its query string, as sent). Raises ``DomainError`` for malformed input."""
    params = kannel_params(query_string)
    return _receive(params, raw={k: v for k, v in params.items() if k != "secret"})


def receive_webhook(body: bytes) -> InboundResult:
    """An aggregator's POST ``{"id", "from", "to", "text"}``. Raises ``DomainError`` for malformed input."""
    data = load_json(body, limit=MAX_BODY_BYTES)
    data.pop("secret", None)
    return _receive(data, raw=data)


def _receive(data: dict, *, raw: dict) -> InboundResult:
    external_id = _field(data, "id")
    sender = _address(_field(data, "from"))
    receiver = _address(_field(data, "to", required=False))
    text = _field(data, "text", numbers=False)
    if not external_id.strip():
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": "id"})
    if not sender:
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": "from"})
    return receive_text(channel=CHANNEL, external_id=external_id, sender=sender, receiver=receiver, text=text, raw=raw)
