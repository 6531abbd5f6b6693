"""The outbound messaging interface: every SMS to a client goes through ``send_sms``, every e-mail through
``send_email``. Both are stored first and delivered by the ``deliver_message`` task once the transaction commits."""

import logging
import smtplib

from django.conf import settings
from django.core.mail import DNS_NAME, EmailMessage, make_msgid
from django.db import transaction
from django.utils import timezone

from sbyt.core.audit import audit

from .backends import SmsDeliveryError, get_sms_backend
from .models import OutboundMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class EmailDeliveryError(Exception):
    """The mail server did not take the message (it may take it on a later attempt)."""


def _queue(*, channel: str, to: str, text: str, subject: str = "", purpose: str = "", actor=None) -> OutboundMessage:
    from .tasks import deliver_message

    message = OutboundMessage.objects.create(channel=channel, to=to, subject=subject, body=text, purpose=purpose)
    # The text of one-time codes and passwords is not copied into the audit log.
    audit(actor, "message.queue", message, channel=channel, purpose=purpose, to=to)
    transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    return message


def send_sms(*, to: str, text: str, purpose: str = "", actor=None) -> OutboundMessage:
    """Store the SMS, then deliver it in the background once the transaction commits."""
    return _queue(channel=OutboundMessage.Channel.SMS, to=to, text=text, purpose=purpose, actor=actor)


def send_email(*, to: str, subject: str, text: str, purpose: str = "", actor=None) -> OutboundMessage:
    """Store the e-mail (plain text), then deliver it in the background once the transaction commits."""
    subject = " ".join(subject.split())  # a header: no line breaks
    return _queue(
        channel=OutboundMessage.Channel.EMAIL, to=to, subject=subject, text=text, purpose=purpose, actor=actor
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
        try:
            message.external_id = send(message)
        except (SmsDeliveryError, EmailDeliveryError) as exc:
            log.warning("%s %s to %s failed: %s", message.channel, message.pk, message.to, exc)
            message.error = str(exc)[:500]
            message.status = (
                OutboundMessage.Status.FAILED if message.attempts >= MAX_ATTEMPTS else OutboundMessage.Status.QUEUED
            )
        else:
            message.status = OutboundMessage.Status.SENT
            message.sent_at = timezone.now()
            message.error = ""
        message.save(update_fields=["attempts", "external_id", "error", "status", "sent_at"])
    return message.status
