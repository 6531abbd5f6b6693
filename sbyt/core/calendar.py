"""Working days by the Russian production calendar (holidays, transfers, working Saturdays)."""

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _russia(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def is_working_day(day: dt.date) -> bool:
    return _russia(day.year).is_working_day(day)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (counting starts the day after)."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


# Non-working public holidays of the Labour Code, art. 112 (month, day): the days that make the day before shorter.
NON_WORKING_HOLIDAYS = frozenset({(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (2, 23), (3, 8),
                                  (5, 1), (5, 9), (6, 12), (11, 4)})  # fmt: skip


def is_day_off(day: dt.date) -> bool:
    """A public holiday or a day off moved there by the government's decree — not an ordinary weekend."""
    return day in _russia(day.year)


def is_transferred_working_day(day: dt.date) -> bool:
    """A Saturday or Sunday made a working day by the decree that moved its day off (e.g. 2025-11-01)."""
    return day in _russia(day.year).weekend_workdays


def replaced_day(day: dt.date) -> dt.date | None:
    """For a transferred working day: the weekday whose day off was moved onto it (2025-11-01 → 2025-11-03),
    from the holidays library's table of the decree; None if it is not one or the table does not say."""
    if not is_transferred_working_day(day):
        return None
    entries = _russia(day.year).special_public_holidays.get(day.year, ())
    if entries and isinstance(entries[0], int):
        entries = (entries,)
    for entry in entries:
        if len(entry) in (4, 5) and all(isinstance(part, int) for part in entry):
            to_month, to_day, from_month, from_day = entry[:4]
            from_year = entry[4] if len(entry) == 5 else day.year
            if dt.date(from_year, from_month, from_day) == day:
                return dt.date(day.year, to_month, to_day)
    return None


def is_pre_holiday(day: dt.date) -> bool:
    """Labour Code art. 95: a working day right before a non-working holiday is one hour shorter. A transferred
    working day stands in for the weekday it replaces, so it is shorter when that weekday would have been."""
    stand_in = replaced_day(day) or day
    if not is_working_day(day):
        return False
    following = stand_in + dt.timedelta(days=1)
    return (following.month, following.day) in NON_WORKING_HOLIDAYS
