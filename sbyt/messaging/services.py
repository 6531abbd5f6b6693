"""The outbound messaging interface: every SMS to a client goes through ``send_sms``, every e-mail through
``send_email`` (with file attachments, e.g. a bill's PDF). Both are stored first and delivered by the
``deliver_message`` task once the transaction commits."""

import hashlib
import logging
import re
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import DNS_NAME, EmailMessage, make_msgid
from django.db import transaction
from django.utils import timezone

from sbyt.core.audit import audit

from .backends import SmsDeliveryError, get_sms_backend
from .channels.http import OutboundHttpError
from .models import OutboundAttachment, OutboundMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024  # ~13.5 MiB once base64-encoded: under mail servers' usual 20–25 MB
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\\"]")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to send with an e-mail."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


class EmailDeliveryError(Exception):
    """The mail server did not take the message (it may take it on a later attempt)."""


def _queue(
    *,
    channel: str,
    to: str,
    text: str,
    subject: str = "",
    purpose: str = "",
    actor=None,
    attachments: tuple[Attachment, ...] = (),
) -> OutboundMessage:
    from .tasks import deliver_message

    message = OutboundMessage.objects.create(channel=channel, to=to, subject=subject, body=text, purpose=purpose)
    if attachments:
        OutboundAttachment.objects.bulk_create(
            [
                OutboundAttachment(
                    message=message,
                    filename=item.filename,
                    content_type=item.content_type,
                    content=item.content,
                    size=len(item.content),
                    sha256=hashlib.sha256(item.content).hexdigest(),
                )
                for item in attachments
            ]
        )
    # The text of one-time codes and passwords is not copied into the audit log.
    details = {"files": [item.filename for item in attachments]} if attachments else {}
    audit(actor, "message.queue", message, channel=channel, purpose=purpose, to=to, **details)
    transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    return message


def send_sms(*, to: str, text: str, purpose: str = "", actor=None) -> OutboundMessage:
    """Store the SMS, then deliver it in the background once the transaction commits."""
    return _queue(channel=OutboundMessage.Channel.SMS, to=to, text=text, purpose=purpose, actor=actor)


def _checked_attachments(attachments: Iterable[Attachment]) -> tuple[Attachment, ...]:
    checked = []
    for item in attachments:
        name = _UNSAFE_NAME.sub("_", item.filename).strip()[:200]
        if not name or not isinstance(item.content, bytes | bytearray):
            raise ValueError("an attachment needs a file name and bytes")
        checked.append(Attachment(name, bytes(item.content), item.content_type or "application/octet-stream"))
    if sum(len(item.content) for item in checked) > MAX_ATTACHMENTS_BYTES:
        raise ValueError(f"attachments over {MAX_ATTACHMENTS_BYTES} bytes")
    return tuple(checked)


def send_email(
    *,
    to: str,
    subject: str,
    text: str,
    purpose: str = "",
    actor=None,
    attachments: Iterable[Attachment] = (),
) -> OutboundMessage:
    """Store the e-mail (plain text, and ``attachments`` if any), then deliver it in the background once the
    transaction commits."""
    subject = " ".join(subject.split())  # a header: no line breaks
    return _queue(
        channel=OutboundMessage.Channel.EMAIL,
        to=to,
        subject=subject,
        text=text,
        purpose=purpose,
        actor=actor,
        attachments=_checked_attachments(attachments),
    )


def _send_sms(message: OutboundMessage) -> str:
    return get_sms_backend().send(to=message.to, text=message.body)


def _send_email(message: OutboundMessage) -> str:
    """Through Django's mail framework (``EMAIL_BACKEND``); the Message-ID is the external id."""
    message_id = make_msgid(domain=DNS_NAME)  # the cached host name, as Django itself does
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message_id},
    )
    for item in message.attachments.all():
        email.attach(item.filename, bytes(item.content), item.content_type)
    try:
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, timed out
        raise EmailDeliveryError(f"{type(exc).__name__}: {exc}") from exc
    return message_id[:100]


def deliver(message_id: int) -> str:
    """Send one stored message through the configured gateway; record the outcome."""
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().get(pk=message_id)
        if message.status == OutboundMessage.Status.SENT:
            return message.status
        message.attempts += 1
        send = _send_email if message.channel == OutboundMessage.Channel.EMAIL else _send_sms
        if message.channel in MESSENGER_SENDERS:
            send = _send_messenger
        try:
            message.external_id = send(message)
        except (SmsDeliveryError, EmailDeliveryError, OutboundHttpError) as exc:
            log.warning("%s %s to %s failed: %s", message.channel, message.pk, message.to, exc)
            message.error = str(exc)[:500]
            message.status = (
                OutboundMessage.Status.FAILED if message.attempts >= MAX_ATTEMPTS else OutboundMessage.Status.QUEUED
            )
        else:
            message.status = OutboundMessage.Status.SENT
            message.sent_at = timezone.now()
            message.error = ""
            # sent: the files need not be kept (their size and checksum stay)
            OutboundAttachment.objects.filter(message=message).update(content=b"")
        message.save(update_fields=["attempts", "external_id", "error", "status", "sent_at"])
    return message.status


# -- messengers (Telegram, VK; Viber and WhatsApp add their senders here) ------------------------------------

# channel → dotted path of ``send(*, to, text, extra, key) -> external id``; raises ``OutboundHttpError``.
MESSENGER_SENDERS = {
    OutboundMessage.Channel.TELEGRAM: "sbyt.messaging.channels.telegram.send_message",
    OutboundMessage.Channel.VK: "sbyt.messaging.channels.vk.send_message",
    OutboundMessage.Channel.VIBER: "sbyt.messaging.channels.viber.send_message",
    OutboundMessage.Channel.WHATSAPP: "sbyt.messaging.channels.whatsapp.send_message",
}


def send_messenger(*, channel: str, to: str, text: str, extra: dict | None = None, purpose: str = "", actor=None):
    """Store a message to a messenger chat (``extra``: the channel's own parameters, e.g. a reply keyboard), then
    deliver it in the background once the transaction commits; retried like an SMS when the API is down."""
    from .tasks import deliver_message

    if channel not in MESSENGER_SENDERS:
        raise ValueError(f"no sender for channel {channel!r}")
    message = OutboundMessage.objects.create(channel=channel, to=str(to), body=text, extra=extra or {}, purpose=purpose)
    audit(actor, "message.queue", message, channel=channel, purpose=purpose, to=str(to))
    transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    return message


def _send_messenger(message: OutboundMessage) -> str:
    from django.utils.module_loading import import_string

    send = import_string(MESSENGER_SENDERS[message.channel])
    # ``key``: the stored message's id, the same on every attempt (VK's random_id: a retry is not sent twice)
    return str(send(to=message.to, text=message.body, extra=message.extra or {}, key=message.pk))[:100]
