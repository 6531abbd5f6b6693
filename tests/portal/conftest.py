"""Shared data of the portal tests: one household with 1-, 2- and 3-zone meters and a neighbour."""

import re
from dataclasses import dataclass

import pytest

from sbyt.customers.models import Account, Contract
from sbyt.metering.models import Meter
from sbyt.users.models import User
from tests.factories import (
    AccountFactory,
    BranchFactory,
    ContractFactory,
    MeterFactory,
    PremisesFactory,
    ReadingFactory,
    WindowFactory,
    aware,
    client_login,
)

SURNAME = "Кузнецова"
ADDRESS = "г. Ухта, ул. Зелёная, д. 7, кв. 12"


@dataclass
class Household:
    account: Account
    contract: Contract
    one: Meter
    two: Meter
    three: Meter
    user: User


def code_from(outbox) -> str:
    """The one-time code of the last SMS."""
    return re.search(r"\d{6}", outbox[-1]["text"]).group(0)


def make_household(*, surname=SURNAME, address=ADDRESS, phone=None, login=True) -> Household:
    branch = BranchFactory()
    if not branch.reading_windows.exists():
        WindowFactory(branch=branch)
    customer_kwargs = {"customer__last_name": surname}
    if phone:
        customer_kwargs["customer__phone"] = phone
    account = AccountFactory(branch=branch, **customer_kwargs)
    premises = PremisesFactory(account=account, address=address)
    contract = ContractFactory(premises=premises)
    one = MeterFactory(contract=contract, zones=1)
    two = MeterFactory(contract=contract, zones=2, model_name="Меркурий 200")
    three = MeterFactory(contract=contract, zones=3, model_name="Энергомера CE102")
    received = aware(2026, 10, 20)
    ReadingFactory(meter=one, period=received.date().replace(day=1), t1=1000, received_at=received)
    ReadingFactory(meter=two, period=received.date().replace(day=1), t1=3000, t2=1500, received_at=received)
    ReadingFactory(meter=three, period=received.date().replace(day=1), t1=500, t2=700, t3=900, received_at=received)
    user = client_login(account) if login else None
    return Household(account, contract, one, two, three, user)


@pytest.fixture
def home(db) -> Household:
    return make_household()


@pytest.fixture
def neighbour(db) -> Household:
    return make_household(surname="Сидоров", address="с. Выльгорт, ул. Лесная, д. 3")


@pytest.fixture
def logged_in(client, home):
    client.force_login(home.user)
    return client
