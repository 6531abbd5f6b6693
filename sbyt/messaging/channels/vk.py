"""VK (ВКонтакте) Callback API: the community's events → ``receive_text``; replies through ``messages.send``.

Every event is a JSON POST ``{"type", "object", "group_id", "event_id", "v", "secret"}``.

- ``confirmation`` (the handshake when the server is added in the community's settings): answered with the
  confirmation string ``SBYT_VK_CONFIRMATION`` as plain text, only for our community (``SBYT_VK_GROUP_ID``).
- Every other event carries the secret key (``SBYT_VK_SECRET``, compared in constant time; wrong → 403, nothing
  stored) and is answered ``ok`` (plain text) at once; VK repeats an event it did not get ``ok`` for.
- ``message_new``: ``object.message.text`` from ``object.message.peer_id`` (the reply goes there); the message id
  is ``event_id`` (kept on VK's retries), else ``<group_id>:<peer_id>:<conversation_message_id>``. A replay is
  answered once. A message without text (a sticker, a photo) gets the help. Other events are acknowledged only.
- Replies are stored as ``OutboundMessage`` and sent by the ``deliver_message`` task: ``POST
  {SBYT_VK_API_URL}/messages.send`` (form: access_token, v, peer_id, random_id, message). ``random_id`` is the stored
  message's id, so VK drops a second send of the same reply.

See docs/channels-messengers.md.
"""

import hmac
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from ..inbound import receive_text
from . import http
from .wire import Malformed, load_json

log = logging.getLogger(__name__)

CHANNEL = "vk"
MAX_BODY_BYTES = 256 * 1024
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class Answer:
    peer_id: str = ""
    reply: str = ""
    duplicate: bool = False


def parse(body: bytes) -> dict:
    data = load_json(body, limit=MAX_BODY_BYTES)
    if not isinstance(data.get("type"), str):
        raise Malformed(_("The request body must be a JSON object."))
    return data


def _our_group(data: dict) -> bool:
    expected = str(settings.SBYT_VK_GROUP_ID or "").strip()
    group = data.get("group_id")
    if type(group) is not int:
        return False
    return not expected or str(group) == expected


def confirmation(data: dict) -> str | None:
    """The confirmation string for our community's handshake; None → refuse."""
    expected = settings.SBYT_VK_CONFIRMATION
    if not expected or not str(settings.SBYT_VK_GROUP_ID or "").strip() or not _our_group(data):
        return None
    return expected


def secret_ok(data: dict) -> bool:
    """``secret`` in the event equals ``SBYT_VK_SECRET`` (constant time) and the event is for our community."""
    expected, provided = settings.SBYT_VK_SECRET, data.get("secret")
    if not expected or not isinstance(provided, str) or not provided:
        return False
    if not hmac.compare_digest(provided.encode("utf-8", "replace"), expected.encode("utf-8")):
        return False
    return _our_group(data)


def _int(value, name: str) -> str:
    if type(value) is not int or len(str(value)) > MAX_ID_LENGTH:
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": name})
    return str(value)


def handle_event(data: dict) -> Answer:
    """An authentic event (``secret_ok``). Raises ``DomainError`` (nothing stored) for a malformed
    ``message_new``; the reply is queued for ``messages.send`` unless the event is a replay."""
    if data["type"] != "message_new":  # message_reply (our own replies), typing, joins…: acknowledged only
        return Answer()
    obj = data.get("object")
    message = obj.get("message") if isinstance(obj, dict) else None
    if not isinstance(message, dict):
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": "object.message"})
    peer_id = _int(message.get("peer_id"), "peer_id")
    from_id = message.get("from_id")
    if type(from_id) is int and from_id < 0:  # a community writing (never a client): no dialogue with a bot
        return Answer()
    text = message.get("text", "")
    if not isinstance(text, str):
        raise Malformed(_("Field «%(name)s» must be a string.") % {"name": "text"})
    event_id = data.get("event_id")
    if isinstance(event_id, str) and event_id.strip() and len(event_id) <= MAX_ID_LENGTH:
        external_id = event_id.strip()
    else:
        cmid = _int(message.get("conversation_message_id"), "conversation_message_id")
        external_id = f"{data['group_id']}:{peer_id}:{cmid}"
    raw = {k: v for k, v in data.items() if k != "secret"}
    result = receive_text(
        channel=CHANNEL, external_id=external_id, sender=peer_id, receiver=str(data["group_id"]), text=text, raw=raw
    )
    if not result.duplicate and result.reply:
        from ..services import send_messenger

        send_messenger(
            channel=CHANNEL,
            to=peer_id,
            text=result.reply,
            purpose=f"reply:{result.message.pk}",
            actor=f"{CHANNEL}:bot",
        )
    return Answer(peer_id, result.reply, result.duplicate)


def send_message(*, to: str, text: str, extra: dict, key=None) -> str:
    """``messages.send``; VK's message id. Raises ``http.OutboundHttpError`` (recorded, retried). ``key`` (the
    stored message's id) is the ``random_id``: VK does not send the same ``random_id`` to a peer twice."""
    token = settings.SBYT_VK_ACCESS_TOKEN
    if not token:
        raise http.OutboundHttpError("SBYT_VK_ACCESS_TOKEN is not set")
    fields = {
        "access_token": token,
        "v": settings.SBYT_VK_API_VERSION,
        "peer_id": to,
        "random_id": int(key or 0) % 2**31,
        "message": text,
    }
    if extra.get("keyboard"):
        fields["keyboard"] = json.dumps(extra["keyboard"], ensure_ascii=False)
    url = f"{settings.SBYT_VK_API_URL.rstrip('/')}/messages.send"
    timeout = getattr(settings, "SBYT_MESSENGER_TIMEOUT", http.DEFAULT_TIMEOUT)
    answer = http.post_form(url, fields, timeout=timeout)
    if not isinstance(answer, dict) or "error" in answer or "response" not in answer:
        error = answer.get("error") if isinstance(answer, dict) else None
        detail = f"{error.get('error_code')} {error.get('error_msg')}" if isinstance(error, dict) else str(answer)[:300]
        raise http.OutboundHttpError(f"VK refused: {detail}")
    return str(answer["response"])
