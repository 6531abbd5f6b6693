"""WhatsApp Cloud API: the webhook's notifications → ``receive_text``; replies through ``/{phone-number-id}/messages``.

The HTTP view lives in the interface app (``sbyt/api/viber_whatsapp.py``); this module holds what is
WhatsApp-specific. See docs/channels-viber-whatsapp.md.

- ``GET /channels/whatsapp/webhook?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…``: Meta's subscription
  handshake; the challenge is echoed (text/plain) when the verify token matches ``SBYT_WHATSAPP_VERIFY_TOKEN``.
- ``POST /channels/whatsapp/webhook``: ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw body
  with the app secret (``SBYT_WHATSAPP_APP_SECRET``). The body is
  ``{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {…}}]}]}``;
  every ``value.messages[]`` is one message: ``from`` (the sender's WhatsApp id, their phone number in international
  form without «+»), ``id`` (the ``wamid``; the same on Meta's retries → answered once), ``type`` and, for
  ``text``, ``text.body``. ``value.statuses[]`` (sent / delivered / read of our replies) need nothing. Other types
  (a photo of the meter, a voice note…) are answered like an empty message: the help, or the pending prompt again;
  reactions and system notices are not answered.

The whole payload is read and checked before anything is stored (a malformed one stores nothing); then each
message goes through ``receive_text``. The reply goes through ``messaging.services.send_messenger`` (retried while
the API is down) from the business number the message came to (``value.metadata.phone_number_id``, else
``SBYT_WHATSAPP_PHONE_NUMBER_ID``): ``POST {SBYT_WHATSAPP_API_URL}/{phone-number-id}/messages`` with
``Authorization: Bearer …`` and ``{"messaging_product": "whatsapp", "to", "type": "text", "text": {"body"}}``.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from ..inbound import MAX_ADDRESS_LENGTH, MAX_ID_LENGTH, MAX_TEXT_LENGTH, InboundResult, receive_text
from .http import OutboundHttpError, post_json
from .viber import queue_reply
from .wire import Malformed, load_json

CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY_BYTES = 1024 * 1024  # Meta batches up to 1 000 updates into one notification
NOT_ANSWERED = frozenset({"reaction", "system", "ephemeral", "request_welcome"})

_NON_DIGITS = re.compile(r"\D+")


def verify(params) -> str | None:
    """The subscription handshake: ``hub.challenge`` when ``hub.mode`` is ``subscribe`` and ``hub.verify_token``
    matches; otherwise None (refused; always refused with no verify token configured)."""
    expected = settings.SBYT_WHATSAPP_VERIFY_TOKEN
    token, challenge = params.get("hub.verify_token") or "", params.get("hub.challenge") or ""
    if not expected or params.get("hub.mode") != "subscribe" or not challenge or len(challenge) > 256:
        return None
    if not hmac.compare_digest(token.encode("utf-8", "replace"), expected.encode("utf-8")):
        return None
    return challenge


def signature_ok(body: bytes, header: str | None) -> bool:
    """``sha256=<hex>`` of the raw body with the app secret; with no secret configured every request is refused."""
    secret = settings.SBYT_WHATSAPP_APP_SECRET
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[7:].strip().lower().encode("utf-8", "replace"), expected.encode("ascii"))


def address(wa_id: str) -> str:
    """A WhatsApp id (international digits without «+») as ``+7XXXXXXXXXX`` for a Russian number (one client, one
    dialogue, however the number was written), ``+<digits>`` otherwise."""
    digits = _NON_DIGITS.sub("", wa_id)
    if not digits:
        return ""
    if len(digits) == 11 and digits[0] == "7":
        return "+7" + digits[1:]
    return "+" + digits


@dataclass(frozen=True)
class Item:
    """One message of a notification, checked."""

    external_id: str
    wa_id: str
    sender: str
    receiver: str
    phone_number_id: str
    text: str
    raw: dict


def _list(value, name: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(_("Field «%(name)s» is invalid.") % {"name": name})
    return value


def _string(data: dict, key: str, name: str, *, limit: int = MAX_ID_LENGTH) -> str:
    value = data.get(key)
    if value is None or value == "":
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": name})
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Malformed(_("Field «%(name)s» is invalid.") % {"name": name})
    return value.strip()


def _item(message, metadata: dict) -> Item | None:
    if not isinstance(message, dict):
        raise Malformed(_("Field «%(name)s» is invalid.") % {"name": "messages"})
    kind = _string(message, "type", "messages.type")
    external_id = _string(message, "id", "messages.id")
    wa_id = _string(message, "from", "messages.from", limit=MAX_ADDRESS_LENGTH)
    sender = address(wa_id)
    if not sender:
        raise Malformed(_("Field «%(name)s» is invalid.") % {"name": "messages.from"})
    if kind in NOT_ANSWERED:
        return None
    text = ""
    if kind == "text":
        body = message.get("text")
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            raise Malformed(_("Field «%(name)s» is missing.") % {"name": "messages.text.body"})
        text = body["body"][:MAX_TEXT_LENGTH]  # WhatsApp allows 4 096 characters
    phone_number_id = metadata.get("phone_number_id")
    phone_number_id = str(phone_number_id) if isinstance(phone_number_id, str | int) else ""
    phone_number_id = phone_number_id if phone_number_id.isdigit() else ""  # it goes into the reply's URL path
    display = metadata.get("display_phone_number")
    receiver = address(display)[:MAX_ADDRESS_LENGTH] if isinstance(display, str) else ""
    return Item(external_id, wa_id, sender, receiver, phone_number_id[:64], text, message)


def parse(body: bytes) -> list[Item]:
    """Every message of a notification, all checked before any is stored. Raises ``DomainError``."""
    data = load_json(body, limit=MAX_BODY_BYTES)
    if data.get("object") != "whatsapp_business_account":
        raise Malformed(_("Field «%(name)s» is invalid.") % {"name": "object"})
    items = []
    for entry in _list(data.get("entry"), "entry"):
        if not isinstance(entry, dict):
            raise Malformed(_("Field «%(name)s» is invalid.") % {"name": "entry"})
        for change in _list(entry.get("changes"), "changes"):
            if not isinstance(change, dict):
                raise Malformed(_("Field «%(name)s» is invalid.") % {"name": "changes"})
            if change.get("field") != "messages":
                continue  # account updates, templates, …: not for this webhook
            value = change.get("value")
            if not isinstance(value, dict):
                raise Malformed(_("Field «%(name)s» is missing.") % {"name": "value"})
            metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            _list(value.get("statuses"), "statuses")  # delivery statuses of our replies: nothing to do
            for message in _list(value.get("messages"), "messages"):
                item = _item(message, metadata)
                if item is not None:
                    items.append(item)
    return items


def receive_webhook(body: bytes) -> list[InboundResult]:
    """A signed notification (check ``signature_ok`` first): each message stored, answered once, its reply
    queued. Raises ``DomainError`` for a malformed notification (nothing stored)."""
    results = []
    for item in parse(body):
        result = receive_text(
            channel=CHANNEL,
            external_id=item.external_id,
            sender=item.sender,
            receiver=item.receiver,
            text=item.text,
            raw=item.raw,
        )
        extra = {"phone_number_id": item.phone_number_id} if item.phone_number_id else {}
        queue_reply(result, to=item.wa_id, extra=extra)
        results.append(result)
    return results


def send_message(*, to: str, text: str, extra: dict | None = None, key=None) -> str:
    """``POST /{phone-number-id}/messages``; the reply's wamid. Raises ``OutboundHttpError`` (retried)."""
    phone_number_id = (extra or {}).get("phone_number_id") or settings.SBYT_WHATSAPP_PHONE_NUMBER_ID
    token = settings.SBYT_WHATSAPP_ACCESS_TOKEN
    if not phone_number_id or not token:
        raise OutboundHttpError("WhatsApp is not configured (access token, phone number id)")
    answer = post_json(
        f"{settings.SBYT_WHATSAPP_API_URL}/{phone_number_id}/messages",
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": False, "body": text},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    messages = answer.get("messages") if isinstance(answer, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
        raise OutboundHttpError("WhatsApp: no message id in the answer", status=200, body=answer)
    return str(messages[0].get("id", ""))
