"""Telegram Bot API: the webhook's ``Update`` JSON → ``receive_text``; replies through ``sendMessage``.

The webhook is registered with ``setWebhook(url=…/channels/telegram/webhook, secret_token=…)``; Telegram sends the
secret back in ``X-Telegram-Bot-Api-Secret-Token`` (checked in constant time; missing or wrong → 403, nothing
stored). One update is one message of one chat: ``message.text`` from ``message.chat.id``; the ``update_id`` is
the message id (``(telegram, update_id)`` is answered once).

- ``/start`` → a greeting with the help text and a reply-keyboard button that shares the phone (``request_contact``).
- A shared contact whose ``user_id`` is the sender's own id → the chat is linked to the phone (``MessengerLink``) and
  offered buttons «ПС <договор>» for the contracts of the accounts whose client has that phone (numbers only: no
  names, no addresses). Somebody else's contact is refused (and its number is not kept).
- Stickers, photos, voice, edited messages → the dialogue's help (or its question again, mid-dialogue).
- Replies are stored as ``OutboundMessage`` and sent by the ``deliver_message`` task (retried while the Bot API is
  down): ``POST {SBYT_TELEGRAM_API_URL}/bot{token}/sendMessage`` with JSON ``{chat_id, text, reply_markup}``.

See docs/channels-messengers.md.
"""

import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.phones import normalize_phone

from .. import dialogue
from ..inbound import clean, receive_text
from ..models import InboundMessage, MessengerLink
from . import http
from .wire import Malformed, load_json

log = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - the header's name, not a secret
MAX_BODY_BYTES = 256 * 1024
MAX_ID_LENGTH = 64
MAX_CONTRACT_BUTTONS = 12
# Updates that carry a message in another key than ``message``: answered with help, never read as readings.
_OTHER_MESSAGES = ("edited_message", "business_message", "edited_business_message")


@dataclass(frozen=True)
class Answer:
    """What an update got: the reply (``""`` for updates nobody answers), whether it was a replay."""

    chat_id: str = ""
    reply: str = ""
    duplicate: bool = False


def secret_ok(provided: str | None) -> bool:
    """``SBYT_TELEGRAM_SECRET_TOKEN``, compared in constant time; with none configured every update is refused."""
    expected = settings.SBYT_TELEGRAM_SECRET_TOKEN
    if not expected or not provided:
        return False
    return hmac.compare_digest(provided.encode("utf-8", "replace"), expected.encode("utf-8"))


# -- texts and keyboards ---------------------------------------------------------------------------------------


def greeting_text() -> str:
    return " ".join(
        (
            _("Hello! Here you can submit meter readings."),
            dialogue.help_text(),
            _("To choose your contracts with buttons, share your phone number with the button below."),
        )
    )


def share_button_text() -> str:
    return _("Share my phone number")


def linked_text(contracts: list[str]) -> str:
    if not contracts:
        return " ".join((_("No contracts were found for this phone number."), dialogue.help_text()))
    return _("Your phone number is linked. Choose a contract to submit readings, or send: ПС <contract> <readings>.")


def foreign_contact_text() -> str:
    return _("Please share your own phone number with the button below. Other people's contacts are not accepted.")


def contact_keyboard() -> dict:
    return {
        "keyboard": [[{"text": share_button_text(), "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


def contracts_keyboard(contracts: list[str]) -> dict:
    if not contracts:
        return {"remove_keyboard": True}
    buttons = [{"text": f"ПС {number}"} for number in contracts]
    return {"keyboard": [buttons[i : i + 2] for i in range(0, len(buttons), 2)], "resize_keyboard": True}


def contracts_for_phone(phone: str) -> list[str]:
    """Numbers of the active contracts with meters of the open accounts whose client has this phone."""
    from sbyt.customers.models import Contract

    return list(
        Contract.objects.filter(
            account__customer__phone=phone,
            account__closed_on__isnull=True,
            status=Contract.Status.ACTIVE,
            meters__isnull=False,
        )
        .order_by("number")
        .values_list("number", flat=True)
        .distinct()[:MAX_CONTRACT_BUTTONS]
    )


# -- reading an update -----------------------------------------------------------------------------------------


def parse(body: bytes) -> dict:
    data = load_json(body, limit=MAX_BODY_BYTES)
    if type(data.get("update_id")) is not int:
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": "update_id"})
    return data


def _id(value, name: str) -> str:
    if type(value) is not int or len(str(value)) > MAX_ID_LENGTH:
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": name})
    return str(value)


def receive_update(body: bytes) -> Answer:
    """One webhook update (the request body). Raises ``DomainError`` (nothing stored) for malformed input; the
    reply, if any, is queued for ``sendMessage`` unless the update is a replay."""
    data = parse(body)
    external_id = str(data["update_id"])
    key = "message" if "message" in data else next((k for k in _OTHER_MESSAGES if k in data), None)
    if key is None:  # callback queries, chat member changes, polls…: nothing to answer
        return Answer()
    message = data[key]
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        raise Malformed(_("Field «%(name)s» is missing.") % {"name": f"{key}.chat"})
    chat_id = _id(message["chat"].get("id"), "chat.id")
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    text = message.get("text")
    if text is not None and not isinstance(text, str):
        raise Malformed(_("Field «%(name)s» must be a string.") % {"name": "text"})
    if key != "message":
        text = None  # an edited message is not read again: the help (or the pending question) is the answer
    contact = message.get("contact")
    if key == "message" and isinstance(contact, dict):
        return _contact(data, external_id, chat_id, sender.get("id"), contact)
    if text is not None and text.strip().split("@", 1)[0].split(None, 1)[0:1] == ["/start"]:
        return _answer_once(
            data, external_id, chat_id, text, greeting_text(), extra={"reply_markup": _start_keyboard(chat_id)}
        )
    result = receive_text(channel=CHANNEL, external_id=external_id, sender=chat_id, text=text or "", raw=data)
    if not result.duplicate:
        _queue(chat_id, result.reply, {}, result.message)
    return Answer(chat_id, result.reply, result.duplicate)


def _start_keyboard(chat_id: str) -> dict:
    link = MessengerLink.objects.filter(channel=CHANNEL, chat_id=chat_id).first()
    contracts = contracts_for_phone(link.phone) if link else []
    if not contracts:
        return contact_keyboard()
    keyboard = contracts_keyboard(contracts)
    keyboard["keyboard"].append([{"text": share_button_text(), "request_contact": True}])
    return keyboard


def _contact(data: dict, external_id: str, chat_id: str, from_id, contact: dict) -> Answer:
    own = type(from_id) is int and contact.get("user_id") == from_id
    phone = normalize_phone(str(contact.get("phone_number") or "")) if own else None
    if not own:
        # somebody else's number is not kept, not even in the raw payload
        data = {**data, "message": {**data["message"], "contact": {"user_id": contact.get("user_id")}}}
        return _answer_once(
            data, external_id, chat_id, "", foreign_contact_text(), {"reply_markup": contact_keyboard()}
        )
    if phone is None:
        return _answer_once(
            data, external_id, chat_id, "", linked_text([]), {"reply_markup": {"remove_keyboard": True}}, link=None
        )
    contracts = contracts_for_phone(phone)
    return _answer_once(
        data, external_id, chat_id, "", linked_text(contracts), {"reply_markup": contracts_keyboard(contracts)}, phone
    )


def _answer_once(data, external_id, chat_id, text, reply, extra, link: str | None = None) -> Answer:
    """Updates the dialogue does not handle (``/start``, a contact): stored with their reply, the link written, and
    the reply queued — in one transaction, once per ``update_id``; a replay gets the stored reply, nothing else."""
    now = timezone.now()
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                channel=CHANNEL,
                external_id=external_id,
                sender=chat_id,
                text=clean(text),
                raw=clean(data),
                received_at=now,
                status=InboundMessage.Status.PROCESSED,
                reply=reply,
                processed_at=now,
                attempts=1,
            )
            actor = f"{CHANNEL}:{chat_id}"
            if link:
                MessengerLink.objects.update_or_create(channel=CHANNEL, chat_id=chat_id, defaults={"phone": link})
                audit(actor, "messenger.link", message, channel=CHANNEL, phone=link)
            audit(actor, "inbound.process", message, channel=CHANNEL, reason="")
            _queue(chat_id, reply, extra, message)
    except IntegrityError:
        stored = InboundMessage.objects.filter(channel=CHANNEL, external_id=external_id).first()
        if stored is None:
            raise
        return Answer(chat_id, stored.reply, duplicate=True)
    return Answer(chat_id, reply)


def _queue(chat_id: str, reply: str, extra: dict, message: InboundMessage) -> None:
    from ..services import send_messenger

    if reply:
        send_messenger(
            channel=CHANNEL, to=chat_id, text=reply, extra=extra, purpose=f"reply:{message.pk}", actor=f"{CHANNEL}:bot"
        )


# -- sending ---------------------------------------------------------------------------------------------------


def send_message(*, to: str, text: str, extra: dict, key=None) -> str:
    """``sendMessage``; the Telegram message id. Raises ``http.OutboundHttpError`` (recorded, retried)."""
    token = settings.SBYT_TELEGRAM_BOT_TOKEN
    if not token:
        raise http.OutboundHttpError("SBYT_TELEGRAM_BOT_TOKEN is not set")
    chat_id = int(to) if to.lstrip("-").isdigit() else to
    payload = {"chat_id": chat_id, "text": text}
    if extra.get("reply_markup"):
        payload["reply_markup"] = extra["reply_markup"]
    url = f"{settings.SBYT_TELEGRAM_API_URL.rstrip('/')}/bot{token}/sendMessage"
    timeout = getattr(settings, "SBYT_MESSENGER_TIMEOUT", http.DEFAULT_TIMEOUT)
    answer = http.post_json(url, payload, timeout=timeout)
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise http.OutboundHttpError(f"Telegram refused: {str(answer)[:300]}")
    result = answer.get("result")
    return str(result.get("message_id", "")) if isinstance(result, dict) else ""
