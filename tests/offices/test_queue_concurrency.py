"""The queue under concurrency: windows pressing «call next» at the same moment never call one ticket twice and
never lose one; kiosks printing at the same moment never print one number twice.

Real threads, real transactions (``transaction=True``), on both databases. On SQLite the test database is
normally in memory with a shared cache, whose table locks fail at once instead of waiting (SQLite's busy
timeout does not apply to them), so here the threads work on a file copy of it, opened exactly as the
application opens its database file (WAL, ``BEGIN IMMEDIATE``, busy timeout: config/settings.py)."""

import copy
import datetime as dt
import shutil
import sqlite3
import tempfile
import threading
from collections import Counter
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from sbyt.core.errors import DomainError
from sbyt.offices import queue
from sbyt.offices.models import Service, Ticket, WindowEvent
from sbyt.users.roles import ensure_roles
from tests.offices.builders import make_office, make_staff

pytestmark = pytest.mark.django_db(transaction=True)

MSK = ZoneInfo("Europe/Moscow")
TEN = dt.datetime(2026, 11, 16, 10, tzinfo=MSK)  # a Monday, the office is open


def restore_seeds() -> None:
    """Put back what the migrations seed (roles, services, priority categories): a transactional test before
    this one may have flushed them (``serialized_rollback`` cannot help: ``ensure_roles`` leaves the app configs
    without ``models_module``, so the test database's serialisation is empty)."""
    from django.apps import apps

    ensure_roles()
    import_module("sbyt.offices.migrations.0003_services_priorities").seed(apps, None)


@pytest.fixture(autouse=True)
def _seeds(transactional_db):
    restore_seeds()


@contextmanager
def shared_database():
    """Yield ``attach``: every worker thread calls it first to use the database the test's data is in."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield lambda: None
        return
    folder = Path(tempfile.mkdtemp(prefix="sbyt-queue-"))
    path = folder / "queue.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["NAME"] = str(path)
    original = connections["default"]

    def attach():
        wrapper = original.__class__(copy.deepcopy(settings_dict), "default")
        connections["default"] = wrapper
        return wrapper

    own = attach()  # the test's own thread too; the workers close theirs
    try:
        yield attach
    finally:
        own.close()
        connections["default"] = original
        shutil.rmtree(folder, ignore_errors=True)


def run_threads(count: int, attach, work) -> list:
    """Run ``work(i)`` in ``count`` threads started together; returns their results; re-raises the first error."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def target(i):
        attach()
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def staff_for(office, count: int):
    users = [make_staff(f"window-{i}", email=f"window-{i}@sbyt.example") for i in range(count)]
    office.staff.add(*users)
    return users


def test_concurrent_call_next_never_calls_a_ticket_twice_or_loses_one():
    windows_count, tickets_count = 6, 90
    with shared_database() as attach:
        office = make_office(windows=windows_count)
        users = staff_for(office, windows_count)
        windows = list(office.windows.order_by("number"))
        for window, user in zip(windows, users, strict=True):
            queue.open_window(window, actor=user, now=TEN)
        services = list(Service.objects.order_by("order"))
        issued = [
            queue.issue_ticket(office, service=services[i % 3], now=TEN + dt.timedelta(seconds=i))
            for i in range(tickets_count)
        ]

        def work(i):
            called = []
            while True:
                ticket = queue.call_next(windows[i], actor=users[i], now=TEN + dt.timedelta(hours=1))
                if ticket is None:
                    return called
                called.append(ticket.pk)
                queue.mark_served(ticket, actor=users[i], now=TEN + dt.timedelta(hours=1))

        per_window = run_threads(windows_count, attach, work)
        called = [pk for ids in per_window for pk in ids]
        assert len(called) == len(set(called)), "a ticket was called twice"
        assert sorted(called) == sorted(t.pk for t in issued), "a ticket was lost"
        assert Counter(Ticket.objects.values_list("status", flat=True)) == {"served": tickets_count}
        assert WindowEvent.objects.filter(kind="called").count() == tickets_count
        for window, ids in zip(windows, per_window, strict=True):
            assert set(Ticket.objects.filter(window=window).values_list("pk", flat=True)) == set(ids)


def test_two_presses_on_one_window_call_one_ticket():
    with shared_database() as attach:
        office = make_office(windows=1)
        (user,) = staff_for(office, 1)
        window = office.windows.get()
        queue.open_window(window, actor=user, now=TEN)
        for i in range(3):
            queue.issue_ticket(
                office, service=Service.objects.get(code="consultation"), now=TEN + dt.timedelta(minutes=i)
            )

        def work(_i):
            try:
                return queue.call_next(window, actor=user, now=TEN + dt.timedelta(minutes=5)).number
            except DomainError as exc:
                return str(exc)

        results = run_threads(2, attach, work)
        assert "К-001" in results
        assert Ticket.objects.filter(status="called").count() == 1
        assert Ticket.objects.filter(status="waiting").count() == 2


def test_concurrent_kiosks_never_print_one_number_twice():
    kiosks, per_kiosk = 6, 15
    with shared_database() as attach:
        office = make_office(windows=2)
        consultation = Service.objects.get(code="consultation")
        cash = Service.objects.get(code="cash")

        def work(i):
            service = cash if i % 3 == 0 else consultation
            return [
                queue.issue_ticket(
                    office, service=service, now=TEN + dt.timedelta(seconds=k), actor=f"kiosk:{i}"
                ).number
                for k in range(per_kiosk)
            ]

        numbers = [n for batch in run_threads(kiosks, attach, work) for n in batch]
        assert len(numbers) == len(set(numbers)) == kiosks * per_kiosk
        cash_count = sum(per_kiosk for i in range(kiosks) if i % 3 == 0)
        expected = {f"О-{n:03d}" for n in range(1, cash_count + 1)} | {
            f"К-{n:03d}" for n in range(1, kiosks * per_kiosk - cash_count + 1)
        }
        assert set(numbers) == expected  # no gaps either
        assert set(Ticket.objects.values_list("number", flat=True)) == expected
