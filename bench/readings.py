#!/usr/bin/env python
"""Readings intake benchmark on a throw-away database.

(a) batch path: N readings validated and stored through ``submit_readings_batch``, in readings/s, and the
    ratio to the database's raw bulk-insert speed for the same rows (``cursor.executemany`` INSERT), measured
    in the same run after deleting the batch's rows;
(b) interactive path: p50 / p99 latency of one ``submit_reading`` call.

Usage: ``python bench/readings.py [--n 100000] [--interactive-n 2000] [--postgres] [--profile FILE]``.
SQLite: a temporary file. ``--postgres``: the database ``sbyt_bench`` on 127.0.0.1:5432 (user postgres),
created and dropped by the script. Targets: (a) >= 20 000 readings/s, (b) p99 < 20 ms.
"""

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PG_SERVER, drop_database, households, prepare_database, setup_django  # noqa: E402

PG_NAME = "sbyt_bench"
BATCH_TARGET = 20_000  # readings/s
P99_TARGET_MS = 20.0
SEED = 20261120
WARMUP = 50


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="readings in the batch (default 100 000)")
    parser.add_argument("--interactive-n", type=int, default=2_000, help="single submissions (default 2 000)")
    parser.add_argument("--postgres", action="store_true", help=f"use PostgreSQL ({PG_SERVER}/{PG_NAME})")
    parser.add_argument("--chunk-size", type=int, default=None, help="batch chunk size (default: the module's)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the batch path to FILE")
    return parser.parse_args()


# -- the throw-away database ---------------------------------------------------------------------------------


# -- the data set --------------------------------------------------------------------------------------------


def generate(total_meters: int):
    """Two branches; one account, premises and contract per two meters; one accepted October reading each.
    Zones: 60 % one, 30 % two, 10 % three. Returns [(meter id, zones, digits, previous values)] in id order."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    _contracts, history = households(
        random.Random(SEED),
        n_contracts=(total_meters + 1) // 2,
        meters_of=lambda i: min(2, total_meters - 2 * i),
        window=(15, 25),
        period=dt.date(2026, 10, 1),
        received_at=lambda branch: dt.datetime(2026, 10, 20, 12, tzinfo=ZoneInfo(branch.time_zone)),
    )
    return [(meter.pk, meter.zones, meter.digits, previous) for meter, previous in history]


def submissions(dataset, rnd: random.Random):
    """This month's values: mostly plausible, ~1 % lower than the previous, ~1 % typos, ~0.5 % wrong count."""
    items = []
    for meter_id, zones, _digits, previous in dataset:
        roll = rnd.random()
        if roll < 0.01:
            values = [str(max(0, v - 5)) for v in previous]
        elif roll < 0.02:
            values = ["12,5"] * zones
        elif roll < 0.025:
            values = [str(previous[0] + 100)] * (zones % 3 + 1)
        else:
            values = [str(v + rnd.randint(20, 400)) for v in previous]
        items.append((meter_id, values, f"реестр.csv:{len(items) + 2}"))
    return items


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE metering_reading" if connection.vendor == "postgresql" else "ANALYZE")


# -- measurements --------------------------------------------------------------------------------------------


def bench_batch(items, *, chunk_size, profile):
    from django.db import connection

    from sbyt.metering.batch import submit_readings_batch
    from sbyt.metering.models import Reading

    first_new = (Reading.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    extra = {"chunk_size": chunk_size} if chunk_size else {}
    received_at = _at()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    results = submit_readings_batch(items, channel="import", actor="import:bench", received_at=received_at, **extra)
    batch_s = time.perf_counter() - start
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    reasons = Counter(r.reason.value for r in results)

    columns = (
        "meter_id, period, t1, t2, t3, raw, received_at, channel, submitted_by_id, source, status, reason, "
        "is_rollover, review_note"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM metering_reading WHERE id >= %s ORDER BY id", [first_new])
        rows = cursor.fetchall()
        superseded = Reading.objects.filter(status=Reading.Status.SUPERSEDED).count()
        assert superseded == 0, "the bench data has nothing to replace; restore would be needed"
        cursor.execute("DELETE FROM metering_reading WHERE id >= %s", [first_new])
    analyze()
    insert = f"INSERT INTO metering_reading ({columns}) VALUES ({', '.join(['%s'] * 14)})"
    from django.db import transaction

    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(insert, rows)
    raw_s = time.perf_counter() - start
    copy_s = None
    if connection.vendor == "postgresql":  # the batch path writes with COPY there: the true physical limit
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM metering_reading WHERE id >= %s", [first_new])
        analyze()
        start = time.perf_counter()
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY metering_reading ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        copy_s = time.perf_counter() - start
    return {
        "n": len(items),
        "stored": len(rows),
        "batch_s": batch_s,
        "raw_s": raw_s,
        "copy_s": copy_s,
        "reasons": reasons,
    }


def bench_interactive(dataset, rnd: random.Random):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sbyt.metering.models import Meter
    from sbyt.metering.services import submit_reading

    received_at = _at()
    timings = []
    queries = 0
    for i, (meter_id, _zones, _digits, previous) in enumerate(dataset):
        values = [str(v + rnd.randint(20, 400)) for v in previous]
        meter = Meter(pk=meter_id)
        if i == WARMUP:
            with CaptureQueriesContext(connection) as captured:
                submit_reading(meter=meter, values=values, channel="cabinet", actor=None, received_at=received_at)
            queries = len(captured.captured_queries)
            continue
        start = time.perf_counter_ns()
        result = submit_reading(meter=meter, values=values, channel="cabinet", actor=None, received_at=received_at)
        elapsed = time.perf_counter_ns() - start
        assert result.accepted, result
        if i > WARMUP:
            timings.append(elapsed / 1e6)
    timings.sort()
    return {
        "n": len(timings),
        "p50": statistics.median(timings),
        "p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "mean": statistics.fmean(timings),
        "max": timings[-1],
        "queries": queries,
    }


def _at():
    import datetime as dt
    from zoneinfo import ZoneInfo

    return dt.datetime(2026, 11, 20, 12, tzinfo=ZoneInfo("Europe/Moscow"))


def main() -> int:
    args = parse_args()
    url, tmp = prepare_database(PG_NAME, postgres=args.postgres)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        interactive_meters = args.interactive_n + WARMUP + 1
        start = time.perf_counter()
        dataset = generate(args.n + interactive_meters)
        analyze()
        generate_s = time.perf_counter() - start
        rnd = random.Random(SEED + 1)
        batch_part, interactive_part = dataset[: args.n], dataset[args.n :]
        items = submissions(batch_part, rnd)
        rnd.shuffle(items)  # a registry lists meters in its own order
        batch = bench_batch(items, chunk_size=args.chunk_size, profile=args.profile)
        interactive = bench_interactive(interactive_part, rnd)
    finally:
        vendor = connection.vendor
        version = ".".join(map(str, connection.Database.sqlite_version_info)) if vendor == "sqlite" else ""
        drop_database(PG_NAME, postgres=args.postgres, tmp=tmp)

    batch_rate = batch["n"] / batch["batch_s"]
    raw_rate = batch["stored"] / batch["raw_s"]
    database = f"{vendor} {version}".strip()
    lines = [
        f"Readings intake benchmark — {database}; data: {len(dataset):,} meters generated in {generate_s:.1f} s",
        "",
        f"{'measure':<52}{'value':>16}{'target':>16}",
        "-" * 84,
        f"{'(a) batch: readings validated and stored':<52}{batch['n']:>16,}",
        f"{'    time, s':<52}{batch['batch_s']:>16.2f}",
        f"{'    readings/s (submit_readings_batch)':<52}{batch_rate:>16,.0f}{'>= 20,000':>16}",
        f"{'    raw bulk insert of the same rows, rows/s':<52}{raw_rate:>16,.0f}",
        f"{'    raw insert time, s':<52}{batch['raw_s']:>16.2f}",
        f"{'    ratio batch / raw insert (time)':<52}{batch['batch_s'] / batch['raw_s']:>15.2f}x",
        *(
            [
                f"{'    raw COPY of the same rows, rows/s':<52}{batch['stored'] / batch['copy_s']:>16,.0f}",
                f"{'    ratio batch / raw COPY (time)':<52}{batch['batch_s'] / batch['copy_s']:>15.2f}x",
            ]
            if batch["copy_s"]
            else []
        ),
        f"{'    reasons':<52}{', '.join(f'{k} {v}' for k, v in batch['reasons'].most_common())}",
        f"{'(b) interactive: submit_reading, submissions':<52}{interactive['n']:>16,}",
        f"{'    p50, ms':<52}{interactive['p50']:>16.2f}",
        f"{'    p99, ms':<52}{interactive['p99']:>16.2f}{'< 20':>16}",
        f"{'    mean / max, ms':<52}{interactive['mean']:>8.2f} / {interactive['max']:<5.1f}",
        f"{'    queries per submission':<52}{interactive['queries']:>16}",
        "-" * 84,
    ]
    ok_batch = batch_rate >= BATCH_TARGET
    ok_p99 = interactive["p99"] < P99_TARGET_MS
    lines.append(
        f"batch target {'met' if ok_batch else 'NOT met'}; interactive target {'met' if ok_p99 else 'NOT met'}"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
