"""Run the phone IVR's FastAGI server for Asterisk: ``python manage.py ivr_agi --host 127.0.0.1 --port 4573``."""

from django.core.management.base import BaseCommand

from sbyt.messaging.channels.ivr.menu import all_prompts
from sbyt.messaging.channels.ivr.server import AGIServer


class Command(BaseCommand):
    help = "Serve the readings IVR over FastAGI (dialplan: AGI(agi://host:4573/readings)); see docs/ivr.md."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=4573, help="TCP port (default 4573, the FastAGI port).")
        parser.add_argument(
            "--list-prompts", action="store_true", help="Print every sound file the menu plays, with its text."
        )

    def handle(self, *args, host, port, list_prompts=False, **options):
        if list_prompts:
            for name, text in all_prompts():
                self.stdout.write(f"{name}\t{text}")
            return
        server = AGIServer((host, port))
        self.stdout.write(f"FastAGI server listening on {host}:{server.server_address[1]}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
