"""«Pay» on the cabinet's bills: a link to the payment page prefilled with the account, the bill's period and what is
left to pay of it — only on bills with something left, only for the client's own accounts — and the payment page
that really takes the prefill."""

import datetime as dt
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse

from sbyt.billing.models import Invoice
from sbyt.billing.queries import left_to_pay
from sbyt.billing.services import post_payment, run_billing
from sbyt.customers.models import AccountAccess
from tests.billing.builders import add_reading, after_window, make_branch, make_household, make_norm, make_tariff
from tests.factories import client_login

pytestmark = pytest.mark.django_db
SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
PAY_LINK = 'class="button primary pay-bill" href="'


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(dt.datetime(2026, 11, 5, 9, 0, tzinfo=dt.UTC), tick=True):
        yield


@pytest.fixture
def branch():
    branch = make_branch()
    make_tariff(branch, zones=2, prices={(1, 1): "6", (2, 1): "3"})
    make_tariff(branch)
    make_norm(branch, "69")
    return branch


@pytest.fixture
def billed(branch):
    """September 750 ₽, 700 ₽ paid, October 870 ₽: the October bill asks 920 ₽, 50 ₽ of September's is left."""
    contract = make_household(branch, zones=2, readings={dt.date(2026, 8, 1): (0, 0), SEP: (100, 50)})
    run_billing(branch=branch, period=SEP, actor="test", today=after_window(SEP))
    post_payment(account=contract.account, amount="700.00", paid_on=dt.date(2026, 10, 3), actor="bank",
                 document_type="test", document_id="1")  # fmt: skip
    add_reading(contract.meters.get(), OCT, (220, 100))
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    return contract.account


def pay_links(html: str) -> list[dict]:
    links = []
    for piece in html.split(PAY_LINK)[1:]:
        href = piece.split('"', 1)[0].replace("&amp;", "&")
        parts = urlsplit(href)
        links.append({"path": parts.path, **{k: v[0] for k, v in parse_qs(parts.query).items()}})
    return links


def test_each_bill_with_something_left_has_its_pay_button(client, billed):
    client.force_login(client_login(billed))
    html = client.get(reverse("portal:billing", args=[billed.number])).content.decode()
    assert pay_links(html) == [
        {"path": reverse("portal:payments"), "account": billed.number, "period": "2026-10", "amount": "920.00"},
        {"path": reverse("portal:payments"), "account": billed.number, "period": "2026-09", "amount": "50.00"},
    ]
    period_page = client.get(reverse("portal:billing_period", args=[billed.number, 2026, 10])).content.decode()
    assert [link["amount"] for link in pay_links(period_page)] == ["920.00"]


def test_paid_bills_have_no_pay_button(client, billed):
    post_payment(account=billed, amount="920.00", paid_on=dt.date(2026, 11, 4), actor="bank",
                 document_type="test", document_id="2")  # fmt: skip
    client.force_login(client_login(billed))
    html = client.get(reverse("portal:billing", args=[billed.number])).content.decode()
    assert pay_links(html) == [] and 'id="bills"' in html
    assert (
        pay_links(client.get(reverse("portal:billing_period", args=[billed.number, 2026, 10])).content.decode()) == []
    )


def test_left_to_pay_follows_payments_oldest_first(billed):
    sep, oct_ = Invoice.objects.get(period=SEP), Invoice.objects.get(period=OCT)
    assert (sep.total_due, oct_.total_due) == (D("750.00"), D("920.00"))
    assert left_to_pay(billed, [sep, oct_]) == {sep.pk: D("50.00"), oct_.pk: D("920.00")}
    post_payment(account=billed, amount="100.00", paid_on=dt.date(2026, 11, 4), actor="bank",
                 document_type="test", document_id="2")  # fmt: skip
    assert left_to_pay(billed, [sep, oct_]) == {sep.pk: D("0.00"), oct_.pk: D("820.00")}


def test_an_overpaid_bill_has_no_pay_button(client, branch):
    contract = make_household(branch, zones=None)
    post_payment(account=contract.account, amount="5000.00", paid_on=dt.date(2026, 10, 3), actor="bank",
                 document_type="test", document_id="9")  # fmt: skip
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    assert Invoice.objects.get(account=contract.account).total_due == 0
    client.force_login(client_login(contract.account))
    assert pay_links(client.get(reverse("portal:billing", args=[contract.account.number])).content.decode()) == []


def test_only_the_clients_own_account(client, billed, branch):
    other = make_household(branch, zones=None).account
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    client.force_login(client_login(other))
    assert client.get(reverse("portal:billing", args=[billed.number])).status_code == 404
    html = client.get(reverse("portal:billing", args=[other.number])).content.decode()
    assert {link["account"] for link in pay_links(html)} == {other.number}


# ---------------------------------------------------------------------------------------- the payment page


def rows_of(response) -> dict:
    return {row["account"].number: row["form"] for row in response.context["rows"]}


def test_the_payment_page_takes_the_bills_prefill(client, billed, branch):
    second = make_household(branch, zones=None).account  # the same login has two accounts
    user = client_login(billed)
    AccountAccess.objects.create(user=user, account=second, proof=AccountAccess.Proof.SMS_CODE)
    client.force_login(user)
    response = client.get(
        reverse("portal:payments"), {"account": billed.number, "period": "2026-10", "amount": "920.00"}
    )
    assert response.status_code == 200
    forms = rows_of(response)
    assert (forms[billed.number]["amount"].value(), forms[billed.number]["period"].value()) == ("920,00", "2026-10")
    assert 'value="2026-10" selected' in str(forms[billed.number]["period"])
    assert (forms[second.number]["amount"].value(), forms[second.number]["period"].value()) == ("", "")


def test_an_old_bills_period_is_added_to_the_choice(client, billed):
    client.force_login(client_login(billed))
    response = client.get(reverse("portal:payments"), {"account": billed.number, "period": "2025-12", "amount": "50"})
    form = rows_of(response)[billed.number]
    assert form["period"].value() == "2025-12" and 'value="2025-12" selected' in str(form["period"])


@pytest.mark.parametrize(
    ("period", "amount"), [("2027-01", "abc"), ("2026-13", "-5"), ("10.2026", "0"), ("2026-1", "1e3")]
)
def test_a_bad_prefill_is_left_out(client, billed, period, amount):
    client.force_login(client_login(billed))
    response = client.get(reverse("portal:payments"), {"account": billed.number, "period": period, "amount": amount})
    form = rows_of(response)[billed.number]
    assert form["period"].value() == "" and form["amount"].value() == "920,00"  # the account's own debt stays
    assert f'value="{period}"' not in str(form["period"])
