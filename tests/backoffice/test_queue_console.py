"""The window console of the electronic queue: who may use it, the window's states, calling and the actions on
the called ticket, the OFF-4 warnings and the hall's summary."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sbyt.offices import queue
from sbyt.offices.models import PriorityCategory, Service, Ticket, Window
from tests.factories import AccountFactory, client_login
from tests.offices.builders import make_office
from tests.offices.builders import make_staff as _make_staff

MSK = ZoneInfo("Europe/Moscow")
TEN = dt.datetime(2026, 11, 16, 10, tzinfo=MSK)
HOME = "/staff/queue/"


def make_staff(username, role="Специалист офиса"):
    return _make_staff(username, role, email=f"{username}@sbyt.example")


@pytest.fixture(autouse=True)
def _ten_oclock():
    with time_machine.travel(TEN, tick=False):
        yield


@pytest.fixture
def office(db):
    return make_office()


@pytest.fixture
def specialist(office):
    user = make_staff("specialist")
    office.staff.add(user)
    return user


@pytest.fixture
def window(office):
    return office.windows.get(number=1)


@pytest.fixture
def desk(client, specialist):
    client.force_login(specialist)
    return client


def console(window):
    return f"/staff/queue/window/{window.pk}/"


def service(code="consultation"):
    return Service.objects.get(code=code)


def page_of(response) -> str:
    return response.content.decode()


def called(office, window, specialist, **kwargs) -> Ticket:
    queue.open_window(window, actor=specialist)
    ticket = queue.issue_ticket(office, service=service(), **kwargs)
    assert queue.call_next(window, actor=specialist) == ticket
    return ticket


# -- permissions -----------------------------------------------------------------------------------------------


def test_anonymous_and_clients_go_to_the_staff_login(client, office, window):
    ticket = queue.issue_ticket(office, service=service())
    paths = [HOME, console(window), console(window) + "hall/"]
    posts = [console(window) + "state/", console(window) + "call/", f"/staff/queue/ticket/{ticket.pk}/served/"]
    client_user = client_login(AccountFactory())
    for user in (None, client_user):
        if user:
            client.force_login(user)
        for path in paths:
            assert client.get(path)["Location"].startswith("/staff/login/")
        for path in posts:
            assert client.post(path, {"action": "open"})["Location"].startswith("/staff/login/")
    window.refresh_from_db()
    assert window.state == "closed"


def test_staff_without_the_permission_get_403(client, office, window):
    operator = make_staff("operator", role="Оператор контакт-центра")
    office.staff.add(operator)
    client.force_login(operator)
    assert client.get(HOME).status_code == 403
    assert client.get(console(window)).status_code == 403
    assert client.post(console(window) + "state/", {"action": "open"}).status_code == 403


def test_a_specialist_of_another_office_gets_403_here(client, office, window, specialist):
    stranger = make_staff("stranger")
    make_office(code="ukhta", windows=1).staff.add(stranger)
    ticket = called(office, window, specialist)
    client.force_login(stranger)
    assert client.get(console(window)).status_code == 403
    assert client.get(console(window) + "hall/").status_code == 403
    assert client.post(console(window) + "call/").status_code == 403
    assert client.post(f"/staff/queue/ticket/{ticket.pk}/served/").status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "called"
    assert f'href="{console(window)}"' not in page_of(client.get(HOME))


def test_staff_without_an_office_are_told_so(client, db):
    client.force_login(make_staff("newcomer"))
    assert 'id="no-offices"' in page_of(client.get(HOME))


# -- pages -------------------------------------------------------------------------------------------------------


def test_the_home_lists_the_offices_windows_and_the_workspace_links_to_it(desk, office, window):
    page = page_of(desk.get(HOME))
    assert office.name in page
    assert f'href="{console(window)}"' in page
    assert 'id="tile-queue"' in page_of(desk.get("/staff/"))


def test_open_call_and_serve_through_the_console(desk, office, window, specialist):
    response = desk.post(console(window) + "state/", {"action": "open"}, follow=True)
    assert 'id="call-next"' in page_of(response)
    window.refresh_from_db()
    assert (window.state, window.specialist) == ("open", specialist)
    account = AccountFactory(number="110888001")
    queue.issue_ticket(office, service=service(), client_number="110888001")
    page = page_of(desk.post(console(window) + "call/", follow=True))
    ticket = Ticket.objects.get()
    assert ticket.status == "called"
    assert 'id="current-number">К-001<' in page
    assert "Консультация" in page
    assert f'href="/staff/clients/{account.number}/"' in page  # the client card audits the look
    assert account.customer.display_name in page
    desk.post(f"/staff/queue/ticket/{ticket.pk}/recall/")
    desk.post(f"/staff/queue/ticket/{ticket.pk}/start/")
    page = page_of(desk.post(f"/staff/queue/ticket/{ticket.pk}/served/", follow=True))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.call_count) == ("served", 2)
    assert 'id="call-next"' in page


def test_no_show_and_nobody_waiting(desk, office, window, specialist):
    ticket = called(office, window, specialist)
    desk.post(f"/staff/queue/ticket/{ticket.pk}/no_show/")
    ticket.refresh_from_db()
    assert ticket.status == "no_show"
    page = page_of(desk.post(console(window) + "call/", follow=True))
    assert "Никто не ждёт" in page or "Nobody is waiting" in page


def test_redirect_from_the_console(desk, office, window, specialist):
    ticket = called(office, window, specialist)
    page = page_of(
        desk.post(f"/staff/queue/ticket/{ticket.pk}/redirect/", {"service": service("cash").pk}, follow=True)
    )
    new = Ticket.objects.get(redirected_from=ticket)
    assert (new.number, new.status, new.issued_at) == ("О-001", "waiting", ticket.issued_at)
    assert "О-001" in page


def test_the_priority_document_at_the_console(desk, office, window, specialist):
    ticket = called(office, window, specialist, priority=PriorityCategory.objects.get(code="war_veteran"))
    page = page_of(desk.get(console(window)))
    assert 'id="priority-yes"' in page and "удостоверение ветерана" in page
    desk.post(f"/staff/queue/ticket/{ticket.pk}/priority/", {"confirmed": "no"})
    ticket.refresh_from_db()
    assert ticket.priority_confirmed is False
    assert 'id="priority-yes"' not in page_of(desk.get(console(window)))


def test_bad_input_is_answered_and_changes_nothing(desk, office, window, specialist):
    page = page_of(desk.post(console(window) + "call/", follow=True))  # the window is closed
    assert "Откройте окно" in page or "Open the window" in page
    page = page_of(desk.post(console(window) + "state/", {"action": "explode"}, follow=True))
    assert "Неизвестное действие" in page or "Unknown action" in page
    ticket = called(office, window, specialist)
    for action, data in (("redirect", {"service": "abc"}), ("redirect", {}), ("fly", {})):
        response = desk.post(f"/staff/queue/ticket/{ticket.pk}/{action}/", data, follow=True)
        assert response.status_code == 200
        assert 'class="error"' in page_of(response)
    ticket.refresh_from_db()
    assert ticket.status == "called"
    assert Ticket.objects.count() == 1
    page = page_of(desk.post(console(window) + "state/", {"action": "close"}, follow=True))
    assert "К-001" in page and 'class="error"' in page
    window.refresh_from_db()
    assert window.state == "open"


def test_off4_warnings_show_but_do_not_block(desk, office, window, specialist):
    desk.post(console(window) + "state/", {"action": "open"})
    assert 'id="break-hint"' in page_of(desk.get(console(window)))  # the only open window of three
    page = page_of(desk.post(console(window) + "state/", {"action": "break"}, follow=True))
    window.refresh_from_db()
    assert window.state == "break"
    assert 'id="off4-warnings"' in page
    assert 'class="warning"' in page


def test_the_hall_fragment(desk, office, window, specialist):
    called(office, window, specialist)
    queue.issue_ticket(office, service=service("cash"))
    page = page_of(desk.get(console(window) + "hall/"))
    assert 'id="hall-summary"' in page and "hx-get" in page
    assert "К-001" in page and "Оплата в кассе" in page
    assert Window.objects.get(pk=window.pk).state == "open"
