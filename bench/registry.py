#!/usr/bin/env python
"""Bank registry import benchmark on a throw-away database.

A Sberbank-layout registry of N payment lines (default 100 000) in cp1251, half of them carrying a reading
(``CounterVal_n``), a few to unknown accounts (suspense) and a few broken, is stored and imported through
``receive_registry`` + ``import_registry`` — parsing, the trailer check, account lookup, allocation on the ledger
(ГК РФ ст. 319.1 against two months of charges per account), payments, ledger entries, suspense lines and the
readings through the readings service's batch path. Reference measured in the same run: the rows the import wrote
(payments, their ledger entries, the readings, the suspense lines) are deleted and written again raw — ``COPY`` on
PostgreSQL (the physical limit), ``executemany`` INSERT on SQLite — and the ratio of the two times is printed.

Usage: ``python bench/registry.py [--lines 100000] [--readings 50000] [--postgres] [--chunk-size N] [--profile F]``.
SQLite: a temporary file. ``--postgres``: the database ``sbyt_bench_registry`` on 127.0.0.1:5432 (user postgres),
created and dropped by the script. Target (issue 5): 100 000 lines with 50 000 readings in ≤ 10 s on PostgreSQL.
"""

import argparse
import datetime as dt
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PG_SERVER, drop_database, households, prepare_database, setup_django  # noqa: E402

PG_NAME = "sbyt_bench_registry"
TARGET_S = 10.0
SEED = 20261121


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000, help="payment lines in the registry (default 100 000)")
    parser.add_argument("--readings", type=int, default=50_000, help="lines that carry a reading (default 50 000)")
    parser.add_argument("--postgres", action="store_true", help=f"use PostgreSQL ({PG_SERVER}/{PG_NAME})")
    parser.add_argument("--chunk-size", type=int, default=None, help="import chunk size (default: the module's)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the import to FILE")
    return parser.parse_args()


def generate(n: int, today: dt.date):
    """n households with one meter each, an accepted reading last month, charges for the two months before."""
    from zoneinfo import ZoneInfo

    from sbyt.billing.models import LedgerEntry
    from sbyt.core.periods import add_months, month_start

    previous_period = add_months(month_start(today), -1)
    contracts, history = households(
        random.Random(SEED),
        n_contracts=n,
        meters_of=lambda i: 1,
        window=(1, 31),
        period=previous_period,
        received_at=lambda branch: dt.datetime.combine(
            previous_period.replace(day=15), dt.time(12), tzinfo=ZoneInfo(branch.time_zone)
        ),
    )
    entries = []
    for contract in contracts:
        for months, amount in ((-2, "1000.00"), (-1, "1234.56")):
            period = add_months(month_start(today), months)
            entries.append(
                LedgerEntry(
                    account_id=contract.account_id,
                    contract=contract,
                    kind="charge",
                    amount=amount,
                    period=period,
                    due_date=add_months(period, 1).replace(day=10),
                    value_date=period.replace(day=28),
                    document_type="charge",
                    document_id=f"{contract.pk}-{period:%Y%m}",
                )
            )
    LedgerEntry.objects.bulk_create(entries, batch_size=5000)
    accounts = {c.pk: c.account_id for c in contracts}
    from sbyt.customers.models import Account

    numbers = dict(Account.objects.values_list("pk", "number"))
    return [(numbers[accounts[meter.contract_id]], meter.zones, previous) for meter, previous in history]


def registry_bytes(dataset, *, readings: int, day: dt.date, rnd: random.Random) -> tuple[bytes, Counter]:
    """The Sberbank layout: ~0.5 % unknown accounts, ~0.1 % broken (zero amount), ``readings`` lines with values."""
    lines, kinds = [], Counter()
    with_reading = set(rnd.sample(range(len(dataset)), min(readings, len(dataset))))
    total = 0
    for i, (number, _zones, previous) in enumerate(dataset):
        roll = rnd.random()
        amount_kop = rnd.randint(10_000, 500_000)
        if roll < 0.005:
            number, kind = f"9{number}", "unknown"
        elif roll < 0.006:
            amount_kop, kind = 0, "broken"
        else:
            kind = "payment"
        kinds[kind] += 1
        amount = f"{amount_kop // 100},{amount_kop % 100:02d}"
        total += amount_kop
        extras = []
        if i in with_reading:
            extras = [f"CounterVal_{z + 1}:{value + rnd.randint(20, 400)}" for z, value in enumerate(previous)]
            kinds["readings"] += 1
        fields = [
            day.strftime("%d-%m-%Y"),
            f"{9 + i % 10:02d}-{i % 60:02d}-{(i * 7) % 60:02d}",
            "8617",
            f"{i % 900:04d}",
            f"{i % 50_000}",
            number,
            "ИВАНОВ ИВАН ИВАНОВИЧ",
            "СЫКТЫВКАР, ПЕРВОМАЙСКАЯ 1-1",
            day.strftime("%m%y") if i % 3 else "",
            amount,
            amount,
            "0,00",
            *extras,
        ]
        lines.append(";".join(fields))
    money = f"{total // 100},{total % 100:02d}"
    lines.append(f"={len(dataset)};{money};{money};0,00")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251"), kinds


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("metering_reading", "billing_ledgerentry", "payments_payment", "customers_account"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


def bench_import(data: bytes, *, chunk_size, profile):
    from sbyt.payments.models import RegistryFormat
    from sbyt.payments.registries import import_registry, receive_registry

    fmt = RegistryFormat.objects.get(code="sberbank")
    extra = {"chunk_size": chunk_size} if chunk_size else {}
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    registry = receive_registry(data=data, file_name="sber.txt", registry_format=fmt, actor="bench")
    received_s = time.perf_counter() - start
    registry = import_registry(registry=registry, actor="bench", **extra)
    total_s = time.perf_counter() - start
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    return registry, received_s, total_s


TABLES = {
    "payments_payment": "registry_id = %s",
    "billing_ledgerentry": "document_type = 'payment'",
    "metering_reading": "channel = 'bank'",
    "payments_suspenseitem": "registry_id = %s",
}


def bench_raw(registry) -> tuple[float, dict]:
    """Delete what the import wrote and write the same rows again raw; the time of the writes."""
    from django.db import connection, transaction

    saved = {}
    with connection.cursor() as cursor:
        for table, where in TABLES.items():
            params = [registry.pk] if "%s" in where else []
            cursor.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)
            columns = [c[0] for c in cursor.description]
            saved[table] = (columns, cursor.fetchall())
        # children first: ledger entries name payments only by document id, readings and suspense stand alone
        for table in ("billing_ledgerentry", "metering_reading", "payments_suspenseitem", "payments_payment"):
            where = TABLES[table]
            params = [registry.pk] if "%s" in where else []
            cursor.execute(f"DELETE FROM {table} WHERE {where}", params)
    analyze()
    postgres = connection.vendor == "postgresql"
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("payments_payment", "billing_ledgerentry", "metering_reading", "payments_suspenseitem"):
            columns, rows = saved[table]
            if not rows:
                continue
            if postgres:
                with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    raw_s = time.perf_counter() - start
    return raw_s, {table: len(rows) for table, (_c, rows) in saved.items()}


def main() -> int:
    args = parse_args()
    url, tmp = prepare_database(PG_NAME, postgres=args.postgres)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    try:
        call_command("migrate", verbosity=0)
        day = timezone.localdate() - dt.timedelta(days=1)
        start = time.perf_counter()
        dataset = generate(args.lines, timezone.localdate())
        analyze()
        generate_s = time.perf_counter() - start
        data, kinds = registry_bytes(dataset, readings=args.readings, day=day, rnd=random.Random(SEED + 1))
        registry, received_s, import_s = bench_import(data, chunk_size=args.chunk_size, profile=args.profile)
        assert registry.status == "imported", registry.refusal
        raw_s, rows = bench_raw(registry)
    finally:
        vendor = connection.vendor
        version = ".".join(map(str, connection.Database.sqlite_version_info)) if vendor == "sqlite" else ""
        drop_database(PG_NAME, postgres=args.postgres, tmp=tmp)

    database = f"{vendor} {version}".strip()
    reference = "raw COPY" if vendor == "postgresql" else "raw executemany INSERT"
    written = sum(rows.values())
    lines = [
        f"Registry import benchmark — {database}; data: {len(dataset):,} accounts generated in {generate_s:.1f} s",
        f"registry: {args.lines:,} lines, {len(data) / 1e6:.1f} MB cp1251; {kinds['readings']:,} with readings, "
        f"{kinds['unknown']:,} unknown accounts, {kinds['broken']:,} broken",
        "",
        f"{'measure':<52}{'value':>16}{'target':>16}",
        "-" * 84,
        f"{'store the file (receive_registry), s':<52}{received_s:>16.2f}",
        f"{'import, total incl. storing, s':<52}{import_s:>16.2f}{f'<= {TARGET_S:.0f}':>16}",
        f"{'    lines/s':<52}{args.lines / import_s:>16,.0f}",
        f"{'    payments credited':<52}{registry.payments_count:>16,}",
        f"{'    suspense lines':<52}{registry.suspense_count:>16,}",
        f"{'    broken lines reported':<52}{registry.broken_count:>16,}",
        f"{'    readings (accepted)':<52}{f'{registry.readings_count:,} ({registry.readings_accepted:,})':>16}",
        f"{'rows written':<52}{written:>16,}",
        *(f"{'    ' + table:<52}{count:>16,}" for table, count in rows.items()),
        f"{'reference: ' + reference + ' of the same rows, s':<52}{raw_s:>16.2f}",
        f"{'    rows/s':<52}{written / raw_s:>16,.0f}",
        f"{'ratio import / ' + reference + ' (time)':<52}{import_s / raw_s:>15.2f}x",
    ]
    print("\n".join(lines))
    return 0 if (vendor != "postgresql" or import_s <= TARGET_S) else 1


if __name__ == "__main__":
    sys.exit(main())
