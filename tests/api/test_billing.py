"""Billing through API v1: balances, charges, consumption, bills and a bill's PDF — the login's own accounts only."""

import datetime as dt
from decimal import Decimal

import pytest

from sbyt.billing.services import post_payment, run_billing
from sbyt.users.services import issue_token
from tests.billing.builders import add_reading, after_window, make_branch, make_household, make_norm, make_tariff
from tests.factories import client_login

pytestmark = pytest.mark.django_db
SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)


@pytest.fixture
def billed():
    """September 100 / 50 kWh (750 ₽), a payment of 700 ₽, October 120 / 50 kWh (870 ₽): the balance is 920 ₽."""
    branch = make_branch()
    make_tariff(branch, zones=2, prices={(1, 1): "6", (2, 1): "3"})
    make_tariff(branch)
    make_norm(branch, "69")
    contract = make_household(branch, zones=2, readings={dt.date(2026, 8, 1): (0, 0), SEP: (100, 50)})
    run_billing(branch=branch, period=SEP, actor="test", today=after_window(SEP))
    post_payment(account=contract.account, amount="700.00", paid_on=dt.date(2026, 10, 3), actor="bank",
                 document_type="test", document_id="1")  # fmt: skip
    add_reading(contract.meters.get(), OCT, (220, 100))
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    return contract


def bearer_of(account) -> dict:
    return {"Authorization": f"Bearer {issue_token(user=client_login(account))[1]}"}


@pytest.fixture
def mine(billed):
    return bearer_of(billed.account)


def base(contract) -> str:
    return f"/api/v1/billing/{contract.account.number}"


PATHS = ["/balance", "/charges", "/charges/2026-10", "/consumption", "/bills", "/bills/2026-10/pdf"]


@pytest.mark.parametrize("path", PATHS)
def test_without_a_token_is_401(client, billed, path):
    assert client.get(base(billed) + path).status_code == 401


@pytest.mark.parametrize("path", PATHS)
def test_someone_elses_account_is_404(client, billed, path):
    other = make_household(billed.account.branch, zones=1)
    response = client.get(base(billed) + path, headers=bearer_of(other.account))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_balance_per_contract(client, billed, mine):
    body = client.get(base(billed) + "/balance", headers=mine).json()
    assert body == {
        "number": billed.account.number,
        "balance": "920.00",
        "debt": "920.00",
        "overpayment": "0.00",
        "contracts": [
            {"contract": billed.number, "resource": "electricity", "resource_label": "электроэнергия",
             "balance": "920.00"}
        ],
    }  # fmt: skip


def test_charges_per_period_and_in_detail(client, billed, mine):
    periods = client.get(base(billed) + "/charges", headers=mine).json()
    assert periods == [{"period": "2026-10-01", "amount": "870.00"}, {"period": "2026-09-01", "amount": "750.00"}]
    (charge,) = client.get(base(billed) + "/charges/2026-10", headers=mine).json()
    assert (charge["method"], charge["method_label"], charge["amount"]) == ("reading", "по показаниям", "870.00")
    assert [Decimal(v) for v in charge["zone_volumes"]] == [Decimal("120"), Decimal("50")]
    assert [(line["zone"], line["volume"], Decimal(line["price"]), line["amount"]) for line in charge["lines"]] == [
        (1, "120.00", Decimal(6), "720.00"),
        (2, "50.00", Decimal(3), "150.00"),
    ]
    assert client.get(base(billed) + "/charges/2026-03", headers=mine).status_code == 404
    assert client.get(base(billed) + "/charges/october", headers=mine).status_code == 404


def test_consumption(client, billed, mine):
    (row,) = client.get(base(billed) + "/consumption", headers=mine).json()
    assert row["months"] == [{"period": "2026-09-01", "amount": "150.00"}, {"period": "2026-10-01", "amount": "170.00"}]


def test_bills_and_a_bill_pdf(client, billed, mine):
    bills = client.get(base(billed) + "/bills", headers=mine).json()
    assert [b["number"] for b in bills] == ["11-202610-000001", "11-202609-000001"]
    assert bills[0]["total_due"] == "920.00" and bills[0]["due_date"] == "2026-11-15"
    response = client.get(bills[1]["pdf_url"], headers=mine)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="bill-11-202609-000001.pdf"'
    import pypdfium2 as pdfium

    text = pdfium.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert "11-202609-000001" in text
    assert client.get(base(billed) + "/bills/2026-08/pdf", headers=mine).status_code == 404
