"""Queue statistics against the norms on a crafted day, the live hall and the waiting alerts to the office head."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from sbyt.core.models import AuditEntry
from sbyt.messaging.models import OutboundMessage
from sbyt.offices.models import Office, Service, Ticket, Window
from sbyt.offices.stats import check_hall_alerts, hall_state, offices_for, queue_report
from tests.offices.builders import make_office, make_staff

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
DAY = dt.date(2026, 3, 2)  # a Monday
NEXT = dt.date(2026, 3, 3)


def at(day: dt.date, hhmm: str, zone=MSK) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def ticket(office, code, issued, called=None, started=None, finished=None, *, status=None, window=None, who=None):
    """A ticket with exact times (``issued`` etc. as "HH:MM" on ``DAY`` or datetimes)."""
    service = Service.objects.get(code=code)

    def when(value):
        return at(DAY, value) if isinstance(value, str) else value

    issued = when(issued)
    day = issued.astimezone(ZoneInfo(office.branch.time_zone)).date()
    sequence = Ticket.objects.filter(office=office, service=service, day=day).count() + 1
    if status is None:
        status = Ticket.Status.SERVED if finished else (Ticket.Status.CALLED if called else Ticket.Status.WAITING)
    return Ticket.objects.create(
        office=office,
        service=service,
        day=day,
        sequence=sequence,
        number=f"{service.letter}-{sequence:03d}",
        status=status,
        issued_at=issued,
        called_at=when(called) if called else None,
        started_at=when(started) if started else None,
        finished_at=when(finished) if finished else None,
        window=window,
        specialist=who,
    )


@pytest.fixture
def crafted():
    """Monday: three consultations (one over the wait norm, one over the service norm, one no-show), two cash
    payments (one over the wait norm), one client still waiting; Tuesday: one payment. Plus noise outside."""
    office = make_office()
    w1, w2, _w3 = office.windows.order_by("number")
    anna = make_staff("anna", email="anna@example.ru", first_name="Анна", last_name="Петрова")
    boris = make_staff("boris", email="boris@example.ru", first_name="Борис", last_name="Сидоров")
    vera = make_staff("vera", email="vera@example.ru", first_name="Вера", last_name="Ушакова")
    ticket(office, "consultation", "09:00", "09:04", "09:05", "09:13", window=w1, who=anna)  # 4 + 8
    ticket(office, "consultation", "09:02", "09:14", None, "09:30", window=w1, who=anna)  # 12 + 16 (from the call)
    ticket(office, "consultation", "09:05", "09:20", None, "09:23", status="no_show", window=w2, who=boris)  # 15
    ticket(office, "cash", "09:10", "09:12", "09:12", "09:15", window=w2, who=boris)  # 2 + 3
    ticket(office, "cash", "09:11", "09:18", "09:19", "09:22", window=w2, who=vera)  # 7 + 3
    ticket(office, "consultation_cash", "09:20")  # still waiting: no wait measured yet
    ticket(office, "cash", at(NEXT, "10:00"), at(NEXT, "10:01"), at(NEXT, "10:01"), at(NEXT, "10:04"), window=w1)
    # Outside the range, and another office's day: never counted.
    ticket(office, "cash", at(dt.date(2026, 3, 5), "10:00"), at(dt.date(2026, 3, 5), "11:00"))
    other = make_office(code="ukhta", name="Офис в Ухте")
    ticket(other, "consultation", "09:00", "10:00", "10:00", "11:00")
    return office, (w1, w2), (anna, boris, vera)


def minutes(seconds):
    return None if seconds is None else round(seconds / 60, 4)


def test_overall_figures_are_exact_and_an_average_at_the_norm_is_no_breach(crafted):
    office, _windows, _people = crafted
    report = queue_report(office, start=DAY, end=NEXT)
    total = report.overall
    assert total.tickets == 7
    assert total.waited == 6  # the waiting one has no wait yet
    assert total.no_show == 1
    # waits 4, 12, 15, 2, 7, 1 → 41 / 6
    assert minutes(total.wait_avg) == round(41 / 6, 4)
    assert minutes(total.wait_p90) == 15  # ⌈0.9·6⌉ = 6th smallest
    assert minutes(total.wait_max) == 15
    assert total.wait_ok == 3  # 4 ≤ 10, 2 ≤ 5, 1 ≤ 5
    assert total.wait_share == 0.5
    # services 8, 16, 3, 3, 3 → 33 / 5; norms 10, 10, 5, 5, 5 → 7
    assert total.served == 5
    assert minutes(total.service_avg) == 6.6
    assert minutes(total.service_norm) == 7
    assert total.service_ok == 4
    assert not total.service_breach
    assert minutes(total.total_avg) == (13 + 28 + 5 + 11 + 4) / 5
    assert total.total_ok == 5


def test_per_service_figures_and_breaches(crafted):
    office, _windows, _people = crafted
    report = queue_report(office, start=DAY, end=DAY)
    rows = {f.key: f for f in report.by_service}
    consultation = rows[Service.objects.get(code="consultation").pk]
    cash = rows[Service.objects.get(code="cash").pk]
    both = rows[Service.objects.get(code="consultation_cash").pk]
    assert [f.label for f in report.by_service] == ["Консультация", "Оплата в кассе", "Консультация и оплата"]

    assert (consultation.tickets, consultation.waited, consultation.served, consultation.no_show) == (3, 3, 2, 1)
    assert minutes(consultation.wait_avg) == round(31 / 3, 4)  # 10.33 > 10: over the norm
    assert consultation.wait_breach
    assert minutes(consultation.wait_p90) == 15
    assert consultation.wait_ok == 1
    assert minutes(consultation.service_avg) == 12  # (8 + 16) / 2 > 10
    assert consultation.service_breach
    assert minutes(consultation.service_p90) == 16
    assert consultation.service_share == 0.5
    assert minutes(consultation.total_avg) == 20.5
    assert not consultation.total_breach

    assert minutes(cash.wait_avg) == 4.5 and not cash.wait_breach
    assert minutes(cash.wait_p90) == 7
    assert cash.wait_ok == 1
    assert minutes(cash.service_avg) == 3 and cash.service_ok == 2
    assert not cash.breach

    assert both.tickets == 1 and both.waited == 0 and both.wait_avg is None and not both.breach


def test_per_window_and_specialist_use_each_tickets_own_norm(crafted):
    office, (w1, w2), (anna, boris, vera) = crafted
    report = queue_report(office, start=DAY, end=DAY)
    windows = {f.key: f for f in report.by_window}
    assert [f.label for f in report.by_window] == ["Окно 1", "Окно 2"]
    assert minutes(windows[w1.pk].wait_avg) == 8 and not windows[w1.pk].wait_breach  # norm 10
    assert windows[w1.pk].service_breach  # 12 > 10
    # Window 2: waits 15 (consultation), 2 and 7 (cash) → 8 against a mean norm of (10 + 5 + 5) / 3
    assert minutes(windows[w2.pk].wait_avg) == 8
    assert minutes(windows[w2.pk].wait_norm) == round(20 / 3, 4)
    assert windows[w2.pk].wait_breach

    people = {f.key: f for f in report.by_specialist}
    assert [f.label for f in report.by_specialist] == ["Анна Петрова", "Борис Сидоров", "Вера Ушакова"]
    assert minutes(people[boris.pk].wait_avg) == 8.5 and minutes(people[boris.pk].wait_norm) == 7.5
    assert people[boris.pk].wait_breach
    assert people[vera.pk].waited == 1 and minutes(people[vera.pk].wait_avg) == 7 and people[vera.pk].wait_breach
    assert people[anna.pk].served == 2


def test_per_day_rows_only_for_the_range(crafted):
    office, _windows, _people = crafted
    report = queue_report(office, start=DAY, end=dt.date(2026, 3, 4))
    assert [f.key for f in report.by_day] == [DAY, NEXT]
    assert [f.label for f in report.by_day] == ["02.03.2026", "03.03.2026"]
    assert [f.tickets for f in report.by_day] == [6, 1]
    assert minutes(report.by_day[1].wait_avg) == 1
    empty = queue_report(office, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 2))
    assert empty.overall.tickets == 0 and empty.overall.wait_avg is None and empty.by_day == []


def test_a_redirected_clients_second_wait_starts_when_the_first_service_ended():
    """The queue keeps a redirected client's place by the original issue time; the wait is not counted twice."""
    office = make_office()
    window = office.windows.get(number=1)
    first = ticket(office, "consultation", "09:00", "09:04", "09:05", "09:10", status="redirected", window=window)
    second = ticket(office, "cash", "09:00", "09:13", "09:13", "09:16", window=window)
    Ticket.objects.filter(pk=second.pk).update(redirected_from=first)
    waiting = ticket(office, "cash", "09:00", None)
    Ticket.objects.filter(pk=waiting.pk).update(redirected_from=first)
    report = queue_report(office, start=DAY, end=DAY)
    cash = next(f for f in report.by_service if f.label == "Оплата в кассе")
    assert minutes(cash.wait_avg) == 3  # 09:10 → 09:13, not 09:00 → 09:13
    assert minutes(cash.total_avg) == 6
    consultation = next(f for f in report.by_service if f.label == "Консультация")
    assert minutes(consultation.service_avg) == 5 and consultation.served == 1  # the redirected one was served too
    hall = hall_state(office, now=at(DAY, "09:14"))
    assert hall.longest == 4 * 60  # waiting since 09:10


def test_figures_are_computed_in_a_fixed_number_of_queries(crafted, django_assert_max_num_queries):
    office, windows, _people = crafted
    for minute in range(30):  # many more tickets: the number of queries does not grow
        ticket(office, "cash", f"12:{minute:02d}", f"12:{minute:02d}", None, f"12:{minute:02d}", window=windows[0])
    with django_assert_max_num_queries(18):
        queue_report(office, start=DAY, end=NEXT)


def test_hall_state_now(crafted):
    office, (w1, w2), (anna, _boris, _vera) = crafted
    Window.objects.filter(pk=w1.pk).update(state="open", specialist=anna)
    Window.objects.filter(pk=w2.pk).update(state="break")
    ticket(office, "consultation", "09:25")
    serving = ticket(office, "cash", "09:26", "09:30", status="serving", window=w1, who=anna)
    hall = hall_state(office, now=at(DAY, "09:40"))
    assert hall.today == DAY
    assert hall.waiting == 2
    assert hall.longest_ticket.number == "КО-001"
    assert hall.longest == 20 * 60
    assert hall.longest_breach is True  # 20 > 15
    queues = {q.service.code: q for q in hall.queues}
    assert queues["consultation"].waiting == 1 and queues["consultation"].longest == 15 * 60
    assert queues["consultation"].breach  # 15 > 10
    assert queues["cash"].waiting == 0 and queues["cash"].longest is None and not queues["cash"].breach
    assert (hall.open, hall.on_break, hall.closed) == (1, 1, 1)
    assert hall.windows[0].current == serving and hall.windows[0].specialist == "Анна Петрова"
    assert hall.today_figures.tickets == 8


# --- alerts -----------------------------------------------------------------------------------------------------


@pytest.fixture
def hall():
    office = make_office(code="alert-office", name="Офис на Первомайской")
    head = make_staff("head", role="Руководитель офиса", email="head@example.ru")
    deputy = make_staff("deputy", role="Руководитель офиса", email="deputy@example.ru")
    no_mail = make_staff("nomail", role="Руководитель офиса")
    clerk = make_staff("clerk", email="clerk@example.ru")
    office.managers.add(head, deputy, no_mail)
    office.staff.add(clerk)
    return office


def sent(purpose="office_wait_alert"):
    return sorted(OutboundMessage.objects.filter(purpose=purpose).values_list("to", flat=True))


def test_alert_goes_to_the_managers_once_per_episode_and_is_re_armed(hall, django_capture_on_commit_callbacks):
    first = ticket(hall, "consultation", "09:00")
    assert check_hall_alerts(now=at(DAY, "09:10")) == []  # exactly at the norm: not behind
    with django_capture_on_commit_callbacks(execute=True):
        assert check_hall_alerts(now=at(DAY, "09:11")) == [hall]
    assert sent() == ["deputy@example.ru", "head@example.ru"]  # managers only, not the clerk on the staff
    assert sorted(m.to[0] for m in mail.outbox) == ["deputy@example.ru", "head@example.ru"]
    message = mail.outbox[0]
    assert "Офис на Первомайской" in message.subject
    assert "К-001" in message.body and "11" in message.body
    hall.refresh_from_db()
    assert hall.wait_alert_sent_at == at(DAY, "09:11")
    assert AuditEntry.objects.filter(action="office.wait_alert", target_id=str(hall.pk)).count() == 1

    assert check_hall_alerts(now=at(DAY, "09:12")) == []  # still behind: no second message
    assert check_hall_alerts(now=at(DAY, "09:40")) == []
    assert len(sent()) == 2
    assert check_hall_alerts(now=at(DAY, "09:41")) == [hall]  # still behind 30 minutes later: reminded
    assert len(sent()) == 4

    Ticket.objects.filter(pk=first.pk).update(status="called", called_at=at(DAY, "09:45"))
    assert check_hall_alerts(now=at(DAY, "09:46")) == []
    hall.refresh_from_db()
    assert hall.wait_alert_sent_at is None  # caught up: re-armed
    ticket(hall, "cash", "09:50")
    assert check_hall_alerts(now=at(DAY, "09:55")) == []  # 5 min for a payment: at the norm
    assert check_hall_alerts(now=at(DAY, "09:56")) == [hall]  # behind again: at once, not 30 min later
    assert len(sent()) == 6


def test_no_alert_for_yesterdays_leftovers_offices_without_queue_or_called_tickets(hall):
    ticket(hall, "consultation", at(DAY - dt.timedelta(days=1), "17:50"))  # never closed yesterday
    ticket(hall, "consultation", "09:00", "09:20")  # called late, but called: the hall is not waiting now
    closed = make_office(code="no-queue", has_queue=False)
    closed.managers.add(*hall.managers.all())
    ticket(closed, "consultation", "08:00")
    assert check_hall_alerts(now=at(DAY, "10:00")) == []
    assert sent() == []


def test_alert_uses_the_offices_own_local_day(django_capture_on_commit_callbacks):
    """Vladivostok (UTC+10): at 08:30 local time it is still the previous day in UTC."""
    office = make_office(code="vvo", branch_code="25", time_zone="Asia/Vladivostok")
    office.managers.add(make_staff("vvo-head", role="Руководитель офиса", email="vvo@example.ru"))
    vvo = ZoneInfo("Asia/Vladivostok")
    ticket(office, "cash", at(DAY, "08:00", vvo))
    assert Ticket.objects.get().day == DAY
    assert check_hall_alerts(now=at(DAY, "08:30", vvo)) == [office]
    assert sent() == ["vvo@example.ru"]


def test_an_office_without_managers_with_e_mail_is_marked_without_messages(hall):
    hall.managers.clear()
    ticket(hall, "consultation", "09:00")
    assert check_hall_alerts(now=at(DAY, "09:30")) == [hall]
    assert sent() == []
    assert Office.objects.get(pk=hall.pk).wait_alert_sent_at == at(DAY, "09:30")


def test_offices_a_staff_login_sees(hall):
    other = make_office(code="other")
    head = hall.managers.get(username="head")
    clerk = hall.staff.get()
    stranger = make_staff("stranger", role="Руководитель офиса", email="stranger@example.ru")
    root = make_staff("root", email="root@example.ru", is_superuser=True)
    assert list(offices_for(head)) == [hall]
    assert list(offices_for(clerk)) == [hall]
    assert list(offices_for(stranger)) == []
    assert set(offices_for(root)) == {hall, other}
