"""The outbound messaging interface: every SMS to a client goes through ``send_sms``."""

import logging

from django.db import transaction
from django.utils import timezone

from sbyt.core.audit import audit

from .backends import SmsDeliveryError, get_sms_backend
from .models import OutboundMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def send_sms(*, to: str, text: str, purpose: str = "", actor=None) -> OutboundMessage:
    """Store the SMS, then deliver it in the background once the transaction commits."""
    from .tasks import deliver_message

    message = OutboundMessage.objects.create(channel=OutboundMessage.Channel.SMS, to=to, body=text, purpose=purpose)
    # The text of one-time codes and passwords is not copied into the audit log.
    audit(actor, "message.queue", message, channel="sms", purpose=purpose, to=to)
    transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    return message


def deliver(message_id: int) -> str:
    """Send one stored message through the configured gateway; record the outcome."""
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().get(pk=message_id)
        if message.status == OutboundMessage.Status.SENT:
            return message.status
        message.attempts += 1
        try:
            message.external_id = get_sms_backend().send(to=message.to, text=message.body)
        except SmsDeliveryError as exc:
            log.warning("SMS %s to %s failed: %s", message.pk, message.to, exc)
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
