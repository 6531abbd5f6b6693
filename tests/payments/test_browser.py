"""Paying in a real browser: a client logs in, pays the bill through the sandbox bank and sees the amount due fall
and the payment in the history; the public payment page on a phone; an accountant uploads a registry and reads the
report. Screenshots at phone and desktop width (tests/browser/conftest.py)."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from sbyt.billing.queries import account_balance
from sbyt.payments.models import Payment
from sbyt.users.roles import ensure_roles
from tests.browser.conftest import no_horizontal_scroll, screenshot
from tests.factories import ContractFactory, MeterFactory, ReadingFactory, WindowFactory, client_login, staff_login
from tests.payments.conftest import charge, seed_formats
from tests.payments.registry_support import sber_file, sber_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bill(settings):
    # transactional tests flush the database: put back the roles and registry formats the migrations seed
    ensure_roles()
    seed_formats()
    settings.SBYT_PAYMENT_PROVIDER = "sandbox"
    settings.RATELIMIT_ENABLE = False
    contract = ContractFactory(number="102057522", premises__address="г. Сыктывкар, ул. Ленина, д. 10, кв. 3")
    meter = MeterFactory(contract=contract)
    WindowFactory(branch=contract.account.branch, first_day=1, last_day=31)
    ReadingFactory(
        meter=meter, t1=11000, period=dt.date(2025, 1, 1), received_at=dt.datetime(2025, 1, 20, tzinfo=dt.UTC)
    )
    charge(contract, "1000.00", dt.date(2025, 9, 1), due=dt.date(2025, 10, 10))
    charge(contract, "1234.56", dt.date(2025, 10, 1), due=dt.date(2025, 11, 10))
    return contract.account, meter


def _log_in(tab, number):
    tab.goto(tab.base_url + "/login/")
    tab.fill("input[name=identifier]", number)
    tab.fill("input[name=password]", "Secret-pass-42")
    tab.locator("main form button[type=submit]").click()
    tab.wait_for_url(re.compile(r"/cabinet/"))


def test_pay_the_bill_through_the_sandbox_and_see_the_balance_change(page, bill):
    account, _meter = bill
    client_login(account, email="me@example.ru")
    _log_in(page, account.number)

    page.goto(page.base_url + "/cabinet/payments/")
    content = page.inner_text("main")
    assert "2\u00a0234,56" in content or "2 234,56" in content, content[:1500]  # the amount due
    assert page.locator(f"input[name=a{account.pk}-amount]").input_value() == "2234,56"
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-01-cabinet")

    page.locator("#pay-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    assert "2\u00a0234,56" in page.locator("#sandbox-amount").inner_text()
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-02-sandbox-bank")

    page.locator("button[value=success]").click()
    page.wait_for_url(re.compile(r"/pay/order/"))
    assert "ok" in page.locator("#order-status").get_attribute("class")
    screenshot(page, "payments-03-order-credited")

    assert account_balance(account) == Decimal("0.00")
    assert Payment.objects.get().amount == Decimal("2234.56")
    page.goto(page.base_url + "/cabinet/payments/")
    assert page.locator(f"input[name=a{account.pk}-amount]").input_value() == ""  # nothing due any more
    assert page.locator("#payments-history").count() == 1
    assert "2\u00a0234,56" in page.locator("#payments-history").inner_text()
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-04-cabinet-after")

    page.goto(page.base_url + f"/cabinet/payments/autopay/{account.number}/")
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-05-autopay")


def test_the_public_payment_page_on_a_phone(page, bill):
    account, meter = bill
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(page.base_url + "/pay/")
    page.fill("input[name=debt-number]", account.number)
    page.fill("input[name=debt-reference]", meter.serial)
    page.locator("button[value=debt]").click()
    assert page.locator("input[name=row-0-amount]").input_value() == "2234,56"
    page.locator("button[value=add]").click()
    assert page.locator("input[name=row-1-number]").count() == 1
    assert page.locator("input[name=row-0-number]").input_value() == account.number
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-06-public")
    page.fill("input[name=contact-email]", "payer@example.ru")
    page.locator("button[value=pay]").click()
    page.wait_for_url(re.compile(r"/pay/sandbox/"))
    page.locator("button[value=timeout]").click()
    page.wait_for_url(re.compile(r"/pay/order/"))
    assert page.locator("#order-status").count() == 1
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-07-order-pending")
    assert Payment.objects.count() == 0


def test_an_accountant_uploads_a_registry_and_reads_the_report(page, bill, tmp_path):
    account, _meter = bill
    staff_login("Бухгалтер по платежам", username="buh")
    page.goto(page.base_url + "/staff/login/?next=/staff/payments/")
    page.fill("input[name=username]", "buh")
    page.fill("input[name=password]", "Secret-pass-42")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/staff/payments/"), page.inner_text("main")[:500]
    path = tmp_path / "sber_20251120.txt"
    path.write_bytes(
        sber_file(
            [
                sber_line(account.number, "1000,00", date="20-11-2025", extras=["CounterVal_1:11250"]),
                sber_line("404404", "12,00", date="20-11-2025"),
                "broken;line",
            ],
            total="1012.00",
        )
    )
    page.set_input_files("input[type=file]", str(path))
    screenshot(page, "payments-08-staff-upload")
    with page.expect_navigation():
        page.locator("form.upload button[type=submit]").click()
    assert re.search(r"/staff/payments/registries/\d+/", page.url), page.inner_text("main")[:800]
    page.wait_for_selector("#registry-totals")
    assert page.locator("#registry-problems").count() == 1
    assert page.locator("#registry-suspense").count() == 1
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-09-staff-registry")
    page.goto(page.base_url + "/staff/payments/suspense/")
    screenshot(page, "payments-10-staff-suspense")
    assert account_balance(account) == Decimal("1234.56")


def test_a_cashier_takes_a_payment_with_a_reading(page, bill):
    account, meter = bill
    staff_login("Кассир", username="kassa")
    page.goto(page.base_url + "/staff/login/?next=/staff/payments/desk/")
    page.fill("input[name=username]", "kassa")
    page.fill("input[name=password]", "Secret-pass-42")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.fill("input[name=number]", account.number)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "11000" in page.inner_text("main")  # the previous reading, for the cashier to check (RD-11)
    page.fill("input[name=amount]", "2234,56")
    page.fill(f"input[name=m{meter.pk}_1]", "11250")
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-11-staff-desk")
    with page.expect_navigation():
        page.locator("form.desk-form button[type=submit]").click()
    assert page.locator("#receipt-link").count() == 1
    screenshot(page, "payments-12-staff-payment")
    assert account_balance(account) == Decimal("0.00")


def test_an_accountant_returns_an_online_payment_to_the_card(page, bill, settings):
    from sbyt.payments.providers import sandbox
    from sbyt.payments.services import PayItem, start_online_payment

    account, _meter = bill
    intent = start_online_payment(
        items=[PayItem(account, "1500.00")], source="public", actor="public", return_url="/", email="c@example.ru"
    )
    sandbox.answer(intent.provider_payment_id, sandbox.SUCCESS)
    payment = Payment.objects.get(intent=intent)
    staff_login("Бухгалтер по платежам", username="buh")
    url = f"/staff/payments/{payment.pk}/"
    page.goto(page.base_url + f"/staff/login/?next={url}")
    page.fill("input[name=username]", "buh")
    page.fill("input[name=password]", "Secret-pass-42")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.locator("#refund-left").count() == 1
    page.fill("input[name=amount]", "1600")
    page.fill("input[name=reason]", "Двойная оплата, заявление клиента")
    with page.expect_navigation():
        page.locator("form.refund-form button[type=submit]").click()
    assert page.locator("form.refund-form [role=alert]").count() == 1  # more than was paid: refused
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-13-staff-refund-form")
    settings.SBYT_SANDBOX_REFUND = "decline"
    page.fill("input[name=amount]", "500")
    with page.expect_navigation():
        page.locator("form.refund-form button[type=submit]").click()
    settings.SBYT_SANDBOX_REFUND = "pending"
    page.fill("input[name=amount]", "300")
    page.fill("input[name=reason]", "Переплата")
    with page.expect_navigation():
        page.locator("form.refund-form button[type=submit]").click()
    settings.SBYT_SANDBOX_REFUND = "success"
    page.fill("input[name=amount]", "200")
    page.fill("input[name=reason]", "Переплата за октябрь")
    with page.expect_navigation():
        page.locator("form.refund-form button[type=submit]").click()
    assert page.locator("#payment-amount").count() == 1  # the refund document's own page
    page.goto(page.base_url + url)
    assert page.locator("table.refunds tbody tr").count() == 3
    assert no_horizontal_scroll(page)
    screenshot(page, "payments-14-staff-refunds")
    assert Payment.objects.filter(kind="refund").count() == 1
