#!/usr/bin/env python
"""Billing run benchmark on a throw-away database.

Generates N contracts (one account, premises, contract and meter each; 60 % one-zone, 30 % two-zone, 10 %
three-zone meters): ~88 % with this period's reading (billed by reading), ~7 % without it (by the average over
six months), ~3 % without a meter (by the norm), ~2 % with a reading after months of estimates (recalculation).
Then it bills the period with ``run_billing`` (charges, ledger entries and bill records; PDFs excluded) and prints:

(a) contracts per second of the run;
(b) the database's raw bulk-insert speed for the same rows (the run's charges, ledger entries and bills inserted
    again: on PostgreSQL their own COPY text written back with COPY, foreign-key checks and commit included — the
    server's work alone; ``executemany`` on SQLite), measured in the same run: the physical limit;
(c) a naive per-account ORM loop (the same pure pricing functions, but reads and ``create()`` row by row) on a
    sample of accounts, before the run, rolled back: the ratio of the run's speed to it.

Usage: ``python bench/billing.py [--n 100000] [--naive-n 2000] [--postgres] [--chunk-size N] [--profile FILE]``.
SQLite: a temporary file. ``--postgres``: the database ``sbyt_bench_billing`` on 127.0.0.1:5432 (user postgres),
created and dropped by the script. Targets: 1 000 000 contracts on PostgreSQL in <= 120 s; >= 20x the naive loop.
"""

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PG_SERVER, drop_database, prepare_database, setup_django  # noqa: E402

PG_NAME = "sbyt_bench_billing"
SEED = 20261123
PERIOD = dt.date(2026, 10, 1)
TODAY = dt.date(2026, 10, 27)
TARGET_SECONDS_PER_MILLION = 120.0
NAIVE_TARGET = 20.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="contracts to bill (default 100 000)")
    parser.add_argument(
        "--naive-n", type=int, default=2_000, help="accounts in the naive loop's sample (default 2 000)"
    )
    parser.add_argument("--postgres", action="store_true", help=f"use PostgreSQL ({PG_SERVER}/{PG_NAME})")
    parser.add_argument("--chunk-size", type=int, default=None, help="accounts per chunk (default: the module's)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the run to FILE (this process only)")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes of the run on PostgreSQL (default SBYT_BILLING_WORKERS, 2)"
    )
    return parser.parse_args()


# -- the data set ------------------------------------------------------------------------------------------------


def generate(n: int, rnd: random.Random) -> None:
    """Rows written with the billing's own bulk insert (COPY on PostgreSQL), ids assigned here."""
    from django.db import transaction

    from sbyt.billing import demo
    from sbyt.billing.sql import db_date, db_datetime, insert
    from sbyt.core.periods import add_months
    from sbyt.customers.models import Account, Branch, Contract, Customer, Premises
    from sbyt.metering.models import Meter, Reading, ReadingWindow

    moscow = Branch.objects.create(code="11", name="Сыктывкарский", time_zone="Europe/Moscow")
    ReadingWindow.objects.create(branch=moscow, first_day=18, last_day=25)
    demo.seed_branch_billing(moscow)
    now = db_datetime(dt.datetime(2026, 10, 27, 9, tzinfo=dt.UTC))
    stoves = ["gas"] * 6 + ["electric"] * 3 + ["none"]
    zones_mix = [1] * 6 + [2] * 3 + [3]
    columns = {
        Customer: ("id", "kind", "last_name", "first_name", "middle_name", "birth_date", "org_name", "inn", "phone",
                   "email", "created_at"),
        Account: ("id", "number", "customer_id", "branch_id", "opened_on", "closed_on"),
        Premises: ("id", "account_id", "address", "residents", "rooms", "stove_type", "settlement", "is_residential"),
        Contract: ("id", "number", "account_id", "premises_id", "resource", "start_date", "end_date", "status"),
        Meter: ("id", "contract_id", "serial", "model_name", "zones", "digits", "installed_on", "verified_on",
                "verification_due", "is_smart", "status"),
        Reading: ("id", "meter_id", "period", "t1", "t2", "t3", "raw", "received_at", "channel", "submitted_by_id",
                  "source", "status", "reason", "is_rollover", "reviewed_by_id", "reviewed_at", "review_note"),
    }  # fmt: skip
    customers, accounts, premises, contracts, meters, readings = [], [], [], [], [], []

    def flush():
        with transaction.atomic():
            for model, rows in ((Customer, customers), (Account, accounts), (Premises, premises),
                                (Contract, contracts), (Meter, meters), (Reading, readings)):  # fmt: skip
                insert(model._meta.db_table, columns[model], rows)
                rows.clear()

    reading_id = 0
    periods = {k: db_date(add_months(PERIOD, k)) for k in range(-12, 1)}
    days = {k: db_datetime(dt.datetime(p.year, p.month, 20, 9, tzinfo=dt.UTC)) for k, p in
            ((k, add_months(PERIOD, k)) for k in range(-12, 1))}  # fmt: skip
    for i in range(1, n + 1):
        rural = rnd.random() < 0.2
        customers.append((i, "person", "Иванов", "Иван", "Иванович", None, "", "", f"+79{i:09d}", "", now))
        accounts.append((i, f"{110000000 + i}", i, moscow.pk, None, None))
        premises.append(
            (i, i, f"г. Сыктывкар, ул. Первомайская, д. {i % 200}, кв. {i % 150}", rnd.randint(1, 5),
             rnd.randint(1, 4), rnd.choice(stoves), "rural" if rural else "urban", True)
        )  # fmt: skip
        contracts.append((i, f"{2000000 + i}", i, i, "electricity", db_date(dt.date(2015, 1, 1)), None, "active"))
        roll = rnd.random()
        if roll < 0.03:
            continue  # no meter: the norm
        zones = rnd.choice(zones_mix)
        meters.append((i, i, f"{30000000 + i}", "", zones, 6, None, None, db_date(dt.date(2040, 1, 1)), False,
                       "in_service"))  # fmt: skip
        values = [rnd.randint(1_000, 90_000) for _ in range(zones)]
        monthly = [rnd.randint(60, 400) for _ in range(zones)]
        if roll < 0.10:
            read_at = [-7, -1]  # no reading now: the average (over six months)
        elif roll < 0.12:
            read_at = [-12, -5, 0]  # a reading after estimated periods: recalculation (history built below)
        else:
            read_at = [-1, 0]
        for k in read_at:
            reading_id += 1
            register = [v + m * (k + 12) for v, m in zip(values, monthly, strict=True)]
            t = (*register, None, None)
            readings.append((reading_id, i, periods[k], t[0], t[1], t[2], "", days[k], "cabinet", None, "", "accepted",
                             "accepted", False, None, None, ""))  # fmt: skip
        if i % 50_000 == 0:
            flush()  # batches: a million households never sit in memory at once
    flush()
    _fix_sequences()
    _estimated_history(rnd)


def _fix_sequences() -> None:
    from django.core.management.color import no_style
    from django.db import connection

    from sbyt.customers.models import Account, Contract, Customer, Premises
    from sbyt.metering.models import Meter, Reading

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Account, Premises, Contract, Meter,
                                                                      Reading]):  # fmt: skip
                cursor.execute(sql)


def _estimated_history(rnd) -> None:
    """The recalculation contracts were billed by average / norm for periods -4..-1 (charges as the run writes)."""
    from django.db import connection, transaction

    from sbyt.billing.sql import allocate_ids, db_date, db_datetime, insert
    from sbyt.core.periods import add_months

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.contract_id, c.account_id, m.zones FROM metering_meter m JOIN customers_contract c "
            "ON c.id = m.contract_id WHERE m.id IN (SELECT meter_id FROM metering_reading WHERE period = %s)",
            [db_date(add_months(PERIOD, -5))],
        )
        rows = cursor.fetchall()
    now = db_datetime(dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    charges = []
    for contract_id, account_id, _zones in rows:
        for k in (-4, -3, -2, -1):
            method = "average" if k < -1 else "norm"
            volume = "150.00"
            charges.append([None, None, account_id, contract_id, db_date(add_months(PERIOD, k)), "primary", method,
                            1, volume, volume, "0", "0", volume, "0", "0", "750.00", "[]", "{}", now])  # fmt: skip
    with transaction.atomic():
        for row, pk in zip(charges, allocate_ids("billing_charge", len(charges)), strict=True):
            row[0] = pk
        from sbyt.billing.run import _CHARGE_COLUMNS

        insert("billing_charge", _CHARGE_COLUMNS, charges)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# -- measurements --------------------------------------------------------------------------------------------------


def naive_bill(account_ids: list[int]) -> float:
    """The straightforward way: per account, per contract, ORM reads and ``create()`` — same pure functions."""
    from django.db import transaction

    from sbyt.billing.config import BranchConfig, tariff_group
    from sbyt.billing.models import Charge, Invoice, LedgerEntry
    from sbyt.billing.pricing import price_volume
    from sbyt.billing.volumes import Billed, Read, find_volume
    from sbyt.core.periods import add_months
    from sbyt.customers.models import Account
    from sbyt.metering.models import Reading

    start = time.perf_counter()
    with transaction.atomic():
        account = Account.objects.select_related("branch").get(pk=account_ids[0])
        config = BranchConfig(account.branch, PERIOD)
        for seq, account_id in enumerate(account_ids, start=1):
            account = Account.objects.select_related("customer", "branch").get(pk=account_id)
            total = 0
            for contract in account.contracts.select_related("premises"):
                premises = contract.premises
                meter = contract.meters.exclude(status="removed").order_by("-id").first()
                reads = []
                if meter is not None:
                    for reading in Reading.objects.filter(
                        meter=meter, status="accepted", period__lte=PERIOD, period__gte=add_months(PERIOD, -24)
                    ).order_by("period"):
                        reads.append(Read(reading.period, reading.values, reading.received_at.date()))
                previous = [r for r in reads if r.period < PERIOD]
                billed = [
                    Billed(c.period, c.method, (c.volume_t1, c.volume_t2, c.volume_t3))
                    for c in Charge.objects.filter(contract=contract, period__lt=PERIOD).order_by("period")
                    if previous and c.period > previous[-1].period
                ]
                norm, basis = config.norm_volume(contract.resource, is_residential=premises.is_residential,
                                                 stove_type=premises.stove_type, rooms=premises.rooms,
                                                 residents=premises.residents)  # fmt: skip
                volume = find_volume(period=PERIOD, meter_zones=meter.zones if meter else None,
                                     digits=meter.digits if meter else 6, reads=reads, billed=billed,
                                     residential=premises.is_residential, norm=norm, norm_basis=basis)  # fmt: skip
                group = tariff_group(customer_kind=account.customer.kind, is_residential=premises.is_residential,
                                     settlement=premises.settlement, stove_type=premises.stove_type)  # fmt: skip
                priced = price_volume(volume.volumes, config.terms("electricity", group, volume.zones),
                                      month_days=config.month_days)  # fmt: skip
                vols = (list(volume.volumes) + [0, 0])[:3]
                charge = Charge.objects.create(
                    account=account, contract=contract, period=PERIOD, method=volume.method, zones=volume.zones,
                    volume=volume.total, volume_t1=vols[0], volume_t2=vols[1], volume_t3=vols[2],
                    volume_r1=priced.range_volumes[0], volume_r2=priced.range_volumes[1],
                    volume_r3=priced.range_volumes[2], amount=priced.amount, lines=priced.lines, basis=volume.basis,
                )  # fmt: skip
                LedgerEntry.objects.create(
                    account=account, contract=contract, kind="charge", amount=priced.amount, period=PERIOD,
                    due_date=config.due_date(PERIOD, "person"), value_date=config.end, document_type="charge",
                    document_id=str(charge.pk), charge=charge,
                )  # fmt: skip
                total += priced.amount
            Invoice.objects.create(
                account=account, branch=account.branch, period=PERIOD, seq=900000 + seq, number=f"naive-{seq}",
                issued_at=dt.datetime(2026, 10, 27, tzinfo=dt.UTC), due_date=config.due_date(PERIOD, "person"),
                charged=total, closing_balance=total, total_due=total, delivery="paper", data={"total": str(total)},
            )  # fmt: skip
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def bench_run(*, chunk_size, profile, workers):
    from sbyt.billing.services import run_billing
    from sbyt.customers.models import Branch

    branch = Branch.objects.get(code="11")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    run = run_billing(branch=branch, period=PERIOD, actor="bench", chunk_size=chunk_size, today=TODAY, workers=workers)
    elapsed = time.perf_counter() - start
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    return run, elapsed


def _count_rows(run_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        total = 0
        for table in ("billing_charge", "billing_ledgerentry", "billing_invoice"):
            cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = %s", [run_id])
            total += cursor.fetchone()[0]
    return total


def raw_insert(run_id: int, sample: int = 100_000) -> tuple[int, float]:
    """Re-insert the run's charges, ledger entries and bills (of at most ``sample`` accounts) as the database's bulk
    insert takes them: on PostgreSQL the rows' own COPY text (read with ``COPY … TO``) written back with ``COPY …
    FROM`` — the server's work alone, no Python formatting; on SQLite ``executemany``."""
    from django.db import connection, transaction

    from sbyt.billing.run import _CHARGE_COLUMNS, _INVOICE_COLUMNS, _LEDGER_COLUMNS
    from sbyt.billing.sql import insert

    tables = (
        ("billing_ledgerentry", _LEDGER_COLUMNS),
        ("billing_invoice", _INVOICE_COLUMNS),
        ("billing_charge", _CHARGE_COLUMNS),
    )
    postgres = connection.vendor == "postgresql"
    saved, counts = {}, {}
    with connection.cursor() as cursor:
        for table, columns in tables:
            select = (
                f"SELECT {', '.join(columns)} FROM {table} WHERE run_id = {int(run_id)} AND account_id <= {int(sample)}"
            )
            cursor.execute(f"SELECT COUNT(*) FROM ({select}) s")
            counts[table] = cursor.fetchone()[0]
            if postgres:
                text = bytearray()
                with cursor.cursor.copy(f"COPY ({select} ORDER BY id) TO STDOUT") as copy:
                    for block in copy:
                        text += block
                saved[table] = bytes(text)
            else:
                cursor.execute(f"{select} ORDER BY id")
                saved[table] = cursor.fetchall()
        for table, _columns in tables:
            cursor.execute(f"DELETE FROM {table} WHERE run_id = %s AND account_id <= %s", [run_id, sample])
    analyze()
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns in reversed(tables):
            if postgres:
                data = saved[table]
                with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for at in range(0, len(data), 1 << 20):
                        copy.write(data[at : at + (1 << 20)])
            else:
                insert(table, columns, saved[table])
    return sum(counts.values()), time.perf_counter() - start


def calibration() -> float:
    """The machine's speed for Python at the time of the run (0.7 s on a quiet machine of this kind): figures of
    different days compare only with it alongside."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - start


def server_calibration() -> float | None:
    """The database server's speed at the time of the run (CPU only, no disk)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        start = time.perf_counter()
        cursor.execute("SELECT SUM(LENGTH(MD5(CAST(i AS TEXT)))) FROM generate_series(1, 1000000) i")
        cursor.fetchone()
        return time.perf_counter() - start


def main() -> int:
    args = parse_args()
    url, tmp = prepare_database(PG_NAME, postgres=args.postgres)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        rnd = random.Random(SEED)
        start = time.perf_counter()
        generate(args.n, rnd)
        analyze()
        generate_s = time.perf_counter() - start
        sample = list(range(1, min(args.naive_n, args.n) + 1))
        naive_s = naive_bill(sample) if sample else 0.0
        run, run_s = bench_run(chunk_size=args.chunk_size, profile=args.profile, workers=args.workers)
        stats = dict(run.stats)
        written = _count_rows(run.pk)
        rows, raw_s = raw_insert(run.pk)
        python_s, server_s = calibration(), server_calibration()
    finally:
        vendor = connection.vendor
        version = ".".join(map(str, connection.Database.sqlite_version_info)) if vendor == "sqlite" else ""
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                version = cursor.fetchone()[0]
        drop_database(PG_NAME, postgres=args.postgres, tmp=tmp)

    import resource

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = args.n / run_s
    naive_rate = len(sample) / naive_s if naive_s else 0
    per_million = 1_000_000 / rate
    methods = ", ".join(f"{k[7:]} {v}" for k, v in stats.items() if k.startswith("method_"))
    lines = [
        f"Billing run benchmark — {vendor} {version}; {args.n:,} contracts generated in {generate_s:.1f} s",
        "",
        f"{'measure':<56}{'value':>14}{'target':>14}",
        "-" * 84,
        f"{'(a) run_billing: contracts billed':<56}{args.n:>14,}",
        f"{'    processes (lanes)':<56}{len(stats.get('lanes', [])):>14}",
        f"{'    time, s':<56}{run_s:>14.2f}",
        f"{'    contracts/s':<56}{rate:>14,.0f}",
        f"{'    extrapolated to 1 000 000 contracts, s':<56}{per_million:>14.0f}{'<= 120 (PG)':>14}",
        f"{'    rows written (charges, ledger, bills)':<56}{written:>14,}",
        f"{'    rows/s':<56}{written / run_s:>14,.0f}",
        f"{'    methods':<56}{methods}",
        f"{'(b) raw bulk insert, same rows (<= 100 000 accounts)':<56}{rows:>14,}",
        f"{'    time, s':<56}{raw_s:>14.2f}",
        f"{'    rows/s':<56}{rows / raw_s:>14,.0f}",
        f"{'    raw insert of all the run wrote, extrapolated, s':<56}{raw_s * written / rows:>14.0f}",
        f"{'    ratio run / raw insert (time per row)':<56}{(run_s / written) / (raw_s / rows):>13.2f}x",
        f"{'(c) naive per-account ORM loop, accounts':<56}{len(sample):>14,}",
        f"{'    contracts/s':<56}{naive_rate:>14,.0f}",
        f"{'    ratio run / naive (speed)':<56}{rate / naive_rate if naive_rate else 0:>13.1f}x{'>= 20x':>14}",
        f"{'peak memory of this process (generation included), MB':<56}{peak_mb:>14,.0f}",
        f"{'this machine: a 10 000 000-step Python loop, s':<56}{python_s:>14.2f}",
        f"{'this machine: PostgreSQL md5 of 1 000 000 numbers, s':<56}{server_s:>14.2f}" if server_s else None,
        "-" * 84,
    ]
    print("\n".join(line for line in lines if line is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
