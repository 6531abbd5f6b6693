"""The office directory: loading it from its data file (a service) and the reads the public pages share.

The data file (``data/offices.json``, built from the standards' appendices by ``data/build_offices_json.py``)
lists branches with their offices, hours and functions and the contact centre's hours. ``load_directory`` makes
the database match it by codes: a second run with the same file changes nothing. Rows an administrator owns
are left alone: an existing branch, an office's queue and appointment settings, windows, staff, coordinates
and whether it is active. Offices missing from the file are removed only with ``prune=True``, and an office
that has tickets, appointments or complaint entries is then deactivated, never deleted.
"""

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, NotFound
from sbyt.core.timezones import is_valid_time_zone
from sbyt.customers.models import Branch

from . import hours as hours_rules
from .models import Office, OfficeFunction, OfficeHours, Service

BUNDLED_FILE = Path(__file__).resolve().parent / "data" / "offices.json"
CODE = re.compile(r"^[-a-zA-Z0-9_]+$")
MAX_PROBLEMS = 10
OFFICE_FIELDS = (
    "name", "town", "address", "postcode", "phones", "email", "serves_households", "serves_businesses", "note",
)  # fmt: skip


@dataclass
class LoadResult:
    """What ``load_directory`` did, by code."""

    branches_created: list[str] = field(default_factory=list)
    branches_existing: list[str] = field(default_factory=list)
    functions_created: list[str] = field(default_factory=list)
    offices_created: list[str] = field(default_factory=list)
    offices_updated: list[str] = field(default_factory=list)
    offices_unchanged: list[str] = field(default_factory=list)
    offices_deleted: list[str] = field(default_factory=list)
    offices_deactivated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.branches_created
            or self.functions_created
            or self.offices_created
            or self.offices_updated
            or self.offices_deleted
            or self.offices_deactivated
        )


# --- reading and checking the file ------------------------------------------------------------------------


def read_directory_file(path: Path | str | None = None) -> dict:
    """The parsed data file (the bundled one by default); an unreadable or non-JSON file is a DomainError."""
    path = Path(path) if path else BUNDLED_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DomainError(_("Cannot read the directory file %(path)s: %(error)s") % {"path": path, "error": error})
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DomainError(
            _("The directory file %(path)s is not valid JSON (line %(line)s): %(error)s")
            % {"path": path, "line": error.lineno, "error": error.msg}
        )


def directory_problems(data) -> list[str]:
    """Everything wrong with a directory's data, in words an administrator can act on (empty when it is fine)."""
    if not isinstance(data, dict) or not isinstance(data.get("branches"), list) or not data["branches"]:
        return [_("The file must be a JSON object with a non-empty list «branches».")]
    problems: list[str] = []
    function_codes = {f.get("code") for f in data.get("functions", []) if isinstance(f, dict)}
    for item in data.get("functions", []):
        if not isinstance(item, dict) or not _is_code(item.get("code"), 32) or not _text(item.get("name")):
            problems.append(_("Function %(item)s: a code and a name are needed.") % {"item": _short(item)})
    known_functions = function_codes | set(OfficeFunction.objects.values_list("code", flat=True))
    seen: set[str] = set()
    for index, branch in enumerate(data["branches"], start=1):
        if not isinstance(branch, dict) or not _text(branch.get("code")) or not _text(branch.get("name")):
            problems.append(_("Branch no. %(index)s: a code and a name are needed.") % {"index": index})
            continue
        where = _("branch %(code)s") % {"code": branch["code"]}
        if len(branch["code"]) > 16:
            problems.append(_("%(where)s: the code is longer than 16 characters.") % {"where": where})
        if not is_valid_time_zone(str(branch.get("time_zone", ""))):
            problems.append(
                _("%(where)s: unknown time zone «%(zone)s».") % {"where": where, "zone": branch.get("time_zone")}
            )
        centre = branch.get("contact_centre") or {}
        problems += [f"{where}: {p}" for p in _hours_problems(centre.get("hours", {}))]
        problems += [f"{where}: {p}" for p in _phones_problems(centre.get("phones", []))]
        offices = branch.get("offices", [])
        if not isinstance(offices, list):
            problems.append(_("%(where)s: «offices» must be a list.") % {"where": where})
            continue
        for office in offices:
            problems += _office_problems(office, seen, known_functions)
    return problems


def _office_problems(office, seen: set[str], known_functions: set[str]) -> list[str]:
    if not isinstance(office, dict) or not _is_code(office.get("code"), 64):
        return [_("Office %(item)s: the code must be letters, digits and dashes.") % {"item": _short(office)}]
    code = office["code"]
    where = _("office %(code)s") % {"code": code}
    problems = []
    if code in seen:
        problems.append(_("%(where)s: the code is repeated.") % {"where": where})
    seen.add(code)
    if not all(_text(office.get(key)) for key in ("name", "town", "address")):
        problems.append(_("%(where)s: a name, a town and an address are needed.") % {"where": where})
    if not re.fullmatch(r"(\d{6})?", str(office.get("postcode", ""))):
        problems.append(_("%(where)s: the postcode must be 6 digits.") % {"where": where})
    if office.get("email"):
        try:
            validate_email(office["email"])
        except ValidationError:
            problems.append(_("%(where)s: bad e-mail «%(email)s».") % {"where": where, "email": office["email"]})
    problems += [f"{where}: {p}" for p in _phones_problems(office.get("phones", []))]
    if not office.get("hours"):
        problems.append(_("%(where)s: no opening hours.") % {"where": where})
    problems += [f"{where}: {p}" for p in _hours_problems(office.get("hours", {}))]
    for function in office.get("functions", []):
        if function not in known_functions:
            problems.append(_("%(where)s: unknown function «%(code)s».") % {"where": where, "code": function})
    for key in ("serves_households", "serves_businesses"):
        if key in office and not isinstance(office[key], bool):
            problems.append(_("%(where)s: «%(key)s» must be true or false.") % {"where": where, "key": key})
    return problems


def _hours_problems(days) -> list[str]:
    if not isinstance(days, dict):
        return [_("the hours must be an object of weekdays.")]
    problems = []
    for name, spec in days.items():
        if name not in hours_rules.WEEKDAY_KEYS:
            problems.append(_("unknown weekday «%(day)s» (mon…sun).") % {"day": name})
            continue
        try:
            (hours,) = hours_rules.weekly_from_data({name: spec}).values()
        except (TypeError, KeyError, ValueError, AttributeError, IndexError):
            problems.append(_("%(day)s: times must be «HH:MM».") % {"day": name})
            continue
        if hours.opens >= hours.closes:
            problems.append(_("%(day)s: opens after it closes.") % {"day": name})
        elif (hours.break_starts is None) != (hours.break_ends is None) or (
            hours.has_break and not hours.opens < hours.break_starts < hours.break_ends < hours.closes
        ):
            problems.append(_("%(day)s: the break must lie inside the opening hours.") % {"day": name})
    return problems


def _phones_problems(phones) -> list[str]:
    if not isinstance(phones, list) or not all(isinstance(p, dict) and _text(p.get("number")) for p in phones):
        return [_("phones must be a list of {number, label}.")]
    return []


def _is_code(value, length: int) -> bool:
    return isinstance(value, str) and len(value) <= length and bool(CODE.match(value))


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _short(value) -> str:
    return json.dumps(value, ensure_ascii=False)[:80]


# --- the service ---------------------------------------------------------------------------------------------


def load_directory(data: dict, *, actor, prune: bool = False) -> LoadResult:
    """Make branches, office functions, offices, their hours and functions match ``data`` (see the module's
    docstring). A file with any problem is refused whole: nothing is written."""
    problems = directory_problems(data)
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        if more > 0:
            shown += " " + _("(and %(count)s more)") % {"count": more}
        raise DomainError(_("The office directory was not loaded: %(problems)s") % {"problems": shown})
    result = LoadResult()
    with transaction.atomic():
        functions = _load_functions(data.get("functions", []), result)
        for branch_data in data["branches"]:
            branch = _load_branch(branch_data, result)
            for office_data in branch_data.get("offices", []):
                _load_office(branch, office_data, functions, result)
            if prune:
                _prune(branch, {o["code"] for o in branch_data.get("offices", [])}, result)
        if result.changed:
            audit(
                actor,
                "offices.directory_loaded",
                None,
                branches_created=result.branches_created,
                offices_created=result.offices_created,
                offices_updated=result.offices_updated,
                offices_deleted=result.offices_deleted,
                offices_deactivated=result.offices_deactivated,
                functions_created=result.functions_created,
            )
    bundled_directory.cache_clear()
    return result


def _load_functions(items: list[dict], result: LoadResult) -> dict[str, OfficeFunction]:
    for item in items:
        function, created = OfficeFunction.objects.get_or_create(code=item["code"], defaults={"name": item["name"]})
        if created:
            result.functions_created.append(function.code)
        elif function.name != item["name"]:
            function.name = item["name"]
            function.save(update_fields=["name"])
    return {f.code: f for f in OfficeFunction.objects.all()}


def _load_branch(data: dict, result: LoadResult) -> Branch:
    phones = ", ".join(p["number"] for p in (data.get("contact_centre") or {}).get("phones", []))
    branch, created = Branch.objects.get_or_create(
        code=data["code"],
        defaults={"name": data["name"], "time_zone": data["time_zone"], "contact_phones": phones[:200]},
    )
    (result.branches_created if created else result.branches_existing).append(branch.code)
    return branch


def phones_text(phones: list[dict]) -> str:
    """[{"number", "label"}] → the office's phones field: one per line, «+7 (815 2) 69-23-07 — договорный отдел»."""
    return "\n".join(f"{p['number']} — {p['label']}" if p.get("label") else p["number"] for p in phones)


def _load_office(branch: Branch, data: dict, functions: dict[str, OfficeFunction], result: LoadResult) -> None:
    wanted = {
        "name": data["name"].strip(),
        "town": data["town"].strip(),
        "address": data["address"].strip(),
        "postcode": data.get("postcode", ""),
        "phones": phones_text(data.get("phones", [])),
        "email": data.get("email", ""),
        "serves_households": data.get("serves_households", True),
        "serves_businesses": data.get("serves_businesses", False),
        "note": data.get("note", ""),
    }
    office = Office.objects.filter(code=data["code"]).first()
    if office is None:
        office = Office.objects.create(branch=branch, code=data["code"], **wanted)
        result.offices_created.append(office.code)
        changed = True
    else:
        changed_fields = [name for name in OFFICE_FIELDS if getattr(office, name) != wanted[name]]
        if office.branch_id != branch.pk:
            office.branch = branch
            changed_fields.append("branch")
        for name in changed_fields:
            if name != "branch":
                setattr(office, name, wanted[name])
        if changed_fields:
            office.save(update_fields=changed_fields)
        changed = bool(changed_fields)
    changed |= _set_hours(office, hours_rules.weekly_from_data(data.get("hours", {})))
    wanted_functions = {functions[code].pk for code in data.get("functions", [])}
    if set(office.functions.values_list("pk", flat=True)) != wanted_functions:
        office.functions.set(wanted_functions)
        changed = True
    if office.code not in result.offices_created:
        (result.offices_updated if changed else result.offices_unchanged).append(office.code)


def _set_hours(office: Office, weekly: dict[int, hours_rules.Hours]) -> bool:
    current = {
        h.weekday: hours_rules.Hours(h.opens, h.closes, h.break_starts, h.break_ends) for h in office.hours.all()
    }
    if current == weekly:
        return False
    office.hours.all().delete()
    OfficeHours.objects.bulk_create(
        OfficeHours(
            office=office,
            weekday=weekday,
            opens=h.opens,
            closes=h.closes,
            break_starts=h.break_starts,
            break_ends=h.break_ends,
        )
        for weekday, h in sorted(weekly.items())
    )
    return True


def _prune(branch: Branch, keep: set[str], result: LoadResult) -> None:
    for office in Office.objects.filter(branch=branch).exclude(code__in=keep):
        if has_history(office):
            if office.is_active:
                office.is_active = False
                office.save(update_fields=["is_active"])
                result.offices_deactivated.append(office.code)
        else:
            result.offices_deleted.append(office.code)
            office.delete()


def has_history(office: Office) -> bool:
    """Tickets, appointments, complaint entries or video specialists refer to it: deactivate, never delete."""
    return (
        office.tickets.exists()
        or office.appointments.exists()
        or office.complaint_entries.exists()
        or office.video_specialists.exists()
    )


# --- reads ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def bundled_directory() -> dict:
    """The bundled data file, parsed once (its contact-centre hours have no table: the pages read them here)."""
    return read_directory_file(BUNDLED_FILE)


def active_offices():
    return (
        Office.objects.filter(is_active=True)
        .select_related("branch")
        .prefetch_related("hours", "special_days", "functions")
        .order_by("town", "name", "code")
    )


def search_offices(
    *, town: str = "", function: str = "", open_now: bool = False, now: dt.datetime | None = None, branch=None
) -> list[Office]:
    """Active offices whose town (or address) contains ``town`` (any case), doing ``function`` (a code), open at
    ``now`` if ``open_now``. Each office comes with ``office.status`` (``hours.Status`` at ``now``)."""
    now = now or timezone.now()
    offices = active_offices()
    if function:
        offices = offices.filter(functions__code=function)
    if branch is not None:
        offices = offices.filter(branch=branch)
    needle = " ".join(town.split()).casefold()
    found = []
    for office in offices:
        if needle and needle not in office.town.casefold() and needle not in office.address.casefold():
            continue
        office.status = hours_rules.status(hours_rules.schedule_for(office), now)
        if open_now and not office.status.is_open:
            continue
        found.append(office)
    return found


def office_by_code(code: str) -> Office:
    """An active office with its branch, hours, special days and functions; NotFound if none."""
    office = active_offices().filter(code=code).first()
    if office is None:
        raise NotFound(_("No such office."))
    return office


def towns() -> list[str]:
    """Towns with an active office, for the search's suggestions."""
    return sorted(set(Office.objects.filter(is_active=True).values_list("town", flat=True)))


def functions_in_use():
    return OfficeFunction.objects.filter(offices__is_active=True).distinct().order_by("name")


def queue_services(office: Office):
    """Services of the office's electronic queue (those its active windows serve), if it has one."""
    if not office.has_queue:
        return Service.objects.none()
    return (
        Service.objects.filter(is_active=True, windows__office=office, windows__is_active=True)
        .distinct()
        .order_by("order", "name")
    )


def phone_lines(office: Office) -> list[tuple[str, str]]:
    """The office's phones as (number, label) pairs, from its one-per-line field."""
    pairs = []
    for line in office.phones.splitlines():
        number, _sep, label = line.partition(" — ")
        if number.strip():
            pairs.append((number.strip(), label.strip()))
    return pairs


@dataclass(frozen=True)
class ContactCentre:
    """A branch's contact centre: numbers and weekly hours (local time of the branch)."""

    phones: list[tuple[str, str]]
    schedule: hours_rules.Schedule


def contact_centre(branch: Branch) -> ContactCentre:
    """The branch's contact-centre hours and numbers: the branch's entry of the bundled file, else the file's
    defaults (CC-1: 8:00–20:00 on working days, 9:00–14:00 on Saturday); numbers from the branch row first."""
    data = bundled_directory()
    entry = next((b for b in data.get("branches", []) if b.get("code") == branch.code), None)
    centre = (entry or {}).get("contact_centre") or data.get("defaults", {}).get("contact_centre", {})
    labelled = [(p["number"], p.get("label", "")) for p in centre.get("phones", [])]
    if branch.phones:
        labels = dict(labelled)
        labelled = [(number, labels.get(number, "")) for number in branch.phones]
    weekly = hours_rules.weekly_from_data(centre.get("hours", {}))
    return ContactCentre(labelled, hours_rules.Schedule(time_zone=branch.time_zone, weekly=weekly))


def branch_contacts(branch: Branch) -> dict:
    """The branch's published contacts from the bundled file (postal address, e-mail, site, chat-bot…)."""
    entry = next((b for b in bundled_directory().get("branches", []) if b.get("code") == branch.code), None)
    return (entry or {}).get("contacts", {})
