"""The one readings service: every channel submits through ``submit_reading`` (or the batch twin)."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.periods import month_start
from sbyt.core.rows import insert
from sbyt.core.timezones import local_now

from . import queries
from .models import Meter, Reading
from .rules import (
    ACCEPTING,
    Decision,
    PastReading,
    Reason,
    ValueRejected,
    decide,
    explain,
    parse_value,
    target_period,
)


@dataclass(frozen=True)
class ReadingResult:
    """What a channel tells the client: the reason code and its one wording."""

    reason: Reason
    message: str
    meter_id: int | None = None
    reading: Reading | None = None
    previous: PastReading | None = None
    period: dt.date | None = None

    @property
    def accepted(self) -> bool:
        return self.reason in ACCEPTING


def unknown_client_result() -> ReadingResult:
    return ReadingResult(Reason.UNKNOWN_CLIENT, explain(Reason.UNKNOWN_CLIENT))


def parse_values(values: Sequence) -> tuple[int, ...]:
    return tuple(parse_value(v) for v in values)


def _raw(values: Sequence) -> str:
    return " ".join(str(v) for v in values).replace("\x00", "")[:200]  # PostgreSQL refuses NUL in text


def submit_reading(
    *,
    meter: Meter,
    values: Sequence,
    channel: str,
    actor=None,
    source: str = "",
    received_at: dt.datetime | None = None,
    locked: bool = False,
) -> ReadingResult:
    """Validate and store one meter's readings. Never raises for what a client typed: the answer is the result.

    ``values``: one item per tariff zone (strings as typed, or ints). ``actor``: the login that submitted,
    or a channel name. Accepted values inside the window replace the period's reading (history kept).
    ``locked``: the caller already holds ``meter``'s row lock in the current transaction and loaded it with
    ``contract__account__branch`` (``queries.lock_meters``), so it is not read again."""
    received_at = received_at or timezone.now()
    # No savepoint of its own: inside a channel's transaction a failure here fails that whole step anyway.
    with transaction.atomic(savepoint=False):
        if not locked:
            found = queries.locked_meter(meter.pk)
            if found is None:
                raise Meter.DoesNotExist(meter.pk)
            meter = found
        contract = meter.contract
        branch = contract.account.branch
        local_day = local_now(branch.time_zone, received_at).date()
        facts = queries.meter_facts(meter, local_day, resource=contract.resource)
        window = queries.window_for(branch, channel, local_day)
        previous = current = baseline = current_row = None
        try:
            parsed = parse_values(values)
        except ValueRejected as exc:
            parsed = None
            decision = Decision(exc.reason)
        else:
            period, _inside = target_period(local_day, window)
            previous_row, current_row, baseline_row = queries.reading_context(meter.pk, period)
            previous, current, baseline = (
                queries.past_reading(r, branch.time_zone) if r else None
                for r in (previous_row, current_row, baseline_row)
            )
            decision = decide(
                meter=facts,
                values=parsed,
                local_day=local_day,
                window=window,
                previous=previous,
                current=current,
                baseline=baseline,
                thresholds=queries.thresholds_for(branch, is_electricity=facts.is_electricity),
            )
        reading = _record(
            meter=meter,
            decision=decision,
            parsed=parsed,
            raw=_raw(values),
            current_row=current_row,
            local_day=local_day,
            received_at=received_at,
            channel=channel,
            actor=actor,
            source=source,
        )
        audit(
            actor,
            "reading.submit",
            reading or meter,
            account_number=contract.account.number,
            channel=channel,
            reason=decision.reason.value,
            meter=meter.pk,
        )
    message = explain(
        decision.reason, meter=facts, window=window, previous=previous, period=decision.period, params=decision.params
    )
    return ReadingResult(decision.reason, message, meter.pk, reading, previous, decision.period)


def _record(*, meter, decision, parsed, raw, current_row, local_day, received_at, channel, actor, source):
    if decision.reason == Reason.ALREADY_ACCEPTED:
        return None
    values = list(parsed or ())[:3] + [None] * 3
    if decision.stores_reading:
        if current_row is not None:
            Reading.objects.filter(pk=current_row.pk).update(status=Reading.Status.SUPERSEDED)
        status = Reading.Status.HELD if decision.reason == Reason.HELD_FOR_REVIEW else Reading.Status.ACCEPTED
        period = decision.period
    else:
        status = Reading.Status.REJECTED
        period = decision.period or month_start(local_day)
    return insert(
        Reading(
            meter=meter,
            period=period,
            t1=values[0],
            t2=values[1],
            t3=values[2],
            raw=raw,
            received_at=received_at,
            channel=channel,
            submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
            source=source[:120],
            status=status,
            reason=decision.reason.value,
            is_rollover=decision.is_rollover,
        )
    )


def _locked_reading(pk: int) -> Reading:
    return Reading.objects.select_for_update(of=("self",)).select_related("meter__contract__account").get(pk=pk)


def _guard_reviewer(actor, reading: Reading) -> None:
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("metering.review_reading"):
        raise PermissionDenied(_("You are not allowed to review readings."))
    if reading.status != Reading.Status.HELD:
        raise DomainError(_("This reading is not waiting for a check."))


def approve_reading(*, reading: Reading, actor, note: str = "") -> Reading:
    with transaction.atomic():
        reading = _locked_reading(reading.pk)
        _guard_reviewer(actor, reading)
        reading.status = Reading.Status.ACCEPTED
        reading.reviewed_by, reading.reviewed_at, reading.review_note = actor, timezone.now(), note[:300]
        reading.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        audit(actor, "reading.approve", reading, account_number=reading.meter.contract.account.number, note=note)
    return reading


def reject_reading(*, reading: Reading, actor, note: str) -> Reading:
    if not note.strip():
        raise DomainError(_("Give the reason for rejecting the reading."))
    with transaction.atomic():
        reading = _locked_reading(reading.pk)
        _guard_reviewer(actor, reading)
        reading.status = Reading.Status.REJECTED
        reading.reviewed_by, reading.reviewed_at, reading.review_note = actor, timezone.now(), note[:300]
        reading.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        audit(actor, "reading.reject", reading, account_number=reading.meter.contract.account.number, note=note)
    return reading
