"""The inbound side of every text channel: store the raw message first, then run the dialogue.

``receive_text`` is what a channel adapter (SMS, Telegram, VK, Viber, WhatsApp, the ``inbound`` command)
calls with what it parsed from its wire format:

1. The message is stored in its own transaction, unique by ``(channel, external_id)``. A gateway's retry of a
   message already stored gets the stored reply and changes nothing else (answered once).
2. It is processed in a second transaction: the sender's ``Conversation`` is locked, ``dialogue.handle`` runs
   (a reading goes through ``metering.services.submit_reading``), the new state is kept (deleted when the
   dialogue is over), the reply is stored and the message marked ``processed``.
3. An unexpected error rolls back everything the processing wrote (the reading, the state); the message stays
   stored as ``failed`` with the error, the client gets a polite «try later», and an operator can retry it
   (``retry_message`` / ``manage.py inbound_retry``).
"""

import datetime as dt
import logging
import re
import traceback
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError
from sbyt.core.rows import insert

from . import dialogue, sql
from .models import Conversation, InboundMessage

log = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 5000  # characters; a concatenated SMS of 40 parts is ~2 700, a bot message 4 096
MAX_ID_LENGTH = InboundMessage._meta.get_field("external_id").max_length
MAX_ADDRESS_LENGTH = InboundMessage._meta.get_field("sender").max_length
CONVERSATION_GRACE = dt.timedelta(days=1)  # an expired dialogue is kept this long so «time has run out» is said

_UNSAFE = re.compile(r"[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8)


def clean(value):
    """Text the database can store: NUL dropped, lone surrogates replaced; recursive for JSON-like data."""
    if isinstance(value, str):
        return _UNSAFE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)
    if isinstance(value, dict):
        return {clean(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def try_later_text() -> str:
    return _("Sorry, we could not process your message. Please try again later.")


@dataclass(frozen=True)
class InboundResult:
    reply: str
    message: InboundMessage
    duplicate: bool = False


def _actor(channel: str, sender: str) -> str:
    return f"{channel}:{sender}"


def _guard(*, channel: str, external_id: str, sender: str, receiver: str, text: str) -> None:
    if channel not in InboundMessage.Channel.values:
        raise DomainError(_("Unknown channel."), code="bad_channel")
    if not external_id or len(external_id) > MAX_ID_LENGTH:
        raise DomainError(_("The message id is missing or too long."), code="bad_id")
    if not sender or len(sender) > MAX_ADDRESS_LENGTH:
        raise DomainError(_("The sender is missing or too long."), code="bad_sender")
    if len(receiver) > MAX_ADDRESS_LENGTH:
        raise DomainError(_("The receiver is too long."), code="bad_receiver")
    if len(text) > MAX_TEXT_LENGTH:
        raise DomainError(_("The message is too long."), code="too_long")


def receive_text(
    *,
    channel: str,
    external_id: str,
    sender: str,
    text: str,
    receiver: str = "",
    raw=None,
    received_at: dt.datetime | None = None,
) -> InboundResult:
    """Store, then process one inbound text. Raises ``DomainError`` (nothing stored) for malformed input;
    never raises for what a client wrote or for a failure while processing (the reply says so)."""
    channel, external_id = clean(str(channel or "")), clean(str(external_id or "").strip())
    sender, receiver = clean(str(sender or "").strip()), clean(str(receiver or "").strip())
    text = clean(text if isinstance(text, str) else "" if text is None else str(text))
    _guard(channel=channel, external_id=external_id, sender=sender, receiver=receiver, text=text)
    try:
        message = _store(
            channel=channel,
            external_id=external_id,
            sender=sender,
            receiver=receiver,
            text=text,
            raw=clean(raw) if raw is not None else {},
            received_at=received_at or timezone.now(),
        )
    except IntegrityError:
        message = InboundMessage.objects.filter(channel=channel, external_id=external_id).first()
        if message is None:  # not a duplicate: something else refused the row
            raise
        return _process(message.pk, duplicate=True)
    return _process(message.pk, stored=message)


def _store(**fields) -> InboundMessage:
    """The raw message, committed before it is processed: outside a transaction a single INSERT in autocommit
    (one round trip); inside the caller's transaction a savepoint, so that a duplicate leaves it usable."""
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return insert(InboundMessage(**fields))
    return insert(InboundMessage(**fields))


def _process(
    message_id: int, *, duplicate: bool = False, retry: bool = False, actor=None, stored: InboundMessage | None = None
) -> InboundResult:
    """Run the dialogue for a stored message, once. A duplicate waits for the first delivery's processing (row
    lock) and gets its reply; a message still ``received`` (its first processing never ran) is processed now.
    ``stored``: the message just stored by this request (the common case), locked without reading it again."""
    try:
        with transaction.atomic():
            if stored is not None:
                message = stored
                message.status = sql.lock_message(message.pk)
            else:
                message = InboundMessage.objects.select_for_update().defer("raw").get(pk=message_id)
            if message.status == InboundMessage.Status.FAILED and retry:
                message.status = InboundMessage.Status.RECEIVED
            if message.status != InboundMessage.Status.RECEIVED:
                if stored is not None:  # processed meanwhile (not expected for a row this request stored)
                    message = InboundMessage.objects.defer("raw").get(pk=message_id)
                return InboundResult(message.reply or try_later_text(), message, duplicate)
            message.attempts += 1
            reply, reason = _run_dialogue(message)
            message.status = InboundMessage.Status.PROCESSED
            message.reply, message.reason, message.error = reply, reason, ""
            message.processed_at = timezone.now()
            sql.finish_message(message)
            if retry:  # an operator's action; a normal processing is recorded by the message row itself
                audit(actor, "inbound.retry", message, channel=message.channel, reason=reason)
            return InboundResult(reply, message, duplicate)
    except Exception as exc:  # anything unexpected: the processing's writes are rolled back, the message stays
        log.exception("inbound message %s failed", message_id)
        return _fail(message_id, exc, duplicate=duplicate, actor=actor)


def _fail(message_id: int, exc: Exception, *, duplicate: bool, actor=None) -> InboundResult:
    error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
    reply = try_later_text()
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message_id)
        message.status = InboundMessage.Status.FAILED
        message.attempts += 1
        message.reply, message.reason, message.error = reply, "", clean(error)
        message.processed_at = timezone.now()
        message.save(update_fields=["status", "reply", "reason", "error", "processed_at", "attempts"])
        audit(actor or _actor(message.channel, message.sender), "inbound.fail", message, channel=message.channel)
    return InboundResult(reply, message, duplicate)


def _run_dialogue(message: InboundMessage) -> tuple[str, str]:
    """The dialogue step with the sender's stored state; the new state is kept. Inside the caller's transaction."""
    now = message.received_at
    conversation = sql.lock_conversation(message.channel, message.sender)  # (id, state) or None
    # The stored state goes to the engine even when it has expired: the engine itself refuses to continue an
    # expired dialogue and tells the client the time has run out (rather than answering with the general help).
    state = conversation[1] if conversation is not None else None
    outcome = dialogue.handle(state=state, text=message.text, channel=message.channel, sender=message.sender, now=now)
    if outcome.state is None:
        if conversation is not None:
            sql.delete_conversation(conversation[0])
    else:
        # One statement whether or not the row exists: a second message of the same sender may have created it
        # since it was read (the unique (channel, sender) decides; no savepoint needed).
        sql.save_conversation(message.channel, message.sender, outcome.state, now + dialogue.STATE_TTL, timezone.now())
    return outcome.reply, outcome.reason


def retry_message(*, message: InboundMessage, actor) -> InboundResult:
    """Process a ``failed`` text-dialogue message again (after the cause is fixed). A processed one is left as it
    is. Letters to the e-mail robot are not dialogue messages: the robot processes its own."""
    if message.channel == InboundMessage.Channel.EMAIL:
        raise DomainError(_("Letters to the e-mail robot are processed by the robot, not by the dialogue."))
    return _process(message.pk, retry=True, actor=actor)


def purge_conversations(*, now: dt.datetime | None = None) -> int:
    """Forget dialogues that expired more than a day ago (their senders were told the time had run out)."""
    cutoff = (now or timezone.now()) - CONVERSATION_GRACE
    deleted, _rows = Conversation.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
