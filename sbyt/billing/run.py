"""The billing run: every contract of a branch priced for a period, set-based, in chunks of accounts.

Each chunk is one transaction and costs a fixed number of queries whatever its size:

1. the next accounts after the run's cursor, locked (``FOR UPDATE`` on PostgreSQL: a payment posted for one of
   them waits for the chunk; ``post_payment`` locks the account too), with their customers;
2. their contracts with the premises and any tariff group set by hand; 3. the contracts' meters;
4. each billing meter's accepted reading of the period and its previous accepted reading (one aggregate joined
   back); 5. for meters without a reading of the period, their readings of the last 24 months (the average);
6. the charges already made for the period (a re-run compares with them); 7. the charges of the periods since
   the previous reading, for the contracts that need them (average count, recalculation);
8. the latest invoiced period per account; 9–10. for penalties, the ledger of contracts in debt;
11–13. for the bills, the entries not on a bill yet, the balance of those that are, and delivery choices;
then the new rows go in with COPY (PostgreSQL) or ``executemany`` (SQLite), ids allocated beforehand, and one
``UPDATE`` moves the run's cursor.

Resumable: the cursor (the last account id done) moves in the chunk's own transaction, so a crash loses at most
the chunk in progress, and starting the run again continues after the last committed chunk with the same
stored inputs (``penalty_as_of``), giving the same rows as an uninterrupted run. Idempotent: a period's charges
are compared with what is already charged; equal means nothing is written, a difference is written as an
adjustment (and a ledger correction); a bill is issued once per account and period and never changed.
"""

import contextlib
import datetime as dt
import gc
import logging
import os
import socket
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError
from sbyt.core.periods import add_months, period_label
from sbyt.customers.models import Account, Contract, Customer, Premises
from sbyt.metering.models import Meter, Reading

from .config import BranchConfig, period_end, scale_of, tariff_group
from .models import (
    UNITS,
    BillDelivery,
    BillingRun,
    BillingSettings,
    Charge,
    ContractTariffGroup,
    Invoice,
    LedgerEntry,
    bill_header,
)
from .penalties import Debt, Reduction, accrued_penalty
from .pricing import ZERO, PricingError, price_volume, q2
from .sql import (
    allocate_ids,
    as_date,
    as_datetime,
    as_decimal,
    db_date,
    db_datetime,
    execute,
    fetch,
    in_ids,
    insert,
)
from .volumes import Billed, Read, Volume, find_volume


def dumps(value) -> str:
    """Compact JSON text, non-ASCII kept (the same text as ``json.dumps(ensure_ascii=False, separators=(",", ":"))``,
    a tenth of the time: four documents per contract)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


log = logging.getLogger(__name__)

CHUNK_SIZE = 2000
MIN_LANE = 1000  # accounts: a smaller branch is billed in one lane
STALE_SECONDS = 120  # a run whose worker has not moved for this long (or whose process is gone) may be taken over
HISTORY_MONTHS = 24  # readings older than this are not used for an average

_ACCOUNT = Account._meta.db_table
_CUSTOMER = Customer._meta.db_table
_CONTRACT = Contract._meta.db_table
_PREMISES = Premises._meta.db_table
_METER = Meter._meta.db_table
_READING = Reading._meta.db_table
_GROUP = ContractTariffGroup._meta.db_table
_CHARGE = Charge._meta.db_table
_LEDGER = LedgerEntry._meta.db_table
_INVOICE = Invoice._meta.db_table
_DELIVERY = BillDelivery._meta.db_table
_RUN = BillingRun._meta.db_table

_CHARGE_COLUMNS = (
    "id", "run_id", "account_id", "contract_id", "period", "kind", "method", "zones", "volume",
    "volume_t1", "volume_t2", "volume_t3", "volume_r1", "volume_r2", "volume_r3", "amount", "lines", "basis",
    "created_at",
)  # fmt: skip
_LEDGER_COLUMNS = (
    "id", "account_id", "contract_id", "kind", "amount", "period", "due_date", "value_date", "document_type",
    "document_id", "charge_id", "run_id", "invoice_id", "note", "created_at",
)  # fmt: skip
_INVOICE_COLUMNS = (
    "id", "account_id", "branch_id", "period", "seq", "number", "run_id", "issued_at", "due_date",
    "opening_balance", "charged", "penalties", "paid", "closing_balance", "total_due", "delivery", "email", "data",
)  # fmt: skip

BILLABLE_STATUSES = (Contract.Status.ACTIVE, Contract.Status.SUSPENDED)
ZERO3 = (ZERO, ZERO, ZERO)


class RunLost(Exception):
    """Another worker took the run over (this one was thought dead): stop without touching it."""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _worker_gone(worker: str) -> bool:
    """True if ``worker`` ran on this host in a process that no longer exists."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_stale(run: BillingRun, now: dt.datetime | None = None) -> bool:
    """A running run nobody is moving: its heartbeat is old, or its process on this host is gone."""
    if run.state != BillingRun.State.RUNNING:
        return run.state in (BillingRun.State.PENDING, BillingRun.State.FAILED)
    now = now or timezone.now()
    if run.heartbeat_at is None or (now - run.heartbeat_at).total_seconds() > STALE_SECONDS:
        return True
    return bool(run.worker) and _worker_gone(run.worker)


def execute_run(
    run: BillingRun | int,
    *,
    progress=None,
    chunk_size: int | None = None,
    workers: int | None = None,
    lanes: int | None = None,
) -> BillingRun:
    """Process the run to the end (or continue it after a crash). ``progress(run)`` is called after each chunk this
    process commits. Raises DomainError if another live worker is processing it.

    The branch's accounts are split into lanes when the run starts (``workers`` of them, by account id, equal in
    size); each lane is processed in chunks, its cursor and its block of bill numbers kept in ``run.stats["lanes"]``.
    With more than one worker on PostgreSQL the lanes run in forked processes at the same time: the run's Python
    and the server's writes then use both cores. A crash in any lane marks the run failed and stops the others at
    their next chunk; resuming continues every lane where it stopped (with the lanes planned at the start, whatever
    ``workers`` is then). ``lanes`` other than ``workers``: for tests."""
    # SQLite has one writer: one process whatever is asked.
    workers = max(1, workers or settings.SBYT_BILLING_WORKERS) if connection.vendor == "postgresql" else 1
    if connection.in_atomic_block:
        workers = 1  # other processes would not see the caller's uncommitted rows; its connection stays its own
    worker = worker_id()
    run = _claim(run if isinstance(run, int) else run.pk, worker, lanes or workers)
    if run.state == BillingRun.State.DONE:
        return run
    size = chunk_size or run.chunk_size or CHUNK_SIZE
    open_lanes = [i for i, lane in enumerate(run.stats["lanes"]) if not lane["done"]]
    shares = [open_lanes[i::workers] for i in range(min(workers, len(open_lanes)))]
    children = []
    try:
        if len(shares) > 1:
            children = _fork_lanes(run.pk, worker, shares[1:], size)
        lost = False
        try:
            for lane in shares[0] if shares else []:
                _run_lane(run, worker, lane, size, progress)
        except RunLost:  # taken over by another worker, or failed by one of this run's lane processes
            lost = True
        failed = [child for child in children if _join(child) != 0]
        if failed:
            raise LaneFailed(
                f"{len(failed)} из {len(children) + 1} процессов расчёта завершились с ошибкой (см. журнал)"
            )
        return BillingRun.objects.get(pk=run.pk) if lost else _finish(run.pk, worker)
    except BaseException as exc:  # a crash (Ctrl-C included) leaves the run resumable, marked failed
        _fail(run.pk, worker, exc)
        for child in children:
            _join(child, timeout=STALE_SECONDS)
        raise


class LaneFailed(RuntimeError):
    """A lane's process ended with an error (it marked the run failed with its own message first)."""


def _run_lane(run: BillingRun, worker: str, lane: int, size: int, progress, parent: int | None = None) -> None:
    engine = _Engine(run, worker, lane)
    with _rare_collections():
        while True:
            if parent is not None and os.getppid() != parent:
                raise RunLost  # the process that started this lane is gone (killed): leave it to whoever resumes it
            with transaction.atomic():
                done = engine.step(size)
            if progress is not None:
                progress(engine.run)
            if done:
                return


@contextlib.contextmanager
def _rare_collections(young: int = 100_000):
    """The cyclic garbage collector run after ``young`` new objects instead of 700 while a lane runs. A chunk
    makes and frees hundreds of thousands of tuples, lists and dicts (freed by their reference counts: they form no
    cycles); with the default threshold the collector ran 3 300 times per 100 000 accounts and took 15 % of the
    lane's Python time (bench/billing.py)."""
    saved = gc.get_threshold()
    gc.set_threshold(young, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _fork_lanes(pk: int, worker: str, shares: list[list[int]], size: int) -> list:
    """Start a process per share of lanes (fork: the children inherit the loaded code; each opens its own
    database connection)."""
    import multiprocessing

    connections.close_all()  # never share a connection across fork
    context = multiprocessing.get_context("fork")
    children = []
    for share in shares:
        child = context.Process(target=_lane_process, args=(pk, worker, share, size, os.getpid()), daemon=True)
        child.start()
        children.append(child)
    return children


def _lane_process(pk: int, worker: str, lanes: list[int], size: int, parent: int) -> None:
    connections.close_all()
    run = BillingRun.objects.select_related("branch").get(pk=pk)
    try:
        for lane in lanes:
            _run_lane(run, worker, lane, size, None, parent)
    except RunLost:
        return
    except BaseException as exc:
        log.exception("billing run %s, lanes %s failed", pk, lanes)
        _fail(pk, worker, exc)
        raise SystemExit(1) from None
    finally:
        connections.close_all()


def _join(child, timeout: float | None = None) -> int | None:
    child.join(timeout)
    if child.is_alive():
        child.terminate()
        child.join()
    return child.exitcode


def _claim(pk: int, worker: str, lanes: int) -> BillingRun:
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().select_related("branch").get(pk=pk)
        if run.state == BillingRun.State.DONE:
            return run
        if run.state == BillingRun.State.RUNNING and not is_stale(run):
            raise DomainError(
                f"Расчёт начислений за {period_label(run.period)} уже выполняется ({run.percent} %).", code="running"
            )
        now = timezone.now()
        run.state = BillingRun.State.RUNNING
        run.worker = worker
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.error = ""
        fields = ["state", "worker", "started_at", "heartbeat_at", "error"]
        if "lanes" not in run.stats:
            run.stats["lanes"] = _plan_lanes(run, lanes)
            fields.append("stats")
        if run.header is None:  # fixed for the whole run: every lane and a resume print the same
            run.header = bill_header(run.branch, BillingSettings.objects.filter(branch=run.branch).first())
            fields.append("header")
        run.save(update_fields=fields)
    return run


def _plan_lanes(run: BillingRun, count: int) -> list[dict]:
    """Split the accounts still to do into ``count`` lanes of equal size by id (fewer for a small branch). Each
    lane gets the block of bill numbers its accounts can use: the bills of a run are numbered in account order
    within each lane, the same after a resume; an account that came into a lane after the plan (moved from another
    branch) takes a number after every lane's block (``seq_spare``)."""
    accounts = Account.objects.filter(branch_id=run.branch_id, pk__gt=run.cursor).order_by("pk")
    remaining = accounts.count()
    count = max(1, min(count, remaining // MIN_LANE))
    (last_seq,) = fetch(
        f"SELECT COALESCE(MAX(seq), 0) FROM {_INVOICE} WHERE branch_id = %s AND period = %s",  # noqa: S608
        [run.branch_id, db_date(run.period)],
    )[0]
    lanes, low, seq = [], run.cursor, last_seq
    for index in range(count):
        last = index == count - 1
        size = remaining - (remaining // count) * index if last else remaining // count
        high = None if last else accounts.values_list("pk", flat=True)[(remaining // count) * (index + 1) - 1]
        lanes.append({"cursor": low, "high": high, "seq": seq, "seq_end": seq + size, "done": False})
        low, seq = high, seq + size
    return lanes


def _finish(pk: int, worker: str) -> BillingRun:
    """Mark the run done once every lane is (a lane's process may still be finishing: then nothing happens)."""
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().select_related("branch").get(pk=pk)
        if run.worker != worker or run.state != BillingRun.State.RUNNING:
            return run
        if not all(lane["done"] for lane in run.stats["lanes"]):
            return run
        run.state = BillingRun.State.DONE
        run.finished_at = timezone.now()
        run.total = max(run.total, run.processed)
        run.save(update_fields=["state", "finished_at", "total"])
        audit(
            run.actor_label or None,
            "billing.run_done",
            run,
            branch=run.branch.code,
            period=run.period.isoformat(),
            **{k: v for k, v in run.stats.items() if k not in ("previous_run_at", "lanes")},
        )
    return run


def _fail(pk: int, worker: str, exc: BaseException) -> None:
    try:
        with transaction.atomic():
            BillingRun.objects.filter(pk=pk, worker=worker, state=BillingRun.State.RUNNING).update(
                state=BillingRun.State.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], heartbeat_at=timezone.now()
            )
    except Exception:  # the database itself may be what failed; the run then stays «running» and goes stale
        log.exception("could not mark billing run %s failed", pk)


# ------------------------------------------------------------------------------------------------ one chunk


@dataclass
class _Account:
    pk: int
    number: str
    kind: str
    name: str
    email: str
    contracts: list = field(default_factory=list)


@dataclass
class _Contract:
    pk: int
    account_id: int
    number: str
    resource: str
    billable: bool
    address: str
    residents: int
    rooms: int
    stove: str
    settlement: str
    residential: bool
    group: str | None
    days: tuple[int, int] | None = None  # (days in force, days of the month) when less than the whole period


@dataclass
class _Effective:
    """A period's charges added up: what the period is charged now."""

    method: str = ""
    last_id: int = 0
    volumes: list = field(default_factory=lambda: [ZERO, ZERO, ZERO])
    ranges: list = field(default_factory=lambda: [ZERO, ZERO, ZERO])
    amount: Decimal = ZERO

    def add(self, pk, method, volumes, ranges, amount):
        if pk > self.last_id:
            self.last_id, self.method = pk, method
        for i in range(3):
            self.volumes[i] += volumes[i]
            self.ranges[i] += ranges[i]
        self.amount += amount


@dataclass
class _Outcome:
    """What the run decided for a contract (for the bill's snapshot)."""

    contract: _Contract
    volume: Volume
    group: str
    amount: Decimal
    lines_json: str
    meter_serial: str | None
    meter_zones: int | None


def _display_name(kind, last, first, middle, org) -> str:
    person = " ".join(p for p in (last, first, middle) if p)
    if kind == Customer.Kind.ORGANISATION:
        return org or person
    return person or org


class _Engine:
    def __init__(self, run: BillingRun, worker: str, lane: int = 0):
        self.run = run
        self.worker = worker
        self.lane_index = lane
        self.lane = dict(run.stats["lanes"][lane])
        self.postgres = connection.vendor == "postgresql"
        self.branch = run.branch
        self.period = run.period
        self.end = period_end(run.period)
        self.config = BranchConfig(self.branch, self.period)
        self.penalties_on = bool(run.stats.get("penalties_on", True)) and run.penalty_as_of is not None
        self.as_of = run.penalty_as_of
        previous_run_at = run.stats.get("previous_run_at")
        self.previous_run_at = as_datetime(previous_run_at) if previous_run_at else None
        previous_as_of = run.stats.get("previous_as_of")
        self.previous_as_of = dt.date.fromisoformat(previous_as_of) if previous_as_of else None
        self.history_from = add_months(self.period, -HISTORY_MONTHS)
        self.db_period = db_date(self.period)
        self.db_end = db_date(self.end)
        self.stats = Counter()  # the chunk's counts and sums, added to the run's under its lock
        self.sums = defaultdict(lambda: ZERO)
        self.due_cache: dict[tuple[dt.date, str], dt.date] = {}
        self.db_days: dict[dt.date, object] = {}
        self.steps = 0

    def _db_day(self, day: dt.date | None):
        if day is None:
            return None
        value = self.db_days.get(day)
        if value is None:
            value = self.db_days[day] = db_date(day)
        return value

    def _due(self, period: dt.date, kind: str) -> dt.date:
        key = (period, kind)
        if key not in self.due_cache:
            self.due_cache[key] = self.config.due_date(period, kind)
        return self.due_cache[key]

    # -- the loop ----------------------------------------------------------------------------------------------

    def step(self, size: int) -> bool:
        """One chunk of the lane: its next ``size`` accounts processed, then the lane's cursor, its bill numbers and
        the chunk's counts added to the run under the run's lock, in the chunk's transaction. True when the lane is
        finished."""
        self.steps += 1
        if self.lane_index == 0 and self.steps & (self.steps - 1) == 0 and self.steps > 1:
            self._analyze()
        self.stats, self.sums = Counter(), defaultdict(lambda: ZERO)
        alive = [self.run.pk, self.worker, BillingRun.State.RUNNING]
        if self.postgres:
            # The chunk's reads fetch a few thousand rows by key from tables of millions, all in memory. With the
            # server's default cost of a random read (4, a spinning disk's) the planner read the ledger by full
            # scans while it grew between two refreshes of its statistics: 5 to 20 times as long per chunk.
            execute("SET LOCAL random_page_cost = 1.1")
            # A plain read: the run's row is locked only at the end, briefly, as lanes share it.
            touched = fetch(f"SELECT 1 FROM {_RUN} WHERE id = %s AND worker = %s AND state = %s", alive)  # noqa: S608
        else:  # SQLite: taking its write lock now keeps the ids allocated by MAX(id) free until the commit
            touched = execute(
                f"UPDATE {_RUN} SET heartbeat_at = heartbeat_at WHERE id = %s AND worker = %s AND state = %s",  # noqa: S608
                alive,
            )
        if not touched:
            raise RunLost
        lane = self.lane
        bound, params = ("", [self.branch.pk, lane["cursor"], size])
        if lane["high"] is not None:
            bound, params = " AND a.id <= %s", [self.branch.pk, lane["cursor"], lane["high"], size]
        lock = " FOR UPDATE OF a" if connection.features.has_select_for_update_of else ""
        accounts = fetch(
            f"""SELECT a.id, a.number, c.kind, c.last_name, c.first_name, c.middle_name, c.org_name, c.email
                FROM {_ACCOUNT} a JOIN {_CUSTOMER} c ON c.id = a.customer_id
                WHERE a.branch_id = %s AND a.id > %s{bound} ORDER BY a.id LIMIT %s{lock}""",  # noqa: S608
            params,
        )
        if accounts:
            self._process(accounts)
            lane["cursor"] = accounts[-1][0]
        lane["done"] = len(accounts) < size
        self._save_progress(len(accounts))
        return lane["done"]

    def _save_progress(self, processed: int) -> None:
        """The lane's state and the chunk's counts into the run (``FOR NO KEY UPDATE``: the lanes' own inserts hold
        ``KEY SHARE`` on the run's row through their foreign keys)."""
        run = (
            BillingRun.objects.select_for_update(no_key=True)
            .filter(pk=self.run.pk, worker=self.worker, state=BillingRun.State.RUNNING)
            .only("pk", "processed", "stats", "cursor")
            .first()
        )
        if run is None:
            raise RunLost
        stats = run.stats
        stats["lanes"][self.lane_index] = dict(self.lane)
        for key, value in self.stats.items():
            stats[key] = stats.get(key, 0) + value
        for key, value in self.sums.items():
            stats[key] = str(q2(Decimal(stats.get(key, "0")) + value))
        now = timezone.now()
        cursor = self.lane["cursor"] if len(stats["lanes"]) == 1 else run.cursor
        BillingRun.objects.filter(pk=run.pk).update(
            processed=run.processed + processed, stats=stats, heartbeat_at=now, cursor=cursor
        )
        self.run.processed, self.run.stats, self.run.heartbeat_at, self.run.cursor = (
            run.processed + processed,
            stats,
            now,
            cursor,
        )

    def _analyze(self) -> None:
        """Refresh the planner's statistics of the tables the run is filling, after chunks 1, 2, 4, 8… (a dozen
        times in a million accounts). A first run on a new database, or a branch just loaded, grows them from little
        to a million rows faster than autovacuum looks: with statistics of an almost empty table PostgreSQL reads
        every chunk's bills and ledger by a full scan instead of the account index, and a million accounts took 1.6×
        as long per account as 100 000 (bench/billing.py). Only the first lane does it (two would wait on each
        other)."""
        if self.postgres:  # the columns the chunk's reads select by: a third of the time
            execute(
                f"ANALYZE {_INVOICE} (account_id, period), {_LEDGER} (account_id, contract_id, invoice_id), "
                f"{_CHARGE} (contract_id, period)"
            )

    # -- reading -----------------------------------------------------------------------------------------------

    def _load_contracts(self, accounts: dict[int, _Account]) -> dict[int, _Contract]:
        in_accounts, params = in_ids(list(accounts))
        rows = fetch(
            f"""SELECT ct.id, ct.account_id, ct.number, ct.resource, ct.status, CAST(ct.start_date AS TEXT),
                       CAST(ct.end_date AS TEXT), p.address, p.residents, p.rooms, p.stove_type, p.settlement,
                       p.is_residential, g.{connection.ops.quote_name("group")}
                FROM {_CONTRACT} ct JOIN {_PREMISES} p ON p.id = ct.premises_id
                LEFT JOIN {_GROUP} g ON g.contract_id = ct.id
                WHERE ct.account_id {in_accounts} ORDER BY ct.account_id, ct.id""",  # noqa: S608
            params,
        )
        contracts = {}
        period, end = self.period, self.end
        for (
            pk,
            account_id,
            number,
            resource,
            status,
            start,
            finish,
            address,
            residents,
            rooms,
            stove,
            settlement,
            res,
            grp,
        ) in rows:
            start, finish = as_date(start), as_date(finish)
            billable = (
                (status in BILLABLE_STATUSES or (finish is not None and finish >= period))
                and (start is None or start <= end)
                and (finish is None or finish >= period)
            )
            days = None
            if billable and ((start is not None and start > period) or (finish is not None and finish < end)):
                first, last = max(start or period, period), min(finish or end, end)
                days = ((last - first).days + 1, (end - period).days + 1)
            contract = _Contract(
                pk, account_id, number, resource, billable, address, residents, rooms, stove, settlement, bool(res),
                grp, days,
            )  # fmt: skip
            contracts[pk] = contract
            accounts[account_id].contracts.append(contract)
        return contracts

    def _load_meters(self, contract_ids: list[int]) -> dict[int, tuple]:
        """The billing meter of each contract: its latest meter that is not removed."""
        if not contract_ids:
            return {}
        in_contracts, params = in_ids(contract_ids)
        rows = fetch(
            f"""SELECT id, contract_id, zones, digits, serial FROM {_METER}
                WHERE contract_id {in_contracts} AND status <> %s ORDER BY contract_id, id""",  # noqa: S608
            [*params, Meter.Status.REMOVED],
        )
        return {row[1]: row for row in rows}

    def _load_readings(self, meter_ids: list[int]) -> dict[int, list[Read]]:
        """Per meter, ascending: [previous, current] of the period, and for meters without a current reading the
        older readings of the last 24 months before the previous one."""
        if not meter_ids:
            return {}
        in_meters, params = in_ids(meter_ids)
        accepted = Reading.Status.ACCEPTED
        zone = ZoneInfo(self.branch.time_zone)
        columns = "r.meter_id, CAST(r.period AS TEXT), r.t1, r.t2, r.t3, CAST(r.received_at AS TEXT)"
        if self.postgres:  # each meter's two latest readings up to the period, by its index: 6x the speed
            rows = fetch(
                f"""SELECT {columns} FROM unnest(CAST(%s AS bigint[])) AS m(id) CROSS JOIN LATERAL (
                        SELECT meter_id, period, t1, t2, t3, received_at FROM {_READING}
                        WHERE meter_id = m.id AND status = '{accepted}' AND period <= %s
                        ORDER BY period DESC LIMIT 2
                    ) r""",  # noqa: S608
                [*params, self.db_period],
            )
        else:
            rows = fetch(
                f"""WITH prev AS (
                        SELECT meter_id, MAX(period) AS period FROM {_READING}
                        WHERE status = '{accepted}' AND period < %s AND meter_id {in_meters} GROUP BY meter_id
                    )
                    SELECT {columns} FROM prev
                    JOIN {_READING} r ON r.meter_id = prev.meter_id AND r.period = prev.period
                        AND r.status = '{accepted}'
                    UNION ALL
                    SELECT {columns} FROM {_READING} r
                    WHERE r.status = '{accepted}' AND r.period = %s AND r.meter_id {in_meters}""",  # noqa: S608
                [self.db_period, *params, self.db_period, *params],
            )
        reads: dict[int, dict[str, Read]] = defaultdict(dict)
        taken_days: dict[str, dt.date] = {}
        for meter_id, period, t1, t2, t3, received in rows:
            period = as_date(period)
            kind = "c" if period == self.period else "p"
            pair = reads[meter_id]
            if kind == "p" and "p" in pair and pair["p"].period > period:
                continue  # the earlier of a meter's two readings before the period
            taken = None
            if received:
                minute = received[:16]  # the database's UTC text: the local day depends on the minute only
                taken = taken_days.get(minute)
                if taken is None:
                    taken = taken_days[minute] = as_datetime(received).astimezone(zone).date()
            values = (t1,) if t2 is None and t3 is None else tuple(v for v in (t1, t2, t3) if v is not None)
            pair[kind] = Read(period, values, taken)
        result: dict[int, list[Read]] = {}
        needy = []
        for meter_id in meter_ids:
            pair = reads.get(meter_id, {})
            ordered = [pair[k] for k in ("p", "c") if k in pair]
            result[meter_id] = ordered
            if "c" not in pair and "p" in pair and pair["p"].period > self.history_from:
                needy.append(meter_id)
        if needy:
            in_needy, params = in_ids(needy)
            rows = fetch(
                f"""SELECT meter_id, CAST(period AS TEXT), t1, t2, t3 FROM {_READING}
                    WHERE status = '{accepted}' AND period >= %s AND period < %s AND meter_id {in_needy}
                    ORDER BY meter_id, period""",  # noqa: S608
                [db_date(self.history_from), self.db_period, *params],
            )
            older: dict[int, list[Read]] = defaultdict(list)
            for meter_id, period, t1, t2, t3 in rows:
                day = as_date(period)
                if day < result[meter_id][0].period:
                    values = (t1,) if t2 is None and t3 is None else tuple(v for v in (t1, t2, t3) if v is not None)
                    older[meter_id].append(Read(day, values))
            for meter_id, earlier in older.items():
                result[meter_id] = earlier + result[meter_id]
        return result

    def _charge_rows(self, where: str, params: list) -> list[tuple]:
        return fetch(
            f"""SELECT contract_id, CAST(period AS TEXT), id, method, CAST(volume_t1 AS TEXT),
                       CAST(volume_t2 AS TEXT), CAST(volume_t3 AS TEXT), CAST(volume_r1 AS TEXT),
                       CAST(volume_r2 AS TEXT), CAST(volume_r3 AS TEXT), CAST(amount AS TEXT)
                FROM {_CHARGE} WHERE {where}""",  # noqa: S608
            params,
        )

    @staticmethod
    def _effective(rows) -> dict[tuple[int, str], _Effective]:
        result: dict[tuple[int, str], _Effective] = {}
        for contract_id, period, pk, method, t1, t2, t3, r1, r2, r3, amount in rows:
            key = (contract_id, period)
            eff = result.get(key)
            if eff is None:
                eff = result[key] = _Effective()
            eff.add(
                pk,
                method,
                (as_decimal(t1), as_decimal(t2), as_decimal(t3)),
                (as_decimal(r1), as_decimal(r2), as_decimal(r3)),
                as_decimal(amount),
            )
        for eff in result.values():
            eff.volumes = [q2(v) for v in eff.volumes]
            eff.ranges = [q2(v) for v in eff.ranges]
            eff.amount = q2(eff.amount)
        return result

    def _load_charged_now(self, contract_ids: list[int]) -> dict[int, _Effective]:
        if not contract_ids:
            return {}
        in_contracts, params = in_ids(contract_ids)
        rows = self._charge_rows(f"contract_id {in_contracts} AND period = %s", [*params, self.db_period])
        return {contract_id: eff for (contract_id, _p), eff in self._effective(rows).items()}

    def _load_billed(self, needs: dict[int, dt.date]) -> dict[int, list[Billed]]:
        """Effective charges of each contract's periods after ``needs[contract]`` and before the run's period."""
        if not needs:
            return {}
        lower = min(needs.values())
        in_contracts, params = in_ids(list(needs))
        rows = self._charge_rows(
            f"contract_id {in_contracts} AND period > %s AND period < %s", [*params, db_date(lower), self.db_period]
        )
        billed: dict[int, list[Billed]] = defaultdict(list)
        for (contract_id, period), eff in sorted(self._effective(rows).items(), key=lambda item: item[0][1]):
            day = as_date(period)
            if day > needs[contract_id]:
                billed[contract_id].append(Billed(day, eff.method, tuple(eff.volumes)))
        return billed

    # -- the chunk ---------------------------------------------------------------------------------------------

    def _process(self, account_rows) -> None:
        accounts = {
            pk: _Account(pk, number, kind, _display_name(kind, last, first, middle, org), email or "")
            for pk, number, kind, last, first, middle, org, email in account_rows
        }
        contracts = self._load_contracts(accounts)
        billable = [c for c in contracts.values() if c.billable]
        meters = self._load_meters([c.pk for c in billable])
        reads = self._load_readings([m[0] for m in meters.values()])
        charged_now = self._load_charged_now([c.pk for c in billable])
        one_month_ago = add_months(self.period, -1)
        needs = {}
        for contract in billable:
            meter = meters.get(contract.pk)
            meter_reads = reads.get(meter[0], []) if meter else []
            earlier = [r for r in meter_reads if r.period < self.period]
            if earlier and (earlier[-1].period < one_month_ago or meter_reads[-1].period != self.period):
                needs[contract.pk] = earlier[-1].period
        billed = self._load_billed(needs)
        in_accounts, account_params = in_ids(list(accounts))
        last_invoiced, has_bill = {}, set()
        for account_id, last, this in fetch(
            f"""SELECT account_id, CAST(MAX(period) AS TEXT), SUM(CASE WHEN period = %s THEN 1 ELSE 0 END)
                FROM {_INVOICE} WHERE account_id {in_accounts} GROUP BY account_id""",  # noqa: S608
            [self.db_period, *account_params],
        ):
            last_invoiced[account_id] = as_date(last)
            if this:
                has_bill.add(account_id)

        now = timezone.now()
        db_now = db_datetime(now)
        charges, entries = [], []  # rows without ids yet
        outcomes: dict[int, list[_Outcome]] = defaultdict(list)
        priced_accounts: set[int] = set()
        stats, sums = self.stats, self.sums
        run_id = self.run.pk
        config, period, month_days = self.config, self.period, self.config.month_days
        for contract in billable:
            account = accounts[contract.account_id]
            meter = meters.get(contract.pk)
            norm, norm_basis = config.norm_volume(
                contract.resource,
                is_residential=contract.residential,
                stove_type=contract.stove,
                rooms=contract.rooms,
                residents=contract.residents,
            )
            volume = find_volume(
                period=period,
                meter_zones=meter[2] if meter else None,
                digits=meter[3] if meter else 6,
                reads=reads.get(meter[0], ()) if meter else (),
                billed=billed.get(contract.pk, ()),
                residential=contract.residential,
                norm=norm,
                norm_basis=norm_basis,
                days=contract.days,
            )
            if volume is None:
                stats["skipped_no_basis"] += 1
                continue
            group = (
                tariff_group(
                    customer_kind=account.kind,
                    is_residential=contract.residential,
                    settlement=contract.settlement,
                    stove_type=contract.stove,
                    override=contract.group,
                )
                if contract.resource == "electricity" or contract.group
                else "any"
            )
            terms = config.terms(contract.resource, group, volume.zones)
            if terms is None:
                stats["skipped_no_tariff"] += 1
                continue
            try:
                priced = price_volume(volume.volumes, terms, month_days=month_days)
            except PricingError as error:
                stats[f"skipped_{error.code}"] += 1
                continue
            priced_accounts.add(account.pk)
            zone_volumes = (list(volume.volumes) + [ZERO, ZERO])[:3]
            basis = dict(volume.basis)
            basis["group"] = group
            if meter:
                basis["meter"] = meter[4]
            lines_json = dumps(priced.lines)
            outcomes[account.pk].append(
                _Outcome(contract, volume, group, priced.amount, lines_json, meter[4] if meter else None,
                         meter[2] if meter else None)
            )  # fmt: skip
            previous = charged_now.get(contract.pk)
            if previous is None:
                kind, amounts = Charge.Kind.PRIMARY, (priced.amount, zone_volumes, list(priced.range_volumes))
                stats[f"method_{volume.method}"] += 1
                sums["billed"] += priced.amount
            elif (
                previous.method == volume.method
                and previous.volumes == [q2(v) for v in zone_volumes]
                and previous.amount == priced.amount
            ):
                stats["unchanged"] += 1
                continue
            else:
                kind = Charge.Kind.ADJUSTMENT
                amounts = (
                    priced.amount - previous.amount,
                    [v - p for v, p in zip(zone_volumes, previous.volumes, strict=True)],
                    [r - p for r, p in zip(priced.range_volumes, previous.ranges, strict=True)],
                )
                basis["replaces"] = {
                    "method": previous.method,
                    "amount": str(previous.amount),
                    "volume": str(sum(previous.volumes, ZERO)),
                }
                stats["adjustments"] += 1
                sums["adjusted"] += amounts[0]
            amount, volumes, ranges = amounts
            charges.append(
                [
                    None, run_id, account.pk, contract.pk, self.db_period, kind, volume.method, volume.zones,
                    str(sum(volumes, ZERO)), str(volumes[0]), str(volumes[1]), str(volumes[2]), str(ranges[0]),
                    str(ranges[1]), str(ranges[2]), str(amount), lines_json, dumps(basis), db_now,
                ]
            )  # fmt: skip
            if amount:
                # A difference found after the period's bill goes on the next bill: due with that one.
                invoiced = last_invoiced.get(account.pk)
                bill_period = add_months(invoiced, 1) if invoiced and invoiced >= period else period
                entries.append(
                    [
                        None, account.pk, contract.pk,
                        LedgerEntry.Kind.CHARGE if kind == Charge.Kind.PRIMARY else LedgerEntry.Kind.CORRECTION,
                        amount, period, self._due(bill_period, account.kind), self.end, "charge", None,
                        len(charges) - 1, run_id, None, "", db_now,
                    ]
                )  # fmt: skip
            sums["amount"] += amount

        if self.penalties_on:
            self._penalties(accounts, contracts, entries, db_now)

        # Ids first: the ledger points at its charges, bills at their entries.
        charge_ids = allocate_ids(_CHARGE, len(charges))
        for row, pk in zip(charges, charge_ids, strict=True):
            row[0] = pk
        for entry in entries:
            if entry[10] is not None:
                entry[9] = str(charge_ids[entry[10]])
                entry[10] = charge_ids[entry[10]]
        # A bill for the period, unless the account has one (for it or a later period: the difference goes there).
        to_invoice = [
            pk
            for pk in accounts
            if pk in priced_accounts and pk not in has_bill and last_invoiced.get(pk, period) <= period
        ]
        invoices, restamp = self._invoices(to_invoice, accounts, contracts, outcomes, entries, now)

        ledger_ids = allocate_ids(_LEDGER, len(entries))
        day = self._db_day
        for entry, pk in zip(entries, ledger_ids, strict=True):
            entry[0] = pk
            entry[4] = str(entry[4])
            entry[5], entry[6], entry[7] = day(entry[5]), day(entry[6]), day(entry[7])
        insert(_CHARGE, _CHARGE_COLUMNS, charges)
        insert(_INVOICE, _INVOICE_COLUMNS, invoices)
        insert(_LEDGER, _LEDGER_COLUMNS, entries)
        if restamp:
            in_entries, params = in_ids(restamp)
            execute(
                f"""UPDATE {_LEDGER} SET invoice_id = (
                        SELECT i.id FROM {_INVOICE} i WHERE i.account_id = {_LEDGER}.account_id AND i.period = %s
                    ) WHERE invoice_id IS NULL AND id {in_entries}""",  # noqa: S608
                [self.db_period, *params],
            )
        stats["charges"] += len(charges)
        stats["invoices"] += len(invoices)

    # -- penalties ---------------------------------------------------------------------------------------------

    def _penalties(self, accounts, contracts, entries, db_now) -> None:
        """Post the difference between each indebted contract's penalty accrued up to ``penalty_as_of`` and what
        was posted before (so a re-run on the same inputs posts nothing, and a late-posted payment is reflected)."""
        # Whose accrued penalty can differ from what is posted: those with a debt due more than 30 days before
        # ``penalty_as_of`` that was not paid by the previous computation's day (it may have been overdue on some
        # day since), and those given a back-dated payment or credit since then.
        in_accounts, params = in_ids(list(accounts))
        grace = self._db_day(self.as_of - dt.timedelta(days=30))
        previous = self._db_day(self.previous_as_of or dt.date(1900, 1, 1))
        since = db_datetime(self.previous_run_at) if self.previous_run_at else None
        needy = [
            row[0]
            for row in fetch(
                f"""SELECT contract_id FROM {_LEDGER}
                    WHERE account_id {in_accounts} AND contract_id IS NOT NULL
                    GROUP BY contract_id
                    HAVING SUM(CASE WHEN kind <> 'penalty' AND amount > 0 AND due_date < %s THEN amount ELSE 0 END)
                         > SUM(CASE WHEN kind <> 'penalty' AND amount < 0 AND value_date <= %s THEN -amount ELSE 0 END)
                        OR (%s IS NOT NULL AND SUM(CASE WHEN kind = 'penalty' THEN 1 ELSE 0 END) > 0
                            AND MAX(CASE WHEN kind <> 'penalty' AND amount < 0 AND value_date <= %s
                                         THEN created_at END) >= %s)""",  # noqa: S608
                [*params, grace, previous, since, previous, since],
            )
        ]
        if not needy:
            return
        in_needy, params = in_ids(needy)
        ledger = fetch(
            f"""SELECT contract_id, kind, CAST(amount AS TEXT), CAST(period AS TEXT), CAST(due_date AS TEXT),
                       CAST(value_date AS TEXT)
                FROM {_LEDGER} WHERE contract_id {in_needy}""",  # noqa: S608
            params,
        )
        debts: dict[int, list[Debt]] = defaultdict(list)
        reductions: dict[int, list[Reduction]] = defaultdict(list)
        posted: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for contract_id, kind, amount, period, due, value_date in ledger:
            amount = as_decimal(amount)
            if kind == LedgerEntry.Kind.PENALTY:
                posted[contract_id] += amount
            elif amount > 0 and due:
                debts[contract_id].append(Debt(as_date(due), as_date(period), amount))
            elif amount < 0:
                reductions[contract_id].append(Reduction(as_date(value_date), -amount, as_date(period)))
        rates = self.config.rates
        for contract_id in needy:
            contract = contracts[contract_id]
            account = accounts[contract.account_id]
            accrued = q2(
                accrued_penalty(
                    debts.get(contract_id, ()),
                    reductions.get(contract_id, ()),
                    as_of=self.as_of,
                    rates=rates,
                    scale=scale_of(account.kind),
                )
            )
            delta = accrued - q2(posted[contract_id])
            if delta:
                entries.append(
                    [
                        None, account.pk, contract_id, LedgerEntry.Kind.PENALTY, delta, self.period, None,
                        self.as_of, "penalty", f"{self.run.pk}", None, self.run.pk, None,
                        f"пени по {self.as_of:%d.%m.%Y}", db_now,
                    ]
                )  # fmt: skip
                self.stats["penalties"] += 1
                self.sums["penalty"] += delta

    # -- bills -------------------------------------------------------------------------------------------------

    def _invoices(self, to_invoice, accounts, contracts, outcomes, entries, now) -> tuple[list, list[int]]:
        """Bill rows for the accounts billed for the first time this period; new ledger rows of those accounts get
        the bill's id; returns the bill rows and the ids of older entries to stamp."""
        if not to_invoice:
            return [], []
        in_accounts, params = in_ids(to_invoice)
        waiting: dict[int, list[tuple]] = defaultdict(list)
        for pk, account_id, contract_id, kind, amount, period, value_date, note in fetch(
            f"""SELECT id, account_id, contract_id, kind, CAST(amount AS TEXT), CAST(period AS TEXT),
                       CAST(value_date AS TEXT), note
                FROM {_LEDGER} WHERE account_id {in_accounts} AND invoice_id IS NULL ORDER BY id""",  # noqa: S608
            params,
        ):
            waiting[account_id].append(
                (pk, contract_id, kind, q2(as_decimal(amount)), as_date(period), as_date(value_date), note)
            )
        opening = {
            account_id: q2(as_decimal(total))
            for account_id, total in fetch(
                f"""SELECT account_id, CAST(SUM(amount) AS TEXT) FROM {_LEDGER}
                    WHERE account_id {in_accounts} AND invoice_id IS NOT NULL GROUP BY account_id""",  # noqa: S608
                params,
            )
        }
        delivery = {
            account_id: (method, email)
            for account_id, method, email in fetch(
                f"SELECT account_id, method, email FROM {_DELIVERY} WHERE account_id {in_accounts}",  # noqa: S608
                params,
            )
        }
        last_seq = self._reserve_numbers(len(to_invoice))
        invoice_ids = allocate_ids(_INVOICE, len(to_invoice))
        invoice_of = dict(zip(to_invoice, invoice_ids, strict=True))
        new_entries: dict[int, list[list]] = defaultdict(list)
        for entry in entries:
            invoice_id = invoice_of.get(entry[1])
            if invoice_id is not None:
                entry[12] = invoice_id
                new_entries[entry[1]].append(entry)
        rows, restamp = [], []
        period = self.period
        db_now, db_period = db_datetime(now), self.db_period
        prefix = f"{self.branch.code}-{period:%Y%m}-"
        for seq, account_id in enumerate(to_invoice, start=last_seq + 1):
            account = accounts[account_id]
            old = waiting.get(account_id, [])
            restamp.extend(row[0] for row in old)
            movements = [(row[1], row[2], row[3], row[4], row[5], row[6]) for row in old] + [
                (e[2], e[3], e[4], e[5], e[7], e[13]) for e in new_entries.get(account_id, [])
            ]
            charged = penalties = paid = ZERO
            payments, adjustments = [], []
            for contract_id, kind, amount, entry_period, value_date, note in movements:
                if kind == LedgerEntry.Kind.PAYMENT:
                    paid -= amount
                    payments.append({"date": value_date.isoformat(), "amount": str(-amount)})
                elif kind == LedgerEntry.Kind.PENALTY:
                    penalties += amount
                else:
                    charged += amount
                    if kind != LedgerEntry.Kind.CHARGE or entry_period != period:
                        contract = contracts.get(contract_id)
                        adjustments.append(
                            {
                                "contract": contract.number if contract else "",
                                "period": entry_period.isoformat() if entry_period else None,
                                "amount": str(amount),
                                "note": note,
                            }
                        )
            start = opening.get(account_id, ZERO)
            closing = start + charged + penalties - paid
            method, email = delivery.get(account_id, (BillDelivery.Method.PAPER, ""))
            email = email or account.email
            if method == BillDelivery.Method.EMAIL and not email:
                method = BillDelivery.Method.PAPER  # never leave a bill undelivered
            due = self._due(period, account.kind)
            address = next((c.address for c in account.contracts), "")
            data = {
                "v": 2,  # the period, due date and totals are the bill's columns (Invoice.snapshot)
                "account": account.number,
                "customer": account.name,
                "address": address,
                "adjustments": adjustments,
                "payments": payments,
                "penalty_as_of": self.as_of.isoformat() if self.as_of and penalties else None,
            }
            contracts_json = ",".join(self._contract_json(o) for o in outcomes.get(account_id, []))
            data_json = f'{dumps(data)[:-1]},"contracts":[{contracts_json}]}}'  # the header is the run's
            rows.append(
                [
                    invoice_of[account_id], account_id, self.branch.pk, db_period, seq, f"{prefix}{seq:06d}",
                    self.run.pk, db_now, self._db_day(due), str(start), str(charged), str(penalties), str(paid),
                    str(closing), str(max(closing, ZERO)), method, email, data_json,
                ]
            )  # fmt: skip
        return rows, restamp

    def _reserve_numbers(self, count: int) -> int:
        """The sequence number before this chunk's ``count`` bills: the next ones of the lane's block, or, when the
        block is used up (accounts that came into the lane after the plan), numbers after every lane's block, taken
        under the run's lock."""
        lane = self.lane
        if lane["seq"] + count <= lane["seq_end"]:
            lane["seq"] += count
            return lane["seq"] - count
        run = BillingRun.objects.select_for_update(no_key=True).only("pk", "stats").get(pk=self.run.pk)
        spare = run.stats.get("seq_spare") or max(other["seq_end"] for other in run.stats["lanes"])
        run.stats["seq_spare"] = spare + count
        BillingRun.objects.filter(pk=run.pk).update(stats=run.stats)
        return spare

    @staticmethod
    def _contract_json(outcome: _Outcome) -> str:
        """One contract of a bill's snapshot, as JSON text (its priced lines spliced in as already encoded)."""
        contract, volume = outcome.contract, outcome.volume
        item = {
            "contract": contract.number,
            "resource": contract.resource,
            "unit": UNITS.get(contract.resource, ""),
            "group": outcome.group,
            "method": volume.method,
            "volumes": [str(v) for v in volume.volumes],
            "volume": str(volume.total),
            "amount": str(outcome.amount),
        }
        if outcome.meter_serial:
            item["meter"] = {"serial": outcome.meter_serial, "zones": outcome.meter_zones}
        basis = volume.basis
        keys = (
            "previous",
            "current",
            "base",
            "months",
            "average",
            "residents",
            "per_person",
            "billed",
            "actual",
            "days",
        )
        for key in keys:
            if key in basis:
                item[key] = basis[key]
        return f'{dumps(item)[:-1]},"lines":{outcome.lines_json}}}'
