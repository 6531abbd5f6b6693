"""A branch's billing configuration for one period, read once: tariff terms, norms, due days, key rates, moratoria,
zone hours and bill settings. The run and the previews look things up here in memory, never row by row."""

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from sbyt.customers.models import Customer, Premises

from .models import (
    BillingSettings,
    ConsumptionNorm,
    DueDay,
    KeyRate,
    PenaltyMoratorium,
    Tariff,
    TariffGroup,
    ZoneHours,
)
from .penalties import BUSINESS, HOUSEHOLD, Moratorium, Rates, Scale, due_date
from .pricing import Term

# Zone hours when a branch has none of its own (DOMAIN: local time, start inclusive, end exclusive).
DEFAULT_ZONE_HOURS = {
    2: ((1, dt.time(7), dt.time(23)), (2, dt.time(23), dt.time(7))),
    3: (
        (1, dt.time(7), dt.time(10)),
        (1, dt.time(17), dt.time(21)),
        (2, dt.time(10), dt.time(17)),
        (2, dt.time(21), dt.time(23)),
        (3, dt.time(23), dt.time(7)),
    ),
}


def period_end(period: dt.date) -> dt.date:
    return period.replace(day=calendar.monthrange(period.year, period.month)[1])


def tariff_group(
    *, customer_kind: str, is_residential: bool, settlement: str, stove_type: str, override: str | None = None
) -> str:
    """The tariff group a contract is priced in: set by hand, or implied by the customer and the premises."""
    if override:
        return override
    if customer_kind != Customer.Kind.PERSON or not is_residential:
        return TariffGroup.OTHER
    if settlement == Premises.Settlement.RURAL:
        return TariffGroup.RURAL
    if stove_type == Premises.StoveType.ELECTRIC:
        return TariffGroup.URBAN_ELECTRIC
    return TariffGroup.URBAN_GAS


def payer_of(customer_kind: str) -> str:
    return DueDay.Payer.HOUSEHOLD if customer_kind == Customer.Kind.PERSON else DueDay.Payer.BUSINESS


def scale_of(customer_kind: str) -> Scale:
    return HOUSEHOLD if customer_kind == Customer.Kind.PERSON else BUSINESS


def load_rates() -> Rates:
    return Rates(
        list(KeyRate.objects.values_list("valid_from", "rate")),
        [
            Moratorium(m.starts, m.ends, m.kind, m.cap_rate, m.mode)
            for m in PenaltyMoratorium.objects.all().order_by("starts")
        ],
    )


def load_due_days() -> dict[str, list[tuple[dt.date, int]]]:
    due_days: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for payer, valid_from, day in DueDay.objects.values_list("payer", "valid_from", "day"):
        due_days[payer].append((valid_from, day))
    return due_days


@dataclass(frozen=True)
class NormRow:
    stove_type: str
    rooms: int
    residents: int
    per_person: Decimal


class BranchConfig:
    """Everything the billing of one branch for one period looks up."""

    def __init__(self, branch, period: dt.date):
        self.branch = branch
        self.period = period
        self.end = period_end(period)
        self.month_days = self.end.day
        self._terms: dict[tuple[str, str, int], list[Term] | None] = {}
        self._norm_cache: dict[tuple, Decimal | None] = {}
        tariffs = (
            Tariff.objects.filter(branch=branch, valid_from__lte=self.end)
            .exclude(valid_to__lt=period)
            .prefetch_related("prices")
            .order_by("valid_from")
        )
        self._tariffs: dict[tuple[str, str, int], list[Tariff]] = defaultdict(list)
        for tariff in tariffs:
            self._tariffs[(tariff.resource, tariff.group, tariff.zones)].append(tariff)
        self._norms: dict[str, list[NormRow]] = defaultdict(list)
        norms = ConsumptionNorm.objects.filter(branch=branch, valid_from__lte=period).exclude(valid_to__lt=period)
        latest: dict[tuple, tuple[dt.date, Decimal]] = {}
        for norm in norms:
            key = (norm.resource, norm.stove_type, norm.rooms, norm.residents)
            if key not in latest or latest[key][0] < norm.valid_from:
                latest[key] = (norm.valid_from, norm.per_person)
        for (resource, stove, rooms, residents), (_valid_from, per_person) in latest.items():
            self._norms[resource].append(NormRow(stove, rooms, residents, per_person))
        self.due_days = load_due_days()
        self.rates = load_rates()
        self.settings = BillingSettings.objects.filter(branch=branch).first()

    # -- tariffs ---------------------------------------------------------------------------------------------

    def terms(self, resource: str, group: str, zones: int) -> list[Term] | None:
        """The tariff terms covering every day of the period, in date order; None if some day has no tariff.
        A group's own tariff comes first; a tariff for all groups («все группы») serves the others."""
        key = (resource, group, zones)
        if key not in self._terms:
            found = self._cover(self._tariffs.get(key, []))
            if found is None and group != TariffGroup.ANY:
                found = self._cover(self._tariffs.get((resource, TariffGroup.ANY, zones), []))
            self._terms[key] = found
        return self._terms[key]

    def _cover(self, tariffs: list[Tariff]) -> list[Term] | None:
        if not tariffs:
            return None
        terms: list[Term] = []
        day = self.period
        while day <= self.end:
            # The latest-starting tariff in force on ``day`` wins (a new order supersedes an open-ended old one).
            current = None
            for tariff in tariffs:
                if tariff.valid_from <= day and (tariff.valid_to is None or tariff.valid_to >= day):
                    current = tariff
            if current is None:
                return None
            ends = self.end if current.valid_to is None else min(self.end, current.valid_to)
            following = [t.valid_from for t in tariffs if day < t.valid_from <= ends]
            if following:
                ends = min(following) - dt.timedelta(days=1)
            limits = tuple(x for x in (current.range1_upto, current.range2_upto) if x is not None)
            prices = {(p.zone, p.range_no): p.price for p in current.prices.all()}
            terms.append(Term(current.pk, day, ends, limits, prices))
            day = ends + dt.timedelta(days=1)
        return terms

    # -- norms -----------------------------------------------------------------------------------------------

    def norm_per_person(self, resource: str, *, stove_type: str, rooms: int, residents: int) -> Decimal | None:
        key = (resource, stove_type, rooms, residents)
        if key in self._norm_cache:
            return self._norm_cache[key]
        rows = [r for r in self._norms.get(resource, []) if r.stove_type in ("", stove_type)]
        best = None
        if rows:
            top_rooms = max(r.rooms for r in rows)
            top_residents = max(r.residents for r in rows)
            want_rooms = min(rooms, top_rooms) if top_rooms else 0
            want_residents = min(residents, top_residents) if top_residents else 0
            candidates = [r for r in rows if r.rooms in (0, want_rooms) and r.residents in (0, want_residents)]
            if candidates:
                best = max(candidates, key=lambda r: (r.stove_type != "", r.rooms != 0, r.residents != 0)).per_person
        self._norm_cache[key] = best
        return best

    def norm_volume(
        self, resource: str, *, is_residential: bool, stove_type: str, rooms: int, residents: int
    ) -> tuple[Decimal, dict] | tuple[None, None]:
        """The month's norm volume: residents (at least 1) × the norm per person, and what it was made of."""
        if not is_residential:
            return None, None
        people = max(residents, 1)
        per_person = self.norm_per_person(resource, stove_type=stove_type, rooms=rooms, residents=people)
        if per_person is None:
            return None, None
        return per_person * people, {"residents": people, "per_person": str(per_person)}

    # -- dues ------------------------------------------------------------------------------------------------

    def due_date(self, period: dt.date, customer_kind: str) -> dt.date:
        return due_date(period, self.due_days.get(payer_of(customer_kind), []))

    @cached_property
    def zone_hours(self) -> dict[int, list[tuple[int, dt.time, dt.time]]]:
        rows = ZoneHours.objects.filter(branch=self.branch, valid_from__lte=self.end).exclude(valid_to__lt=self.period)
        hours: dict[int, list[tuple[int, dt.time, dt.time]]] = defaultdict(list)
        for row in rows.order_by("zones", "zone", "starts"):
            hours[row.zones].append((row.zone, row.starts, row.ends))
        for zones, default in DEFAULT_ZONE_HOURS.items():
            hours.setdefault(zones, list(default))
        return dict(hours)


def zone_of(moment: dt.time, intervals) -> int | None:
    """The zone a local time falls in, from (zone, starts, ends) intervals (start inclusive, end exclusive)."""
    for zone, starts, ends in intervals:
        if starts < ends:
            if starts <= moment < ends:
                return zone
        elif moment >= starts or moment < ends:
            return zone
    return None
