"""Builders the payment tests share: an account with an electricity contract, a meter, charges on its ledger."""

import datetime as dt
from decimal import Decimal

import pytest

from sbyt.billing.models import LedgerEntry
from sbyt.payments.models import RegistryFormat
from tests.factories import ContractFactory, MeterFactory, ReadingFactory, WindowFactory, aware

INSIDE = aware(2026, 11, 20)  # inside the 18–25 readings window


def charge(contract, amount, period, *, due=None) -> LedgerEntry:
    """A charge on the contract's ledger, due on the 10th of the next month (test data)."""
    due = due or (period.replace(day=28) + dt.timedelta(days=4)).replace(day=10)
    return LedgerEntry.objects.create(
        account=contract.account,
        contract=contract,
        kind=LedgerEntry.Kind.CHARGE,
        amount=Decimal(amount),
        period=period,
        due_date=due,
        value_date=period.replace(day=28),
        document_type="charge",
        document_id=f"test-{contract.pk}-{period:%Y%m}-{amount}",
    )


def balance(account) -> Decimal:
    from sbyt.billing.queries import account_balance

    return account_balance(account)


def payment_entries(account):
    return list(
        LedgerEntry.objects.filter(account=account, kind=LedgerEntry.Kind.PAYMENT)
        .order_by("id")
        .values_list("contract_id", "amount", "period", "document_type", "document_id")
    )


@pytest.fixture
def household(db):
    """Account 300000001: electricity contract 102057522 with a one-zone meter (October reading 11 000) and a
    two-zone one (45 000 / 23 000); charges 1 000 ₽ for September and 1 200 ₽ for October."""
    one = MeterFactory(contract=ContractFactory(number="102057522", premises__account__number="300000001"))
    contract = one.contract
    two = MeterFactory(contract=contract, zones=2, digits=6)
    WindowFactory(branch=contract.account.branch, first_day=18, last_day=25)
    ReadingFactory(meter=one, t1=11000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    ReadingFactory(meter=two, t1=45000, t2=23000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    charge(contract, "1000.00", dt.date(2026, 9, 1))
    charge(contract, "1200.00", dt.date(2026, 10, 1))
    return contract.account, contract, one, two


def seed_formats() -> None:
    """The registry formats the migration seeds (transactional tests flush them)."""
    import importlib

    seed = importlib.import_module("sbyt.payments.migrations.0002_formats_roles")
    for row in seed.FORMATS:
        RegistryFormat.objects.update_or_create(code=row["code"], defaults=row)


@pytest.fixture
def sberbank(db) -> RegistryFormat:
    return RegistryFormat.objects.get(code="sberbank")
