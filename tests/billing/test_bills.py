"""An issued bill turned into the renderer's document and rendered: what the snapshot printed, as printed."""

import datetime as dt
from decimal import Decimal as D

import pytest

from sbyt.billing.bills import bill_document, bill_pdf
from sbyt.billing.models import BillingSettings, Invoice
from sbyt.billing.services import post_correction, post_payment, run_billing
from sbyt.core.errors import DomainError
from tests.factories import staff_login

from .builders import add_reading, after_window, make_branch, make_household, make_norm, make_tariff

pytestmark = pytest.mark.django_db
SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)


@pytest.fixture
def branch():
    branch = make_branch()
    make_tariff(branch, zones=2, prices={(1, 1): "6", (2, 1): "3"})
    make_tariff(branch)
    make_norm(branch, "69")
    return branch


def test_a_two_zone_bill_with_a_payment_and_a_correction(branch):
    contract = make_household(branch, zones=2, readings={dt.date(2026, 8, 1): (0, 0), SEP: (100, 50)})
    run_billing(branch=branch, period=SEP, actor="test", today=after_window(SEP))
    post_payment(account=contract.account, amount="700.00", paid_on=dt.date(2026, 10, 3), actor="bank",
                 document_type="test", document_id="1")  # fmt: skip
    post_correction(contract=contract, amount="-20.00", reason="акт", actor=staff_login("Администратор филиала"))
    add_reading(contract.meters.get(), OCT, (220, 100))
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    invoice = Invoice.objects.get(period=OCT)
    document = bill_document(invoice)
    assert (document.number, document.account_number, document.due_date) == (
        "11-202610-000001",
        contract.account.number,
        dt.date(2026, 11, 15),
    )
    assert [(r.zone, r.previous_value, r.current_value, r.consumption, r.method) for r in document.readings] == [
        ("день", D(100), D(220), D("120.00"), "по показаниям"),
        ("ночь", D(50), D(100), D("50.00"), "по показаниям"),
    ]
    assert [(c.zone, c.volume, c.price, c.amount) for c in document.charges] == [
        ("день", D("120.00"), D("6"), D("720.00")),
        ("ночь", D("50.00"), D("3"), D("150.00")),
    ]
    assert (document.opening_balance, document.payments, document.recalculations) == (
        D("750.00"),
        D("700.00"),
        D("-20.00"),
    )
    assert document.charged == D("870.00") and document.total_due == D("900.00")  # 750 + 870 − 20 − 700
    assert document.supplier.contact_phone == "8-800-200-83-81" and "Личный кабинет" in document.supplier.channels
    assert document.supplier.bic == "048702640" and document.contract_number == contract.number
    pdf = bill_pdf(invoice)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_a_bill_by_the_norm_and_a_bill_without_payee_details(branch):
    make_household(branch, zones=None)
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    document = bill_document(Invoice.objects.get())
    assert [(r.meter, r.previous_value, r.consumption, r.method) for r in document.readings] == [
        ("—", None, D("138.00"), "по нормативу")
    ]
    BillingSettings.objects.all().delete()
    other = make_household(branch, zones=None)
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT) + dt.timedelta(days=1))
    with pytest.raises(DomainError, match="реквизиты"):
        bill_document(Invoice.objects.get(account=other.account))


def test_a_bill_for_part_of_the_month_says_so(branch):
    contract = make_household(branch, zones=None)
    contract.start_date = dt.date(2026, 10, 20)
    contract.save(update_fields=["start_date"])
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    invoice = Invoice.objects.get()
    document = bill_document(invoice)
    assert [(r.consumption, r.method) for r in document.readings] == [(D("53.42"), "по нормативу, 12 из 31 дн.")]
    assert bill_pdf(invoice).startswith(b"%PDF")


def test_a_bill_prints_its_runs_header_even_after_the_settings_change_and_old_bills_their_own(branch):
    make_household(branch, zones=None)
    run = run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    invoice = Invoice.objects.get()
    BillingSettings.objects.filter(branch=branch).update(bic="044525225", channels="Только телефон")
    branch.contact_phones = "8-800-000-00-00"
    branch.save()
    document = bill_document(Invoice.objects.get())  # the run's header, fixed when it started
    assert document.supplier.bic == "048702640" and document.supplier.contact_phone == "8-800-200-83-81"
    assert "Личный кабинет" in document.supplier.channels and document.branch == branch.name
    # A bill issued before the header was stored once carries it in its own snapshot: that is what it prints.
    own = {**run.header, "payee": {**run.header["payee"], "bic": "040000001"}}
    Invoice.objects.filter(pk=invoice.pk).update(data={**invoice.data, **own, "v": 1, "due_date": "2026-11-16"})
    run.header = None
    run.save(update_fields=["header"])
    assert bill_document(Invoice.objects.get()).supplier.bic == "040000001"
    # Its own copy of the period, due date and totals too (the same as its columns, unless a column was edited).
    assert Invoice.objects.get().snapshot["due_date"] == "2026-11-16"
    assert Invoice.objects.get().snapshot["total_due"] == str(invoice.total_due)
