import datetime as dt
from decimal import Decimal

import pytest

from sbyt.core import periodic
from sbyt.core.calendar import add_working_days, is_working_day
from sbyt.core.money import round_half_up
from sbyt.core.periods import add_months, months_between, period_label
from sbyt.core.phones import mask_phone, normalize_phone


def test_periods():
    assert add_months(dt.date(2026, 11, 1), 2) == dt.date(2027, 1, 1)
    assert add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert months_between(dt.date(2025, 11, 1), dt.date(2026, 2, 1)) == 3
    assert period_label(dt.date(2026, 12, 1)) == "декабрь 2026"


def test_working_days_follow_the_russian_calendar():
    assert not is_working_day(dt.date(2026, 1, 5))  # New Year holidays
    assert is_working_day(dt.date(2026, 1, 12))
    assert sum(is_working_day(dt.date(2026, 1, 1) + dt.timedelta(days=i)) for i in range(365)) == 247
    assert add_working_days(dt.date(2026, 5, 8), 1) == dt.date(2026, 5, 12)  # 9–11 May are off


def test_round_half_up():
    assert round_half_up(Decimal("2.345")) == Decimal("2.35")
    assert round_half_up(Decimal("2.344")) == Decimal("2.34")


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("8-912-967-15-20", "+79129671520"),
        ("+7 (912) 967 15 20", "+79129671520"),
        ("9129671520", "+79129671520"),
        ("12345", None),
        ("", None),
    ],
)
def test_normalize_phone(text, phone):
    assert normalize_phone(text) == phone


def test_mask_phone():
    assert mask_phone("+79129671520") == "+7 912 ***-**-20"


def test_periodic_schedule_runs_due_jobs_and_survives_a_failing_one(monkeypatch):
    calls = []
    now = [0.0]
    jobs = [
        periodic.Job("ok", 10, lambda: calls.append("ok")),
        periodic.Job("boom", 10, lambda: 1 / 0),
    ]
    monkeypatch.setattr(periodic, "JOBS", jobs)
    monkeypatch.setattr(periodic, "load_jobs", lambda: None)
    schedule = periodic.Schedule(clock=lambda: now[0])
    assert schedule.run_due() == ["ok", "boom"]
    now[0] = 5
    assert schedule.run_due() == []
    now[0] = 10
    assert schedule.run_due() == ["ok", "boom"]
    assert calls == ["ok", "ok"]


@pytest.mark.django_db
def test_run_periodic_once_loads_the_apps_jobs(capsys):
    from django.core.management import call_command

    call_command("run_periodic", "--once")
    assert "retry_queued_messages" in capsys.readouterr().out
