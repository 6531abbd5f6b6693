"""The set-based posting of registries shares payments between contracts exactly as billing's ``post_payment`` does
one by one (ГК РФ ст. 319.1: the named period first, else the oldest debt; a later payment sees the earlier ones)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from sbyt.billing.models import LedgerEntry
from sbyt.billing.services import post_payment
from sbyt.payments.models import RegistryFormat
from sbyt.payments.registries import import_registry, receive_registry
from tests.factories import ContractFactory, PremisesFactory
from tests.payments.conftest import INSIDE, charge
from tests.payments.registry_support import sber_file, sber_line

pytestmark = pytest.mark.django_db

PAYMENTS = [("1500,00", "1026"), ("800,00", ""), ("50,00", "0926"), ("2000,00", "")]


def _twin(number: str):
    premises = PremisesFactory(account__number=number)
    power = ContractFactory(premises=premises, number=f"{number}1")
    water = ContractFactory(premises=premises, number=f"{number}2", resource="cold_water")
    charge(power, "1000.00", dt.date(2026, 9, 1))
    charge(power, "1200.00", dt.date(2026, 10, 1))
    charge(water, "300.00", dt.date(2026, 9, 1))
    charge(water, "80.00", dt.date(2026, 10, 1))
    return premises.account, power, water


def _shares(account):
    return [
        (entry.contract.resource, entry.amount)
        for entry in LedgerEntry.objects.filter(account=account, kind="payment")
        .select_related("contract")
        .order_by("id")
    ]


def test_a_registry_shares_payments_as_sequential_post_payment_calls_do():
    with time_machine.travel(INSIDE, tick=False):
        by_registry, *_ = _twin("500000001")
        one_by_one, *_ = _twin("500000002")
        lines = [sber_line(by_registry.number, amount, period=period) for amount, period in PAYMENTS]
        registry = receive_registry(
            data=sber_file(lines),
            file_name="twin.txt",
            registry_format=RegistryFormat.objects.get(code="sberbank"),
            actor="t",
        )
        assert import_registry(registry=registry, actor="t").payments_count == 4
        for n, (amount, period) in enumerate(PAYMENTS):
            post_payment(
                account=one_by_one,
                amount=amount.replace(",", "."),
                paid_on=dt.date(2026, 11, 20),
                actor="t",
                document_type="test",
                document_id=str(n),
                period=dt.datetime.strptime(period, "%m%y").date() if period else None,
            )
    expected = _shares(one_by_one)
    assert _shares(by_registry) == expected
    # and they are the ones ст. 319.1 gives: 1 500 naming October pays October (1 200 + 80) and then the oldest
    # (September's power bill, 220); 800 naming nothing pays the oldest (power 780, water 20); 50 naming September
    # pays September's water; 2 000 pays the last 230 of water and the rest is an advance on the power contract
    assert expected == [
        ("electricity", Decimal("-1420.00")),
        ("cold_water", Decimal("-80.00")),
        ("electricity", Decimal("-780.00")),
        ("cold_water", Decimal("-20.00")),
        ("cold_water", Decimal("-50.00")),
        ("cold_water", Decimal("-230.00")),
        ("electricity", Decimal("-1770.00")),
    ]
