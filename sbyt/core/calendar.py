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
