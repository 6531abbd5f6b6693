"""Retry SMS and e-mail that a gateway or mail server failed to take; forget long-expired dialogue states."""

from datetime import timedelta

from django.utils import timezone

from sbyt.core.periodic import every

from . import inbound
from .models import OutboundMessage
from .tasks import deliver_message


@every(60)
def retry_queued_messages() -> int:
    stale = timezone.now() - timedelta(minutes=2)
    ids = list(
        OutboundMessage.objects.filter(
            status=OutboundMessage.Status.QUEUED, attempts__gt=0, created_at__lt=stale
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        deliver_message.enqueue(pk)
    return len(ids)


@every(3600)
def purge_expired_conversations() -> int:
    """Dialogue states that expired more than a day ago."""
    return inbound.purge_conversations()


@every(20)  # SBYT_MAIL_ROBOT_POLL_SECONDS is for `manage.py mail_robot`; 20 s + processing keeps APL-4's 1 minute
def poll_mail_robot() -> int:
    """The e-mail robot's mailbox (docs/email-robot.md); off while SBYT_MAIL_ROBOT_IMAP_HOST is unset."""
    from .channels import email_robot

    if not email_robot.configured():
        return 0
    return email_robot.poll().answered
