"""The queue in a real browser: a staff member activates a kiosk and a hall display; a visitor takes a ticket at
the kiosk → the display shows it waiting → a window calls it → the display shows «К-001 → 3» → served.
Screenshots at the devices' own sizes: kiosk 1080×1920 (portrait) and 1280×1024, display 1920×1080, console
1280×900 (var/screenshots/queue-*.png)."""

import datetime as dt
import re
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.utils import timezone

from sbyt.offices import queue
from sbyt.offices.models import OfficeDay, Service, Ticket
from sbyt.users.roles import ensure_roles
from tests.browser.conftest import SCREENSHOTS
from tests.factories import AccountFactory
from tests.offices.builders import make_office, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "пароль-сотрудника-1"  # the builder's
KIOSK_PORTRAIT = {"width": 1080, "height": 1920}
KIOSK_LANDSCAPE = {"width": 1280, "height": 1024}
DISPLAY = {"width": 1920, "height": 1080}
CONSOLE = {"width": 1280, "height": 900}
ALL_DAY = (dt.time(0), dt.time(23, 59, 59))


@pytest.fixture
def office():
    # A transactional test before this one may have flushed what the migrations seed.
    ensure_roles()
    import_module("sbyt.offices.migrations.0003_services_priorities").seed(apps, None)
    office = make_office(
        code="syk-browser",
        hours=dict.fromkeys(range(7), (*ALL_DAY, None, None)),
        name="Центральный офис обслуживания",
    )
    today = timezone.now().astimezone(ZoneInfo("Europe/Moscow")).date()
    OfficeDay.objects.create(office=office, date=today, closed=False, opens=ALL_DAY[0], closes=ALL_DAY[1])
    user = make_staff("okno3", first_name="Анна", last_name="Смирнова", email="okno3@sbyt.example")
    office.staff.add(user)
    office.windows.filter(number=3).update(label="Касса и консультации")
    return office


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"queue-{name}.png"), full_page=False)


def staff_login(page, base: str, next_path: str) -> None:
    page.goto(f"{base}/staff/login/?next={next_path}")
    page.get_by_label("Логин").fill("okno3")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()


def device(browser, base: str, viewport: dict, role_label: str):
    """A fresh browser activated by the staff member as the office's kiosk or display (and logged out)."""
    context = browser.new_context(viewport=viewport, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10_000)
    staff_login(page, base, "/hall/")
    page.wait_for_url(re.compile(r"/hall/$"))
    page.get_by_label(role_label).check()
    page.locator("form.setup-form button[type=submit]").first.click()
    return context, page


def test_kiosk_ticket_display_call_and_serve(browser, live_server, office):
    base = live_server.url
    account = AccountFactory(number="110999001")

    # The kiosk: a touch screen without a keyboard.
    kiosk_context, kiosk = device(browser, base, KIOSK_PORTRAIT, re.compile("терминал|киоск|kiosk", re.I))
    kiosk.wait_for_url(re.compile(r"/hall/kiosk/$"))
    assert kiosk.locator("#service-consultation").is_visible()
    shot(kiosk, "kiosk-start-1080x1920")
    kiosk.set_viewport_size(KIOSK_LANDSCAPE)
    shot(kiosk, "kiosk-start-1280x1024")
    kiosk.set_viewport_size(KIOSK_PORTRAIT)
    assert kiosk.evaluate("document.cookie").find("sbyt_hall_kiosk") == -1  # HttpOnly
    kiosk.locator("#service-consultation").click()
    for digit in account.number:
        kiosk.locator(f".pad-key[data-key='{digit}']").click()
    kiosk.locator(".pad-key[data-key='back']").click()
    kiosk.locator(".pad-key[data-key='1']").click()
    assert kiosk.locator("#client-number").input_value() == account.number
    shot(kiosk, "kiosk-service-1080x1920")
    kiosk.set_viewport_size(KIOSK_LANDSCAPE)
    shot(kiosk, "kiosk-service-1280x1024")
    kiosk.set_viewport_size(KIOSK_PORTRAIT)
    kiosk.locator("#take-ticket").click()
    kiosk.wait_for_url(re.compile(r"/hall/kiosk/ticket/\d+/$"))
    assert kiosk.locator("#ticket-number").inner_text() == "К-001"
    shot(kiosk, "kiosk-ticket-1080x1920")
    kiosk.emulate_media(media="print")
    shot(kiosk, "kiosk-ticket-print")
    kiosk.emulate_media(media="screen")
    ticket = Ticket.objects.get()
    assert (ticket.account, ticket.status) == (account, "waiting")

    # The hall display shows one client waiting for a consultation.
    display_context, display = device(browser, base, DISPLAY, re.compile("табло|display", re.I))
    display.wait_for_url(re.compile(r"/hall/display/$"))
    first_line = display.locator("#lines li").first
    assert first_line.locator(".line-count").inner_text() == "1"

    # Meanwhile two cash windows call their clients and two more come for a consultation.
    staff = office.staff.get()
    cash = Service.objects.get(code="cash")
    for number in (1, 2):
        other = office.windows.get(number=number)
        other.services.set([cash])
        queue.open_window(other, actor=staff)
        queue.issue_ticket(office, service=cash)
        queue.call_next(other, actor=staff)
    for _ in range(2):
        queue.issue_ticket(office, service=Service.objects.get(code="consultation"))

    # The window console: open window 3 and call the next client with one press.
    console_context = browser.new_context(viewport=CONSOLE, locale="ru-RU")
    console = console_context.new_page()
    console.set_default_timeout(10_000)
    staff_login(console, base, "/staff/queue/")
    console.wait_for_url(re.compile(r"/staff/queue/$"))
    window = office.windows.get(number=3)
    console.locator(f"#window-{window.pk}").click()
    console.locator("#window-open").click()
    console.locator("#call-next").click()
    assert console.locator("#current-number").inner_text() == "К-001"
    assert account.number in console.locator("#current-account").inner_text()
    console.wait_for_timeout(300)
    shot(console, "console-1280x900")

    # The display follows within a poll: «К-001 → 3», highlighted, the waiting count back to 0.
    display.locator("#calls .call.newest", has_text="К-001").wait_for()
    assert display.locator("#calls .call.newest .call-window").inner_text().strip().endswith("3")
    assert re.fullmatch(r"(Талон|Ticket) К 1, (окно|window) 3", display.locator("#announce").inner_text())
    assert display.locator("#calls .call").count() == 3
    assert first_line.locator(".line-count").inner_text() == "2"
    shot(display, "display-1920x1080")

    # Served: the ticket leaves the display.
    console.locator("#ticket-served").click()
    assert console.locator("#call-next").is_visible()
    display.locator("#calls .call", has_text="К-001").wait_for(state="detached")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.window, ticket.specialist.username) == ("served", window, "okno3")
    for context in (kiosk_context, display_context, console_context):
        context.close()
