"""The e-mail robot: poll the readings mailbox over IMAP and answer each new letter (docs/email-robot.md)."""

import imaplib
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sbyt.messaging.channels import email_robot


class Command(BaseCommand):
    help = "Poll the e-mail robot's mailbox and answer new letters (once with --once, else every N seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Poll once and exit.")
        parser.add_argument(
            "--interval", type=float, default=None, help="Seconds between polls (SBYT_MAIL_ROBOT_POLL_SECONDS)."
        )

    def handle(self, *args, once=False, interval=None, **options):
        if not email_robot.configured():
            raise CommandError("The mail robot is off: set SBYT_MAIL_ROBOT_IMAP_HOST and SBYT_MAIL_ROBOT_IMAP_USER.")
        interval = interval or settings.SBYT_MAIL_ROBOT_POLL_SECONDS
        while True:
            try:
                report = email_robot.poll()
            except (imaplib.IMAP4.error, OSError) as exc:
                if once:
                    raise CommandError(f"IMAP: {exc}") from exc
                self.stderr.write(f"IMAP: {exc}")
            else:
                self.stdout.write(str(report))
            if once:
                return
            time.sleep(interval)
