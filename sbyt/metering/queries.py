"""Reads shared by the readings service, the cabinet, the API and the back office."""

import datetime as dt
from collections.abc import Iterable

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from sbyt.core.periods import add_months
from sbyt.core.rows import Joined
from sbyt.core.timezones import local_now

from .models import Meter, Reading, ReadingWindow
from .rules import MeterFacts, PastReading, Thresholds, WindowRule

LIVE = (Reading.Status.ACCEPTED, Reading.Status.HELD)
DEFAULT_WINDOW = (18, 25)
BASELINE_MONTHS = 12


WINDOWS_CACHE_SECONDS = 60  # another process's edit of a window is seen within this time (at once in this one)


def _windows_key(branch_id: int) -> str:
    return f"metering:windows:{branch_id}"


def branch_windows(branch_id: int) -> list[tuple[str, int, int, dt.date, dt.date | None]]:
    """Every readings window of a branch as (channel, first day, last day, valid from, valid to), cached: the
    windows are read on every submission and change a few times a year."""
    rows = cache.get(_windows_key(branch_id))
    if rows is None:
        rows = list(
            ReadingWindow.objects.filter(branch_id=branch_id).values_list(
                "channel", "first_day", "last_day", "valid_from", "valid_to"
            )
        )
        cache.set(_windows_key(branch_id), rows, WINDOWS_CACHE_SECONDS)
    return rows


def forget_branch_windows(branch_id: int) -> None:
    cache.delete(_windows_key(branch_id))


def window_for(branch, channel: str, day: dt.date) -> WindowRule:
    """The readings window of a branch on a day: the channel's own window if it has one, else the general one."""
    windows = [
        w for w in branch_windows(branch.pk) if w[0] in ("", channel) and w[3] <= day and (w[4] is None or w[4] >= day)
    ]
    windows.sort(key=lambda w: (w[0] == "", -w[3].toordinal()))
    first, last = (windows[0][1], windows[0][2]) if windows else DEFAULT_WINDOW
    return WindowRule(first, last, refuse_outside=branch.late_reading_policy == "refuse")


def lock_meters(meters: QuerySet) -> QuerySet:
    """Meters locked for a submission (the row only, not its contract, account and branch, which are loaded
    with it): two submissions for one meter are serialised, submissions for other meters are not."""
    return meters.select_for_update(of=("self",)).select_related("contract__account__branch")


# The same lock for the text channels' every message, with the statement built once (``core.rows``).
_LOCKED = "contract__account__branch"
_locked_of_contract = Joined(Meter, _LOCKED, where="t1.number = %s", order="t0.id", lock=True)
_locked_by_id = Joined(Meter, _LOCKED, where="t0.id = %s", lock=True)
_locked_by_id_of_contract = Joined(Meter, _LOCKED, where="t0.id = %s AND t1.number = %s", lock=True)


def locked_meters_of_contract(number: str) -> list[Meter]:
    """``lock_meters(Meter.objects.filter(contract__number=number).order_by("id"))``."""
    return _locked_of_contract.fetch([number])


def locked_meter(pk: int, *, contract_number: str | None = None) -> Meter | None:
    """``lock_meters(Meter.objects.filter(pk=pk[, contract__number=…]))``'s one row, or None."""
    if contract_number is None:
        rows = _locked_by_id.fetch([pk])
    else:
        rows = _locked_by_id_of_contract.fetch([pk, contract_number])
    return rows[0] if rows else None


def meter_facts(meter: Meter, today: dt.date, *, resource: str) -> MeterFacts:
    return MeterFacts(
        zones=meter.zones,
        digits=meter.digits,
        in_service=meter.status == Meter.Status.IN_SERVICE,
        verification_overdue=bool(meter.verification_due and meter.verification_due < today),
        is_smart=meter.is_smart,
        serial=meter.serial,
        is_electricity=resource == "electricity",
    )


def thresholds_for(branch, *, is_electricity: bool) -> Thresholds:
    floor = branch.implausible_floor_kwh if is_electricity else branch.implausible_floor_m3
    return Thresholds(factor=branch.implausible_factor, floor_per_month=floor)


def past_reading(reading: Reading, tz_name: str) -> PastReading:
    return PastReading(
        values=reading.values,
        period=reading.period,
        received_on=local_now(tz_name, reading.received_at).date(),
    )


_live_since = Joined(
    Reading,
    "",
    where=f"t0.meter_id = %s AND t0.status IN ({', '.join(['%s'] * len(LIVE))}) AND t0.period >= %s",
    order="t0.period DESC, t0.received_at DESC",
)


def live_readings(meter_id: int, since_period: dt.date) -> list[Reading]:
    """``Reading.objects.filter(meter_id=…, status__in=LIVE, period__gte=…).order_by("-period", "-received_at")``."""
    return _live_since.fetch([meter_id, *LIVE, connection.ops.adapt_datefield_value(since_period)])


def reading_context(meter_id: int, period: dt.date) -> tuple[Reading | None, Reading | None, Reading | None]:
    """(previous, current, baseline) for a submission billed in ``period``: the last live reading of an earlier
    period, the live reading of ``period`` itself, the oldest live reading in the last year before it."""
    rows = live_readings(meter_id, add_months(period, -BASELINE_MONTHS))
    current = next((r for r in rows if r.period == period), None)
    earlier = [r for r in rows if r.period < period]
    previous = earlier[0] if earlier else None
    if previous is None:
        older = (
            Reading.objects.filter(meter_id=meter_id, status__in=LIVE, period__lt=period)
            .order_by("-period", "-received_at")
            .first()
        )
        return older, current, None
    return previous, current, earlier[-1] if len(earlier) > 1 else None


def last_accepted(meter_id: int) -> Reading | None:
    return Reading.objects.filter(meter_id=meter_id, status__in=LIVE).order_by("-period", "-received_at").first()


def last_accepted_by_meter(meter_ids: Iterable[int]) -> dict[int, Reading]:
    """The latest live reading of each meter (for pages listing many meters): one query."""
    ids = list(meter_ids)
    if not ids:
        return {}
    result: dict[int, Reading] = {}
    for reading in Reading.objects.filter(meter_id__in=ids, status__in=LIVE).order_by(
        "meter_id", "-period", "-received_at"
    ):
        result.setdefault(reading.meter_id, reading)
    return result


def reading_history(meter_id: int, limit: int = 24) -> list[Reading]:
    return list(
        Reading.objects.filter(meter_id=meter_id)
        .exclude(status=Reading.Status.REJECTED)
        .select_related("submitted_by")
        .order_by("-received_at", "-id")[:limit]
    )


def held_readings():
    return (
        Reading.objects.filter(status=Reading.Status.HELD)
        .select_related("meter__contract__account__branch", "meter__contract__account__customer")
        .order_by("received_at")
    )


def today_in(branch) -> dt.date:
    return local_now(branch.time_zone, timezone.now()).date()
