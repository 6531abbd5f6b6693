"""The full path in a real browser: register → SMS code → cabinet → submit readings → history; log in again."""

import datetime as dt
import re

import pytest

from sbyt.messaging.backends import locmem
from sbyt.metering.models import Reading
from tests.browser.conftest import no_horizontal_scroll, screenshot
from tests.factories import MeterFactory, ReadingFactory, WindowFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_from_sms() -> str:
    return re.search(r"\d{6}", locmem.outbox[-1]["text"]).group(0)


@pytest.fixture
def household():
    meter = MeterFactory(
        zones=2,
        contract__premises__account__customer__phone="+79121234567",
        contract__premises__address="г. Сыктывкар, ул. Ленина, д. 10, кв. 3",
    )
    account = meter.contract.account
    WindowFactory(branch=account.branch, first_day=1, last_day=31)  # whatever day CI runs on
    ReadingFactory(
        meter=meter, t1=45000, t2=23000, period=dt.date(2025, 1, 1), received_at=dt.datetime(2025, 1, 20, tzinfo=dt.UTC)
    )
    return account, meter


def test_register_submit_readings_and_see_them_in_the_history(page, household):
    account, meter = household
    base = page.base_url

    page.goto(base + "/")
    assert no_horizontal_scroll(page)
    screenshot(page, "01-index")
    page.get_by_role("link", name=re.compile("Зарегистрироваться")).first.click()

    page.get_by_label("Номер клиента").fill(account.number)
    screenshot(page, "02-register")
    page.get_by_role("button", name=re.compile("код", re.I)).first.click()
    page.wait_for_url(re.compile(r"/register/code/"))
    assert "+7 912 ***-**-67" in page.content()
    screenshot(page, "03-register-code")

    page.get_by_label("Код из SMS").fill(code_from_sms())
    page.get_by_label("Новый пароль", exact=True).fill("Lamp-Meter-2026")
    page.get_by_label("Новый пароль ещё раз").fill("Lamp-Meter-2026")
    page.get_by_label(re.compile("согласие|согласен", re.I)).check()
    page.get_by_role("button", name="Завершить регистрацию").click()
    page.wait_for_url(re.compile(r"/cabinet/"))
    assert account.number in page.content()
    assert no_horizontal_scroll(page)
    screenshot(page, "04-cabinet-home")

    page.goto(f"{base}/cabinet/{account.number}/")
    assert "ул. Ленина" in page.content()
    assert no_horizontal_scroll(page)
    screenshot(page, "05-account")

    page.goto(f"{base}/cabinet/{account.number}/readings/")
    assert "45000" in page.content()  # the previous value is shown where readings are entered (RD-11)
    inputs = page.locator(f"#meter-{meter.pk} input[inputmode=numeric]")
    assert inputs.count() == 2
    inputs.nth(0).fill("45055")
    inputs.nth(1).fill("23186")
    screenshot(page, "06-readings-filled")
    page.get_by_role("button", name=re.compile("Передать показания")).click()
    result = page.locator(f"#meter-{meter.pk} .result")
    assert result.inner_text().startswith("Показания приняты. Спасибо.")
    assert no_horizontal_scroll(page)
    screenshot(page, "07-readings-accepted")

    stored = Reading.objects.get(meter=meter, status="accepted", t1=45055)
    assert (stored.t2, stored.channel, stored.submitted_by.username) == (23186, "cabinet", account.number)

    page.goto(f"{base}/cabinet/{account.number}/meters/{meter.pk}/")
    history = page.content()
    assert "45055" in history and "23186" in history
    screenshot(page, "08-meter-history")

    # log out and back in with the client number and the new password
    page.get_by_role("button", name=re.compile("Выйти")).first.click()
    page.goto(base + "/login/")
    page.get_by_label(re.compile("Номер клиента")).fill(account.number)
    page.get_by_label("Пароль").fill("Lamp-Meter-2026")
    screenshot(page, "09-login")
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(re.compile(r"/cabinet/"))
    assert account.number in page.content()


def test_public_readings_page_shows_nothing_personal(page, household):
    account, meter = household
    page.goto(page.base_url + "/readings/")
    screenshot(page, "10-public-readings")
    page.get_by_label("Номер клиента").fill(account.number)
    page.get_by_label(re.compile("договора|счётчика", re.I)).first.fill(meter.contract.number)
    page.get_by_role("button", name=re.compile("Продолжить|Далее|Найти", re.I)).first.click()
    content = page.content()
    assert "Иванова" not in content and "Ленина" not in content
    inputs = page.locator("input[inputmode=numeric]")
    inputs.nth(0).fill("45100")
    inputs.nth(1).fill("23200")
    screenshot(page, "11-public-readings-enter")
    page.get_by_role("button", name=re.compile("Передать показания")).click()
    assert "Показания приняты. Спасибо." in page.content()
    assert no_horizontal_scroll(page)
    screenshot(page, "12-public-readings-accepted")
    assert Reading.objects.filter(meter=meter, channel="public", status="accepted").count() == 1
