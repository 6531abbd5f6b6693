"""Tariffs and norms from a table (CSV or XLSX, format in docs/billing.md), all or nothing.

Tariffs: one row per zone of a tariff — the tariff is (branch, resource, group, zones, valid from); its rows give
the zone's price in each volume range. Importing a tariff again replaces its prices; a new tariff closes the
open-ended one it follows (its «valid to» becomes the day before). Norms: one row per (branch, resource, stove
type, rooms, residents, valid from). A file with any bad row changes nothing: every bad row is reported with its
line and reason."""

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError
from sbyt.customers.models import Branch, Premises
from sbyt.customers.services import Table, read_table

from .models import RESOURCE_CHOICES, ConsumptionNorm, Tariff, TariffGroup, TariffPrice

TARIFF_COLUMNS = {
    "branch": ("филиал", "код_филиала"),
    "resource": ("ресурс", "услуга"),
    "group": ("группа", "тарифная_группа"),
    "zones": ("зон", "зон_суток", "число_зон"),
    "zone": ("зона",),
    "valid_from": ("с", "действует_с", "дата_начала"),
    "valid_to": ("по", "действует_по", "дата_окончания"),
    "range1_upto": ("диапазон1_до", "граница1", "range1"),
    "range2_upto": ("диапазон2_до", "граница2", "range2"),
    "price1": ("цена", "цена1", "price"),
    "price2": ("цена2",),
    "price3": ("цена3",),
    "source": ("основание", "приказ"),
}
NORM_COLUMNS = {
    "branch": ("филиал", "код_филиала"),
    "resource": ("ресурс", "услуга"),
    "stove_type": ("плита", "тип_плиты", "stove"),
    "rooms": ("комнат", "число_комнат"),
    "residents": ("проживающих", "число_проживающих", "человек"),
    "per_person": ("норматив", "на_человека", "норматив_на_человека"),
    "valid_from": ("с", "действует_с", "дата_начала"),
    "valid_to": ("по", "действует_по", "дата_окончания"),
    "source": ("основание", "постановление"),
}
RESOURCES = {
    "electricity": ("электроэнергия", "электричество", "ээ"),
    "hot_water": ("горячая_вода", "гвс"),
    "cold_water": ("холодная_вода", "хвс"),
}
GROUPS = {
    TariffGroup.URBAN_GAS: ("город", "городское_население", "газовые_плиты", "город_газ"),
    TariffGroup.URBAN_ELECTRIC: ("электроплиты", "город_электроплиты", "электроотопление"),
    TariffGroup.RURAL: ("село", "сельское_население", "сельская_местность"),
    TariffGroup.EQUATED: ("приравненные", "приравненные_категории"),
    TariffGroup.OTHER: ("прочие", "прочие_потребители"),
    TariffGroup.ANY: ("все", "все_группы", ""),
}
STOVES = {
    Premises.StoveType.GAS: ("газ", "газовая", "газовая_плита"),
    Premises.StoveType.ELECTRIC: ("электро", "электрическая", "электроплита"),
    Premises.StoveType.NONE: ("нет", "нет_плиты", "без_плиты"),
    "": ("любая", "все", ""),
}
ZONE_NAMES = {2: {"день": 1, "ночь": 2}, 3: {"пик": 1, "полупик": 2, "ночь": 3}}
_NORM = re.compile(r"[^0-9a-zа-я]+")


def _norm(text) -> str:
    return _NORM.sub("_", str(text).strip().lower().replace("ё", "е")).strip("_")


def _lookup(table: dict) -> dict[str, str]:
    result = {}
    for value, aliases in table.items():
        for alias in (str(value), *aliases, *(label for v, label in _labels() if v == value)):
            result[_norm(alias)] = value
    return result


def _labels():
    return [*TariffGroup.choices, *RESOURCE_CHOICES, *Premises.StoveType.choices]


@dataclass
class ImportResult:
    source: str
    kind: str  # "tariffs" | "norms"
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: list[str] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Row:
    def __init__(self, line: int, cells: dict[str, str], errors: list):
        self.line, self.cells, self.errors = line, cells, errors

    def error(self, message: str) -> None:
        self.errors.append((self.line, message))

    def text(self, name: str) -> str:
        value = self.cells.get(name, "")
        return value.isoformat() if isinstance(value, dt.date) else str(value).strip()

    def choice(self, name: str, table: dict[str, str], label: str, *, required: bool = True):
        raw = self.text(name)
        if not raw and not required:
            return ""
        value = table.get(_norm(raw))
        if value is None:
            self.error(_("%(column)s: unknown value «%(value)s».") % {"column": label, "value": raw})
        return value

    def date(self, name: str, label: str, *, required: bool = True) -> dt.date | None:
        value = self.cells.get(name, "")
        if isinstance(value, dt.date):
            return value
        raw = str(value).strip()
        if not raw:
            if required:
                self.error(_("%(column)s: the date is missing.") % {"column": label})
            return None
        for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
            try:
                return dt.datetime.strptime(raw, pattern).date()
            except ValueError:
                continue
        self.error(_("%(column)s: «%(value)s» is not a date (DD.MM.YYYY).") % {"column": label, "value": raw})
        return None

    def number(self, name: str, label: str, *, required: bool = True, places: int = 6) -> Decimal | None:
        raw = self.text(name).replace(" ", "").replace("\u00a0", "").replace(",", ".")
        if not raw:
            if required:
                self.error(_("%(column)s: the value is missing.") % {"column": label})
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value < 0 or value != round(value, places):
            self.error(
                _("%(column)s: «%(value)s» is not a non-negative number with at most %(places)s decimals.")
                % {"column": label, "value": raw, "places": places}
            )
            return None
        return value

    def whole(self, name: str, label: str, *, default: int = 0, upto: int = 99) -> int:
        raw = self.text(name)
        if not raw:
            return default
        if not raw.isdigit() or int(raw) > upto:
            self.error(_("%(column)s: «%(value)s» is not a whole number up to %(max)s.") % {
                "column": label, "value": raw, "max": upto,
            })  # fmt: skip
            return default
        return int(raw)


def _columns(table: Table, columns: dict) -> dict[str, int]:
    aliases = {_norm(alias): name for name, names in columns.items() for alias in (name, *names)}
    positions = {}
    for index, title in enumerate(table.header):
        name = aliases.get(_norm(title))
        if name and name not in positions:
            positions[name] = index
    return positions


def _rows(table: Table, columns: dict, required: tuple[str, ...], errors: list) -> list[_Row]:
    positions = _columns(table, columns)
    missing = [name for name in required if name not in positions]
    if missing:
        raise DomainError(_("The table has no columns: %(columns)s (see docs/billing.md).") % {
            "columns": ", ".join(missing)
        })  # fmt: skip
    rows = []
    for line, cells in table.rows:
        values = {name: (cells[i] if i < len(cells) else "") for name, i in positions.items()}
        rows.append(_Row(line, values, errors))
    return rows


def read_tariff_table(path) -> tuple[str, Table]:
    """Read a file and tell which kind it is by its header: tariffs (with prices) or norms (with per-person)."""
    table = read_table(path)
    positions_t = _columns(table, TARIFF_COLUMNS)
    positions_n = _columns(table, NORM_COLUMNS)
    if "price1" in positions_t:
        return "tariffs", table
    if "per_person" in positions_n:
        return "norms", table
    raise DomainError(_("The table has neither a price column nor a norm column (see docs/billing.md)."))


def import_file(path, *, actor, dry_run: bool = False) -> ImportResult:
    kind, table = read_tariff_table(path)
    if kind == "tariffs":
        return import_tariffs(table, actor=actor, dry_run=dry_run)
    return import_norms(table, actor=actor, dry_run=dry_run)


def _branches() -> dict[str, Branch]:
    return {b.code: b for b in Branch.objects.all()}


# ------------------------------------------------------------------------------------------------------ tariffs


@dataclass
class _TariffSpec:
    line: int
    branch: Branch
    resource: str
    group: str
    zones: int
    valid_from: dt.date
    valid_to: dt.date | None
    limits: tuple
    source: str
    prices: dict = field(default_factory=dict)  # (zone, range) → price

    @property
    def key(self):
        return (self.branch.pk, self.resource, self.group, self.zones, self.valid_from)


def import_tariffs(table: Table, *, actor, dry_run: bool = False) -> ImportResult:
    result = ImportResult(table.source, "tariffs")
    errors = result.errors
    rows = _rows(table, TARIFF_COLUMNS, ("branch", "resource", "group", "zones", "valid_from", "price1"), errors)
    result.rows = len(rows)
    branches = _branches()
    resources, groups = _lookup(RESOURCES), _lookup(GROUPS)
    specs: dict[tuple, _TariffSpec] = {}
    for row in rows:
        before = len(errors)
        code = row.text("branch")
        branch = branches.get(code)
        if branch is None:
            row.error(_("Branch: no branch with code «%(code)s».") % {"code": code})
        resource = row.choice("resource", resources, _("Resource"))
        group = row.choice("group", groups, _("Tariff group"))
        zones = row.whole("zones", _("Zones"), default=1, upto=3)
        if zones not in (1, 2, 3):
            row.error(_("Zones: 1, 2 or 3."))
        zone_raw = row.text("zone")
        if not zone_raw:
            zone = 1
        elif zone_raw.isdigit():
            zone = int(zone_raw)
        else:
            zone = ZONE_NAMES.get(zones, {}).get(_norm(zone_raw), 0)
        if not 1 <= zone <= max(zones, 1):
            row.error(_("Zone: «%(value)s» is not a zone of a %(zones)s-zone tariff.") % {
                "value": zone_raw, "zones": zones
            })  # fmt: skip
        valid_from = row.date("valid_from", _("Valid from"))
        valid_to = row.date("valid_to", _("Valid to"), required=False)
        if valid_from and valid_to and valid_to < valid_from:
            row.error(_("Valid to is earlier than valid from."))
        limit1 = row.number("range1_upto", _("Range 1 up to"), required=False, places=2)
        limit2 = row.number("range2_upto", _("Range 2 up to"), required=False, places=2)
        if limit2 is not None and (limit1 is None or limit2 <= limit1):
            row.error(_("Range 2 must end above range 1."))
        limits = tuple(x for x in (limit1, limit2) if x is not None)
        prices = [
            row.number(f"price{n}", _("Price %(n)s") % {"n": n}, required=n <= len(limits) + 1) for n in (1, 2, 3)
        ]
        if resource and resource != "electricity" and zones != 1:
            row.error(_("Water is priced without day zones."))
        if len(errors) > before:
            continue
        spec = _TariffSpec(row.line, branch, resource, group, zones, valid_from, valid_to, limits, row.text("source"))
        known = specs.setdefault(spec.key, spec)
        if (known.valid_to, known.limits) != (spec.valid_to, spec.limits):
            row.error(
                _("The rows of one tariff disagree on «valid to» or the ranges (see line %(line)s).")
                % {"line": known.line}
            )
            continue
        for range_no, price in enumerate(prices[: len(limits) + 1], start=1):
            if (zone, range_no) in known.prices:
                row.error(_("Zone %(zone)s is given twice for this tariff.") % {"zone": zone})
                break
            known.prices[(zone, range_no)] = price
    for spec in specs.values():
        for zone in range(1, spec.zones + 1):
            if (zone, 1) not in spec.prices:
                errors.append((spec.line, _("The tariff has no row for zone %(zone)s.") % {"zone": zone}))
    if errors:
        errors.sort()
        return result
    with transaction.atomic():
        _write_tariffs(specs.values(), result)
        audit(actor, "billing.import_tariffs", None, source=table.source, created=result.created,
              updated=result.updated, unchanged=result.unchanged, dry_run=dry_run)  # fmt: skip
        if dry_run:
            transaction.set_rollback(True)
    return result


def _write_tariffs(specs, result: ImportResult) -> None:
    for spec in sorted(specs, key=lambda s: (s.branch.code, s.resource, s.group, s.zones, s.valid_from)):
        limit1, limit2 = (*spec.limits, None, None)[:2]
        tariff = (
            Tariff.objects.filter(
                branch=spec.branch,
                resource=spec.resource,
                group=spec.group,
                zones=spec.zones,
                valid_from=spec.valid_from,
            )
            .prefetch_related("prices")
            .first()
        )
        wanted = dict(spec.prices.items())
        if tariff is None:
            tariff = Tariff.objects.create(
                branch=spec.branch,
                resource=spec.resource,
                group=spec.group,
                zones=spec.zones,
                valid_from=spec.valid_from,
                valid_to=spec.valid_to,
                range1_upto=limit1,
                range2_upto=limit2,
                source=spec.source,
            )
            result.created += 1
        else:
            current = {(p.zone, p.range_no): p.price for p in tariff.prices.all()}
            same = (tariff.valid_to, tariff.range1_upto, tariff.range2_upto, tariff.source) == (
                spec.valid_to, limit1, limit2, spec.source or tariff.source,
            ) and current == wanted  # fmt: skip
            if same:
                result.unchanged += 1
                continue
            tariff.valid_to, tariff.range1_upto, tariff.range2_upto = spec.valid_to, limit1, limit2
            tariff.source = spec.source or tariff.source
            tariff.save(update_fields=["valid_to", "range1_upto", "range2_upto", "source"])
            tariff.prices.all().delete()
            result.updated += 1
        TariffPrice.objects.bulk_create(
            [TariffPrice(tariff=tariff, zone=z, range_no=r, price=price) for (z, r), price in sorted(wanted.items())]
        )
        earlier = Tariff.objects.filter(
            branch=spec.branch,
            resource=spec.resource,
            group=spec.group,
            zones=spec.zones,
            valid_from__lt=spec.valid_from,
        ).exclude(valid_to__lt=spec.valid_from)
        for old in earlier:
            old.valid_to = spec.valid_from - dt.timedelta(days=1)
            old.save(update_fields=["valid_to"])
            result.closed.append(str(old))


# -------------------------------------------------------------------------------------------------------- norms


def import_norms(table: Table, *, actor, dry_run: bool = False) -> ImportResult:
    result = ImportResult(table.source, "norms")
    errors = result.errors
    rows = _rows(table, NORM_COLUMNS, ("branch", "resource", "per_person"), errors)
    result.rows = len(rows)
    branches = _branches()
    resources, stoves = _lookup(RESOURCES), _lookup(STOVES)
    specs: dict[tuple, tuple] = {}
    for row in rows:
        before = len(errors)
        code = row.text("branch")
        branch = branches.get(code)
        if branch is None:
            row.error(_("Branch: no branch with code «%(code)s».") % {"code": code})
        resource = row.choice("resource", resources, _("Resource"))
        stove = row.choice("stove_type", stoves, _("Stove"), required=False) or ""
        rooms = row.whole("rooms", _("Rooms"))
        residents = row.whole("residents", _("Residents"))
        per_person = row.number("per_person", _("Norm per person"), places=3)
        valid_from = row.date("valid_from", _("Valid from"), required=False) or dt.date(2000, 1, 1)
        valid_to = row.date("valid_to", _("Valid to"), required=False)
        if valid_to and valid_to < valid_from:
            row.error(_("Valid to is earlier than valid from."))
        if len(errors) > before:
            continue
        key = (branch.pk, resource, stove, rooms, residents, valid_from)
        if key in specs:
            row.error(_("The same norm is given twice (see line %(line)s).") % {"line": specs[key][0]})
            continue
        specs[key] = (row.line, branch, per_person, valid_to, row.text("source"))
    if errors:
        errors.sort()
        return result
    with transaction.atomic():
        for (_b, resource, stove, rooms, residents, valid_from), (
            _line,
            branch,
            per_person,
            valid_to,
            source,
        ) in specs.items():
            norm, created = ConsumptionNorm.objects.get_or_create(
                branch=branch,
                resource=resource,
                stove_type=stove,
                rooms=rooms,
                residents=residents,
                valid_from=valid_from,
                defaults={"per_person": per_person, "valid_to": valid_to, "source": source},
            )
            if created:
                result.created += 1
            elif (norm.per_person, norm.valid_to) == (per_person, valid_to):
                result.unchanged += 1
            else:
                norm.per_person, norm.valid_to = per_person, valid_to
                norm.source = source or norm.source
                norm.save(update_fields=["per_person", "valid_to", "source"])
                result.updated += 1
        audit(actor, "billing.import_norms", None, source=table.source, created=result.created,
              updated=result.updated, unchanged=result.unchanged, dry_run=dry_run)  # fmt: skip
        if dry_run:
            transaction.set_rollback(True)
    return result


def tariffs_in_force(branch: Branch, on: dt.date) -> list[Tariff]:
    """The branch's tariffs valid on a day, with their prices (the staff page, the cabinet)."""
    return list(
        Tariff.objects.filter(branch=branch, valid_from__lte=on)
        .exclude(valid_to__lt=on)
        .prefetch_related("prices")
        .order_by("resource", "group", "zones", "-valid_from")
    )


def norms_in_force(branch: Branch, on: dt.date) -> list[ConsumptionNorm]:
    return list(
        ConsumptionNorm.objects.filter(branch=branch, valid_from__lte=on)
        .exclude(valid_to__lt=on)
        .order_by("resource", "stove_type", "rooms", "residents")
    )


def by_group(tariffs: list[Tariff]) -> dict:
    grouped = defaultdict(list)
    for tariff in tariffs:
        grouped[(tariff.resource, tariff.group)].append(tariff)
    return dict(grouped)
