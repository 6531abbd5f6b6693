"""Ledger services (payments, corrections), the bill delivery choice, and the reads others call."""

import datetime as dt
from decimal import Decimal as D

import pytest

from sbyt.billing import queries
from sbyt.billing.models import BillDelivery, LedgerEntry
from sbyt.billing.services import post_correction, post_payment, set_bill_delivery
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.customers.models import Consent
from tests.factories import staff_login

from .builders import add_reading, make_branch, make_household, make_tariff

pytestmark = pytest.mark.django_db


@pytest.fixture
def branch():
    branch = make_branch()
    make_tariff(branch)
    return branch


def charge(contract, amount, period, due):
    return LedgerEntry.objects.create(
        account=contract.account, contract=contract, kind="charge", amount=D(amount), period=period, due_date=due,
        value_date=period, document_type="test",
    )  # fmt: skip


def pay(account, amount, *, document_id="1", **kwargs):
    kwargs.setdefault("paid_on", dt.date(2026, 11, 1))
    return post_payment(
        account=account, amount=amount, actor="bank", document_type="test", document_id=document_id, **kwargs
    )


# -- payments -----------------------------------------------------------------------------------------------------


def test_a_payment_goes_to_the_oldest_debt_across_contracts_and_the_rest_is_an_advance(branch):
    power = make_household(branch, zones=None)
    water = make_household(branch, zones=None, resource="cold_water", account=power.account)
    charge(power, "300.00", dt.date(2026, 9, 1), dt.date(2026, 10, 15))
    charge(water, "200.00", dt.date(2026, 8, 1), dt.date(2026, 9, 15))
    entries = pay(power.account, "600.00")
    shares = {e.contract_id: e.amount for e in entries}
    assert shares == {water.pk: D("-200.00"), power.pk: D("-400.00")}  # water's August first; 100 ahead on power
    assert queries.account_balance(power.account) == D("-100.00")
    assert queries.contract_balances(power.account) == {power.pk: D("-100.00"), water.pk: D("0.00")}
    assert AuditEntry.objects.filter(action="billing.payment_post", account_number=power.account.number).exists()


def test_a_payment_naming_a_period_pays_that_period_first(branch):
    power = make_household(branch, zones=None)
    charge(power, "300.00", dt.date(2026, 8, 1), dt.date(2026, 9, 15))
    charge(power, "500.00", dt.date(2026, 9, 1), dt.date(2026, 10, 15))
    pay(power.account, "500.00", period=dt.date(2026, 9, 1))
    assert queries.unpaid_by_period(power.account) == {dt.date(2026, 8, 1): D("300.00")}


def test_posting_the_same_payment_again_changes_nothing(branch):
    power = make_household(branch, zones=None)
    first = pay(power.account, "100.00", document_id="reg-7:12")
    again = pay(power.account, "100.00", document_id="reg-7:12")
    assert [e.pk for e in again] == [e.pk for e in first]
    assert LedgerEntry.objects.filter(kind="payment").count() == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "Сумма оплаты должна быть больше нуля."),
        ("-5", "Сумма оплаты должна быть больше нуля."),
        ("12.345", "Сумма указывается в рублях, копейки — после точки."),
        ("abc", "Сумма указывается в рублях, копейки — после точки."),
    ],
)
def test_payment_guards_amount(branch, amount, message):
    power = make_household(branch, zones=None)
    with pytest.raises(DomainError, match=message):
        pay(power.account, amount)
    assert not LedgerEntry.objects.exists()


def test_payment_guards_date_document_and_contract(branch):
    power = make_household(branch, zones=None)
    other = make_household(branch, zones=None)
    with pytest.raises(DomainError, match="Дата оплаты ещё не наступила."):
        pay(power.account, "10.00", paid_on=dt.date.today() + dt.timedelta(days=2))
    with pytest.raises(DomainError, match="Для оплаты нужны вид и номер платёжного документа."):
        post_payment(account=power.account, amount="1.00", paid_on=dt.date(2026, 1, 1), actor="x", document_type="",
                     document_id="1")  # fmt: skip
    with pytest.raises(DomainError, match="Договор относится к другому лицевому счёту."):
        pay(power.account, "10.00", contract=other)
    pay(power.account, "10.00", document_id="same")
    with pytest.raises(DomainError, match="уже зачтён на другой лицевой счёт"):
        pay(other.account, "10.00", document_id="same")
    assert LedgerEntry.objects.count() == 1


def test_an_account_without_contracts_cannot_take_a_payment(branch):
    from sbyt.customers.models import Account, Customer

    account = Account.objects.create(number="1199999999", customer=Customer.objects.create(), branch=branch)
    with pytest.raises(DomainError, match="нет договоров"):
        pay(account, "10.00")


# -- corrections --------------------------------------------------------------------------------------------------


def test_a_correction_by_staff_goes_on_the_next_bill(branch):
    power = make_household(branch, zones=None)
    admin = staff_login("Администратор филиала")
    entry = post_correction(contract=power, amount="-120.50", reason="Перерасчёт по акту проверки", actor=admin)
    assert (entry.kind, entry.amount, entry.due_date, entry.invoice) == ("correction", D("-120.50"), None, None)
    assert entry.document_id == str(entry.pk)
    assert queries.contract_balance(power) == D("-120.50")
    with pytest.raises(PermissionDenied):
        post_correction(contract=power, amount="10", reason="x", actor=staff_login("Оператор контакт-центра"))
    with pytest.raises(DomainError, match="Укажите основание"):
        post_correction(contract=power, amount="10", reason=" ", actor=admin)
    with pytest.raises(DomainError, match="не может быть нулевой"):
        post_correction(contract=power, amount="0.00", reason="x", actor=admin)
    assert LedgerEntry.objects.count() == 1


# -- delivery -----------------------------------------------------------------------------------------------------


def test_switching_to_e_bills_records_the_consent_and_back_to_paper_withdraws_it(branch):
    account = make_household(branch, zones=None, email="me@example.com").account
    assert queries.bill_delivery(account).method == "paper"  # never chose
    delivery = set_bill_delivery(account=account, method="email", actor="cabinet")
    assert (delivery.method, delivery.email) == ("email", "")
    consent = Consent.objects.get(customer=account.customer, kind="electronic_bills")
    assert consent.withdrawn_at is None
    set_bill_delivery(account=account, method="cabinet", actor="cabinet")
    assert Consent.objects.filter(kind="electronic_bills").count() == 1  # still the same consent
    set_bill_delivery(account=account, method="paper", actor="cabinet")
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    assert BillDelivery.objects.get(account=account).method == "paper"


def test_delivery_guards(branch):
    account = make_household(branch, zones=None).account  # no e-mail on file
    with pytest.raises(DomainError, match="Укажите адрес электронной почты для счетов."):
        set_bill_delivery(account=account, method="email", actor="cabinet")
    with pytest.raises(DomainError, match="Адрес электронной почты указан неверно."):
        set_bill_delivery(account=account, method="email", email="not-an-address", actor="cabinet")
    with pytest.raises(DomainError, match="Неизвестный способ"):
        set_bill_delivery(account=account, method="pigeon", actor="cabinet")
    assert not BillDelivery.objects.exists()
    set_bill_delivery(account=account, method="email", email="bills@example.com", actor="cabinet")
    assert BillDelivery.objects.get().email == "bills@example.com"


# -- reads ----------------------------------------------------------------------------------------------------------


def test_charges_history_consumption_and_the_preview(branch):
    from sbyt.billing.services import run_billing

    from .builders import after_window

    contract = make_household(branch, readings={dt.date(2026, 8, 1): 0, dt.date(2026, 9, 1): 120})
    run_billing(branch=branch, period=dt.date(2026, 9, 1), actor="test", today=after_window(dt.date(2026, 9, 1)))
    add_reading(contract.meters.get(), dt.date(2026, 10, 1), 300)
    run_billing(branch=branch, period=dt.date(2026, 10, 1), actor="test", today=after_window(dt.date(2026, 10, 1)))
    account = contract.account
    assert [c.amount for c in queries.charges_of_period(account, dt.date(2026, 10, 15))] == [D("900.00")]
    assert queries.charged_periods(account) == [
        {"period": dt.date(2026, 10, 1), "amount": D("900.00")},
        {"period": dt.date(2026, 9, 1), "amount": D("600.00")},
    ]
    history = queries.consumption_history(contract, months=3)
    assert history == [
        (dt.date(2026, 8, 1), None),
        (dt.date(2026, 9, 1), D("120.00")),
        (dt.date(2026, 10, 1), D("180.00")),
    ]
    assert [i.period for i in queries.invoices_of_account(account)] == [dt.date(2026, 10, 1), dt.date(2026, 9, 1)]
    assert queries.invoice_of_period(account, dt.date(2026, 9, 1)).total_due == D("600.00")
    assert queries.account_debt(account) == D("1500.00")
    assert queries.balances_of_accounts([account]) == {account.pk: D("1500.00")}
    preview = queries.preview_charge(meter=contract.meters.get(), values=[350], on=dt.date(2026, 11, 20))
    assert (preview.volume, preview.amount, preview.previous) == (D("50"), D("250.00"), (300,))
    assert queries.preview_charge(meter=contract.meters.get(), values=[250], on=dt.date(2026, 11, 20)) is None
