"""Pricing a month's volume as pure functions: the tariffs in force (pro rata by days when a period spans a change),
volume ranges (marginal), zones. No database here: ``config.py`` turns tariff rows into ``Term``s.

- A period spanning a tariff change is split by days: each zone's volume × days of the part / days of the month
  (rounded to 0.01; the last part takes the remainder, so the parts add up to the volume exactly). The range limits
  of a part are scaled by the same share: with equal limits this is the same as splitting the month's ranges.
- Ranges are marginal: the part of the volume inside each range at that range's price. A zone-metered volume is
  split across the ranges proportionally by zone (DOMAIN: the default of an open question), rounded so that both
  each zone's and each range's volumes add up exactly.
- A negative volume (a recalculation credit) or one with a negative zone is not split by ranges: range 1 prices.
- Every line is rounded half up to kopecks; the amount is the sum of the lines.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
ZERO = Decimal("0.00")


class PricingError(Exception):
    """A tariff lacks a price the volume needs: the contract cannot be priced (reported by the run)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


def q2(value: Decimal) -> Decimal:
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Term:
    """A tariff in force on days ``starts``..``ends`` (inclusive) of a period."""

    tariff_id: int
    starts: dt.date
    ends: dt.date
    limits: tuple[Decimal, ...]  # monthly upper bounds of ranges 1 and 2 (0, 1 or 2 of them)
    prices: Mapping[tuple[int, int], Decimal]  # (zone, range) → price per unit

    @property
    def days(self) -> int:
        return (self.ends - self.starts).days + 1


@dataclass(frozen=True)
class Priced:
    amount: Decimal
    lines: list[dict]
    range_volumes: tuple[Decimal, Decimal, Decimal]


def split_by_shares(total: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """``total`` split in proportion to ``weights``, each part rounded to 0.01, the last taking the remainder."""
    whole = sum(weights)
    parts = [q2(total * w / whole) for w in weights[:-1]]
    parts.append(total - sum(parts, ZERO))
    return parts


def range_bounds(volume: Decimal, limits: Sequence[Decimal]) -> list[Decimal]:
    """Cumulative volume at the end of each range that the volume reaches: 4500 over (3900, 6000) → [3900, 4500]."""
    bounds = []
    for limit in limits:
        if volume <= limit:
            break
        bounds.append(limit)
    bounds.append(volume)
    return bounds


def split_ranges(zone_volumes: Sequence[Decimal], limits: Sequence[Decimal]) -> list[list[Decimal]]:
    """Each zone's volume split over the ranges: ``cells[zone][range]``, marginal, proportional by zone.

    Two-way rounding: the cumulative volume of zones ≤ z within ranges ≤ j is rounded, and cells are its
    differences, so rows add up to the zone volumes and columns to the range volumes exactly. A cell can only come
    out negative when its exact value is under 0.015; then each zone is rounded on its own (rows stay exact)."""
    total = sum(zone_volumes, ZERO)
    if total <= 0 or any(v < 0 for v in zone_volumes) or not limits:
        return [[v] for v in zone_volumes]
    bounds = range_bounds(total, limits)
    if len(bounds) == 1:
        return [[v] for v in zone_volumes]
    if len(zone_volumes) == 1:
        previous = ZERO
        cells = []
        for bound in bounds:
            cells.append(bound - previous)
            previous = bound
        return [cells]
    cumulative_zones = []
    running = ZERO
    for volume in zone_volumes:
        running += volume
        cumulative_zones.append(running)

    def grid(z: int, j: int) -> Decimal:
        if z < 0 or j < 0:
            return ZERO
        return q2(bounds[j] * cumulative_zones[z] / total)

    cells = [
        [grid(z, j) - grid(z - 1, j) - grid(z, j - 1) + grid(z - 1, j - 1) for j in range(len(bounds))]
        for z in range(len(zone_volumes))
    ]
    if all(cell >= 0 for row in cells for cell in row):
        return cells
    rows = []
    for volume in zone_volumes:
        row, before = [], ZERO
        for bound in bounds:
            upto = q2(bound * volume / total)
            row.append(upto - before)
            before = upto
        rows.append(row)
    return rows


def price_volume(zone_volumes: Sequence[Decimal], terms: Sequence[Term], *, month_days: int) -> Priced:
    """Price per-zone volumes of a month under the tariff terms covering it (in date order)."""
    if not terms:
        raise PricingError("no_tariff")
    if len(terms) == 1:
        fast = _one_range(zone_volumes, terms[0])
        if fast is not None:
            return fast
    prorated = len(terms) > 1
    if prorated:
        weights = [term.days for term in terms]
        per_zone = [split_by_shares(volume, weights) for volume in zone_volumes]
        parts = [[per_zone[z][k] for z in range(len(zone_volumes))] for k in range(len(terms))]
    else:
        parts = [list(zone_volumes)]
    lines: list[dict] = []
    amount = ZERO
    ranges = [ZERO, ZERO, ZERO]
    for term, volumes in zip(terms, parts, strict=True):
        limits = term.limits
        if prorated and limits:
            limits = tuple(q2(limit * term.days / month_days) for limit in limits)
        for zone, row in enumerate(split_ranges(volumes, limits), start=1):
            for range_no, volume in enumerate(row, start=1):
                if not volume:
                    continue
                price = term.prices.get((zone, range_no))
                if price is None:
                    raise PricingError("no_price", f"{term.tariff_id}:{zone}:{range_no}")
                cost = q2(volume * price)
                amount += cost
                ranges[range_no - 1] += volume
                line = {
                    "zone": zone,
                    "range": range_no,
                    "volume": str(volume),
                    "price": str(price),
                    "amount": str(cost),
                    "tariff": term.tariff_id,
                }
                if prorated:
                    line["from"], line["to"] = term.starts.isoformat(), term.ends.isoformat()
                lines.append(line)
    return Priced(amount, lines, (ranges[0], ranges[1], ranges[2]))


def _one_range(zone_volumes: Sequence[Decimal], term: Term) -> Priced | None:
    """The common case, priced without the general machinery: one tariff for the month and a volume inside its
    first range (or a credit). None when the general path is needed."""
    total = sum(zone_volumes, ZERO)
    if term.limits and total > term.limits[0] and all(v >= 0 for v in zone_volumes):
        return None
    lines, amount = [], ZERO
    for zone, volume in enumerate(zone_volumes, start=1):
        if not volume:
            continue
        price = term.prices.get((zone, 1))
        if price is None:
            raise PricingError("no_price", f"{term.tariff_id}:{zone}:1")
        cost = q2(volume * price)
        amount += cost
        lines.append(
            {"zone": zone, "range": 1, "volume": str(volume), "price": str(price), "amount": str(cost),
             "tariff": term.tariff_id}
        )  # fmt: skip
    return Priced(amount, lines, (total, ZERO, ZERO))
