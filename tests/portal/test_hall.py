"""The hall's public devices: activating a browser as a kiosk or a display, the kiosk's pages and POSTs, the
display's page and JSON."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.test import Client

from sbyt.core.models import AuditEntry
from sbyt.offices import queue
from sbyt.offices.models import Appointment, Service, Ticket
from sbyt.portal import hall_views
from tests.factories import AccountFactory
from tests.offices.builders import make_office
from tests.offices.builders import make_staff as _make_staff

MSK = ZoneInfo("Europe/Moscow")
TEN = dt.datetime(2026, 11, 16, 10, tzinfo=MSK)  # a Monday, the office is open
SETUP, KIOSK, DISPLAY, STATE = "/hall/", "/hall/kiosk/", "/hall/display/", "/hall/display/state/"


def make_staff(username, role="Специалист офиса"):
    return _make_staff(username, role, email=f"{username}@sbyt.example")


@pytest.fixture
def office(db):
    return make_office()


@pytest.fixture
def specialist(office):
    user = make_staff("specialist")
    office.staff.add(user)
    return user


@pytest.fixture(autouse=True)
def _ten_oclock():
    with time_machine.travel(TEN, tick=False):
        yield


def activate(client, user, office, role) -> Client:
    client.force_login(user)
    data = {"action": "activate", "office": office.pk, "role": role, "logout": "1"}
    data["csrfmiddlewaretoken"] = csrf_token(client.get(SETUP).content.decode())
    response = client.post(SETUP, data)
    assert response.status_code == 302
    return client


def csrf_token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


@pytest.fixture
def kiosk(client, office, specialist):
    return activate(client, specialist, office, "kiosk")


@pytest.fixture
def display(office, specialist):
    return activate(Client(), specialist, office, "display")


def service(code="consultation"):
    return Service.objects.get(code=code)


# -- activation ----------------------------------------------------------------------------------------------


def test_a_stranger_sees_the_login_link_and_cannot_activate(client, office):
    page = client.get(SETUP).content.decode()
    assert 'id="setup-login"' in page and "/staff/login/?next=/hall/" in page
    response = client.post(SETUP, {"action": "activate", "office": office.pk, "role": "kiosk"})
    assert response.status_code == 403
    assert "sbyt_hall_kiosk" not in response.cookies


def test_staff_of_another_office_or_without_the_permission_cannot_activate(client, office):
    other = make_staff("other")
    make_office(code="ukhta", windows=1).staff.add(other)
    operator = make_staff("operator", role="Оператор контакт-центра")
    office.staff.add(operator)
    client.force_login(other)
    response = client.post(SETUP, {"action": "activate", "office": office.pk, "role": "kiosk"})
    assert response.status_code == 400
    assert "sbyt_hall_kiosk" not in response.cookies
    client.force_login(operator)
    assert client.post(SETUP, {"action": "activate", "office": office.pk, "role": "kiosk"}).status_code == 403


def test_activation_sets_a_signed_cookie_logs_out_and_is_audited(client, office, specialist):
    client.force_login(specialist)
    page = client.get(SETUP).content.decode()
    assert office.name in page
    response = client.post(SETUP, {"action": "activate", "office": office.pk, "role": "kiosk", "logout": "1"})
    assert response["Location"] == KIOSK
    cookie = response.cookies["sbyt_hall_kiosk"]
    assert cookie["httponly"] and int(cookie["max-age"]) > 300 * 24 * 3600
    data = signing.loads(cookie.value, salt=hall_views.SALT)
    assert data == {"o": office.pk, "r": "kiosk", "u": specialist.pk}
    assert "_auth_user_id" not in client.session  # the public device keeps no staff session
    assert AuditEntry.objects.filter(action="hall.device.activate", target_id=str(office.pk)).exists()
    assert client.get(KIOSK).status_code == 200


def test_a_bad_activation_form_is_answered(client, office, specialist):
    client.force_login(specialist)
    response = client.post(SETUP, {"action": "activate", "office": office.pk, "role": "printer"})
    assert response.status_code == 400
    assert 'id="setup-error"' in response.content.decode()


def test_deactivation_removes_the_cookie(kiosk, specialist):
    kiosk.force_login(specialist)
    response = kiosk.post(SETUP, {"action": "deactivate", "role": "kiosk"})
    assert response.status_code == 302
    assert response.cookies["sbyt_hall_kiosk"].value == ""
    kiosk.logout()
    assert kiosk.get(KIOSK).status_code == 403


# -- who gets the devices' pages -------------------------------------------------------------------------------


def test_a_browser_that_is_not_a_device_gets_403(client, office):
    ticket = queue.issue_ticket(office, service=service())
    for path in (
        KIOSK,
        f"/hall/kiosk/service/{service().pk}/",
        "/hall/kiosk/booking/",
        f"/hall/kiosk/ticket/{ticket.pk}/",
    ):
        response = client.get(path)
        assert response.status_code == 403
        assert "не активировано" in response.content.decode() or "not activated" in response.content.decode()
    assert client.get(DISPLAY).status_code == 403
    assert client.get(STATE).json() == {"error": "not activated"}
    response = client.post(f"/hall/kiosk/service/{service().pk}/", {"priority": ""})
    assert response.status_code == 403
    assert Ticket.objects.count() == 1


def test_forged_or_mismatched_cookies_are_refused(client, office, specialist):
    client.cookies["sbyt_hall_kiosk"] = signing.dumps({"o": office.pk, "r": "kiosk", "u": specialist.pk}, salt="x")
    assert client.get(KIOSK).status_code == 403
    client.cookies["sbyt_hall_kiosk"] = hall_views._token(office, "display", specialist)
    assert client.get(KIOSK).status_code == 403
    client.cookies["sbyt_hall_display"] = hall_views._token(office, "kiosk", specialist)
    assert client.get(DISPLAY).status_code == 403


def test_a_device_retires_with_the_staff_member_who_activated_it(kiosk, office, specialist):
    assert kiosk.get(KIOSK).status_code == 200
    office.staff.remove(specialist)
    cache.clear()  # the check is cached for a minute
    assert kiosk.get(KIOSK).status_code == 403


def test_a_kiosk_of_an_office_whose_queue_is_switched_off_stops(kiosk, office):
    type(office).objects.filter(pk=office.pk).update(has_queue=False)
    assert kiosk.get(KIOSK).status_code == 403


# -- the kiosk -------------------------------------------------------------------------------------------------


def test_the_kiosk_lists_the_services_and_the_booking_button(kiosk, office):
    page = kiosk.get(KIOSK).content.decode()
    for code in ("consultation", "cash", "consultation_cash"):
        assert f'id="service-{code}"' in page
    assert 'id="kiosk-booking"' in page
    type(office).objects.filter(pk=office.pk).update(accepts_appointments=False)
    assert 'id="kiosk-booking"' not in kiosk.get(KIOSK).content.decode()
    assert kiosk.get("/hall/kiosk/booking/").status_code == 404


def test_the_kiosk_issues_a_ticket_and_shows_it_for_printing(kiosk, office):
    account = AccountFactory(number="110777001")
    url = f"/hall/kiosk/service/{service().pk}/"
    page = kiosk.get(url).content.decode()
    assert "справка МСЭ" in page  # the document to bring, for each category
    response = kiosk.post(url, {"priority": "disabled", "client_number": "110777001"})
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/hall/kiosk/ticket/{ticket.pk}/"
    assert (ticket.number, ticket.priority.code, ticket.account, ticket.client_number) == (
        "К-001",
        "disabled",
        account,
        "110777001",
    )
    entry = AuditEntry.objects.get(action="queue.ticket.issue")
    assert entry.actor_label == f"kiosk:{office.code}"
    page = kiosk.get(response["Location"]).content.decode()
    assert 'id="ticket-number">К-001<' in page
    assert 'data-autoprint="1"' in page
    assert account.customer.last_name not in page  # the kiosk never shows whose number it is


def test_the_kiosk_answers_bad_input_and_changes_nothing(kiosk, office):
    url = f"/hall/kiosk/service/{service().pk}/"
    response = kiosk.post(url, {"priority": "astronaut"})
    assert response.status_code == 400 and 'id="kiosk-error"' in response.content.decode()
    response = kiosk.post(url, {"client_number": "1" * 25})
    assert response.status_code == 400
    assert re.search("не более 20|at most 20", response.content.decode())
    assert not Ticket.objects.exists()


def test_no_ticket_while_the_office_is_closed(kiosk):
    with time_machine.travel(TEN.replace(hour=13, minute=30), tick=False):
        response = kiosk.post(f"/hall/kiosk/service/{service().pk}/", {"priority": ""})
    assert response.status_code == 400
    assert re.search("перерыв|break", response.content.decode())
    assert not Ticket.objects.exists()


def test_a_service_no_window_serves_is_not_on_the_kiosk(kiosk, office):
    for window in office.windows.all():
        window.services.remove(service("cash"))
    assert kiosk.get(f"/hall/kiosk/service/{service('cash').pk}/").status_code == 404


def test_kiosk_posts_keep_csrf(office, specialist):
    strict = activate(Client(enforce_csrf_checks=True), specialist, office, "kiosk")
    url = f"/hall/kiosk/service/{service().pk}/"
    assert strict.post(url, {"priority": ""}).status_code == 403
    token = csrf_token(strict.get(url).content.decode())
    assert strict.post(url, {"priority": "", "csrfmiddlewaretoken": token}).status_code == 302
    assert Ticket.objects.count() == 1


def test_the_ticket_page_only_for_this_office_and_shortly_after(kiosk, office):
    mine = queue.issue_ticket(office, service=service())
    other = queue.issue_ticket(make_office(code="ukhta", windows=1), service=service())
    assert kiosk.get(f"/hall/kiosk/ticket/{other.pk}/").status_code == 404
    assert kiosk.get(f"/hall/kiosk/ticket/{mine.pk}/").status_code == 200
    with time_machine.travel(TEN + dt.timedelta(minutes=20), tick=False):
        assert kiosk.get(f"/hall/kiosk/ticket/{mine.pk}/").status_code == 404


def test_the_ticket_page_says_how_many_are_ahead(kiosk, office):
    queue.issue_ticket(office, service=service(), now=TEN - dt.timedelta(minutes=5))
    queue.issue_ticket(office, service=service(), now=TEN - dt.timedelta(minutes=4))
    mine = queue.issue_ticket(office, service=service())
    page = kiosk.get(f"/hall/kiosk/ticket/{mine.pk}/").content.decode()
    assert re.search(r'id="ticket-ahead">[^<]*\b2\b', page)


def test_a_booked_visitor_checks_in_at_the_kiosk(kiosk, office):
    pytest.importorskip("sbyt.offices.appointments")
    appointment = Appointment.objects.create(
        office=office,
        service=service(),
        window=office.windows.get(number=1),
        starts_at=TEN + dt.timedelta(minutes=10),
        ends_at=TEN + dt.timedelta(minutes=25),
        code="482193",
        name="Иванова Мария Петровна",
    )
    response = kiosk.post("/hall/kiosk/booking/", {"code": "999999"})
    assert response.status_code == 400 and 'id="kiosk-error"' in response.content.decode()
    assert not Ticket.objects.exists()
    response = kiosk.post("/hall/kiosk/booking/", {"code": "482 193"})
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/hall/kiosk/ticket/{ticket.pk}/"
    assert ticket.appointment == appointment
    assert kiosk.post("/hall/kiosk/booking/", {"code": ""}).status_code == 400


# -- the display -------------------------------------------------------------------------------------------------


def test_the_display_shows_calls_and_the_json_follows_them(display, office, specialist):
    window = office.windows.get(number=3)
    queue.open_window(window, actor=specialist)
    for _ in range(3):
        queue.issue_ticket(office, service=service())
    page = display.get(DISPLAY).content.decode()
    assert 'data-latest="0"' in page and 'data-state-url="/hall/display/state/"' in page
    state = display.get(STATE).json()
    assert state["calls"] == [] and state["waiting"] == 3 and state["latest"] == 0
    ticket = queue.call_next(window, actor=specialist)
    state = display.get(STATE).json()
    assert [(c["number"], c["window"]) for c in state["calls"]] == [("К-001", 3)]
    assert state["latest"] == state["calls"][0]["event"] > 0
    assert state["waiting"] == 2 and state["clock"] == "10:00"
    page = display.get(DISPLAY).content.decode()
    assert "К-001" in page
    queue.recall(ticket, actor=specialist)
    assert display.get(STATE).json()["latest"] > state["latest"]  # the display announces a recall again
    assert display.get(STATE)["Cache-Control"] == "no-store"
