"""``seed_demo``: the demo database — its mix, its history, and the printed logins that work."""

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count

from sbyt.content.models import NewsItem
from sbyt.customers.models import Account, AccountAccess, Branch, Contract, Customer
from sbyt.metering.models import Meter, Reading, ReadingWindow
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    out = io.StringIO()
    call_command("seed_demo", "--accounts", "60", "--seed", "7", stdout=out)
    return out.getvalue()


def section(output: str, title: str) -> str:
    """The title line and the indented lines under it."""
    lines = output[output.index(title) :].splitlines()
    body = [lines[0]]
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        body.append(line)
    return "\n".join(body)


def test_builds_two_branches_with_windows(seeded):
    komi, udm = Branch.objects.filter(code__in=["11", "18"]).order_by("code")
    assert (komi.code, komi.time_zone, komi.contact_phones) == ("11", "Europe/Moscow", "8-800-200-83-81")
    assert "Коми" in komi.name
    assert udm.time_zone != komi.time_zone
    assert komi.accounts.count() > udm.accounts.count() > 0
    for branch in (komi, udm):
        windows = {(w.channel, w.first_day, w.last_day) for w in ReadingWindow.objects.filter(branch=branch)}
        assert windows == {("", 18, 25), ("voice", 18, 20)}


def test_the_expected_mix(seeded):
    assert Account.objects.count() == 60
    electricity = Meter.objects.filter(contract__resource=Contract.Resource.ELECTRICITY)
    zones = dict(electricity.values_list("zones").annotate(n=Count("id")))
    assert set(zones) == {1, 2, 3}
    assert zones[1] > zones[2] > zones[3]
    assert Contract.objects.filter(resource=Contract.Resource.HOT_WATER).exists()
    assert Contract.objects.filter(resource=Contract.Resource.COLD_WATER).exists()
    assert Customer.objects.filter(phone="").exists()
    assert Account.objects.filter(premises__settlement="rural").exists()
    assert Account.objects.filter(premises__settlement="urban").exists()
    assert {c.last_name[-1] for c in Customer.objects.all()} & set("аяо")  # Russian surnames


def test_a_year_of_seasonal_history(seeded):
    for meter in Meter.objects.all():
        periods = list(meter.readings.order_by("period").values_list("period", flat=True))
        assert len(periods) == 12 == len(set(periods))
    assert Reading.objects.filter(status=Reading.Status.HELD).count() >= 2

    def used(months):
        total = 0
        for meter in Meter.objects.filter(contract__resource="electricity", zones=1, digits=6):
            readings = {r.period.month: r.t1 for r in meter.readings.all()}
            for month in months:
                previous = 12 if month == 1 else month - 1
                if month in readings and previous in readings and readings[month] >= readings[previous]:
                    total += readings[month] - readings[previous]
        return total

    assert used((12, 1, 2)) > used((6, 7, 8))
    two_zone = Reading.objects.filter(meter__zones=2, status="accepted").first()
    assert two_zone.t2 is not None and two_zone.t3 is None


def test_printed_client_logins_work(seeded, client):
    password = re.search(r"пароль для всех: (\S+)", seeded).group(1)
    numbers = re.findall(r"^  (\d{10})  ", section(seeded, "Личный кабинет"), flags=re.M)
    assert len(numbers) >= 4
    for number in numbers:
        assert client.login(username=number, password=password), number
        client.logout()
    zones = {Meter.objects.filter(contract__account__number=n, contract__resource="electricity").get().zones
             for n in numbers}  # fmt: skip
    assert zones == {1, 2, 3}
    assert any(
        Contract.objects.filter(account__number=n, resource=Contract.Resource.HOT_WATER).exists() for n in numbers
    )


def test_printed_registration_accounts(seeded):
    with_phone = re.findall(r"^  (\d{10})  ", section(seeded, "Регистрация (кабинета"), flags=re.M)
    without_phone = re.findall(r"^  (\d{10})  ", section(seeded, "Регистрация без телефона"), flags=re.M)
    assert len(with_phone) >= 3 and len(without_phone) == 1
    for number in with_phone:
        account = Account.objects.select_related("customer").get(number=number)
        assert account.customer.phone
        assert not AccountAccess.objects.filter(account=account).exists()
    account = Account.objects.select_related("customer").get(number=without_phone[0])
    assert account.customer.phone == ""
    assert not AccountAccess.objects.filter(account=account).exists()


def test_printed_staff_logins_work(seeded):
    staff = dict(re.findall(r"^  (\w+) / (\S+) — ", seeded, flags=re.M))
    admin = authenticate(username="admin", password=staff["admin"])
    assert admin is not None and admin.is_superuser
    operator = authenticate(username="operator", password=staff["operator"])
    assert operator.is_staff and operator.groups.filter(name="Оператор контакт-центра").exists()
    specialist = authenticate(username="readings", password=staff["readings"])
    assert specialist.has_perm("metering.review_reading")


def test_news_published(seeded):
    assert NewsItem.objects.filter(published_at__isnull=False).count() >= 2


def test_if_empty_is_a_no_op_on_a_non_empty_database():
    AccountFactory()
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", "--accounts", "60", stdout=out)
    assert "не создаются" in out.getvalue()
    assert Account.objects.count() == 1
    assert not Reading.objects.exists()


def test_refuses_a_non_empty_database_without_if_empty():
    AccountFactory()
    with pytest.raises(CommandError):
        call_command("seed_demo", "--accounts", "60", stdout=io.StringIO())
    assert Account.objects.count() == 1


def test_refuses_too_few_accounts():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--accounts", "3", stdout=io.StringIO())
    assert not Account.objects.exists()


def test_same_seed_same_data():
    from sbyt.customers.demo import DemoBuilder

    first, second = DemoBuilder(accounts=30, seed=5), DemoBuilder(accounts=30, seed=5)
    names = [(c.last_name, c.first_name, c.phone) for c in (first._customer(s) for s in first._specs())]
    again = [(c.last_name, c.first_name, c.phone) for c in (second._customer(s) for s in second._specs())]
    assert names == again
