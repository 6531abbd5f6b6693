"""The batch twin of ``services.submit_reading``: many readings, set-based, the same decisions and wording.

Registries, bank files, robots and bulk imports hand over thousands of readings at once. Through
``submit_reading`` each costs about seven queries and a commit; here a chunk of items (``CHUNK_SIZE``, one
transaction) costs a fixed handful of queries whatever its size:

1. lock and load the chunk's meters, in id order (``FOR UPDATE OF`` the meters on PostgreSQL, the same lock
   ``submit_reading`` takes; SQLite's write transaction locks everything anyway), with the facts the rules need,
   the contract's resource and the account's branch; branches and their windows are read once per batch;
2. per target period (one per branch: it depends on the branch's local day and window), one query for the
   readings context of every meter of the chunk: ``MAX(period) < target`` and ``MIN(period)`` within the
   baseline year per meter (one ``GROUP BY``), joined back to the live rows, plus the target period's live row;
3. one ``UPDATE ... WHERE id IN (...)`` for the live readings that the chunk replaces (superseded);
4. the new rows (accepted, held, rejected): PostgreSQL streams them into ``COPY`` while the next items are
   decided, so the server inserts on one core while Python decides on the other; SQLite gets multi-row
   ``INSERT``s in meter order.

Decisions are taken in Python by the same functions as the interactive path (``parse_value``, ``target_period``,
``decide``, ``explain``, ``queries.window_for``, ``queries.meter_facts``, ``queries.past_reading``,
``queries.thresholds_for``), so every reason, message and stored row is the one that sequential
``submit_reading`` calls would give (tests/metering/test_batch.py holds both paths to that). By design:

- one ``received_at`` for the whole batch (``timezone.now()`` once when not given);
- ``ReadingResult.reading`` is ``None``: no model instance per row. ``reason``, ``message``, ``meter_id``,
  ``previous`` and ``period`` are what ``submit_reading`` returns;
- one audit entry per batch (``reading.submit_batch``: items, stored, superseded, counts per reason) instead of
  one per reading; if a chunk fails, the entry is still written for the chunks already committed
  (``failed=True``) and the error propagates;
- items whose meter id is unknown get ``unknown_client_result()`` and store nothing;
- row ids follow the meter within a chunk, not the line of the batch (a meter's own rows keep their order);
  ``source`` says which line a row came from.

A meter named twice in one batch is handled like two sequential submissions: the second sees the first's
reading as the period's current one and replaces it (superseded) or is "already accepted".
"""

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sbyt.core.audit import audit
from sbyt.core.periods import add_months, month_start
from sbyt.core.timezones import local_now
from sbyt.customers.models import Account, Branch, Contract

from . import queries
from .models import Meter, Reading
from .rules import (
    Decision,
    PastReading,
    Reason,
    ValueRejected,
    WindowRule,
    decide,
    explain,
    parse_value,
    target_period,
)
from .services import ReadingResult, _raw, unknown_client_result

CHUNK_SIZE = 20_000  # ~1 s of work: SQLite holds its write lock that long; PostgreSQL locks only the meters
_IDS_PER_SQLITE_QUERY = 5_000  # twice this many parameters per context query: well under SQLite's 32 766

_READING = Reading._meta.db_table  # plain lower-case identifiers on every backend
_METER = Meter._meta.db_table
_CONTRACT = Contract._meta.db_table
_ACCOUNT = Account._meta.db_table
_LIVE_SQL = ", ".join(f"'{status}'" for status in queries.LIVE)  # literals: lets the planner use the partial index
_INSERT_COLUMNS = (
    "meter_id",
    "period",
    "t1",
    "t2",
    "t3",
    "raw",
    "received_at",
    "channel",
    "submitted_by_id",
    "source",
    "status",
    "reason",
    "is_rollover",
    "review_note",
)
_INSERT_SQL = "INSERT INTO {table} ({columns}) VALUES ({params})".format(  # noqa: S608 - constants only
    table=_READING,
    columns=", ".join(_INSERT_COLUMNS),
    params=", ".join(["%s"] * len(_INSERT_COLUMNS)),
)
_COPY_SQL = f"COPY {_READING} ({', '.join(_INSERT_COLUMNS)}) FROM STDIN"
_STATUS = _INSERT_COLUMNS.index("status")
_STORING = frozenset({Reason.ACCEPTED, Reason.ACCEPTED_NEXT_PERIOD, Reason.HELD_FOR_REVIEW})
# explain() words these outcomes from the reason and the period alone, so one call per batch serves every meter
# (gettext costs more than the rest of explain). tests/metering/test_batch.py compares every message with the
# interactive path's on meters with different serials and previous readings: it fails if that stops being so.
_PLAIN_MESSAGES = frozenset(
    {Reason.ACCEPTED, Reason.ACCEPTED_NEXT_PERIOD, Reason.ALREADY_ACCEPTED, Reason.HELD_FOR_REVIEW}
)
_ACCEPTED, _HELD = Reading.Status.ACCEPTED.value, Reading.Status.HELD.value
_REJECTED, _SUPERSEDED = Reading.Status.REJECTED.value, Reading.Status.SUPERSEDED.value


class _MeterRow(NamedTuple):
    """The meter's columns as ``queries.meter_facts`` reads them."""

    pk: int
    zones: int
    digits: int
    status: str
    verification_due: dt.date | None
    is_smart: bool
    serial: str
    resource: str
    branch_id: int


class _ReadingRow(NamedTuple):
    """A live reading's columns as ``queries.past_reading`` reads them."""

    pk: int
    period: dt.date
    values: tuple[int, ...]
    received_at: dt.datetime


class _BranchContext(NamedTuple):
    branch: Branch
    local_day: dt.date
    window: WindowRule
    period: dt.date  # the target period of a reading received now
    since: dt.date  # the start of the baseline year
    rejected_period: dt.date  # where a reading refused before a period is known is filed

    @property
    def tz(self) -> str:
        return self.branch.time_zone


class _MeterState:
    """One meter within a chunk: its facts and readings context. ``current`` moves as the chunk stores rows."""

    __slots__ = (
        "baseline",
        "branch",
        "current",
        "current_id",
        "current_row",
        "facts",
        "meter",
        "previous",
        "thresholds",
    )

    def __init__(self, meter: _MeterRow, branch: _BranchContext, facts, thresholds):
        self.meter, self.branch, self.facts, self.thresholds = meter, branch, facts, thresholds
        self.previous = self.baseline = self.current = None  # PastReading
        self.current_id = None  # the live row of the target period in the database, to supersede
        self.current_row = None  # or the insert row of this chunk that holds it


def submit_readings_batch(
    items: Iterable[tuple[int, Sequence, str]],
    *,
    channel: str,
    actor=None,
    received_at: dt.datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> list[ReadingResult]:
    """Validate and store many readings: ``items`` are ``(meter_id, values, source)``. Results in input order.

    Never raises for what a client typed; an unknown meter id gets the "unknown client" answer."""
    items = list(items)
    received_at = received_at or timezone.now()
    if timezone.is_naive(received_at):
        received_at = timezone.make_aware(received_at)  # as the ORM stores a naive value
    run = _BatchRun(channel=channel, actor=actor, received_at=received_at)
    results: list[ReadingResult] = []
    failed = True
    try:
        for start in range(0, len(items), chunk_size):
            with transaction.atomic():
                chunk_results, counts = run.chunk(items[start : start + chunk_size])
            results.extend(chunk_results)
            run.totals.update(counts)  # committed chunks only
            run.reasons.update(r.reason.value for r in chunk_results)
        failed = False
    finally:
        if run.totals["items"]:
            audit(
                actor,
                "reading.submit_batch",
                None,
                channel=channel,
                received_at=received_at.isoformat(),
                failed=failed,
                **run.totals,
                reasons=dict(run.reasons),
            )
    return results


class _BatchRun:
    def __init__(self, *, channel: str, actor, received_at: dt.datetime):
        self.channel = channel
        self.received_at = received_at
        self.submitted_by_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        self.db_received_at = connection.ops.adapt_datetimefield_value(received_at)
        self.branches: dict[int, _BranchContext] = {}
        self.thresholds: dict[tuple[int, bool], object] = {}
        self.totals: Counter = Counter()
        self.reasons: Counter = Counter()
        self.messages: dict[tuple, str] = {}  # explain() of _PLAIN_MESSAGES, by (reason, period)

    # -- loading -----------------------------------------------------------------------------------------

    def _load_branches(self, branch_ids: set[int]) -> None:
        missing = branch_ids - self.branches.keys()
        if not missing:
            return
        for branch in Branch.objects.filter(pk__in=missing):
            local_day = local_now(branch.time_zone, self.received_at).date()
            window = queries.window_for(branch, self.channel, local_day)
            period, _inside = target_period(local_day, window)
            since = add_months(period, -queries.BASELINE_MONTHS)
            self.branches[branch.pk] = _BranchContext(branch, local_day, window, period, since, month_start(local_day))

    def _thresholds(self, branch: Branch, is_electricity: bool):
        key = (branch.pk, is_electricity)
        if key not in self.thresholds:
            self.thresholds[key] = queries.thresholds_for(branch, is_electricity=is_electricity)
        return self.thresholds[key]

    def _load_meters(self, meter_ids: list[int]) -> dict[int, _MeterState]:
        """Lock (PostgreSQL: ``FOR UPDATE OF`` the meters only, in id order) and load the chunk's meters."""
        rows = []
        lock = " FOR UPDATE OF m" if connection.features.has_select_for_update_of else ""
        with connection.cursor() as cursor:
            for ids in _slices(meter_ids):
                in_ids, params = _in_ids(ids)
                cursor.execute(_meters_sql(in_ids) + lock, params)
                rows.extend(
                    _MeterRow(pk, zones, digits, status, _as_date(due) if due else None, *rest)
                    for pk, zones, digits, status, due, *rest in cursor.fetchall()
                )
        self._load_branches({row.branch_id for row in rows})
        states = {}
        branches, thresholds, meter_facts = self.branches, self.thresholds, queries.meter_facts
        for row in rows:
            branch = branches[row.branch_id]
            facts = meter_facts(row, branch.local_day, resource=row.resource)
            limits = thresholds.get((row.branch_id, facts.is_electricity))
            if limits is None:
                limits = self._thresholds(branch.branch, facts.is_electricity)
            states[row.pk] = _MeterState(row, branch, facts, limits)
        return states

    def _load_contexts(self, states: dict[int, _MeterState]) -> None:
        """previous / current / baseline of every meter, as ``queries.reading_context`` defines them."""
        by_period: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
        for pk, state in states.items():
            by_period[(state.branch.period, state.branch.since)].append(pk)
        ops = connection.ops
        past = queries.past_reading
        with connection.cursor() as cursor:
            for (period, since), all_ids in by_period.items():
                target, start = ops.adapt_datefield_value(period), ops.adapt_datefield_value(since)
                for ids in _slices(all_ids):
                    in_ids, id_params = _in_ids(ids)
                    cursor.execute(_context_sql(in_ids), [start, target, *id_params, target, *id_params])
                    for kind, meter_id, pk, day, t1, t2, t3, at in cursor.fetchall():
                        state = states[meter_id]
                        if t1 is not None and t2 is None and t3 is None:
                            values = (t1,)
                        else:
                            values = tuple(v for v in (t1, t2, t3) if v is not None)  # as Reading.values
                        reading = past(_ReadingRow(pk, _as_date(day), values, _as_datetime(at)), state.branch.tz)
                        if kind == "p":
                            state.previous = reading
                        elif kind == "b":
                            state.baseline = reading
                        else:
                            state.current, state.current_id = reading, pk

    # -- one chunk ---------------------------------------------------------------------------------------

    def chunk(self, items: list) -> tuple[list[ReadingResult], Counter]:
        pks = [_as_pk(item[0]) for item in items]
        states = self._load_meters(sorted({pk for pk in pks if pk is not None}))
        self._load_contexts(states)

        results: list[ReadingResult] = []
        superseded: list[int] = []
        repeated = {pk for pk, count in Counter(pks).items() if count > 1}
        writer = _RowWriter()
        with writer:
            self._decide(pks, items, states, repeated, writer, superseded, results)
        writer.finish(superseded)
        return results, Counter(items=len(items), stored=writer.count, superseded=len(superseded))

    def _decide(self, pks, items, states, repeated, writer, superseded, results) -> None:
        """Decide on every item in order, as ``submit_reading`` would one after another; hand stored rows to
        ``writer``: at once for a meter's only item when no live reading of the period is replaced (final),
        held back otherwise (its status may still change to superseded, or it must wait for the update)."""
        db_dates: dict[dt.date, object] = {}
        adapt_date = connection.ops.adapt_datefield_value
        db_received_at = self.db_received_at
        channel, submitted_by_id = self.channel, self.submitted_by_id
        messages = self.messages
        write, hold = writer.write, writer.hold
        for pk, (_meter_id, values, source) in zip(pks, items, strict=True):
            state = states.get(pk)
            if state is None:
                results.append(unknown_client_result())
                continue
            branch, facts = state.branch, state.facts
            previous = None
            try:
                parsed = tuple([parse_value(v) for v in values])  # as services.parse_values
            except ValueRejected as exc:
                parsed = None
                decision = Decision(exc.reason)
            else:
                previous = state.previous
                decision = decide(
                    meter=facts,
                    values=parsed,
                    local_day=branch.local_day,
                    window=branch.window,
                    previous=previous,
                    current=state.current,
                    baseline=state.baseline,
                    thresholds=state.thresholds,
                )
            reason = decision.reason
            if reason is not Reason.ALREADY_ACCEPTED:
                final = pk not in repeated and state.current_id is None  # nothing to supersede first
                period = decision.period
                if reason in _STORING:
                    if state.current_row is not None:
                        state.current_row[_STATUS] = _SUPERSEDED
                    elif state.current_id is not None:
                        superseded.append(state.current_id)
                        state.current_id = None
                    status = _HELD if reason is Reason.HELD_FOR_REVIEW else _ACCEPTED
                else:
                    status = _REJECTED
                    period = period or branch.rejected_period
                db_period = db_dates.get(period)
                if db_period is None:
                    db_period = db_dates[period] = adapt_date(period)
                zones = len(parsed) if parsed else 0
                row = [
                    pk,
                    db_period,
                    parsed[0] if zones > 0 else None,
                    parsed[1] if zones > 1 else None,
                    parsed[2] if zones > 2 else None,
                    _raw(values),
                    db_received_at,
                    channel,
                    submitted_by_id,
                    (source or "")[:120],
                    status,
                    reason.value,
                    decision.is_rollover,
                    "",
                ]
                if final:
                    write(row)
                else:
                    hold(row)
                if status != _REJECTED:
                    state.current = PastReading(parsed, period, branch.local_day)  # as past_reading() reads it
                    state.current_row = row
            key = (reason, decision.period) if reason in _PLAIN_MESSAGES else None
            message = messages.get(key) if key else None
            if message is None:
                message = explain(
                    reason,
                    meter=facts,
                    window=branch.window,
                    previous=previous,
                    period=decision.period,
                    params=decision.params,
                )
                if key:
                    messages[key] = message
            results.append(ReadingResult(reason, message, pk, None, previous, decision.period))


class _RowWriter:
    """Writes a chunk's new readings. PostgreSQL (psycopg 3): final rows stream into a COPY while the next items
    are decided, so the server inserts on one core while Python decides on the other; held-back rows follow in
    a second COPY once the replaced readings are superseded. Elsewhere: multi-row INSERTs after the update, in
    meter order (stable: a meter's own rows keep their order) so index pages are visited in order, not at
    random. Either way row ids no longer follow the lines of the batch; within a meter they do."""

    def __init__(self):
        self.count = 0
        self._final: list[list] = []
        self._held: list[list] = []
        self._cursor = self._copy = None
        self._stream = connection.vendor == "postgresql"

    def __enter__(self):
        self._cursor = connection.cursor()
        raw = self._cursor.cursor
        if self._stream and hasattr(raw, "copy"):
            self._copy = raw.copy(_COPY_SQL)
            self._write_row = self._copy.__enter__().write_row
        return self

    def __exit__(self, *exc_info):
        if self._copy is not None:
            self._copy.__exit__(*exc_info)
            self._copy = None
        if exc_info[0] is not None:
            self._cursor.close()

    def write(self, row: list) -> None:
        """A final row: its meter has no other item in the chunk and replaces no live reading."""
        self.count += 1
        if self._copy is not None:
            self._write_row(row)
        else:
            self._final.append(row)

    def hold(self, row: list) -> None:
        self.count += 1
        self._held.append(row)

    def finish(self, superseded: list[int]) -> None:
        with self._cursor as cursor:
            # Replaced readings stop being live first, so the partial unique index never sees two live rows.
            for ids in _slices(superseded):
                in_ids, params = _in_ids(ids)
                cursor.execute(_supersede_sql(in_ids), [_SUPERSEDED, *params])
            rows = self._final + self._held
            if not rows:
                return
            if self._stream and hasattr(cursor.cursor, "copy"):
                with cursor.cursor.copy(_COPY_SQL) as copy:
                    for row in rows:
                        copy.write_row(row)
            elif self._stream:
                cursor.executemany(_INSERT_SQL, rows)
            else:
                rows.sort(key=_meter_of)
                per_statement = max(1, (connection.features.max_query_params or 999) // len(_INSERT_COLUMNS))
                for i in range(0, len(rows), per_statement):
                    part = rows[i : i + per_statement]
                    cursor.execute(_values_sql(len(part)), [value for row in part for value in row])


def _meter_of(row: list) -> int:
    return row[0]


@functools.lru_cache(maxsize=8)
def _values_sql(row_count: int) -> str:
    one = f"({', '.join(['%s'] * len(_INSERT_COLUMNS))})"
    return f"INSERT INTO {_READING} ({', '.join(_INSERT_COLUMNS)}) VALUES {', '.join([one] * row_count)}"  # noqa: S608


@functools.lru_cache(maxsize=32)
def _meters_sql(in_ids: str) -> str:
    return f"""
        SELECT m.id, m.zones, m.digits, m.status, CAST(m.verification_due AS TEXT), m.is_smart, m.serial, c.resource,
               a.branch_id
        FROM {_METER} m
        JOIN {_CONTRACT} c ON c.id = m.contract_id
        JOIN {_ACCOUNT} a ON a.id = c.account_id
        WHERE m.id {in_ids}
        ORDER BY m.id
    """  # noqa: S608 - placeholders and constants only


def _slices(ids: list[int]):
    """PostgreSQL takes any number of ids in one array parameter (one query per chunk: each costs a scan);
    SQLite binds one parameter per id."""
    step = (len(ids) or 1) if connection.vendor == "postgresql" else _IDS_PER_SQLITE_QUERY
    for i in range(0, len(ids), step):
        yield ids[i : i + step]


def _in_ids(ids: list[int]) -> tuple[str, list]:
    """``meter_id IN (...)`` as the backend takes it best: PostgreSQL one array parameter (cheap to plan), passed
    as its text form (psycopg dumps a list element by element in Python), SQLite one placeholder per id."""
    if connection.vendor == "postgresql":
        return "= ANY(CAST(%s AS bigint[]))", ["{" + ",".join(map(str, ids)) + "}"]
    return f"IN ({', '.join(['%s'] * len(ids))})", ids


@functools.lru_cache(maxsize=32)
def _context_sql(in_ids: str) -> str:
    """The live readings that ``queries.reading_context`` picks, for many meters at once, tagged by kind:
    ``p`` previous (the latest period before the target), ``b`` baseline (the earliest period in the year
    before the target, when older than the previous one), ``c`` current (the target period). One aggregate
    per meter, joined back on (meter_id, period), which the partial unique index of live readings serves.
    Parameters: the baseline's first period, the target period, the ids, the target period, the ids."""
    live = f"status IN ({_LIVE_SQL})"
    # Dates as ISO text: Django's date converter for SQLite and its timestamptz loader for psycopg are pure Python
    # and cost more than the query; datetime.fromisoformat is C.
    columns = "r.meter_id, r.id, CAST(r.period AS TEXT), r.t1, r.t2, r.t3, CAST(r.received_at AS TEXT)"
    return f"""
        WITH a AS (
            SELECT meter_id, MAX(period) AS previous_period,
                   MIN(CASE WHEN period >= %s THEN period END) AS baseline_period
            FROM {_READING}
            WHERE {live} AND period < %s AND meter_id {in_ids}
            GROUP BY meter_id
        )
        SELECT 'p', {columns} FROM a
        JOIN {_READING} r ON r.meter_id = a.meter_id AND r.period = a.previous_period AND r.{live}
        UNION ALL
        SELECT 'b', {columns} FROM a
        JOIN {_READING} r ON r.meter_id = a.meter_id AND r.period = a.baseline_period AND r.{live}
        WHERE a.baseline_period < a.previous_period
        UNION ALL
        SELECT 'c', {columns} FROM {_READING} r
        WHERE r.{live} AND r.period = %s AND r.meter_id {in_ids}
    """  # noqa: S608 - placeholders and constants only


@functools.lru_cache(maxsize=32)
def _supersede_sql(in_ids: str) -> str:
    return f"UPDATE {_READING} SET status = %s WHERE id {in_ids}"  # noqa: S608 - placeholders and constants only


def _as_pk(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _as_datetime(value) -> dt.datetime:
    """A stored ``received_at``: SQLite keeps naive UTC text, PostgreSQL's text carries the offset."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            value = parse_datetime(value)
            if value is None:
                raise ValueError(f"unreadable timestamp {value!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
