"""Billing periods: a period is a calendar month, stored as the date of its first day."""

import datetime as dt

MONTHS_NOMINATIVE = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + (period.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole calendar months from ``earlier``'s period to ``later``'s period."""
    return (later.year - earlier.year) * 12 + (later.month - earlier.month)


def period_label(period: dt.date) -> str:
    """«ноябрь 2026»."""
    return f"{MONTHS_NOMINATIVE[period.month - 1]} {period.year}"
