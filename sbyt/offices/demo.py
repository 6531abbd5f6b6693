"""Demo offices: the directory from the bundled file, plus one queue office per demo branch with windows, hours
and two staff logins (an office specialist and an office head). Called by ``manage.py seed_demo``.

A development tool like ``customers.demo``: idempotent (matched by codes and usernames), it never changes a
password that already exists."""

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from sbyt.customers.demo import BRANCHES, STAFF_PASSWORD
from sbyt.customers.models import Branch
from sbyt.users.models import User

from .directory import LoadResult, load_directory, read_directory_file
from .models import Office, OfficeFunction, OfficeHours, Service, Window

SPECIALIST_ROLE = "Специалист офиса"
HEAD_ROLE = "Руководитель офиса"
T = dt.time

# One queue office per demo branch (codes of sbyt.customers.demo.BRANCHES).
DEMO_OFFICES = {
    "11": {
        "code": "syk-demo",
        "name": "Центр обслуживания клиентов (демо)",
        "town": "Сыктывкар",
        "postcode": "167000",
        "address": "г. Сыктывкар, ул. Первомайская, д. 70",
        "phones": "8-800-200-83-81 — контакт-центр",
        "windows": 5,
    },
    "18": {
        "code": "izh-demo",
        "name": "Центр обслуживания клиентов (демо)",
        "town": "Ижевск",
        "postcode": "426063",
        "address": "г. Ижевск, ул. Орджоникидзе, д. 52-а",
        "phones": "8-800-700-10-32 — для физических лиц\n8-800-600-03-90 — для юридических лиц",
        "email": "udm@esplus.ru",
        "windows": 6,
    },
}
# Monday–Friday 8:00–20:00 with a lunch break (the hall stays open: breaks are staggered per window), Saturday
# 10:00–15:00: long enough to try the kiosk, the hall and the booking on most evenings.
DEMO_HOURS = {
    **{day: (T(8), T(20), T(13), T(14)) for day in range(5)},
    5: (T(10), T(15), None, None),
}
DEMO_FUNCTIONS = ["households", "businesses", "consultation", "applications", "readings", "payments"]
# Window number → services (codes); the last window of a hall with more than 5 windows is the duty
# administrator's (OFF-4).
WINDOW_SERVICES = {
    1: ["consultation", "consultation_cash"],
    2: ["consultation", "consultation_cash"],
    3: ["cash", "consultation_cash"],
    4: ["cash", "consultation_cash"],
    5: ["consultation", "cash", "consultation_cash"],
    6: ["consultation"],
}
STAFF = [
    ("office", SPECIALIST_ROLE, "специалист офиса (окно, киоск, книга жалоб)"),
    ("office-head", HEAD_ROLE, "руководитель офиса (статистика, предупреждения, книга жалоб)"),
]


@dataclass
class OfficesDemo:
    directory: LoadResult
    offices: list[Office] = field(default_factory=list)
    staff: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, what)


def seed_offices_demo() -> OfficesDemo:
    """Load the bundled directory and make the demo branches' queue offices and office staff."""
    directory = load_directory(read_directory_file(), actor="seed_demo")
    result = OfficesDemo(directory=directory)
    with transaction.atomic():
        specialist, head = _staff(result)
        functions = list(OfficeFunction.objects.filter(code__in=DEMO_FUNCTIONS))
        for spec in BRANCHES:
            branch = Branch.objects.filter(code=spec.code).first()
            if branch is None or spec.code not in DEMO_OFFICES:
                continue
            office = _office(branch, DEMO_OFFICES[spec.code], functions)
            office.staff.add(specialist, head)
            office.managers.add(head)
            result.offices.append(office)
    return result


def _office(branch: Branch, spec: dict, functions: list[OfficeFunction]) -> Office:
    fields = {k: v for k, v in spec.items() if k not in ("code", "windows")}
    office, created = Office.objects.get_or_create(
        code=spec["code"],
        defaults={
            "branch": branch,
            "serves_households": True,
            "serves_businesses": True,
            "has_queue": True,
            "accepts_appointments": True,
            "note": "Демонстрационный офис: электронная очередь и запись на приём.",
            **fields,
        },
    )
    if not created:
        return office
    office.functions.set(functions)
    OfficeHours.objects.bulk_create(
        OfficeHours(office=office, weekday=day, opens=o, closes=c, break_starts=bs, break_ends=be)
        for day, (o, c, bs, be) in DEMO_HOURS.items()
    )
    services = {s.code: s for s in Service.objects.all()}
    for number in range(1, spec["windows"] + 1):
        duty = spec["windows"] > 5 and number == spec["windows"]
        window = Window.objects.create(
            office=office,
            number=number,
            label="Администратор зала" if duty else "",
            is_duty_admin=duty,
        )
        window.services.set([services[code] for code in WINDOW_SERVICES[number] if code in services])
    return office


def _staff(result: OfficesDemo) -> tuple[User, User]:
    users = []
    for username, role, what in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create(username=username, password=make_password(STAFF_PASSWORD), is_staff=True)
            user.groups.add(Group.objects.get(name=role))
            result.staff.append((username, STAFF_PASSWORD, what))
        else:
            result.staff.append((username, "(уже был, пароль не менялся)", what))
        users.append(user)
    return users[0], users[1]


def print_offices_demo(result: OfficesDemo, write) -> None:
    """The lines seed_demo prints about the offices: the directory, the demo offices and the office logins."""
    loaded = result.directory
    write("")
    write(
        f"Справочник офисов: создано {len(loaded.offices_created)}, обновлено {len(loaded.offices_updated)}, "
        f"без изменений {len(loaded.offices_unchanged)} (страница /offices/, контакты /contacts/)."
    )
    for office in result.offices:
        write(f"Офис с очередью {office.code} «{office.name}», {office.address}: /offices/{office.code}/")
    write("Сотрудники офисов — вход /staff/:")
    for username, password, what in result.staff:
        write(f"  {username} / {password} — {what}")
