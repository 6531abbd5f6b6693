"""Due dates and penalties (ЖК РФ ст. 155 ч. 1 and ч. 14) as pure functions over data the run loads once.

- Due date of a period's bill: the due day (dated configuration: the 10th until 28.02.2026, the 15th from
  01.03.2026 for households; the 18th for businesses) of the next month, chosen by the due date's month.
- Households: per day of delay, 1/300 of the rate from the 31st day after the due date to the 90th, 1/130 from
  the 91st, up to and including the day of payment. Businesses (ФЗ-35 ст. 37): 1/130 from the first day.
- The rate: the key rate on the day of payment (for what is still unpaid: on the day the penalty is computed
  for), on each day limited by the moratoria in force that day — zero, or capped (the lower of the key rate and
  the cap, or the cap itself, as the moratorium row says).
- Payments and credits go to the debts of the period they name, the rest to the oldest debts first. No penalty on
  penalty: penalty entries are not debts here.
- Daily amounts are summed unrounded; the total is rounded half up once (DOMAIN's example: 95.00 + 69.42 = 164.42).
"""

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sbyt.core.periods import add_months

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Scale:
    """(first day, last day or None, fraction of the rate per day), days counted from the day after the due date."""

    steps: tuple[tuple[int, int | None, Decimal], ...]


HOUSEHOLD = Scale(((31, 90, Decimal(1) / 300), (91, None, Decimal(1) / 130)))
BUSINESS = Scale(((1, None, Decimal(1) / 130),))


@dataclass(frozen=True)
class Moratorium:
    starts: dt.date
    ends: dt.date
    kind: str  # "zero" | "cap"
    cap: Decimal | None = None
    mode: str = "lower_of"  # "lower_of" | "fixed"


class Rates:
    """The key-rate history and the moratoria."""

    def __init__(self, key_rates: Sequence[tuple[dt.date, Decimal]], moratoria: Sequence[Moratorium] = ()):
        ordered = sorted(key_rates)
        self._days = [day for day, _rate in ordered]
        self._rates = [rate for _day, rate in ordered]
        self.moratoria = sorted(moratoria, key=lambda m: m.starts)

    def key_rate(self, day: dt.date) -> Decimal:
        index = bisect_right(self._days, day) - 1
        return self._rates[index] if index >= 0 else ZERO

    def segments(self, first: dt.date, last: dt.date, rate: Decimal) -> list[tuple[int, Decimal]]:
        """Days ``first``..``last`` as (number of days, effective rate) pieces under the moratoria."""
        pieces: list[tuple[int, Decimal]] = []
        day = first
        while day <= last:
            current = next((m for m in self.moratoria if m.starts <= day <= m.ends), None)
            if current is not None:
                upto = min(last, current.ends)
                if current.kind == "zero":
                    effective = ZERO
                elif current.mode == "fixed":
                    effective = current.cap
                else:
                    effective = min(rate, current.cap)
            else:
                following = next((m.starts for m in self.moratoria if m.starts > day), None)
                upto = last if following is None else min(last, following - dt.timedelta(days=1))
                effective = rate
            pieces.append(((upto - day).days + 1, effective))
            day = upto + dt.timedelta(days=1)
        return pieces


def due_date(period: dt.date, due_days: Sequence[tuple[dt.date, int]]) -> dt.date:
    """The day of the next month by which ``period`` is paid; ``due_days``: (valid for due dates from, day)."""
    month = add_months(period, 1)
    day = 10
    for valid_from, candidate in sorted(due_days):
        if month.replace(day=candidate) >= valid_from:
            day = candidate
    return month.replace(day=day)


def portion_penalty(
    amount: Decimal, due: dt.date, until: dt.date, rate_day: dt.date, rates: Rates, scale: Scale
) -> Decimal:
    """Penalty (unrounded) on ``amount`` overdue since ``due``, for days up to and including ``until``."""
    overdue_days = (until - due).days
    if amount <= 0 or overdue_days <= 0:
        return ZERO
    rate = rates.key_rate(rate_day)
    total = ZERO
    for first, last, fraction in scale.steps:
        upto = overdue_days if last is None else min(last, overdue_days)
        if upto < first:
            continue
        start = due + dt.timedelta(days=first)
        end = due + dt.timedelta(days=upto)
        for days, effective in rates.segments(start, end, rate):
            if effective:
                total += amount * effective / HUNDRED * fraction * days
    return total


@dataclass(frozen=True)
class Debt:
    due: dt.date
    period: dt.date | None
    amount: Decimal


@dataclass(frozen=True)
class Reduction:
    """A payment (or a credit) of ``amount`` > 0 made on ``day``, naming ``period`` or not."""

    day: dt.date
    amount: Decimal
    period: dt.date | None = None


def allocate(debts: Sequence[Debt], reductions: Sequence[Reduction]) -> list[tuple[Debt, Decimal, dt.date | None]]:
    """Portions (debt, amount, paid on or None if unpaid): reductions in date order go to the debts of the
    period they name first, then to the oldest debts."""
    open_debts = sorted((d for d in debts if d.amount > 0), key=lambda d: (d.due, d.period or dt.date.min))
    left = {index: debt.amount for index, debt in enumerate(open_debts)}
    portions: list[tuple[Debt, Decimal, dt.date | None]] = []
    for reduction in sorted(reductions, key=lambda r: r.day):
        remaining = reduction.amount
        named = [i for i, d in enumerate(open_debts) if reduction.period and d.period == reduction.period]
        for index in named + list(range(len(open_debts))):
            if remaining <= 0:
                break
            if left[index] <= 0:
                continue
            part = min(left[index], remaining)
            left[index] -= part
            remaining -= part
            portions.append((open_debts[index], part, reduction.day))
    for index, debt in enumerate(open_debts):
        if left[index] > 0:
            portions.append((debt, left[index], None))
    return portions


def accrued_penalty(
    debts: Sequence[Debt], reductions: Sequence[Reduction], *, as_of: dt.date, rates: Rates, scale: Scale
) -> Decimal:
    """All penalty accrued up to and including ``as_of`` on the debts (unrounded): reductions after ``as_of`` are
    not known yet on that day."""
    known = [r for r in reductions if r.day <= as_of and r.amount > 0]
    total = ZERO
    for debt, amount, paid_on in allocate(debts, known):
        until = as_of if paid_on is None else paid_on
        total += portion_penalty(amount, debt.due, until, until, rates, scale)
    return total
