"""Bank and post registries: receive a file (stored first), import it set-based, and the outbound debt registry.

``receive_registry`` stores the file's bytes under its SHA-256 before anything else: the same file twice is the
«already received» answer and credits nothing. ``import_registry`` reads it with the format's ``Layout``
(``reader.read``): a file whose trailer does not match is refused whole; otherwise the lines are imported in chunks of
``CHUNK_SIZE``, each chunk in one transaction and a fixed number of queries whatever its size:

1. the accounts named by the chunk (one query), the payments already credited under the lines' ids (one), the
   accounts' row locks (PostgreSQL, one), their contracts (one) and ledger entries (one);
2. the payments (``COPY`` / multi-row ``INSERT``), their ids read back by ``(channel, external_id)`` (one), their
   ledger entries (``ledger.post_payment_entries``' allocation, one write), the suspense lines (one write);
3. the readings the lines carry (``CounterVal_n``): the accounts' counters (one query) and the readings service's
   batch path (``metering.batch.submit_readings_batch``) with the bank or post channel — the same window, checks
   and reason codes as every other channel;
4. the registry's progress (one ``UPDATE``), which the back office's progress bar polls.

A line's payment id is ``<format>:<operation id>`` when the layout has an operation field (a bank re-sending an
operation in another file is caught), else ``<file hash>:<line>``. An account that is not found, or has no
contract to post to, goes to the suspense list (``SuspenseItem``) for an operator.

Counters (``CounterVal_n``, and the outbound ``CounterId_n``…): slot n is the n-th register of the account's meters
in a fixed order — contracts electricity first then by number, meters by id, zones day/peak first. The debt registry
Sbyt sends the banks names every slot with the meter's serial, zone, previous reading and its date (RD-11), so the
terminal asks for exactly those values and the registry brings them back under the same numbers."""

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.billing.models import LedgerEntry
from sbyt.core.actors import actor_label, is_user, require_permission
from sbyt.core.audit import audit
from sbyt.core.errors import DomainError
from sbyt.core.periods import month_start
from sbyt.core.timezones import local_now
from sbyt.customers.models import Account, Branch, Contract, Customer, Premises
from sbyt.metering.batch import submit_readings_batch
from sbyt.metering.models import Meter, Reading
from sbyt.metering.rules import ZONE_NAMES

from . import reader
from .bulk import Inserter, select
from .ledger import ENTRY_COLUMNS, ToPost, allocate, contracts_of, ledgers_of, lock_accounts, shared_accounts
from .models import Payment, Registry, RegistryFormat, SuspenseItem

log = logging.getLogger(__name__)

# Lines per transaction. PostgreSQL: larger chunks measured faster (bench/registry.py: 100 000 lines 12.9 s with
# 5 000, 10.6 s with 25 000 — the fixed work of a chunk, its commit and its lookups, is paid fewer times); SQLite
# keeps smaller ones, its writer lock is held for the whole chunk.
CHUNK_SIZE = 5_000
CHUNK_SIZE_POSTGRES = 25_000
IMPORT_PERMISSION = "payments.import_registry"
EXPORT_PERMISSION = "payments.export_debt_registry"
_PAYMENT_COLUMNS = (
    "kind",
    "channel",
    "external_id",
    "account_id",
    "amount",
    "period",
    "paid_at",
    "paid_on",
    "payer",
    "registry_id",
    "line_no",
    "actor_label",
)
_SUSPENSE_COLUMNS = (
    "registry_id",
    "line_no",
    "account_text",
    "payer",
    "address",
    "amount",
    "period",
    "paid_at",
    "raw",
    "note",
)


# ----------------------------------------------------------------------------------------------- receiving


def receive_registry(*, data: bytes, file_name: str, registry_format: RegistryFormat, actor) -> Registry:
    """Store a registry file as received. The same bytes again: ``DomainError`` naming the first one."""
    require_permission(actor, IMPORT_PERMISSION, _("You are not allowed to import payment registries."))
    if not registry_format.active:
        raise DomainError(_("This registry format is switched off."))
    if not data:
        raise DomainError(_("The file is empty."))
    if len(data) > settings.SBYT_IMPORT_MAX_BYTES:
        raise DomainError(_("The file is too large."))
    digest = hashlib.sha256(data).hexdigest()
    earlier = Registry.objects.filter(sha256=digest).first()
    if earlier is not None:
        raise DomainError(_duplicate_message(earlier), code="duplicate")
    try:
        with transaction.atomic():
            registry = Registry.objects.create(
                format=registry_format,
                channel=registry_format.channel,
                file_name=(file_name or "registry.txt")[:255],
                sha256=digest,
                size=len(data),
                content=data,
                uploaded_by=actor if is_user(actor) else None,
                actor_label=actor_label(actor),
            )
            audit(
                actor,
                "payments.registry_receive",
                registry,
                file_name=registry.file_name,
                sha256=digest,
                size=len(data),
                format=registry_format.code,
            )
    except IntegrityError:  # the same file at the same moment from another upload
        raise DomainError(_duplicate_message(Registry.objects.get(sha256=digest)), code="duplicate") from None
    return registry


def _duplicate_message(earlier: Registry) -> str:
    return _(
        "This file was already received on %(date)s (registry No. %(number)s, %(status)s): nothing is imported twice."
    ) % {
        "date": timezone.localtime(earlier.received_at).strftime("%d.%m.%Y %H:%M"),
        "number": earlier.pk,
        "status": earlier.get_status_display(),
    }


# ------------------------------------------------------------------------------------------------- importing


class _Run:
    """State of one import: the registry, its layout, the branches' time zones, what to report."""

    def __init__(self, registry: Registry, actor):
        self.registry = registry
        self.actor = actor
        self.label = actor_label(actor)
        self.channel = registry.channel
        self.prefix = registry.sha256[:20]
        self.format_code = registry.format.code
        self.zones = {pk: ZoneInfo(tz) for pk, tz in Branch.objects.values_list("pk", "time_zone")}
        self.problems: list[dict] = []
        self.reading_notes: list[dict] = []
        self.broken = 0
        self.duplicates = 0
        self.readings = 0
        self.readings_accepted = 0

    def problem(self, line: int, message: str) -> None:
        if len(self.problems) < reader.MAX_PROBLEMS:
            self.problems.append({"line": line, "message": message})

    def reading_note(self, line: int, message: str, meter: str = "") -> None:
        if len(self.reading_notes) < reader.MAX_PROBLEMS:
            self.reading_notes.append({"line": line, "meter": meter, "message": message})

    def external_id(self, line: reader.Line) -> str:
        if line.operation:
            return f"{self.format_code}:{line.operation}"[:100]
        return f"{self.prefix}:{line.no}"


def import_registry(*, registry: Registry, actor, progress=None, chunk_size: int | None = None) -> Registry:
    """Check and import a received registry (or resume one that failed). Returns it with its report."""
    require_permission(actor, IMPORT_PERMISSION, _("You are not allowed to import payment registries."))
    startable = (Registry.Status.RECEIVED, Registry.Status.FAILED)
    taken = Registry.objects.filter(pk=registry.pk, status__in=startable).update(
        status=Registry.Status.IMPORTING, started_at=timezone.now(), refusal=""
    )
    registry.refresh_from_db()
    if not taken:
        return registry  # imported, refused, or another worker has it
    if chunk_size is None:
        chunk_size = CHUNK_SIZE_POSTGRES if connection.vendor == "postgresql" else CHUNK_SIZE
    layout = reader.Layout.of(registry.format)
    try:
        parsed = reader.read(bytes(registry.content), layout)
    except reader.RegistryRefused as exc:
        return _refuse(registry, exc.message, actor)
    trailer = parsed.trailer
    Registry.objects.filter(pk=registry.pk).update(
        lines=parsed.data_lines,
        lines_amount=parsed.total,
        declared_count=trailer.count if trailer else None,
        declared_amount=trailer.amount if trailer else None,
        processed=0,
    )
    run = _Run(registry, actor)
    for problem in parsed.problems:
        run.problem(problem.line, problem.message)
    run.broken = len(parsed.problems)
    try:
        lines = parsed.lines
        for start in range(0, len(lines), chunk_size):
            chunk = lines[start : start + chunk_size]
            with transaction.atomic():
                _import_chunk(run, chunk)
                Registry.objects.filter(pk=registry.pk).update(processed=F("processed") + len(chunk))
            if progress:
                progress(start + len(chunk), len(lines))
    except Exception as exc:
        log.exception("registry %s failed", registry.pk)
        Registry.objects.filter(pk=registry.pk).update(
            status=Registry.Status.FAILED, refusal=f"{type(exc).__name__}: {exc}"[:500], finished_at=timezone.now()
        )
        audit(actor, "payments.registry_failed", registry, error=f"{type(exc).__name__}: {exc}"[:300])
        raise
    return _finish(run)


def _refuse(registry: Registry, message: str, actor) -> Registry:
    Registry.objects.filter(pk=registry.pk).update(
        status=Registry.Status.REFUSED, refusal=message[:500], finished_at=timezone.now()
    )
    audit(actor, "payments.registry_refuse", registry, reason=message)
    registry.refresh_from_db()
    return registry


def _finish(run: _Run) -> Registry:
    registry = run.registry
    paid = Payment.objects.filter(registry=registry).aggregate(n=Count("id"), total=Sum("amount"))
    suspense = SuspenseItem.objects.filter(registry=registry).aggregate(n=Count("id"), total=Sum("amount"))
    Registry.objects.filter(pk=registry.pk).update(
        status=Registry.Status.IMPORTED,
        finished_at=timezone.now(),
        payments_count=paid["n"],
        payments_amount=paid["total"] or 0,
        suspense_count=suspense["n"],
        suspense_amount=suspense["total"] or 0,
        duplicate_count=run.duplicates,
        broken_count=run.broken,
        readings_count=run.readings,
        readings_accepted=run.readings_accepted,
        problems=sorted(run.problems, key=lambda p: p["line"]),
        reading_notes=sorted(run.reading_notes, key=lambda p: p["line"]),
        processed=F("lines"),
    )
    registry.refresh_from_db()
    audit(
        run.actor,
        "payments.registry_import",
        registry,
        payments=registry.payments_count,
        amount=str(registry.payments_amount),
        suspense=registry.suspense_count,
        broken=registry.broken_count,
        duplicates=registry.duplicate_count,
        readings=registry.readings_count,
        readings_accepted=registry.readings_accepted,
    )
    return registry


def _import_chunk(run: _Run, lines: list[reader.Line]) -> None:
    registry = run.registry
    numbers = sorted({line.account for line in lines})
    accounts = {
        number: (pk, branch_id)
        for pk, number, branch_id in select(
            f"SELECT id, number, branch_id FROM {Account._meta.db_table} WHERE number {{in}}",  # noqa: S608
            numbers,
        )
    }
    external = {line.no: run.external_id(line) for line in lines}
    seen = dict(
        select(
            f"SELECT external_id, registry_id FROM {Payment._meta.db_table} "  # noqa: S608
            "WHERE channel = %s AND external_id {in}",
            list(external.values()),
            [run.channel],
        )
    )
    account_ids = sorted({pk for pk, _branch in accounts.values()})
    lock_accounts(account_ids)
    contracts = contracts_of(account_ids)
    resumed = set()
    if registry.status == Registry.Status.IMPORTING and (seen or registry.processed):
        resumed = {
            no
            for (no,) in select(
                f"SELECT line_no FROM {SuspenseItem._meta.db_table} WHERE registry_id = %s AND line_no {{in}}",  # noqa: S608
                [line.no for line in lines],
                [registry.pk],
            )
        }

    now = timezone.now()
    today = {pk: now.astimezone(zone).date() for pk, zone in run.zones.items()}
    payments, suspense, posted_lines = [], [], []
    payment_kind = Payment.Kind.PAYMENT.value
    for line in lines:
        ext = external[line.no]
        if ext in seen:
            if seen[ext] != registry.pk:  # credited before from another file
                run.duplicates += 1
                run.problem(
                    line.no,
                    _("This payment was already credited from registry No. %(number)s.") % {"number": seen[ext]},
                )
            continue
        if line.no in resumed:
            continue
        found = accounts.get(line.account)
        note = ""
        if found is None:
            note = _("Client number not found.")
        elif not contracts.get(found[0]):
            note = _("The account has no contract to post the payment to.")
        if note:
            suspense.append(
                (
                    registry.pk,
                    line.no,
                    line.account[:100],
                    line.name,
                    line.address,
                    line.amount,
                    line.period,
                    line.paid_at,
                    line.raw,
                    note,
                )
            )
            if line.readings:
                run.reading_note(line.no, _("Readings of an unknown account are not taken."))
            continue
        account_id, branch_id = found
        paid_on = line.paid_at.astimezone(run.zones[branch_id]).date()
        if paid_on > today[branch_id]:
            run.broken += 1
            run.problem(line.no, _("The payment date is in the future."))
            continue
        payments.append(
            (
                payment_kind,
                run.channel,
                ext,
                account_id,
                line.amount,
                line.period,
                line.paid_at,
                paid_on,
                line.name,
                registry.pk,
                line.no,
                run.label,
            )
        )
        posted_lines.append((line, account_id, paid_on))

    Inserter(Payment, _PAYMENT_COLUMNS).write(payments)
    if payments:
        ids = dict(
            select(
                f"SELECT external_id, id FROM {Payment._meta.db_table} WHERE channel = %s AND external_id {{in}}",  # noqa: S608
                [row[2] for row in payments],
                [run.channel],
            )
        )
        items = [
            ToPost(ids[external[line.no]], account_id, line.amount, paid_on, line.period)
            for line, account_id, paid_on in posted_lines
        ]
        accounts_paid = {item.account_id for item in items}
        rows = allocate(items, contracts, ledgers_of(shared_accounts(accounts_paid, contracts)))
        Inserter(LedgerEntry, ENTRY_COLUMNS).write(rows)
    Inserter(SuspenseItem, _SUSPENSE_COLUMNS).write(suspense)
    _readings(run, [(line, account_id) for line, account_id, _paid_on in posted_lines if line.readings])


# ------------------------------------------------------------------------------------------------- readings


def counter_slots(account_ids: list[int]) -> dict[int, list[tuple[int, int, str, int]]]:
    """Each account's counters: [(meter id, zone 1…, serial, zones)], slot n is item n−1. Removed meters are left
    out. One query."""
    rows = select(
        f"SELECT m.id, m.zones, m.serial, c.account_id, c.resource, c.number "  # noqa: S608
        f"FROM {Meter._meta.db_table} m JOIN {Contract._meta.db_table} c ON c.id = m.contract_id "
        f"WHERE m.status <> %s AND c.account_id {{in}}",
        account_ids,
        [Meter.Status.REMOVED.value],
    )
    rows.sort(key=lambda r: (r[3], r[4] != Contract.Resource.ELECTRICITY, r[5], r[0]))
    slots: dict[int, list[tuple[int, int, str, int]]] = defaultdict(list)
    for meter_id, zones, serial, account_id, _resource, _number in rows:
        for zone in range(1, zones + 1):
            slots[account_id].append((meter_id, zone, serial, zones))
    return slots


def _readings(run: _Run, lines: list[tuple[reader.Line, int]]) -> None:
    if not lines:
        return
    slots = counter_slots(sorted({account_id for _line, account_id in lines}))
    by_day: dict[dt.date, list] = defaultdict(list)
    serials: dict[int, str] = {}
    for line, account_id in lines:
        counters = slots.get(account_id, [])
        per_meter: dict[int, dict[int, str]] = {}
        zones_of: dict[int, int] = {}
        for slot, value in sorted(line.readings.items()):
            if slot > len(counters):
                run.reading_note(line.no, _("The account has no counter No. %(slot)s.") % {"slot": slot})
                continue
            meter_id, zone, serial, zones = counters[slot - 1]
            per_meter.setdefault(meter_id, {})[zone] = value
            zones_of[meter_id], serials[meter_id] = zones, serial
        for meter_id, values in per_meter.items():
            ordered = [values.get(zone, "") for zone in range(1, zones_of[meter_id] + 1)]
            day = line.paid_at.date()
            by_day[day].append((meter_id, ordered, f"{run.registry.file_name}:{line.no}"[:120], line.no))
    now = timezone.now()
    for day, items in sorted(by_day.items()):
        received_at = min(dt.datetime.combine(day, dt.time(12), tzinfo=_registry_zone(run)), now)
        results = submit_readings_batch(
            [(meter_id, values, source) for meter_id, values, source, _no in items],
            channel=run.channel,
            actor=run.actor if run.actor is not None else run.label,
            received_at=received_at,
        )
        for (meter_id, _values, _source, no), result in zip(items, results, strict=True):
            run.readings += 1
            if result.accepted:
                run.readings_accepted += 1
            else:
                run.reading_note(no, result.message, serials.get(meter_id, ""))


def _registry_zone(run: _Run) -> ZoneInfo:
    return ZoneInfo(run.registry.format.time_zone)


# ---------------------------------------------------------------------------------------------- debt registry


def debt_registry(*, branch: Branch, actor, on: dt.date | None = None) -> tuple[bytes, int, Decimal]:
    """The outbound registry for banks and the post: every open account of the branch with its debt, and each
    counter with its previous reading and date, so the terminal shows them and asks for the new values (RD-11).

    cp1251, ``;``-separated: account; name; address; period MMYY; debt; then per counter n
    ``CounterId_n:<serial>``, ``CounterName_n:<zone>``, ``CounterPrev_n:<value>``, ``CounterPrevDate_n:<dd.mm.yyyy>``;
    the trailer ``=count;sum``. A fixed number of queries for the whole branch. Returns (bytes, lines, sum)."""
    require_permission(actor, EXPORT_PERMISSION, _("You are not allowed to export the debt registry."))
    on = on or local_now(branch.time_zone).date()
    period = month_start(on)
    accounts = list(
        Account.objects.filter(branch=branch, closed_on__isnull=True)
        .order_by("number")
        .values_list("pk", "number", "customer_id")
    )
    ids = [pk for pk, _n, _c in accounts]
    names = dict(
        select(
            f"SELECT c.id, c.kind || '|' || c.last_name || ' ' || c.first_name || ' ' || c.middle_name || '|' "  # noqa: S608
            f"|| c.org_name FROM {Customer._meta.db_table} c WHERE c.id {{in}}",
            sorted({c for _p, _n, c in accounts}),
        )
    )
    addresses: dict[int, str] = {}
    for account_id, address in select(
        f"SELECT account_id, address FROM {Premises._meta.db_table} WHERE account_id {{in}} ORDER BY id",  # noqa: S608
        ids,
    ):
        addresses.setdefault(account_id, address)
    balances = _balances(ids, on)
    slots = counter_slots(ids)
    last = _last_readings(sorted({meter_id for counters in slots.values() for meter_id, *_rest in counters}))
    lines, total = [], Decimal("0.00")
    for pk, number, customer_id in accounts:
        debt = max(balances.get(pk, Decimal("0.00")), Decimal("0.00")).quantize(Decimal("0.01"))
        total += debt
        fields = [
            number,
            _name(names.get(customer_id, "")),
            addresses.get(pk, ""),
            period.strftime("%m%y"),
            f"{debt:.2f}".replace(".", ","),
        ]
        for n, (meter_id, zone, serial, zones) in enumerate(slots.get(pk, []), start=1):
            fields.append(f"CounterId_{n}:{serial}")
            fields.append(f"CounterName_{n}:{ZONE_NAMES[zones][zone - 1] if zones > 1 else 'общий'}")
            reading = last.get(meter_id)
            if reading is not None:
                value = reading[1][zone - 1] if len(reading[1]) >= zone else None
                fields.append(f"CounterPrev_{n}:{value if value is not None else ''}")
                fields.append(f"CounterPrevDate_{n}:{reading[0]:%d.%m.%Y}")
        lines.append(";".join(_clean(f) for f in fields))
    lines.append(f"={len(accounts)};{total:.2f}".replace(".", ","))
    data = ("\r\n".join(lines) + "\r\n").encode("cp1251", errors="replace")
    audit(actor, "payments.debt_registry", branch, lines=len(accounts), total=str(total), period=period.isoformat())
    return data, len(accounts), total


def _balances(ids: list[int], on: dt.date) -> dict[int, Decimal]:
    rows = select(
        f"SELECT account_id, SUM(amount) FROM {LedgerEntry._meta.db_table} "  # noqa: S608
        "WHERE value_date <= %s AND account_id {in} GROUP BY account_id",
        ids,
        [on],
    )
    return {account_id: Decimal(str(total or 0)) for account_id, total in rows}


def _last_readings(meter_ids: list[int]) -> dict[int, tuple[dt.date, tuple]]:
    """The latest accepted reading of each meter: (date received, values). One query (a slice per 5 000 ids on
    SQLite)."""
    table = Reading._meta.db_table
    rows = select(
        f"SELECT r.meter_id, r.received_at, r.t1, r.t2, r.t3 FROM {table} r "  # noqa: S608
        f"JOIN (SELECT meter_id, MAX(period) AS p FROM {table} WHERE status = 'accepted' AND meter_id {{in}} "
        "GROUP BY meter_id) a ON a.meter_id = r.meter_id AND a.p = r.period WHERE r.status = 'accepted'",
        meter_ids,
    )
    result = {}
    for meter_id, received_at, t1, t2, t3 in rows:
        if isinstance(received_at, str):
            received_at = dt.datetime.fromisoformat(received_at)
        if timezone.is_naive(received_at):
            received_at = received_at.replace(tzinfo=dt.UTC)
        day = timezone.localtime(received_at).date()
        if meter_id not in result or day > result[meter_id][0]:
            result[meter_id] = (day, (t1, t2, t3))
    return result


def _name(value: str) -> str:
    kind, _sep, rest = value.partition("|")
    person, _sep, org = rest.partition("|")
    text = org if kind == Customer.Kind.ORGANISATION and org else " ".join(person.split()) or org
    return text


def _clean(value: str) -> str:
    return " ".join(str(value).replace(";", ",").split())
