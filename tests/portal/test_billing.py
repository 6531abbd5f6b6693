"""The cabinet's billing pages: balances, charges of a period, the chart, bills and their PDFs, the delivery choice,
the documents on request and the cost estimate of typed readings — each with its permission test."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _

from sbyt.billing.models import BillDelivery, Invoice
from sbyt.billing.services import post_payment, run_billing
from sbyt.core.audit import AuditEntry
from sbyt.customers.models import Consent
from sbyt.metering.models import Reading
from sbyt.portal.billing_reads import certificate_refusal, statement_lines
from tests.billing.builders import add_reading, after_window, make_branch, make_household, make_norm, make_tariff
from tests.factories import client_login

pytestmark = pytest.mark.django_db
SEP, OCT = dt.date(2026, 9, 1), dt.date(2026, 10, 1)


@pytest.fixture
def branch():
    branch = make_branch()
    make_tariff(branch, zones=2, prices={(1, 1): "6", (2, 1): "3"})
    make_tariff(branch, limits=(150,), prices={(1, 1): "5", (1, 2): "7"})
    make_norm(branch, "69")
    return branch


@pytest.fixture
def billed(branch):
    """Two periods billed: September by the readings (two-zone 100 / 50 → 750 ₽), October 120 / 50 → 870 ₽;
    a payment of 700 ₽ between them. Balance: 750 + 870 − 700 = 920 ₽."""
    contract = make_household(branch, zones=2, readings={dt.date(2026, 8, 1): (0, 0), SEP: (100, 50)})
    run_billing(branch=branch, period=SEP, actor="test", today=after_window(SEP))
    post_payment(account=contract.account, amount="700.00", paid_on=dt.date(2026, 10, 3), actor="bank",
                 document_type="test", document_id="1")  # fmt: skip
    add_reading(contract.meters.get(), OCT, (220, 100))
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    return contract


@pytest.fixture
def owner(billed):
    return client_login(billed.account)


@pytest.fixture
def stranger(branch):
    other = make_household(branch, zones=1, readings={SEP: (10,)})
    return client_login(other.account)


def url(name, contract, *args):
    return reverse(f"portal:{name}", args=[contract.account.number, *args])


ALL_GET = [
    ("billing", ()),
    ("billing_period", (2026, 10)),
    ("bill_pdf", (2026, 10)),
    ("no_debt_certificate", ()),
    ("account_statement", ()),
]


@pytest.mark.parametrize(("name", "args"), ALL_GET)
def test_anonymous_goes_to_login(client, billed, name, args):
    response = client.get(url(name, billed, *args))
    assert response.status_code == 302 and reverse("portal:login") in response["Location"]


@pytest.mark.parametrize(("name", "args"), ALL_GET)
def test_another_clients_account_is_404(client, billed, stranger, name, args):
    client.force_login(stranger)
    assert client.get(url(name, billed, *args)).status_code == 404


@pytest.mark.parametrize("name", ["bill_delivery", "readings_preview"])
def test_posts_to_another_clients_account_are_404_and_change_nothing(client, billed, stranger, name):
    client.force_login(stranger)
    response = client.post(url(name, billed), {"method": "cabinet"})
    assert response.status_code == 404
    assert not BillDelivery.objects.exists()
    client.logout()
    anonymous = client.post(url(name, billed), {"method": "cabinet"})
    assert anonymous.status_code == 302 and not BillDelivery.objects.exists()


def test_overview_balance_charges_chart_and_bills(client, billed, owner):
    client.force_login(owner)
    response = client.get(url("billing", billed))
    assert response.status_code == 200
    html = response.content.decode()
    assert _("Debt: %(amount)s ₽") % {"amount": "920,00"} in html
    assert f"№&nbsp;{billed.number}" in html and _("debt %(amount)s") % {"amount": "920,00"} in html
    # charges by period, newest first, each with its detail link
    assert [row["amount"] for row in response.context["periods"]] == [D("870.00"), D("750.00")]
    assert url("billing_period", billed, 2026, 10) in html
    # the bills, each with its PDF
    assert [i.number for i in response.context["invoices"]] == ["11-202610-000001", "11-202609-000001"]
    assert url("bill_pdf", billed, 2026, 9) in html
    # the chart: 12 bars, the two charged months with their volumes, the tallest full height; a table alternative
    chart = response.context["charts"][0]
    volumes = [b["bar"].volume for b in chart["bars"]]
    assert len(volumes) == 12 and volumes[-2:] == [D("150.00"), D("170.00")] and volumes[:-2] == [None] * 10
    assert chart["bars"][-1]["height"] == 172 and chart["bars"][-2]["height"] == round(172 * 150 / 170)
    assert html.count('class="bar"') == 2 and "<svg" in html and _("Show as a table") in html
    # with a debt the certificate is refused in words, the statement is offered
    refusal = certificate_refusal(billed.account)
    assert "920,00" in refusal and refusal in html
    assert url("no_debt_certificate", billed) not in html and url("account_statement", billed) in html
    # the account page links here
    assert url("billing", billed) in client.get(url("account", billed)).content.decode()


def test_overview_with_nothing_billed(client, branch):
    contract = make_household(branch, zones=1)
    client.force_login(client_login(contract.account))
    html = client.get(url("billing", contract)).content.decode()
    assert _("No debt") in html and _("No bills yet.") in html and "<svg" not in html


def test_period_detail_method_zones_prices(client, billed, owner):
    client.force_login(owner)
    response = client.get(url("billing_period", billed, 2026, 10))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.method == "по показаниям" and row.charge.amount == D("870.00")
    assert row.zone_volumes == [("день", D("120.000")), ("ночь", D("50.000"))]
    assert [(line["zone"], line["volume"], line["price"], line["amount"]) for line in row.lines] == [
        ("день", D("120.00"), D("6"), D("720.00")),
        ("ночь", D("50.00"), D("3"), D("150.00")),
    ]
    html = response.content.decode()
    assert "по показаниям" in html and "870,00 ₽" in html and "11-202610-000001" in html
    assert client.get(url("billing_period", billed, 2026, 3)).status_code == 404  # nothing charged
    assert client.get(url("billing_period", billed, 2026, 13)).status_code == 404


def test_period_detail_by_norm_and_ranges(client, branch):
    contract = make_household(branch, zones=None, residents=3)  # 3 × 69 = 207 kWh: 150 at 5 ₽, 57 at 7 ₽
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    client.force_login(client_login(contract.account))
    (row,) = client.get(url("billing_period", contract, 2026, 10)).context["rows"]
    assert row.method == "по нормативу"
    assert [(line["range"], line["volume"], line["price"], line["amount"]) for line in row.lines] == [
        ("1-й диапазон", D("150.00"), D("5"), D("750.00")),
        ("2-й диапазон", D("57.00"), D("7"), D("399.00")),
    ]


def test_period_detail_of_a_contract_concluded_inside_the_period(client, branch):
    contract = make_household(branch, zones=None)
    contract.start_date = dt.date(2026, 10, 20)  # 12 of 31 days
    contract.save(update_fields=["start_date"])
    run_billing(branch=branch, period=OCT, actor="test", today=after_window(OCT))
    client.force_login(client_login(contract.account))
    response = client.get(url("billing_period", contract, 2026, 10))
    (row,) = response.context["rows"]
    assert row.days == (12, 31) and row.zone_volumes == [("", D("53.42"))]
    assert 'class="days"' in response.content.decode()


def test_bill_pdf_is_the_right_bill(client, billed, owner):
    client.force_login(owner)
    response = client.get(url("bill_pdf", billed, 2026, 9))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="bill-11-202609-000001.pdf"'
    assert response.content.startswith(b"%PDF")
    import pypdfium2 as pdfium

    text = pdfium.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert "11-202609-000001" in text and billed.account.number in text
    assert AuditEntry.objects.filter(action="billing.bill_pdf", account_number=billed.account.number).count() == 1
    assert client.get(url("bill_pdf", billed, 2026, 8)).status_code == 404  # no bill for August


def test_certificate_refused_with_debt_then_issued_when_paid(client, billed, owner):
    client.force_login(owner)
    response = client.get(url("no_debt_certificate", billed), follow=True)
    assert response.redirect_chain[-1][0] == url("billing", billed)
    assert response.content.decode().count(certificate_refusal(billed.account)) == 2  # the message and the notice
    assert not AuditEntry.objects.filter(action="billing.certificate").exists()
    post_payment(account=billed.account, amount="920.00", paid_on=dt.date(2026, 11, 2), actor="bank",
                 document_type="test", document_id="2")  # fmt: skip
    response = client.get(url("no_debt_certificate", billed))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].startswith('attachment; filename="no-debt-')
    import pypdfium2 as pdfium

    text = pdfium.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert "об отсутствии задолженности" in text and billed.account.number in text
    assert url("no_debt_certificate", billed) in client.get(url("billing", billed)).content.decode()


def test_statement_always_and_its_lines_add_up_to_the_ledger(client, billed, owner):
    lines = statement_lines(billed.account, until=dt.date(2026, 11, 23))
    assert len(lines) == 12 and lines[-1].closing_balance == D("920.00")
    september, october = lines[-3], lines[-2]
    assert (september.charged, september.paid, september.closing_balance) == (D("750.00"), D("0.00"), D("750.00"))
    assert (october.opening_balance, october.charged, october.paid) == (D("750.00"), D("870.00"), D("700.00"))
    assert october.consumption == D("170.000")
    client.force_login(owner)
    response = client.get(url("account_statement", billed))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == f'attachment; filename="statement-{billed.account.number}.pdf"'


def test_switch_to_e_bills_and_back(client, billed, owner):
    client.force_login(owner)
    response = client.post(url("bill_delivery", billed), {"method": "email", "email": "maria@example.ru"})
    assert response.status_code == 302
    delivery = BillDelivery.objects.get(account=billed.account)
    assert (delivery.method, delivery.email) == ("email", "maria@example.ru")
    assert Consent.objects.filter(customer=billed.account.customer, withdrawn_at__isnull=True).exists()
    client.post(url("bill_delivery", billed), {"method": "paper"})
    assert BillDelivery.objects.get(account=billed.account).method == "paper"
    assert "на бумаге" in client.get(url("billing", billed)).content.decode()


def test_e_bills_without_an_address_are_refused_in_words(client, billed, owner):
    client.force_login(owner)
    response = client.post(url("bill_delivery", billed), {"method": "email", "email": ""})
    assert response.status_code == 400 and not BillDelivery.objects.exists()
    assert _("Give the e-mail address for bills.") in response.content.decode()
    response = client.post(url("bill_delivery", billed), {"method": "pigeon"})
    assert response.status_code == 400 and not BillDelivery.objects.exists()


def _field(contract, zone):
    return f"m{contract.meters.get().pk}_z{zone}"


def test_preview_of_typed_readings(client, billed, owner):
    client.force_login(owner)
    before = Reading.objects.count()
    data = {_field(billed, 1): "250", _field(billed, 2): "110"}  # 30 × 6 + 10 × 3 = 210 ₽
    response = client.post(url("readings_preview", billed), data)
    assert response.status_code == 200
    (estimate,) = response.context["estimates"]
    assert (estimate["amount"], estimate["volume"]) == (D("210.00"), D("40"))
    html = response.content.decode()
    assert _("about %(amount)s ₽") % {"amount": "210,00"} in html and "по показаниям" in html
    assert 'value="250"' in html  # the typed values stay in the form, which submits to the readings page
    assert f'action="{url("readings", billed)}"' in html
    assert Reading.objects.count() == before  # nothing submitted


def test_preview_refusals_in_words(client, billed, owner):
    client.force_login(owner)
    lower = client.post(url("readings_preview", billed), {_field(billed, 1): "100", _field(billed, 2): "10"})
    assert (
        _("The new readings are lower than the previous ones: the cost cannot be estimated.") in lower.content.decode()
    )
    half = client.post(url("readings_preview", billed), {_field(billed, 1): "250"})
    assert (
        half.context["estimates"][0]["amount"] is None
        and _("Enter a whole number for each zone of the meter to see the cost.") in half.content.decode()
    )
    empty = client.post(url("readings_preview", billed), {})
    assert (
        empty.context["estimates"] == []
        and _("Enter the readings of at least one meter to see what they will cost.") in empty.content.decode()
    )
    assert client.get(url("readings_preview", billed)).status_code == 302
    # the readings page offers the estimate
    assert url("readings_preview", billed) in client.get(url("readings", billed)).content.decode()


def test_a_bill_of_a_branch_without_payee_details_is_refused_in_words(client, billed, owner):
    from sbyt.billing.models import BillingSettings

    BillingSettings.objects.all().delete()
    client.force_login(owner)
    # the issued bill keeps its snapshot: it still renders
    assert client.get(url("bill_pdf", billed, 2026, 10)).status_code == 200
    response = client.get(url("account_statement", billed), follow=True)
    assert "реквизиты" in response.content.decode()
    assert Invoice.objects.count() == 2


def test_smart_office_terminal_offers_the_documents(client, billed, owner):
    from tests.offices.builders import make_office

    office = make_office(code="syk-central", name="Центральный офис обслуживания")
    client.get(reverse("portal:smart_office", args=[office.code]))
    client.force_login(owner)
    session = client.session
    session["smart_office"] = office.code
    session.save()
    html = client.get(reverse("portal:smart_office_cabinet")).content.decode()
    assert url("no_debt_certificate", billed) in html and url("account_statement", billed) in html
    # with a debt the terminal gets the refusal in words on the kiosk's billing page, not a PDF
    refused = client.get(url("no_debt_certificate", billed), follow=True)
    assert '<body class="kiosk-mode">' in refused.content.decode()
    assert certificate_refusal(billed.account) in refused.content.decode()
    assert client.get(url("account_statement", billed)).content.startswith(b"%PDF")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_in_a_real_browser_at_phone_and_desktop_width(page, branch):
    """Four billed months, a debt, a two-zone meter: the billing page, a period, the estimate; no sideways scroll."""
    import re

    from tests.browser.conftest import no_horizontal_scroll, screenshot

    months = [dt.date(2026, m, 1) for m in (6, 7, 8, 9, 10)]
    contract = make_household(branch, zones=2, readings={months[0]: (1000, 400)})
    meter = contract.meters.get()
    for k, period in enumerate(months[1:], start=1):
        add_reading(meter, period, (1000 + 140 * k + 7 * k * k, 400 + 60 * k))
        run_billing(branch=branch, period=period, actor="test", today=after_window(period))
    client_login(contract.account)
    page.goto(page.base_url + "/login/")
    page.fill("input[name=identifier]", contract.account.number)
    page.fill("input[name=password]", "Secret-pass-42")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/cabinet/"))

    page.goto(page.base_url + url("account", contract))
    page.get_by_role("link", name=_("Charges and bills")).click()
    page.wait_for_url(re.compile(r"/billing/$"))
    page.locator("#balance-total").wait_for()  # is_visible() does not wait for the page the click opens
    assert page.locator("#balance-total").is_visible() and page.locator("svg rect.bar").count() == 4
    page.locator(".chart-table summary").click()
    assert page.locator(".chart-table table").is_visible()
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        assert no_horizontal_scroll(page), width
    screenshot(page, "billing-overview")
    with page.expect_download() as download:
        page.locator("#bills a[download]").first.click()
    assert download.value.suggested_filename == "bill-11-202610-000001.pdf"

    page.locator("#charged-periods a").first.click()
    assert page.locator(".charge .method").first.inner_text() == "по показаниям"
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        assert no_horizontal_scroll(page), width
    screenshot(page, "billing-period")

    page.goto(page.base_url + url("readings", contract))
    page.fill(f"input[name=m{meter.pk}_z1]", "1800")
    page.fill(f"input[name=m{meter.pk}_z2]", "700")
    page.get_by_role("button", name=_("Estimate the cost")).click()
    assert page.locator("#estimate .amount").is_visible()
    assert page.locator(f"input[name=m{meter.pk}_z1]").input_value() == "1800"
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        assert no_horizontal_scroll(page), width
    screenshot(page, "billing-estimate")
