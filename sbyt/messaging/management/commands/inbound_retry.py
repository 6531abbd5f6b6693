"""Process failed inbound messages again, once the cause of the failure is fixed."""

from django.core.management.base import BaseCommand

from sbyt.messaging.inbound import retry_message
from sbyt.messaging.models import InboundMessage


class Command(BaseCommand):
    help = "Retry inbound messages whose processing failed (all of them, or the ones given by --id)."

    def add_arguments(self, parser):
        parser.add_argument("--id", dest="ids", type=int, action="append", help="A message's database id.")
        parser.add_argument(
            "--channel", choices=[c for c in InboundMessage.Channel.values if c != InboundMessage.Channel.EMAIL]
        )
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, ids=None, channel=None, limit=1000, **options):
        messages = (
            InboundMessage.objects.filter(status=InboundMessage.Status.FAILED)
            .exclude(channel=InboundMessage.Channel.EMAIL)
            .order_by("received_at")
        )
        if ids:
            messages = messages.filter(pk__in=ids)
        if channel:
            messages = messages.filter(channel=channel)
        done = failed = 0
        for message in messages[:limit]:
            result = retry_message(message=message, actor="manage.py inbound_retry")
            ok = result.message.status == InboundMessage.Status.PROCESSED
            done, failed = done + ok, failed + (not ok)
            self.stdout.write(f"{message.pk} {message.channel} {result.message.status}: {result.reply}")
        self.stdout.write(f"processed {done}, failed again {failed}")
