"""When the periodic loop bills: each branch on its billing day, in the branch's local time."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from sbyt.core.errors import DomainError
from sbyt.core.periods import add_months, month_start
from sbyt.customers.models import Branch

from .models import BillingRun, BillingSettings
from .run import is_stale
from .services import billable_from, local_today, start_billing_run

log = logging.getLogger(__name__)
ACTOR = "periodic"
PENDING_GRACE = dt.timedelta(minutes=5)  # a run created but never picked up (its task lost) is handed over again


def billing_day(branch: Branch, period: dt.date, settings: BillingSettings | None) -> dt.date:
    opens = billable_from(branch, period)
    if settings is not None and settings.run_day:
        return max(opens, period.replace(day=settings.run_day))
    return opens


def start_due_runs(now: dt.datetime | None = None) -> list[BillingRun]:
    """Start the run of every branch whose billing day has come, for the current period (and the previous one,
    when its day fell at the very end of the month) if the branch has none for it."""
    started = []
    settings = {s.branch_id: s for s in BillingSettings.objects.all()}
    for branch in Branch.objects.order_by("code"):
        branch_settings = settings.get(branch.pk)
        if branch_settings is not None and not branch_settings.auto_run:
            continue
        today = local_today(branch) if now is None else timezone.localtime(now, timezone=_zone(branch)).date()
        current = month_start(today)
        for period in (add_months(current, -1), current):
            if today < billing_day(branch, period, branch_settings):
                continue
            if BillingRun.objects.filter(branch=branch, period=period).exists():
                continue
            try:
                started.append(start_billing_run(branch=branch, period=period, actor=ACTOR, today=today))
            except DomainError as error:
                log.warning("billing of %s for %s not started: %s", branch.code, period, error)
    return started


def resume_stale_runs() -> list[int]:
    """Runs whose worker vanished (stale heartbeat or a dead process) and runs never picked up go back to the
    worker. Failed runs wait for staff (the error may need a fix first)."""
    from .tasks import execute_billing_run

    now = timezone.now()
    handed = []
    for run in BillingRun.objects.filter(state__in=[BillingRun.State.RUNNING, BillingRun.State.PENDING]):
        if run.state == BillingRun.State.PENDING and now - run.created_at < PENDING_GRACE:
            continue
        if run.state == BillingRun.State.RUNNING and not is_stale(run, now):
            continue
        run_id = run.pk
        transaction.on_commit(lambda run_id=run_id: execute_billing_run.enqueue(run_id))
        handed.append(run_id)
    return handed


def _zone(branch: Branch):
    from zoneinfo import ZoneInfo

    return ZoneInfo(branch.time_zone)
