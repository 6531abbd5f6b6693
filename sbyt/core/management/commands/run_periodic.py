"""The periodic loop: runs scheduled jobs on their intervals until stopped (Ctrl+C / SIGTERM)."""

import signal
import time

from django.core.management.base import BaseCommand

from sbyt.core import periodic


class Command(BaseCommand):
    help = "Run scheduled jobs (billing schedule, SLA clocks, campaign dispatch, mail polling) in a loop."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every due job once and exit.")
        parser.add_argument("--tick", type=float, default=5.0, help="Seconds between checks.")

    def handle(self, *args, once=False, tick=5.0, **options):
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            schedule = periodic.Schedule()
            self.stdout.write(f"periodic: {len(periodic.JOBS)} job(s): {', '.join(j.name for j in periodic.JOBS)}")
            while not stopping:
                for name in schedule.run_due():
                    self.stdout.write(f"periodic: ran {name}")
                if once:
                    break
                time.sleep(tick)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
