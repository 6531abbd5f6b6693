import datetime as dt

import pytest

from sbyt.users.services import issue_token
from tests.factories import MeterFactory, ReadingFactory, WindowFactory, aware, client_login

NOV_20 = aware(2026, 11, 20)


@pytest.fixture
def meter(db):
    """A one-zone, 5-digit meter with an accepted reading of 1000 on 20.10.2026; the window is 18–25."""
    meter = MeterFactory()
    WindowFactory(branch=meter.contract.account.branch)
    ReadingFactory(meter=meter, t1=1000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    return meter


@pytest.fixture
def account(meter):
    return meter.contract.account


@pytest.fixture
def owner(account):
    return client_login(account)


@pytest.fixture
def token(owner):
    return issue_token(user=owner)[1]


@pytest.fixture
def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def stranger_meter(db):
    """Another client's meter, with their own login."""
    meter = MeterFactory()
    client_login(meter.contract.account)
    return meter
