"""Viber REST bot: the webhook's callbacks → ``receive_text``; replies through ``send_message``.

The HTTP view lives in the interface app (``sbyt/api/viber_whatsapp.py``); this module holds what is
Viber-specific. See docs/channels-viber-whatsapp.md.

A callback (``POST /channels/viber/webhook``) is JSON signed with the bot's auth token: the
``X-Viber-Content-Signature`` header is the HMAC-SHA256 (hex) of the raw body. Events:

- ``webhook``: Viber checks the URL when it is set (``set_webhook``) → 200;
- ``conversation_started``: the user opened the chat → the greeting with the help text, sent as the response body
  (Viber's "welcome message": the same JSON as ``send_message`` without ``receiver``);
- ``message``: ``sender.id`` (an opaque id, the dialogue's sender), ``message.type``, ``message.text``,
  ``message_token`` (the message id; the same on Viber's retries → answered once). Other types than ``text``
  (a photo of the meter, a sticker…) are answered like an empty message: the help, or the pending prompt again;
- ``subscribed``, ``unsubscribed``, ``delivered``, ``seen``, ``failed`` and anything newer → 200, nothing done.

The reply goes through ``messaging.services.send_messenger`` (an ``OutboundMessage``, delivered in the background
and retried while the Viber API is down) to ``POST {SBYT_VIBER_API_URL}/send_message`` with the
``X-Viber-Auth-Token`` header: ``{"receiver", "type": "text", "text", "sender": {"name"}}``; Viber answers
``{"status": 0, "message_token": …}`` (any other status is an error).
"""

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from .. import dialogue
from ..inbound import MAX_ADDRESS_LENGTH, MAX_ID_LENGTH, MAX_TEXT_LENGTH, InboundResult, receive_text
from ..models import InboundMessage, OutboundMessage
from ..services import send_messenger
from .http import OutboundHttpError, post_json
from .wire import Malformed, load_json

CHANNEL = "viber"
SIGNATURE_HEADER = "X-Viber-Content-Signature"
MAX_BODY_BYTES = 256 * 1024
REPLY_PURPOSE = "reply:%d"  # OutboundMessage.purpose of the reply to InboundMessage %d (one reply per message)


def signature_ok(body: bytes, signature: str | None) -> bool:
    """HMAC-SHA256 (hex) of the raw body with the auth token; with no token configured every callback is refused."""
    token = settings.SBYT_VIBER_AUTH_TOKEN
    if not token or not signature:
        return False
    expected = hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.strip().lower().encode("utf-8", "replace"), expected.encode("ascii"))


def welcome_text() -> str:
    return _("Hello! Here you can submit meter readings.") + " " + dialogue.help_text()


@dataclass(frozen=True)
class Callback:
    """What the view answers: ``response`` is the JSON body (the welcome message) or None for an empty 200;
    ``result`` is the inbound message's outcome when the callback carried one."""

    event: str
    response: dict | None = None
    result: InboundResult | None = None


def _object(data: dict, name: str) -> dict:
    value = data.get(name)
    if not isinstance(value, dict):
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": name})
    return value


def _identifier(value, name: str, limit: int) -> str:
    """A non-empty id that the store takes: a string or an integer (Viber's message_token is a 64-bit integer)."""
    if value is None or value == "":
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": name})
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip() or len(str(value)) > limit:
        raise Malformed(_("Field «%(name)s» is invalid.") % {"name": name})
    value = str(value).strip()
    return value


def receive_callback(body: bytes) -> Callback:
    """One signed callback (check ``signature_ok`` first). Raises ``DomainError`` for a malformed one (nothing
    stored); a text message is stored, answered once and its reply queued."""
    data = load_json(body, limit=MAX_BODY_BYTES)
    event = data.get("event")
    if not isinstance(event, str) or not event:
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": "event"})
    if event == "conversation_started":
        return Callback(event, response=_message_json(welcome_text()))
    if event != "message":
        return Callback(event)  # webhook, subscribed, unsubscribed, delivered, seen, failed, …: nothing to do
    sender = _identifier(_object(data, "sender").get("id"), "sender.id", MAX_ADDRESS_LENGTH)
    external_id = _identifier(data.get("message_token"), "message_token", MAX_ID_LENGTH)
    message = _object(data, "message")
    kind = message.get("type")
    if not isinstance(kind, str) or not kind:
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": "message.type"})
    text = ""
    if kind == "text":
        text = message.get("text")
        if not isinstance(text, str):
            raise Malformed(_("Field «%(name)s» must be a string.") % {"name": "message.text"})
        text = text[:MAX_TEXT_LENGTH]  # Viber allows 7 000; the engine reads 500, the raw payload keeps all
    result = receive_text(channel=CHANNEL, external_id=external_id, sender=sender, text=text, raw=data)
    queue_reply(result, to=sender)
    return Callback(event, result=result)


def queue_reply(result: InboundResult, *, to: str, extra: dict | None = None) -> OutboundMessage | None:
    """Queue the stored reply of an inbound message to its messenger chat, once per message: the message's row
    is locked and an existing reply looked for, so a platform's retry (or a concurrent one) sends nothing again,
    while a message stored but never answered (the process died) gets its reply on the retry."""
    message = result.message
    purpose = REPLY_PURPOSE % message.pk
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status == InboundMessage.Status.RECEIVED or not locked.reply:
            return None
        already = OutboundMessage.objects.filter(
            created_at__gte=locked.received_at, channel=locked.channel, purpose=purpose
        )
        if already.exists():
            return None
        return send_messenger(
            channel=locked.channel,
            to=to,
            text=locked.reply,
            extra=extra,
            purpose=purpose,
            actor=f"{locked.channel}:{locked.sender}",
        )


def _message_json(text: str, receiver: str = "") -> dict:
    payload = {"type": "text", "text": text, "sender": {"name": settings.SBYT_VIBER_SENDER_NAME}}
    if receiver:
        payload = {"receiver": receiver, **payload}
    return payload


def send_message(*, to: str, text: str, extra: dict | None = None, key=None) -> str:
    """``POST /send_message``; Viber's message token. Raises ``OutboundHttpError`` (the message is retried)."""
    answer = post_json(
        f"{settings.SBYT_VIBER_API_URL}/send_message",
        _message_json(text, receiver=to),
        headers={"X-Viber-Auth-Token": settings.SBYT_VIBER_AUTH_TOKEN},
    )
    status = answer.get("status") if isinstance(answer, dict) else None
    if status != 0:
        detail = answer.get("status_message", "") if isinstance(answer, dict) else ""
        raise OutboundHttpError(f"Viber status {status}: {str(detail)[:200]}", status=200, body=answer)
    return str(answer.get("message_token", ""))
