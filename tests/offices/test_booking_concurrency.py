"""Concurrent booking of the last free slot from several threads, each with its own database connection:
exactly one wins, the others are told the time is taken, and the slot holds one live booking.

On PostgreSQL the race is real: every thread sees the slot free, every thread inserts, and the partial unique
index makes all but one fail. SQLite serialises writers (``BEGIN IMMEDIATE``); its in-memory test database
(shared cache) answers «table is locked» at once instead of waiting as a file database does with its busy
timeout, so on SQLite a thread waits and retries the call, as the busy timeout would.
"""

import datetime as dt
import importlib
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import OperationalError, close_old_connections, connection

from sbyt.core.errors import DomainError
from sbyt.offices import appointments as svc
from sbyt.offices.models import Appointment, Service, VideoHours, VideoSpecialist
from tests.factories import UserFactory
from tests.offices.builders import make_office

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 11, 2, 8, 0, tzinfo=MSK)
AT = dt.datetime(2026, 11, 3, 10, 0, tzinfo=MSK)
THREADS = 6

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def seeded_services():
    """A transactional test starts from what the previous one flushed: put the seeded services back (the
    migration's own seed; ``serialized_rollback`` would restore nothing, since ``users.roles.ensure_roles``
    clears the app configs' ``models_module`` during the migrations)."""
    importlib.import_module("sbyt.offices.migrations.0003_services_priorities").seed(django_apps, None)


def _locked(exc: OperationalError) -> bool:
    return connection.vendor == "sqlite" and "locked" in str(exc)


def race(call, count=THREADS):
    """Run ``call(i)`` in ``count`` threads released together; returns (results, errors) by thread."""
    barrier = threading.Barrier(count)
    results, errors = {}, {}

    def run(i):
        try:
            barrier.wait()
            for _attempt in range(200):
                try:
                    results[i] = call(i)
                    return
                except OperationalError as exc:  # SQLite's shared in-memory database only, see the docstring
                    if not _locked(exc):
                        raise
                    time.sleep(0.01)
            raise AssertionError("SQLite stayed locked")
        except DomainError as exc:
            errors[i] = exc.message
        except Exception as exc:  # anything else fails the test below, with its text
            errors[i] = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            close_old_connections()
            connection.close()

    with time_machine.travel(NOW, tick=True):
        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    return results, errors


def test_exactly_one_of_several_concurrent_requests_gets_the_last_free_slot():
    office = make_office(windows=2)
    service = Service.objects.get(code="consultation")
    with time_machine.travel(NOW, tick=False):
        taken = svc.book_visit(
            office, service=service, starts_at=AT, name="Первый", phone="+79120000100", channel="site", actor="site"
        )

    def attempt(i):
        return svc.book_visit(
            office,
            service=service,
            starts_at=AT,
            name=f"Клиент {i}",
            phone=f"+7912000{i:04d}",
            channel="site",
            actor="site",
        )

    results, errors = race(attempt)
    assert len(results) == 1, errors
    assert set(errors.values()) == {svc._taken_message()}
    assert len(errors) == THREADS - 1
    live = Appointment.objects.filter(starts_at=AT, status__in=Appointment.ACTIVE)
    assert live.count() == 2
    assert set(live.values_list("window__number", flat=True)) == {1, 2}
    winner = next(iter(results.values()))
    assert winner.window_id != taken.window_id


def test_concurrent_requests_fill_every_window_once():
    office = make_office(windows=3)
    service = Service.objects.get(code="consultation")

    def attempt(i):
        return svc.book_visit(
            office,
            service=service,
            starts_at=AT,
            name=f"Клиент {i}",
            phone=f"+7912100{i:04d}",
            channel="site",
            actor="site",
        )

    results, errors = race(attempt)
    assert len(results) == 3
    assert set(errors.values()) == {svc._taken_message()}
    assert sorted(a.window.number for a in results.values()) == [1, 2, 3]
    assert len({a.code for a in results.values()}) == 3


def test_exactly_one_concurrent_video_booking_gets_the_last_specialist():
    office = make_office()
    service = Service.objects.get(code="consultation")
    user = UserFactory(username="video1", is_staff=True)
    specialist = VideoSpecialist.objects.create(user=user, office=office, display_name="Петров П. П.")
    specialist.services.set([service])
    VideoHours.objects.create(specialist=specialist, weekday=1, starts=dt.time(10), ends=dt.time(12))

    def attempt(i):
        return svc.book_video(
            office,
            service=service,
            starts_at=AT,
            name=f"Клиент {i}",
            phone=f"+7912200{i:04d}",
            channel="site",
            actor="site",
        )

    results, errors = race(attempt)
    assert len(results) == 1, errors
    assert set(errors.values()) == {svc._taken_message()}
    assert Appointment.objects.filter(specialist=user, starts_at=AT, status__in=Appointment.ACTIVE).count() == 1


def test_concurrent_moves_to_the_last_free_slot_leave_every_loser_where_it_was():
    office = make_office(windows=1)
    service = Service.objects.get(code="consultation")
    with time_machine.travel(NOW, tick=False):
        mine = [
            svc.book_visit(
                office,
                service=service,
                starts_at=AT + dt.timedelta(minutes=15 * (i + 1)),
                name=f"Клиент {i}",
                phone=f"+7912300{i:04d}",
                channel="site",
                actor="site",
            )
            for i in range(3)
        ]

    results, errors = race(lambda i: svc.reschedule_appointment(mine[i], starts_at=AT, actor="site"), count=3)
    assert len(results) == 1, errors
    assert set(errors.values()) == {svc._taken_message()}
    starts = sorted(Appointment.objects.filter(status=Appointment.Status.BOOKED).values_list("starts_at", flat=True))
    assert len(starts) == 3 and AT in starts
    loser_times = {mine[i].starts_at for i in errors}
    assert loser_times <= set(starts)  # the losers kept their own times
