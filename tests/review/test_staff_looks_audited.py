"""Every staff look at a client's data is in the audit log: the list of held readings (names, client
numbers, values) and the admin's lists and records of clients, meters, readings and logins."""

import datetime as dt

import pytest
from django.utils import timezone

from sbyt.core.models import AuditEntry
from sbyt.customers.models import AccountAccess, Consent
from sbyt.metering.services import submit_reading
from tests.backoffice.conftest import SPECIALIST, as_user
from tests.factories import (
    AccountFactory,
    MeterFactory,
    ReadingFactory,
    UserFactory,
    WindowFactory,
    aware,
    client_login,
    staff_login,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(db):
    """9000 after 1000 a month ago: far above the usual consumption, so held for a specialist."""
    meter = MeterFactory()
    WindowFactory(branch=meter.contract.account.branch)
    ReadingFactory(meter=meter, t1=0, period=dt.date(2025, 11, 1), received_at=aware(2025, 11, 20))
    ReadingFactory(meter=meter, t1=1000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    result = submit_reading(meter=meter, values=["9000"], channel="sms", received_at=aware(2026, 11, 20, 9))
    assert result.reading.status == "held"
    return result.reading


def views(**filters):
    return AuditEntry.objects.filter(kind=AuditEntry.Kind.VIEW, **filters)


def test_the_list_of_held_readings_is_audited_per_client(client, held):
    specialist = staff_login(SPECIALIST)
    response = as_user(client, specialist).get("/staff/readings/held/")
    assert response.status_code == 200
    number = held.meter.contract.account.number
    assert number in response.content.decode()
    entry = views(account_number=number).get()
    assert entry.actor == specialist


@pytest.fixture
def admin_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client, admin


@pytest.mark.parametrize(
    "model", ["customers/customer", "customers/account", "metering/meter", "metering/reading", "users/user"]
)
def test_admin_lists_of_client_data_are_audited(admin_client, model):
    client, admin = admin_client
    reading = ReadingFactory()
    client_login(reading.meter.contract.account)
    response = client.get(f"/admin/{model}/", {"q": reading.meter.contract.account.number})
    assert response.status_code == 200
    entries = views(actor=admin)
    assert entries.exists()
    if model in ("customers/customer", "users/user"):  # a customer or a login may have several accounts
        assert entries.filter(target_type=model.replace("/", ".")).exists()
    else:
        assert entries.filter(account_number=reading.meter.contract.account.number).exists()


def test_admin_records_of_meters_readings_consents_and_logins_are_audited(admin_client):
    client, admin = admin_client
    reading = ReadingFactory(meter=MeterFactory())
    account = reading.meter.contract.account
    user = client_login(account)
    access = AccountAccess.objects.get(user=user)
    consent = Consent.objects.create(
        customer=account.customer, kind=Consent.Kind.PERSONAL_DATA, channel="cabinet", given_at=timezone.now()
    )
    urls = [
        f"/admin/metering/meter/{reading.meter.pk}/change/",
        f"/admin/metering/reading/{reading.pk}/change/",
        f"/admin/customers/accountaccess/{access.pk}/change/",
        f"/admin/customers/consent/{consent.pk}/change/",
        f"/admin/users/user/{user.pk}/change/",
    ]
    for url in urls:
        before = views(actor=admin).count()
        assert client.get(url).status_code == 200, url
        assert views(actor=admin).count() == before + 1, url
    assert views(actor=admin, account_number=account.number).count() >= 3


def test_a_list_with_nothing_in_it_writes_no_entries(admin_client):
    client, admin = admin_client
    AccountFactory()
    assert client.get("/admin/customers/account/", {"q": "nobody-here"}).status_code == 200
    assert not views(actor=admin, account_number__gt="").exists()
