"""«Pay» on a bill in a real browser: the cabinet's billing page at phone and desktop widths, the button of the bill
with a debt, and the payment page it opens, prefilled with the account, the bill's period and what is left to pay."""

import re

import pytest

from sbyt.billing.services import post_payment, run_billing
from sbyt.core.periods import add_months, month_start
from sbyt.core.timezones import local_now
from tests.billing.builders import add_reading, after_window, make_branch, make_household, make_norm, make_tariff
from tests.browser.conftest import PHONE, no_horizontal_scroll, screenshot
from tests.factories import client_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def billed():
    """Two months billed by readings (750 ₽, then 870 ₽), the first paid in full: the newest bill asks 870 ₽."""
    last = add_months(month_start(local_now("Europe/Moscow").date()), -1)
    previous = add_months(last, -1)
    branch = make_branch()
    make_tariff(branch, zones=2, prices={(1, 1): "6", (2, 1): "3"})
    make_norm(branch, "69")
    contract = make_household(branch, zones=2, readings={add_months(previous, -1): (0, 0), previous: (100, 50)})
    run_billing(branch=branch, period=previous, actor="test", today=after_window(previous))
    post_payment(account=contract.account, amount="750.00", paid_on=after_window(previous), actor="bank",
                 document_type="test", document_id="1")  # fmt: skip
    add_reading(contract.meters.get(), last, (220, 100))
    run_billing(
        branch=branch, period=last, actor="test", today=min(after_window(last), local_now("Europe/Moscow").date())
    )
    return contract.account, last


def test_the_bill_with_a_debt_has_a_pay_button_that_prefills_the_payment(page, billed):
    account, last = billed
    client_login(account)
    page.goto(page.base_url + "/login/")
    page.locator("input[name=identifier]").fill(account.number)
    page.locator("input[name=password]").fill("Secret-pass-42")
    page.locator("form.form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/cabinet/"))

    page.set_viewport_size(PHONE)
    page.goto(f"{page.base_url}/cabinet/{account.number}/billing/")
    buttons = page.locator("#bills a.pay-bill")
    assert buttons.count() == 1  # the earlier bill is paid
    buttons.first.scroll_into_view_if_needed()
    assert buttons.first.is_visible() and no_horizontal_scroll(page)
    box = buttons.first.bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "bill-pay-billing")

    page.set_viewport_size(PHONE)
    buttons.first.click()
    page.wait_for_url(re.compile(r"/cabinet/payments/\?"))
    amount = page.locator(f"input[name=a{account.pk}-amount]")
    amount.wait_for()
    assert amount.input_value() == "870,00"  # written as the page writes sums
    assert page.locator(f"select[name=a{account.pk}-period]").input_value() == f"{last:%Y-%m}"
    assert no_horizontal_scroll(page)
    screenshot(page, "bill-pay-payments")


def test_staff_download_the_print_batch_of_a_run(page, billed, settings, tmp_path):
    from sbyt.billing.delivery import request_print_batch
    from sbyt.billing.models import BillingRun
    from tests.factories import staff_login

    settings.MEDIA_ROOT = tmp_path / "media"
    account, last = billed
    run = BillingRun.objects.get(period=last)
    admin = staff_login("Администратор филиала")
    request_print_batch(run=run, actor=admin)  # outside a test transaction: built as it commits
    page.goto(page.base_url + "/staff/login/")
    page.locator("input[name=username]").fill(admin.username)
    page.locator("input[name=password]").fill("Secret-pass-42")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    page.goto(f"{page.base_url}/staff/billing/runs/{run.pk}/")
    link = page.locator("#print-batch-download")
    assert link.is_visible() and page.locator("#print-batch-build button").is_visible()
    screenshot(page, "bill-delivery-run")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"bills_11_{last:%Y-%m}.zip"
