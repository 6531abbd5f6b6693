"""``manage.py run_billing --branch 11 --period 2026-10 [--chunk-size N] [--workers N]``: bill a branch's period
from this process (on PostgreSQL in ``--workers`` processes, default ``SBYT_BILLING_WORKERS``), with a progress bar;
an unfinished run of that branch and period (failed, or its process killed) is continued."""

import datetime as dt
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from sbyt.billing.services import run_billing
from sbyt.core.errors import DomainError
from sbyt.core.periods import period_label
from sbyt.customers.models import Branch

ACTOR = "run_billing"
LABELS = {
    "method_reading": "по показаниям",
    "method_average": "по среднему",
    "method_norm": "по нормативу",
    "method_recalculation": "перерасчёт по показаниям",
    "adjustments": "корректировки прежних начислений",
    "unchanged": "без изменений",
    "skipped_no_tariff": "не начислено: нет тарифа",
    "skipped_no_price": "не начислено: в тарифе нет цены",
    "skipped_no_basis": "не начислено: нет показаний и норматива",
    "invoices": "счетов выставлено",
    "penalties": "начислений пени",
}


def parse_period(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value.strip(), "%Y-%m").date()
    except ValueError:
        raise CommandError(f"--period: укажите год и месяц, например 2026-10 (получено «{value}»).") from None


class Command(BaseCommand):
    help = (
        "Bill every contract of a branch for a period (charges, ledger, bills), showing progress. Safe to run "
        "again: an unfinished run is continued, a finished one is checked and only differences are added."
    )

    def add_arguments(self, parser):
        parser.add_argument("--branch", required=True, help="Branch code, e.g. 11")
        parser.add_argument("--period", required=True, help="Billing period YYYY-MM")
        parser.add_argument("--chunk-size", type=int, default=None, help="Accounts per transaction (default 2000)")
        parser.add_argument(
            "--workers", type=int, default=None, help="Processes on PostgreSQL (default SBYT_BILLING_WORKERS, 2)"
        )

    def handle(self, *args, branch, period, chunk_size=None, workers=None, **options):
        found = Branch.objects.filter(code=branch).first()
        if found is None:
            raise CommandError(f"Нет филиала с кодом «{branch}».")
        month = parse_period(period)
        if workers is not None and workers < 1:
            raise CommandError("--workers: укажите число процессов, 1 или больше.")
        started = time.monotonic()
        out = self.stdout
        tty = hasattr(out, "isatty") and out.isatty()

        def progress(run):
            elapsed = time.monotonic() - started
            rate = run.processed / elapsed if elapsed else 0
            bar = "#" * (run.percent // 5)
            line = f"[{bar:<20}] {run.percent:3d} %  {run.processed} из {run.total} лицевых счетов, {rate:,.0f}/с"
            if tty:
                out.write("\r" + line, ending="")
                out.flush()
            else:
                out.write(line)

        try:
            run = run_billing(
                branch=found, period=month, actor=ACTOR, progress=progress, chunk_size=chunk_size, workers=workers
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        if tty:
            out.write("")
        elapsed = time.monotonic() - started
        out.write(
            self.style.SUCCESS(
                f"Расчёт за {period_label(run.period)}, филиал {found.code}: готово за {elapsed:.1f} с "
                f"({run.processed} лицевых счетов)."
            )
        )
        for key, label in LABELS.items():
            if run.stats.get(key):
                out.write(f"  {label}: {run.stats[key]}")
        for key, label in (("billed", "начислено, ₽"), ("adjusted", "корректировки, ₽"), ("penalty", "пени, ₽")):
            if run.stats.get(key) and run.stats[key] != "0.00":
                out.write(f"  {label}: {run.stats[key]}")
        sys.stdout.flush()
