"""Deadline arithmetic of the SLA clocks: pure functions of dates (the branch's local dates) and the Russian
production calendar (``core.calendar``).

- N working days: counting starts the day after the start (``add_working_days``); 0 working days means «the same
  working day» (or the next working day when the case came on a day off).
- N calendar days: the start plus N days; a deadline that falls on a day off moves to the next working day
  (Civil Code art. 193).
- A pause (the case waits for the client) moves the deadline by the days it lasted, counted in the clock's unit:
  the days after the day it was paused up to and including the day it was resumed (working days only for a
  working-day clock). A pause that starts and ends on the same day moves nothing.
"""

import datetime as dt

from sbyt.core.calendar import add_working_days, is_working_day

from .models import Unit

ONE_DAY = dt.timedelta(days=1)


def roll_to_working_day(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day += ONE_DAY
    return day


def due_date(start: dt.date, amount: int, unit: str) -> dt.date:
    """The last day of a term of ``amount`` units counted from ``start``."""
    if unit == Unit.WORKING_DAYS:
        return roll_to_working_day(start) if amount == 0 else add_working_days(start, amount)
    if unit == Unit.CALENDAR_DAYS:
        return roll_to_working_day(start + dt.timedelta(days=amount))
    raise ValueError(f"unknown unit {unit!r}")


def shift(day: dt.date, amount: int, unit: str) -> dt.date:
    """A deadline moved later by ``amount`` units (an agreed date moved by a pause)."""
    if amount <= 0:
        return day
    if unit == Unit.WORKING_DAYS:
        return add_working_days(day, amount)
    return roll_to_working_day(day + dt.timedelta(days=amount))


def pause_length(paused_on: dt.date, resumed_on: dt.date, unit: str) -> int:
    """How many units a pause from ``paused_on`` to ``resumed_on`` lasted (see the module's docstring)."""
    if resumed_on <= paused_on:
        return 0
    if unit == Unit.CALENDAR_DAYS:
        return (resumed_on - paused_on).days
    count, day = 0, paused_on
    while day < resumed_on:
        day += ONE_DAY
        if is_working_day(day):
            count += 1
    return count


def compute_due(
    *, started_on: dt.date, amount: int, unit: str, extension: int = 0, agreed_on: dt.date | None = None
) -> dt.date:
    """The clock's deadline: from the norm (or the date agreed with the client), moved by the pauses."""
    if agreed_on is not None:
        return shift(agreed_on, extension, unit)
    return due_date(started_on, amount + extension, unit)


_FORMS = {
    Unit.WORKING_DAYS: ("рабочий день", "рабочих дня", "рабочих дней"),
    Unit.CALENDAR_DAYS: ("календарный день", "календарных дня", "календарных дней"),
}


def term_text(amount: int, unit: str) -> str:
    """«1 рабочий день», «3 рабочих дня», «14 календарных дней»; 0 working days — «в тот же рабочий день».
    Russian literals: the wording of the standards, like the choice labels."""
    if amount == 0 and unit == Unit.WORKING_DAYS:
        return "в тот же рабочий день"
    one, few, many = _FORMS[unit]
    if amount % 10 == 1 and amount % 100 != 11:
        word = one
    elif 2 <= amount % 10 <= 4 and not 12 <= amount % 100 <= 14:
        word = few
    else:
        word = many
    return f"{amount} {word}"


def next_working_day(day: dt.date) -> dt.date:
    return add_working_days(day, 1)
