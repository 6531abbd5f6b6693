"""Which volume a contract is billed for in a period, and by which method (ПП 354 п. 59 «б», 60, 61) — pure
functions; the run feeds them with rows it read in bulk.

- The accepted reading of the period and the previous accepted reading → the volume between them (a register
  that passed its maximum counts on from zero). If earlier periods since the previous reading were billed
  (by average or norm), the volumes billed for them are subtracted: a **recalculation**, positive or negative,
  billed in this period. DOMAIN's example: 1 000 − (3 × average + norm 138) = 332.00.
- No reading: the **average** monthly volume over at least the last 6 months of readings (from the reading that
  is 6 or more months older than the last one; a meter read for less than that: from its first reading, but over
  no less than 3 months), for at most 3 consecutive periods (2 for non-residential premises).
  The n-th period of a run of averages is billed ``round(n × average) − round((n − 1) × average)``, so the periods
  add up to the unrounded average times their number (176.67 + 176.66 + 176.67 = 530.00 for 1 060 / 6) and a
  later recalculation subtracts exactly what was billed.
- After that, with no average possible, or with no meter: the **norm** — residents × the regional norm per person;
  priced at the single-rate tariff. Without a norm (non-residential premises have none) there is no basis: the
  contract is reported and not charged.
- A meter's first reading has nothing to measure from: that period goes by the norm; the next reading measures
  from it.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sbyt.core.periods import add_months, months_between

from .models import Method
from .pricing import ZERO, q2


@dataclass(frozen=True)
class Read:
    """An accepted reading: the register values per zone, the period it is billed in, the day it was taken."""

    period: dt.date
    values: tuple[int, ...]
    taken_on: dt.date | None = None


@dataclass(frozen=True)
class Billed:
    """What an earlier period was charged in total: its effective method and volumes per zone (t1, t2, t3)."""

    period: dt.date
    method: str
    volumes: tuple[Decimal, Decimal, Decimal]


@dataclass(frozen=True)
class Rules:
    average_months: int = 6
    average_min_months: int = 3
    max_average_periods: int = 3
    max_average_periods_nonresidential: int = 2


RULES = Rules()


@dataclass
class Volume:
    method: str
    volumes: tuple[Decimal, ...]  # per priced zone
    basis: dict = field(default_factory=dict)

    @property
    def zones(self) -> int:
        return len(self.volumes)

    @property
    def total(self) -> Decimal:
        return sum(self.volumes, ZERO)


def _delta(new: tuple[int, ...], old: tuple[int, ...], digits: int) -> list[int]:
    wrap = 10**digits
    return [n - o if n >= o else n + wrap - o for n, o in zip(new, old, strict=True)]


def _read_json(read: Read) -> dict:
    return {
        "period": read.period.isoformat(),
        "values": list(read.values),
        "date": read.taken_on.isoformat() if read.taken_on else None,
    }


def average_base(reads: Sequence[Read], last: Read, rules: Rules = RULES) -> tuple[Read, int] | None:
    """The reading to average from and the number of months: the latest one at least ``average_months`` before
    ``last``; failing that the earliest one, if at least ``average_min_months`` before. ``reads`` ascending."""
    earlier = [r for r in reads if r.period < last.period and len(r.values) == len(last.values)]
    if not earlier:
        return None
    cutoff = add_months(last.period, -rules.average_months)
    old_enough = [r for r in earlier if r.period <= cutoff]
    base = old_enough[-1] if old_enough else earlier[0]
    months = months_between(base.period, last.period)
    if months < rules.average_min_months:
        return None
    return base, months


def find_volume(
    *,
    period: dt.date,
    meter_zones: int | None,
    digits: int = 6,
    reads: Sequence[Read] = (),
    billed: Sequence[Billed] = (),
    residential: bool = True,
    norm: Decimal | None = None,
    norm_basis: dict | None = None,
    rules: Rules = RULES,
    days: tuple[int, int] | None = None,
) -> Volume | None:
    """The period's volume and method. ``reads``: the meter's accepted readings up to and including ``period``,
    ascending (the previous reading at least, and older ones for the average); ``billed``: the effective charges
    of the periods after the previous reading and before ``period``; ``norm``: the month's norm volume (residents ×
    norm per person), None when there is none. ``days``: (days of the period the contract was in force, days of
    the month) when it started or ended inside the period — an estimated volume (average, norm) is then that share
    of the month's; a measured one (reading, recalculation) is what the meter measured. None: no basis to bill on."""
    volume = _find_volume(period, meter_zones, digits, reads, billed, residential, norm, norm_basis, rules)
    if volume is None or days is None or volume.method not in (Method.AVERAGE, Method.NORM):
        return volume
    active, month = days
    if active >= month:
        return volume
    volume.volumes = tuple(q2(v * active / month) for v in volume.volumes)
    volume.basis["days"] = [active, month]
    return volume


def _find_volume(period, meter_zones, digits, reads, billed, residential, norm, norm_basis, rules) -> Volume | None:
    current = next((r for r in reversed(reads) if r.period == period), None) if meter_zones else None
    earlier = [r for r in reads if r.period < period] if meter_zones else []
    previous = earlier[-1] if earlier else None
    if previous is not None and current is not None and len(previous.values) != len(current.values):
        previous = None  # a different register layout: nothing to measure from
    since = [b for b in billed if previous is not None and previous.period < b.period < period]

    if current is not None and previous is not None:
        actual = _delta(current.values, previous.values, digits)
        basis = {"previous": _read_json(previous), "current": _read_json(current)}
        if not since:
            return Volume(Method.READING, tuple(q2(Decimal(v)) for v in actual), basis)
        volumes = []
        for zone, used in enumerate(actual):
            already = sum((b.volumes[zone] for b in since), ZERO)
            volumes.append(q2(Decimal(used) - already))
        basis["actual"] = [str(v) for v in actual]
        basis["billed"] = [
            {"period": b.period.isoformat(), "method": b.method, "volume": str(sum(b.volumes, ZERO))} for b in since
        ]
        return Volume(Method.RECALCULATION, tuple(volumes), basis)

    if current is None and previous is not None:
        averages = sum(1 for b in since if b.method == Method.AVERAGE)
        limit = rules.max_average_periods if residential else rules.max_average_periods_nonresidential
        if averages < limit:
            found = average_base(earlier, previous, rules)
            if found is not None:
                base, months = found
                used = _delta(previous.values, base.values, digits)
                n = averages + 1
                volumes = []
                for zone_used in used:
                    rate = Decimal(zone_used) / months
                    volumes.append(q2(rate * n) - q2(rate * (n - 1)))
                basis = {
                    "previous": _read_json(previous),
                    "base": _read_json(base),
                    "months": months,
                    "average": str(q2(Decimal(sum(used)) / months)),
                    "nth": n,
                }
                return Volume(Method.AVERAGE, tuple(volumes), basis)

    if norm is None:
        return None
    basis = dict(norm_basis or {})
    if current is not None:
        basis["current"] = _read_json(current)
        basis["first_reading"] = True
    elif previous is not None:
        basis["previous"] = _read_json(previous)
    return Volume(Method.NORM, (q2(norm),), basis)
