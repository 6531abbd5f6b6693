"""Deadline arithmetic on the Russian production calendar: weekends, holidays, transferred days, pauses."""

import datetime as dt

import pytest

from sbyt.cases.models import Unit
from sbyt.cases.sla import compute_due, due_date, pause_length, shift

W, C = Unit.WORKING_DAYS, Unit.CALENDAR_DAYS
D = dt.date


@pytest.mark.parametrize(
    ("start", "amount", "expected", "why"),
    [
        (D(2026, 3, 2), 3, D(2026, 3, 5), "Mon + 3 working days = Thu"),
        (D(2026, 3, 5), 3, D(2026, 3, 11), "Thu + 3: Fri 6, Tue 10, Wed 11 — 7-8 weekend, 9 March (8 March moved) off"),
        (D(2025, 12, 29), 3, D(2026, 1, 13), "30 Dec works; 31 Dec (transferred) and 1-11 Jan are off"),
        (D(2025, 12, 30), 1, D(2026, 1, 12), "the New Year holidays"),
        (D(2025, 10, 31), 1, D(2025, 11, 1), "Saturday 1 Nov 2025 is a working day"),
        (D(2025, 10, 31), 2, D(2025, 11, 5), "then 3 Nov (moved) and 4 Nov are off"),
        (D(2026, 3, 7), 1, D(2026, 3, 10), "a case that came on Saturday: counting starts the day after"),
    ],
)
def test_working_days(start, amount, expected, why):
    assert due_date(start, amount, W) == expected, why


def test_zero_working_days_is_the_same_working_day_or_the_next_one():
    assert due_date(D(2026, 3, 4), 0, W) == D(2026, 3, 4)
    assert due_date(D(2026, 3, 7), 0, W) == D(2026, 3, 10)  # Sat → Tue (Mon 9 March is off)
    assert due_date(D(2025, 11, 1), 0, W) == D(2025, 11, 1)  # the working Saturday


def test_calendar_days_end_on_a_working_day_civil_code_193():
    assert due_date(D(2026, 3, 2), 14, C) == D(2026, 3, 16)
    assert due_date(D(2025, 12, 18), 14, C) == D(2026, 1, 12)  # 1 January → the first working day
    assert due_date(D(2026, 2, 27), 10, C) == D(2026, 3, 10)  # 9 March is off
    assert due_date(D(2026, 3, 3), 3, C) == D(2026, 3, 6)


def test_pause_length_in_each_unit():
    # paused on Friday 6 March, resumed on Tuesday 10 March: 7, 8, 9 March are off
    assert pause_length(D(2026, 3, 6), D(2026, 3, 10), W) == 1
    assert pause_length(D(2026, 3, 6), D(2026, 3, 10), C) == 4
    assert pause_length(D(2026, 3, 6), D(2026, 3, 6), W) == 0
    assert pause_length(D(2026, 3, 6), D(2026, 3, 5), C) == 0
    # over the New Year: 30 Dec → 13 Jan
    assert pause_length(D(2025, 12, 30), D(2026, 1, 13), W) == 2


def test_due_after_a_pause_and_after_an_agreed_date():
    # 3 working days from Mon 2 March is Thu 5 March; a pause of 2 working days → Tue 10 March (9 March off)
    assert compute_due(started_on=D(2026, 3, 2), amount=3, unit=W, extension=2) == D(2026, 3, 10)
    assert compute_due(started_on=D(2026, 3, 2), amount=14, unit=C, extension=3) == D(2026, 3, 19)
    assert compute_due(started_on=D(2026, 3, 2), amount=0, unit=W, agreed_on=D(2026, 3, 4)) == D(2026, 3, 4)
    assert compute_due(started_on=D(2026, 3, 2), amount=0, unit=W, extension=1, agreed_on=D(2026, 3, 6)) == D(
        2026, 3, 10
    )
    assert shift(D(2026, 3, 6), 0, W) == D(2026, 3, 6)


def test_unknown_unit_is_refused():
    with pytest.raises(ValueError):
        due_date(D(2026, 3, 2), 1, "hours")


def test_terms_are_worded_in_russian():
    from sbyt.cases.sla import term_text

    assert term_text(1, W) == "1 рабочий день"
    assert term_text(3, W) == "3 рабочих дня"
    assert term_text(5, W) == "5 рабочих дней"
    assert term_text(0, W) == "в тот же рабочий день"
    assert term_text(14, C) == "14 календарных дней"
    assert term_text(21, C) == "21 календарный день"
    assert term_text(22, C) == "22 календарных дня"
    assert term_text(11, C) == "11 календарных дней"
