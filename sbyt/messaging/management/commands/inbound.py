"""Run one inbound text through a channel's full path (stored, dialogue, reading) and print the reply."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from sbyt.core.errors import DomainError
from sbyt.core.phones import normalize_phone
from sbyt.messaging.inbound import receive_text
from sbyt.messaging.models import InboundMessage


class Command(BaseCommand):
    help = "Feed one text message into a channel as if a client had sent it, and print the reply."

    def add_arguments(self, parser):
        parser.add_argument("channel", choices=InboundMessage.Channel.values)
        parser.add_argument("--from", dest="sender", required=True, help="The sender: a phone number, a chat id.")
        parser.add_argument("--text", required=True, help="The message text, e.g. «ПС 102057522 11638».")
        parser.add_argument("--id", dest="external_id", help="The gateway's message id (default: a new one).")
        parser.add_argument("--to", dest="receiver", default="", help="The receiver (branch number, bot).")

    def handle(self, *args, channel, sender, text, external_id=None, receiver="", **options):
        if channel == InboundMessage.Channel.SMS:
            sender = normalize_phone(sender) or sender.strip()
        try:
            result = receive_text(
                channel=channel,
                external_id=external_id or f"cli-{uuid.uuid4()}",
                sender=sender,
                receiver=receiver,
                text=text,
                raw={"source": "manage.py inbound"},
            )
        except DomainError as exc:
            raise CommandError(exc.message)
        if result.duplicate:
            self.stderr.write(f"message {result.message.external_id} was already received; its reply:")
        self.stdout.write(result.reply)
