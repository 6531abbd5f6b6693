"""The electronic queue's services (OFF-2, OFF-3, OFF-4): tickets, numbering, window states, the call order and
what a window does with a ticket; and the reads the hall display and the console use."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.offices import queue
from sbyt.offices.models import (
    Appointment,
    OfficeDay,
    PriorityCategory,
    Service,
    Ticket,
    Window,
    WindowEvent,
)
from sbyt.offices.queue_queries import (
    console_state,
    hall_state,
    kiosk_services,
    office_warnings,
    tickets_ahead,
)
from sbyt.users.models import User
from tests.factories import AccountFactory
from tests.offices.builders import make_office
from tests.offices.builders import make_staff as _make_staff

MSK = ZoneInfo("Europe/Moscow")
MONDAY = dt.date(2026, 11, 16)


def make_staff(username: str, role: str = "Специалист офиса") -> User:
    return _make_staff(username, role, email=f"{username}@sbyt.example")


def at(hour, minute=0, day=MONDAY, tz=MSK) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def service(code="consultation") -> Service:
    return Service.objects.get(code=code)


def category(code="disabled") -> PriorityCategory:
    return PriorityCategory.objects.get(code=code)


@pytest.fixture
def office(db):
    return make_office()


@pytest.fixture
def specialist(office):
    user = make_staff("specialist")
    office.staff.add(user)
    return user


@pytest.fixture
def colleague(office):
    user = make_staff("colleague")
    office.staff.add(user)
    return user


def window(office, number=1) -> Window:
    return office.windows.get(number=number)


def opened(office, user, number=1, now=None) -> Window:
    w = window(office, number)
    queue.open_window(w, actor=user, now=now or at(9))
    w.refresh_from_db()
    return w


def issue(office, code="consultation", *, hour=10, minute=0, **kwargs) -> Ticket:
    return queue.issue_ticket(office, service=service(code), now=at(hour, minute), actor="kiosk:test", **kwargs)


def make_appointment(office, code="4821", **fields) -> Appointment:
    return Appointment.objects.create(
        office=office,
        service=fields.pop("service", service()),
        starts_at=at(10),
        ends_at=at(10, 15),
        code=code,
        name="Иванова Мария Петровна",
        **fields,
    )


# -- issuing tickets ---------------------------------------------------------------------------------------------


def test_numbers_run_per_office_service_and_day(office):
    numbers = [
        issue(office).number,
        issue(office, minute=1).number,
        issue(office, "cash", minute=2).number,
        issue(office, "consultation_cash", minute=3).number,
        issue(office, minute=4).number,
    ]
    assert numbers == ["К-001", "К-002", "О-001", "КО-001", "К-003"]
    other = make_office(code="ukhta", windows=1)
    assert issue(other).number == "К-001"  # another office counts on its own
    ticket = Ticket.objects.get(office=office, number="К-003")
    assert (ticket.sequence, ticket.day, ticket.status, ticket.issued_at) == (3, MONDAY, "waiting", at(10, 4))


def test_numbering_follows_the_local_day_of_a_non_moscow_office(db):
    irkutsk = make_office(
        code="irk",
        branch_code="38",
        time_zone="Asia/Irkutsk",
        hours=dict.fromkeys(range(7), (dt.time(7), dt.time(20), None, None)),
    )
    irk = ZoneInfo("Asia/Irkutsk")
    first = queue.issue_ticket(irkutsk, service=service(), now=at(17, 0, tz=irk))
    second = queue.issue_ticket(irkutsk, service=service(), now=at(19, 30, tz=irk))
    # 07:30 on Tuesday in Irkutsk is still Monday 23:30 in UTC (and 02:30 in Moscow): a new local day.
    morning = at(7, 30, day=MONDAY + dt.timedelta(days=1), tz=irk)
    assert morning.astimezone(dt.UTC).date() == MONDAY
    third = queue.issue_ticket(irkutsk, service=service(), now=morning)
    assert [(t.number, t.day) for t in (first, second, third)] == [
        ("К-001", MONDAY),
        ("К-002", MONDAY),
        ("К-001", MONDAY + dt.timedelta(days=1)),
    ]
    # Before 07:00 local the Irkutsk office is closed, whatever the hour in Moscow.
    with pytest.raises(DomainError, match="закрыт|closed"):
        queue.issue_ticket(irkutsk, service=service(), now=at(6, 59, day=MONDAY + dt.timedelta(days=1), tz=irk))


def test_the_client_number_links_the_account_and_keeps_the_text(office):
    account = AccountFactory(number="110555001")
    ticket = issue(office, client_number=" 110555001 ")
    assert (ticket.account, ticket.client_number) == (account, "110555001")
    unknown = issue(office, client_number="999000111")
    assert (unknown.account, unknown.client_number) == (None, "999000111")
    entry = AuditEntry.objects.get(action="queue.ticket.issue", target_id=str(ticket.pk))
    assert (entry.actor_label, entry.account_number, entry.details["number"]) == ("kiosk:test", "110555001", "К-001")


def test_a_too_long_client_number_is_refused(office):
    with pytest.raises(DomainError, match="не более 20|at most 20"):
        issue(office, client_number="1" * 21)
    assert not Ticket.objects.exists()


def test_a_priority_ticket_records_the_category_unchecked(office):
    ticket = issue(office, priority=category())
    assert (ticket.priority.code, ticket.priority_confirmed) == ("disabled", None)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda office: office.__class__.objects.filter(pk=office.pk).update(has_queue=False), "очереди|queue"),
        (lambda office: office.__class__.objects.filter(pk=office.pk).update(is_active=False), "очереди|queue"),
        (lambda office: office.windows.update(is_active=False), "не оказывается|not provided"),
        (lambda office: Service.objects.filter(code="consultation").update(is_active=False), "не оказывается|not"),
        (lambda office: [w.services.remove(service()) for w in office.windows.all()], "не оказывается|not"),
    ],
)
def test_issue_guards(office, change, message):
    change(office)
    office.refresh_from_db()
    with pytest.raises(DomainError, match=message):
        issue(office)
    assert not Ticket.objects.exists()


def test_an_inactive_priority_category_is_refused(office):
    PriorityCategory.objects.filter(code="disabled").update(is_active=False)
    with pytest.raises(DomainError):
        issue(office, priority=category())
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "when, message",
    [
        (at(8, 59), "закрыт.*09:00.*18:00|closed"),
        (at(18, 0), "закрыт|closed"),
        (at(13, 30), "перерыв до 14:00|break"),
        (at(10, day=dt.date(2026, 11, 4)), "не работает|does not work"),  # Unity Day, a Wednesday
        (at(10, day=dt.date(2026, 11, 21)), "не работает|does not work"),  # a Saturday without hours
    ],
)
def test_no_tickets_while_the_office_is_closed(office, when, message):
    with pytest.raises(DomainError, match=message):
        queue.issue_ticket(office, service=service(), now=when)
    assert not Ticket.objects.exists()


def test_special_days_override_the_hours(office):
    OfficeDay.objects.create(office=office, date=MONDAY, closed=True, reason="санитарный день")
    with pytest.raises(DomainError):
        issue(office)
    saturday = dt.date(2026, 11, 21)
    OfficeDay.objects.create(office=office, date=saturday, closed=False, opens=dt.time(10), closes=dt.time(14))
    assert queue.issue_ticket(office, service=service(), now=at(11, day=saturday)).number == "К-001"
    with pytest.raises(DomainError):
        queue.issue_ticket(office, service=service(), now=at(14, 30, day=saturday))


def test_a_checked_in_booking_gets_its_ticket_and_account(office):
    account = AccountFactory(number="110555002")
    appointment = make_appointment(office, account=account)
    ticket = issue(office, appointment=appointment)
    assert (ticket.appointment, ticket.account) == (appointment, account)
    with pytest.raises(DomainError, match="уже выдан|already"):
        issue(office, appointment=appointment)
    elsewhere = make_appointment(make_office(code="ukhta", windows=1), code="5555")
    with pytest.raises(DomainError, match="друг|another"):
        issue(office, appointment=elsewhere)
    assert Ticket.objects.count() == 1


def test_the_default_time_is_now(office):
    with time_machine.travel(at(11, 15), tick=False):
        ticket = queue.issue_ticket(office, service=service())
    assert (ticket.issued_at, ticket.day) == (at(11, 15), MONDAY)


# -- who may act at a window -------------------------------------------------------------------------------------


def test_only_the_offices_staff_with_the_permission_may_open_a_window(office):
    stranger = make_staff("stranger")  # a specialist of another office
    operator = make_staff("operator", role="Оператор контакт-центра")
    office.staff.add(operator)  # in the office, but without offices.serve_window
    client = User.objects.create_user(username="client", password="x-пароль-1", email="client@sbyt.example")
    for user in (stranger, operator, client, None):
        with pytest.raises(PermissionDenied):
            queue.open_window(window(office), actor=user, now=at(9))
    assert window(office).state == "closed"
    assert not WindowEvent.objects.exists()
    admin = User.objects.create_superuser(username="root", password="x-пароль-2", email="root@sbyt.example")
    queue.open_window(window(office), actor=admin, now=at(9))
    assert window(office).state == "open"


# -- a window's state --------------------------------------------------------------------------------------------


def test_open_break_and_close_record_events_and_the_specialist(office, specialist):
    w = window(office)
    assert queue.open_window(w, actor=specialist, now=at(9)) == []
    w.refresh_from_db()
    assert (w.state, w.specialist, w.state_changed_at) == ("open", specialist, at(9))
    queue.start_break(w, actor=specialist, now=at(11))
    w.refresh_from_db()
    assert (w.state, w.specialist) == ("break", specialist)
    queue.open_window(w, actor=specialist, now=at(11, 15))
    queue.close_window(w, actor=specialist, now=at(18))
    w.refresh_from_db()
    assert (w.state, w.specialist) == ("closed", None)
    events = list(WindowEvent.objects.values_list("kind", "actor__username", "at"))
    assert events == [
        ("opened", "specialist", at(9)),
        ("break", "specialist", at(11)),
        ("opened", "specialist", at(11, 15)),
        ("closed", "specialist", at(18)),
    ]
    actions = list(
        AuditEntry.objects.filter(action__startswith="queue.window").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["queue.window.opened", "queue.window.break", "queue.window.opened", "queue.window.closed"]


def test_window_state_guards(office, specialist, colleague):
    w = window(office)
    with pytest.raises(DomainError, match="открытое|open"):
        queue.start_break(w, actor=specialist, now=at(9))
    with pytest.raises(DomainError, match="уже закрыто|already closed"):
        queue.close_window(w, actor=specialist, now=at(9))
    queue.open_window(w, actor=specialist, now=at(9))
    with pytest.raises(DomainError, match="уже открыто|already open"):
        queue.open_window(w, actor=specialist, now=at(9, 1))
    queue.open_window(w, actor=colleague, now=at(9, 2))  # a colleague takes the window over
    w.refresh_from_db()
    assert w.specialist == colleague
    Window.objects.filter(pk=w.pk).update(is_active=False)
    with pytest.raises(DomainError, match="не используется|not in use"):
        queue.open_window(window(office, 1), actor=specialist, now=at(9, 3))


def test_no_break_or_close_with_a_ticket_in_hand(office, specialist):
    w = opened(office, specialist)
    issue(office)
    ticket = queue.call_next(w, actor=specialist, now=at(10, 1))
    for action in (queue.start_break, queue.close_window):
        with pytest.raises(DomainError, match=ticket.number):
            action(w, actor=specialist, now=at(10, 2))
    w.refresh_from_db()
    assert w.state == "open"


def test_a_break_leaving_no_open_window_is_a_warning_not_a_block(office, specialist, colleague):
    first, second = opened(office, specialist, 1), opened(office, colleague, 2)
    assert queue.start_break(first, actor=specialist, now=at(11)) == []
    warnings = queue.start_break(second, actor=colleague, now=at(11, 5))
    assert len(warnings) == 1
    assert "перерыв" in warnings[0] or "break" in warnings[0]
    second.refresh_from_db()
    assert second.state == "break"  # not blocked
    assert office_warnings(office) == warnings
    queue.open_window(first, actor=specialist, now=at(11, 20))
    assert office_warnings(office) == []


def test_two_windows_may_break_together(db):
    small = make_office(code="small", windows=2)
    user = make_staff("small-specialist")
    small.staff.add(user)
    w = opened(small, user)
    assert queue.start_break(w, actor=user, now=at(11)) == []


def test_an_office_with_more_than_five_windows_needs_its_duty_administrator_open(db):
    big = make_office(code="big", windows=6)
    user = make_staff("big-specialist")
    big.staff.add(user)
    Window.objects.filter(office=big, number=6).update(is_duty_admin=True)
    assert office_warnings(big) == []  # the hall does not work yet
    warnings = queue.open_window(window(big, 1), actor=user, now=at(9))
    assert len(warnings) == 1
    assert "администратор" in warnings[0] or "administrator" in warnings[0]
    assert queue.open_window(window(big, 6), actor=user, now=at(9, 1)) == []
    assert len(queue.start_break(window(big, 6), actor=user, now=at(12))) == 1


# -- calling -----------------------------------------------------------------------------------------------------


def test_call_next_calls_the_first_waiting_ticket(office, specialist):
    w = opened(office, specialist)
    first, second = issue(office), issue(office, minute=1)
    called = queue.call_next(w, actor=specialist, now=at(10, 5))
    assert called == first
    first.refresh_from_db()
    assert (first.status, first.window, first.specialist, first.called_at, first.call_count) == (
        "called",
        w,
        specialist,
        at(10, 5),
        1,
    )
    second.refresh_from_db()
    assert second.status == "waiting"
    event = WindowEvent.objects.get(kind="called")
    assert (event.ticket, event.window, event.actor, event.at) == (first, w, specialist, at(10, 5))
    assert AuditEntry.objects.filter(action="queue.ticket.call", target_id=str(first.pk)).exists()


def test_call_next_guards(office, specialist):
    w = window(office)
    issue(office)
    with pytest.raises(DomainError, match="Откройте|Open the window"):
        queue.call_next(w, actor=specialist, now=at(10, 1))
    w = opened(office, specialist)
    queue.call_next(w, actor=specialist, now=at(10, 1))
    issue(office, minute=2)
    with pytest.raises(DomainError, match="К-001"):
        queue.call_next(w, actor=specialist, now=at(10, 3))
    assert Ticket.objects.filter(status="called").count() == 1
    stranger = make_staff("stranger")
    with pytest.raises(PermissionDenied):
        queue.call_next(window(office, 2), actor=stranger, now=at(10, 3))
    w2 = opened(office, specialist, 2)
    w2.services.clear()
    with pytest.raises(DomainError, match="услуг|services"):
        queue.call_next(w2, actor=specialist, now=at(10, 4))


def test_nobody_waiting_gives_none(office, specialist):
    w = opened(office, specialist)
    assert queue.call_next(w, actor=specialist, now=at(10)) is None
    assert not WindowEvent.objects.filter(kind="called").exists()


def test_a_window_calls_only_its_services_and_only_today(office, specialist):
    w = opened(office, specialist)
    w.services.set([service("cash")])
    queue.issue_ticket(office, service=service("cash"), now=at(17, day=MONDAY - dt.timedelta(days=3)))  # Friday
    consultation = issue(office)
    assert queue.call_next(w, actor=specialist, now=at(10, 1)) is None
    cash = issue(office, "cash", minute=2)
    assert queue.call_next(w, actor=specialist, now=at(10, 3)) == cash
    consultation.refresh_from_db()
    assert consultation.status == "waiting"


def test_priority_first_then_checked_in_bookings_then_arrival(office, specialist):
    w = opened(office, specialist)
    ordinary = issue(office, hour=10, minute=0)
    booked = issue(office, hour=10, minute=1, appointment=make_appointment(office))
    late_ordinary = issue(office, hour=10, minute=2)
    veteran = issue(office, hour=10, minute=3, priority=category("war_veteran"))
    parent = issue(office, "cash", hour=10, minute=4, priority=category("parent_under_3"))
    late_booked = issue(office, hour=10, minute=5, appointment=make_appointment(office, code="7777"))
    assert [tickets_ahead(t) for t in (veteran, parent, booked, late_booked, ordinary, late_ordinary)] == [
        0,
        0,
        1,
        2,
        3,
        4,
    ]
    called = []
    for minute in range(10, 16):
        ticket = queue.call_next(w, actor=specialist, now=at(10, minute))
        called.append(ticket)
        queue.mark_served(ticket, actor=specialist, now=at(10, minute))
    assert called == [veteran, parent, booked, late_booked, ordinary, late_ordinary]


def test_a_refused_priority_no_longer_counts(office, specialist, colleague):
    w = opened(office, specialist)
    claimed = issue(office, priority=category())
    queue.call_next(w, actor=specialist, now=at(10, 1))
    queue.confirm_priority(claimed, confirmed=False, actor=specialist, now=at(10, 2))
    claimed.refresh_from_db()
    assert (claimed.priority.code, claimed.priority_confirmed) == ("disabled", False)
    # Sent on to the cash desk, it waits by its arrival like anyone else.
    earlier_cash = queue.issue_ticket(office, service=service("cash"), now=at(9, 30))
    redirected = queue.redirect(claimed, service=service("cash"), actor=specialist, now=at(10, 3))
    assert redirected.priority_confirmed is False
    cash = opened(office, colleague, 2)
    cash.services.set([service("cash")])
    assert queue.call_next(cash, actor=colleague, now=at(10, 4)) == earlier_cash


def test_confirm_priority(office, specialist):
    w = opened(office, specialist)
    plain = issue(office)
    queue.call_next(w, actor=specialist, now=at(10, 1))
    with pytest.raises(DomainError, match="без|without"):
        queue.confirm_priority(plain, confirmed=True, actor=specialist)
    queue.mark_served(plain, actor=specialist, now=at(10, 2))
    claimed = issue(office, minute=3, priority=category())
    with pytest.raises(DomainError):  # not at a window yet
        queue.confirm_priority(claimed, confirmed=True, actor=specialist)
    queue.call_next(w, actor=specialist, now=at(10, 4))
    queue.confirm_priority(claimed, confirmed=True, actor=specialist, now=at(10, 5))
    claimed.refresh_from_db()
    assert claimed.priority_confirmed is True
    assert WindowEvent.objects.filter(kind="priority_ok", ticket=claimed).exists()
    entry = AuditEntry.objects.get(action="queue.ticket.priority")
    assert entry.details == {"category": "disabled", "confirmed": True}


# -- a ticket at the window --------------------------------------------------------------------------------------


def test_recall_start_and_serve(office, specialist):
    w = opened(office, specialist)
    ticket = issue(office)
    queue.call_next(w, actor=specialist, now=at(10, 1))
    queue.recall(ticket, actor=specialist, now=at(10, 2))
    ticket.refresh_from_db()
    assert (ticket.call_count, ticket.called_at) == (2, at(10, 1))  # the first call stays the call time
    queue.start_service(ticket, actor=specialist, now=at(10, 3))
    with pytest.raises(DomainError):
        queue.recall(ticket, actor=specialist, now=at(10, 4))
    queue.mark_served(ticket, actor=specialist, now=at(10, 12))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.started_at, ticket.finished_at) == ("served", at(10, 3), at(10, 12))
    kinds = list(WindowEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["called", "recalled", "started", "served"]
    for action in (queue.start_service, queue.mark_served, queue.mark_no_show, queue.recall):
        with pytest.raises(DomainError, match="К-001"):
            action(ticket, actor=specialist, now=at(10, 13))


def test_served_straight_from_the_call_counts_service_from_the_call(office, specialist):
    w = opened(office, specialist)
    ticket = issue(office)
    queue.call_next(w, actor=specialist, now=at(10, 1))
    queue.mark_served(ticket, actor=specialist, now=at(10, 6))
    ticket.refresh_from_db()
    assert (ticket.started_at, ticket.finished_at) == (at(10, 1), at(10, 6))


def test_no_show_only_for_a_called_ticket(office, specialist):
    w = opened(office, specialist)
    waiting = issue(office)
    with pytest.raises(DomainError):
        queue.mark_no_show(waiting, actor=specialist, now=at(10, 1))
    queue.call_next(w, actor=specialist, now=at(10, 1))
    queue.recall(waiting, actor=specialist, now=at(10, 3))
    queue.mark_no_show(waiting, actor=specialist, now=at(10, 5))
    waiting.refresh_from_db()
    assert (waiting.status, waiting.finished_at) == ("no_show", at(10, 5))
    assert AuditEntry.objects.get(action="queue.ticket.no_show").details == {"calls": 2}
    assert queue.call_next(w, actor=specialist, now=at(10, 6)) is None  # the window is free again


def test_staff_of_another_office_cannot_touch_a_ticket(office, specialist):
    w = opened(office, specialist)
    ticket = issue(office)
    queue.call_next(w, actor=specialist, now=at(10, 1))
    stranger = make_staff("stranger")
    make_office(code="ukhta", windows=1).staff.add(stranger)
    for action in (queue.recall, queue.start_service, queue.mark_served, queue.mark_no_show):
        with pytest.raises(PermissionDenied):
            action(ticket, actor=stranger)
    with pytest.raises(PermissionDenied):
        queue.redirect(ticket, service=service("cash"), actor=stranger)
    with pytest.raises(PermissionDenied):
        queue.confirm_priority(ticket, confirmed=True, actor=stranger)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.call_count) == ("called", 1)


def test_redirect_keeps_the_place_by_the_original_arrival(office, specialist, colleague):
    account = AccountFactory(number="110555003")
    consultation = opened(office, specialist, 1)
    consultation.services.set([service()])
    cash = opened(office, colleague, 2)
    cash.services.set([service("cash")])
    appointment = make_appointment(office)
    first = issue(office, hour=10, minute=0, client_number="110555003", appointment=appointment)
    queue.call_next(consultation, actor=specialist, now=at(10, 1))
    queue.start_service(first, actor=specialist, now=at(10, 2))
    cash_ticket = issue(office, "cash", hour=10, minute=5)
    moved = queue.redirect(first, service=service("cash"), actor=specialist, now=at(10, 20))
    first.refresh_from_db()
    assert (first.status, first.finished_at, first.appointment) == ("redirected", at(10, 20), None)
    assert (moved.number, moved.status, moved.issued_at, moved.redirected_from) == ("О-002", "waiting", at(10), first)
    assert (moved.account, moved.client_number, moved.appointment) == (account, "110555003", appointment)
    assert WindowEvent.objects.filter(kind="redirected", ticket=first, window=consultation).exists()
    assert queue.call_next(cash, actor=colleague, now=at(10, 21)) == moved  # ahead of О-001, who came at 10:05
    queue.mark_served(moved, actor=colleague, now=at(10, 25))
    assert queue.call_next(cash, actor=colleague, now=at(10, 26)) == cash_ticket


def test_redirect_guards(office, specialist):
    w = opened(office, specialist)
    ticket = issue(office)
    with pytest.raises(DomainError):  # still waiting
        queue.redirect(ticket, service=service("cash"), actor=specialist)
    queue.call_next(w, actor=specialist, now=at(10, 1))
    with pytest.raises(DomainError, match="уже|already"):
        queue.redirect(ticket, service=service(), actor=specialist)
    for other in office.windows.all():
        other.services.remove(service("cash"))
    with pytest.raises(DomainError, match="не оказывается|not provided"):
        queue.redirect(ticket, service=service("cash"), actor=specialist)
    ticket.refresh_from_db()
    assert ticket.status == "called"
    assert Ticket.objects.count() == 1


# -- reads -------------------------------------------------------------------------------------------------------


def test_the_hall_state_lists_calls_waiting_and_the_estimate(office, specialist, colleague):
    w1, w2 = opened(office, specialist, 1), opened(office, colleague, 2)
    for minute in range(5):
        issue(office, minute=minute)
    issue(office, "cash", minute=6)
    queue.call_next(w1, actor=specialist, now=at(10, 10))
    queue.call_next(w2, actor=colleague, now=at(10, 11))
    with time_machine.travel(at(10, 12), tick=False):
        state = hall_state(office)
    assert [(c.number, c.window_number) for c in state.calls] == [("К-002", 2), ("К-001", 1)]
    assert state.latest_event_id == WindowEvent.objects.filter(kind="called").latest("pk").pk
    lines = {line.service.code: line for line in state.lines}
    assert (lines["consultation"].waiting, lines["cash"].waiting, state.total_waiting) == (3, 1, 4)
    # 3 waiting × the 10-minute norm over 2 open windows serving consultations.
    assert (lines["consultation"].open_windows, lines["consultation"].minutes) == (2, 15)
    payload = state.as_json()
    assert payload["calls"][0]["number"] == "К-002" and payload["waiting"] == 4
    queue.mark_served(Ticket.objects.get(number="К-001"), actor=specialist, now=at(10, 13))
    queue.recall(Ticket.objects.get(number="К-002"), actor=colleague, now=at(10, 14))
    with time_machine.travel(at(10, 15), tick=False):
        state = hall_state(office)
    assert [c.number for c in state.calls] == ["К-002"]  # the served one leaves the display
    assert state.latest_event_id == WindowEvent.objects.get(kind="recalled").pk


def test_closed_windows_give_no_estimate(office):
    issue(office)
    with time_machine.travel(at(10, 1), tick=False):
        line = next(line for line in hall_state(office).lines if line.service.code == "consultation")
    assert (line.waiting, line.minutes) == (1, None)


def test_the_console_state(office, specialist):
    w = opened(office, specialist)
    issue(office, client_number="110555004")
    issue(office, minute=1)
    queue.call_next(w, actor=specialist, now=at(10, 2))
    with time_machine.travel(at(10, 3), tick=False):
        state = console_state(w)
    assert state.ticket.number == "К-001"
    assert state.waiting_for_window == 1
    assert [s.code for s in state.redirect_services] == ["cash", "consultation_cash"]
    assert state.break_empties_hall is True  # the only open window of three
    assert state.warnings == []


def test_kiosk_services_are_those_some_active_window_serves(office):
    assert [s.code for s in kiosk_services(office)] == ["consultation", "cash", "consultation_cash"]
    for w in office.windows.all():
        w.services.remove(service("cash"))
    assert [s.code for s in kiosk_services(office)] == ["consultation", "consultation_cash"]
