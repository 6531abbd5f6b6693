#!/usr/bin/env python
"""Electronic queue benchmark: a simulated day of a 12-window office with 1 500 tickets.

Kiosk threads issue the day's tickets (``issue_ticket``) while 12 window threads call the next client, start
and finish the service (``call_next``, ``start_service``, ``mark_served``) as fast as the database lets them —
all at once, as in a busy hall, so the windows contend for the same waiting rows. Printed: ``call_next``
p50 / p99 (calls that got a ticket, and the empty presses), ``issue_ticket`` p99, and as the reference, the
round trip of a bare primary-key SELECT measured in the same run under the same load and alone. The day is
checked too: every ticket called exactly once and served, numbers unique.

Usage: ``python bench/office_queue.py [--tickets 1500] [--windows 12] [--kiosks 2] [--postgres]``.
SQLite: a temporary file. ``--postgres``: the database ``sbyt_bench_queue`` on 127.0.0.1:5432 (user postgres),
created and dropped by the script. Target: call_next p99 < 50 ms (PostgreSQL).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from bench.common import PG_SERVER, drop_database, prepare_database, setup_django  # noqa: E402

PG_NAME = "sbyt_bench_queue"
P99_TARGET_MS = 50.0
DAY = dt.date(2026, 11, 16)  # a Monday
OPENS, CLOSES = dt.time(8), dt.time(20)
WARMUP = 20


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1500, help="tickets in the day (default 1 500)")
    parser.add_argument("--windows", type=int, default=12, help="windows (default 12)")
    parser.add_argument("--kiosks", type=int, default=2, help="kiosks issuing at the same time (default 2)")
    parser.add_argument(
        "--scale", type=float, default=0.15, help="real seconds per simulated minute (default 0.15: a day in ~2 min)"
    )
    parser.add_argument("--rounds", type=int, default=20, help="stampede rounds, all windows at once (default 20)")
    parser.add_argument("--postgres", action="store_true", help=f"use PostgreSQL ({PG_SERVER}/{PG_NAME})")
    return parser.parse_args()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def setup_office(windows: int):
    """One branch, one office open 8:00–20:00 every day, ``windows`` windows serving all three services
    (window 1 is the duty administrator's), one specialist per window."""
    from django.contrib.auth.models import Group

    from sbyt.customers.models import Branch
    from sbyt.offices.models import Office, OfficeHours, Service, Window
    from sbyt.users.models import User

    branch = Branch.objects.create(code="11", name="Сыктывкарский", time_zone="Europe/Moscow")
    office = Office.objects.create(
        branch=branch,
        code="bench",
        name="Центральный офис",
        town="Сыктывкар",
        address="ул. Первомайская, 70",
        has_queue=True,
    )
    OfficeHours.objects.bulk_create(
        [OfficeHours(office=office, weekday=d, opens=OPENS, closes=CLOSES) for d in range(7)]
    )
    services = list(Service.objects.all())
    group = Group.objects.get(name="Специалист офиса")
    staff = []
    for number in range(1, windows + 1):
        window = Window.objects.create(office=office, number=number, is_duty_admin=number == 1)
        window.services.set(services)
        user = User.objects.create_user(
            username=f"okno{number}", email=f"okno{number}@bench.example", password=None, is_staff=True
        )
        user.groups.add(group)
        staff.append((window, user))
    office.staff.add(*[user for _window, user in staff])
    return office, services, staff


def simulate(office, services, staff, *, tickets: int, kiosks: int, scale: float):
    """The day in compressed time: one simulated minute lasts ``scale`` real seconds. Clients arrive at random
    (Poisson) through the opening hours and take tickets at the kiosks; each window calls the next client,
    serves for a random time around its service's norm (then marks served) or, with nobody waiting, looks again
    a simulated minute later. Every call is timed; the windows' presses collide at random as in a real hall."""
    import random

    from django.db import connection, connections

    from sbyt.offices import queue

    zone = dt.timezone(dt.timedelta(hours=3))
    opening = dt.datetime.combine(DAY, OPENS, tzinfo=zone)
    day_minutes = (dt.datetime.combine(DAY, CLOSES) - dt.datetime.combine(DAY, OPENS)).total_seconds() / 60 - 1
    rnd = random.Random(20261116)
    gaps = [rnd.expovariate(tickets / day_minutes) for _ in range(tickets)]
    arrivals = [sum(gaps[: i + 1]) for i in range(tickets)]
    arrivals = [min(a * day_minutes / arrivals[-1], day_minutes) for a in arrivals]  # exactly within the day
    mix = [services[0]] * 55 + [services[1]] * 30 + [services[2]] * 15  # consultation, cash, both (percent)
    minutes_of = {services[0].pk: 6.0, services[1].pk: 3.0, services[2].pk: 9.0}  # mean service, simulated min
    next_arrival = [0]
    lock = threading.Lock()
    done_issuing = threading.Event()
    issue_ms, call_hit_ms, call_miss_ms, pk_ms_loaded = [], [], [], []
    called_ids, numbers, errors = [], [], []
    started = time.perf_counter()

    def sim_minutes() -> float:
        return (time.perf_counter() - started) / scale

    def sim_now() -> dt.datetime:
        return opening + dt.timedelta(minutes=min(sim_minutes(), day_minutes))

    def kiosk(k: int) -> None:
        try:
            while True:
                with lock:
                    if next_arrival[0] >= tickets:
                        return
                    i = next_arrival[0]
                    next_arrival[0] += 1
                wait = arrivals[i] * scale - (time.perf_counter() - started)
                if wait > 0:
                    time.sleep(wait)
                service = mix[i % len(mix)]
                begin = time.perf_counter()
                ticket = queue.issue_ticket(office, service=service, actor=f"kiosk:{k}", now=sim_now())
                issue_ms.append((time.perf_counter() - begin) * 1000)
                numbers.append(ticket.number)
        except Exception as exc:  # reported after the run
            errors.append(exc)
        finally:
            connections.close_all()

    def window_loop(window, user, seed) -> None:
        own = random.Random(seed)
        try:
            queue.open_window(window, actor=user, now=opening)
            while True:
                begin = time.perf_counter()
                ticket = queue.call_next(window, actor=user, now=sim_now())
                elapsed = (time.perf_counter() - begin) * 1000
                if ticket is None:
                    call_miss_ms.append(elapsed)
                    if done_issuing.is_set():
                        return
                    time.sleep(scale * own.uniform(0.5, 1.5))
                    continue
                call_hit_ms.append(elapsed)
                called_ids.append(ticket.pk)
                queue.start_service(ticket, actor=user, now=sim_now())
                time.sleep(scale * own.expovariate(1 / minutes_of[ticket.service_id]))
                queue.mark_served(ticket, actor=user, now=sim_now())
                begin = time.perf_counter()  # the reference under the same load
                with connection.cursor() as cursor:
                    cursor.execute("SELECT id FROM offices_ticket WHERE id = %s", [ticket.pk])
                    cursor.fetchone()
                pk_ms_loaded.append((time.perf_counter() - begin) * 1000)
        except Exception as exc:  # reported after the run
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=kiosk, args=(k,)) for k in range(kiosks)]
    windows = [threading.Thread(target=window_loop, args=(w, u, n)) for n, (w, u) in enumerate(staff)]
    for thread in threads + windows:
        thread.start()
    for thread in threads:
        thread.join()
    done_issuing.set()
    for thread in windows:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return {
        "wall": wall,
        "sim_hours": sim_minutes() / 60,
        "issue": issue_ms,
        "hit": call_hit_ms,
        "miss": call_miss_ms,
        "pk_loaded": pk_ms_loaded,
        "called": called_ids,
        "numbers": numbers,
    }


def _stampede_worker(window_id, user_id, rounds, now, barrier, results) -> None:
    """One window in its own process (as each web worker is): wait for the others, press, serve, repeat."""
    from django.db import connections

    from sbyt.offices import queue
    from sbyt.offices.models import Window
    from sbyt.users.models import User

    connections.close_all()  # never share the parent's connection
    window, user = Window.objects.get(pk=window_id), User.objects.get(pk=user_id)
    timings, called = [], []
    for _ in range(rounds):
        barrier.wait(timeout=120)
        begin = time.perf_counter()
        ticket = queue.call_next(window, actor=user, now=now)
        timings.append((time.perf_counter() - begin) * 1000)
        called.append(ticket.pk)
        queue.mark_served(ticket, actor=user, now=now)
    results.put((timings, called))
    connections.close_all()


def stampede(office, services, staff, *, rounds: int) -> list[float]:
    """Worst case: all windows press «call next» at the same instant (a barrier), ``rounds`` times, with
    enough clients waiting. One process per window, as the web server's workers would be."""
    import multiprocessing

    from django.db import connections

    from sbyt.offices import queue

    now = dt.datetime.combine(DAY, dt.time(19), tzinfo=dt.timezone(dt.timedelta(hours=3)))
    for i in range(rounds * len(staff)):
        queue.issue_ticket(office, service=services[i % len(services)], now=now)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(staff)), context.Queue()
    workers = [
        context.Process(target=_stampede_worker, args=(w.pk, u.pk, rounds, now, barrier, results)) for w, u in staff
    ]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    timings = [t for part, _called in collected for t in part]
    called = [pk for _part, part in collected for pk in part]
    assert len(called) == len(set(called)) == rounds * len(staff), "a ticket called twice or lost"
    return timings


def bare_pk_select(n: int = 2000) -> list[float]:
    from django.db import connection

    from sbyt.offices.models import Ticket

    ids = list(Ticket.objects.values_list("pk", flat=True)[:n])
    timings = []
    with connection.cursor() as cursor:
        for pk in ids:
            start = time.perf_counter()
            cursor.execute("SELECT id FROM offices_ticket WHERE id = %s", [pk])
            cursor.fetchone()
            timings.append((time.perf_counter() - start) * 1000)
    return timings[WARMUP:]


def check_day(result, tickets: int) -> list[str]:
    from collections import Counter

    from sbyt.offices.models import Ticket, WindowEvent

    problems = []
    if len(result["called"]) != len(set(result["called"])):
        problems.append("a ticket was called twice")
    statuses = Counter(Ticket.objects.values_list("status", flat=True))
    if statuses != {"served": tickets}:
        problems.append(f"not every ticket served: {dict(statuses)}")
    if len(set(result["numbers"])) != tickets:
        problems.append("duplicate ticket numbers")
    if WindowEvent.objects.filter(kind="called").count() != tickets:
        problems.append("call events do not match the tickets")
    return problems


def main() -> int:
    args = parse_args()
    url, tmp = prepare_database(PG_NAME, postgres=args.postgres)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        vendor = connection.vendor
        version = (
            ".".join(map(str, connection.Database.sqlite_version_info))
            if vendor == "sqlite"
            else f"{connection.pg_version // 10000}.{connection.pg_version % 10000}"
        )
        office, services, staff = setup_office(args.windows)
        result = simulate(office, services, staff, tickets=args.tickets, kiosks=args.kiosks, scale=args.scale)
        problems = check_day(result, args.tickets)
        pk_alone = bare_pk_select()
        solo = call_next_alone(office, services, staff[0])
        burst = stampede(office, services, staff, rounds=args.rounds)
    finally:
        drop_database(PG_NAME, postgres=args.postgres, tmp=tmp)

    hit, miss, issue = result["hit"], result["miss"], result["issue"]
    p99_call = percentile(hit, 0.99)
    pk_loaded_p50 = statistics.median(result["pk_loaded"])

    def row(label, value="", target=""):
        return f"{label:<60}{value:>16}{target:>10}"

    def pair(values, digits=2):
        return f"{statistics.median(values):.{digits}f} / {percentile(values, 0.99):.{digits}f}"

    lines = [
        f"Electronic queue benchmark — {vendor} {version}; a day of {args.tickets:,} tickets, {args.windows} windows, "
        f"{args.kiosks} kiosks",
        f"(simulated {result['sim_hours']:.1f} h in {result['wall']:.1f} s real: {args.scale * 1000:.0f} ms per "
        "simulated minute; all windows and kiosks concurrent)",
        "",
        row("measure", "p50 / p99, ms", "target"),
        "-" * 86,
        row(f"call_next that called a client ({len(hit):,} calls)", pair(hit), "p99 < 50"),
        row(f"call_next with nobody waiting ({len(miss):,} presses)", pair(miss) if miss else "—"),
        row(f"issue_ticket ({len(issue):,} tickets)", pair(issue)),
        row(f"stampede: {args.windows} windows (processes) press at once ({len(burst)} calls)", pair(burst)),
        row("call_next, one window alone (no contention)", pair(solo)),
        row("reference: bare PK SELECT round trip during the day", pair(result["pk_loaded"], 3)),
        row("reference: bare PK SELECT round trip alone", pair(pk_alone, 3)),
        row("call_next p50 / bare PK SELECT p50 during the day", f"{statistics.median(hit) / pk_loaded_p50:.0f}x"),
        "-" * 86,
        "day checked: "
        + ("every ticket called once and served, numbers unique" if not problems else "; ".join(problems)),
        f"call_next p99 {p99_call:.1f} ms: target {'met' if p99_call < P99_TARGET_MS else 'NOT met'}",
    ]
    print("\n".join(lines))
    return 1 if problems else 0


def call_next_alone(office, services, pair, n: int = 200) -> list[float]:
    from sbyt.offices import queue

    window, user = pair
    now = dt.datetime.combine(DAY, dt.time(19, 30), tzinfo=dt.timezone(dt.timedelta(hours=3)))
    for i in range(n + WARMUP):
        queue.issue_ticket(office, service=services[i % len(services)], now=now)
    timings = []
    for i in range(n + WARMUP):
        begin = time.perf_counter()
        ticket = queue.call_next(window, actor=user, now=now)
        if i >= WARMUP:
            timings.append((time.perf_counter() - begin) * 1000)
        queue.mark_served(ticket, actor=user, now=now)
    return timings


if __name__ == "__main__":
    sys.exit(main())
