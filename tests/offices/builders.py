"""One builder for an office with hours and windows, shared by the offices tests."""

import datetime as dt

from django.contrib.auth.models import Group

from sbyt.customers.models import Branch
from sbyt.offices.models import Office, OfficeHours, Service, Window
from sbyt.users.models import User

WORKDAY = (dt.time(9), dt.time(18), dt.time(13), dt.time(14))


def make_office(
    *,
    code: str = "syk-central",
    branch_code: str = "11",
    time_zone: str = "Europe/Moscow",
    windows: int = 3,
    services: tuple[str, ...] = ("consultation", "cash", "consultation_cash"),
    hours: dict[int, tuple] | None = None,
    **fields,
) -> Office:
    """An office open Mon–Fri 9:00–18:00 with a 13:00–14:00 break (or ``hours``: weekday → (opens, closes,
    break_starts, break_ends)), with ``windows`` windows serving ``services``."""
    branch, _ = Branch.objects.get_or_create(
        code=branch_code, defaults={"name": f"Филиал {branch_code}", "time_zone": time_zone}
    )
    defaults = {
        "name": "Центральный офис обслуживания",
        "town": "Сыктывкар",
        "address": "г. Сыктывкар, ул. Первомайская, д. 70",
        "phones": "+7 (8212) 28-99-99",
        "has_queue": True,
        "accepts_appointments": True,
    }
    defaults.update(fields)
    office = Office.objects.create(branch=branch, code=code, **defaults)
    for weekday, (opens, closes, break_starts, break_ends) in (hours or dict.fromkeys(range(5), WORKDAY)).items():
        OfficeHours.objects.create(
            office=office,
            weekday=weekday,
            opens=opens,
            closes=closes,
            break_starts=break_starts,
            break_ends=break_ends,
        )
    chosen = list(Service.objects.filter(code__in=services))
    for number in range(1, windows + 1):
        window = Window.objects.create(office=office, number=number)
        window.services.set(chosen)
    return office


def make_staff(username: str, role: str = "Специалист офиса", **fields) -> User:
    user = User.objects.create_user(username=username, password="пароль-сотрудника-1", is_staff=True, **fields)
    user.groups.add(Group.objects.get(name=role))
    return user
