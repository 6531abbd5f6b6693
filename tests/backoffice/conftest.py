import datetime as dt

import pytest

from sbyt.metering.services import submit_reading
from tests.factories import MeterFactory, ReadingFactory, WindowFactory, aware, client_login, staff_login

OPERATOR = "Оператор контакт-центра"
SPECIALIST = "Специалист по показаниям"
BRANCH_ADMIN = "Администратор филиала"


@pytest.fixture
def meter(db):
    meter = MeterFactory()
    WindowFactory(branch=meter.contract.account.branch)
    ReadingFactory(meter=meter, t1=0, period=dt.date(2025, 11, 1), received_at=aware(2025, 11, 20))
    ReadingFactory(meter=meter, t1=1000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    return meter


@pytest.fixture
def account(meter):
    return meter.contract.account


@pytest.fixture
def held(meter):
    """9000 after 1000 a month ago: far above the usual consumption, so held for a specialist."""
    result = submit_reading(meter=meter, values=["9000"], channel="sms", received_at=aware(2026, 11, 20, 9))
    assert result.reading.status == "held"
    return result.reading


@pytest.fixture
def operator(db):
    return staff_login(OPERATOR)


@pytest.fixture
def specialist(db):
    return staff_login(SPECIALIST)


@pytest.fixture
def branch_admin(db):
    return staff_login(BRANCH_ADMIN)


@pytest.fixture
def no_role_staff(db):
    return staff_login()


@pytest.fixture
def client_user(account):
    return client_login(account)


def as_user(client, user):
    client.force_login(user)
    return client
