"""The appointment services: booking visits and video consultations, cancelling, moving, reminders, no-shows,
the kiosk's check-in; every guard changes nothing and answers in words."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from sbyt.core.errors import DomainError
from sbyt.core.models import AuditEntry
from sbyt.messaging.models import OutboundMessage
from sbyt.offices import appointments as svc
from sbyt.offices.models import Appointment, OfficeDay, Service, Ticket, VideoHours, VideoSpecialist
from tests.factories import AccountFactory, UserFactory, client_login
from tests.offices.builders import make_office

MSK = ZoneInfo("Europe/Moscow")
EKB = ZoneInfo("Asia/Yekaterinburg")
NOW = dt.datetime(2026, 11, 2, 8, 0, tzinfo=MSK)  # Monday morning
AT = dt.datetime(2026, 11, 3, 10, 0, tzinfo=MSK)  # Tuesday 10:00
LATER = dt.datetime(2026, 11, 3, 11, 30, tzinfo=MSK)
PHONE = "+79121234567"

pytestmark = pytest.mark.django_db


def consultation():
    return Service.objects.get(code="consultation")


def book(office, starts_at=AT, *, phone=PHONE, now=NOW, **kwargs):
    """Book at the moment ``now`` (the clock too, so that ``created_at`` is then)."""
    fields = {"service": consultation(), "name": "Иванова Мария Петровна", "channel": "site", "actor": "site"}
    fields.update(kwargs)
    with time_machine.travel(now, tick=False):
        return svc.book_visit(office, starts_at=starts_at, phone=phone, **fields)


def make_specialist(office, username="video1", weekday=1):
    user = UserFactory(username=username, is_staff=True)
    specialist = VideoSpecialist.objects.create(user=user, office=office, display_name=f"Специалист {username}")
    specialist.services.set([consultation()])
    VideoHours.objects.create(specialist=specialist, weekday=weekday, starts=dt.time(10), ends=dt.time(12))
    return specialist


def book_video(office, starts_at=AT, *, phone=PHONE, now=NOW, **kwargs):
    fields = {"service": consultation(), "name": "Иванова Мария", "channel": "site", "actor": "site"}
    fields.update(kwargs)
    with time_machine.travel(now, tick=False):
        return svc.book_video(office, starts_at=starts_at, phone=phone, **fields)


def refused(call, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as exc:
        call(*args, **kwargs)
    return exc.value.message


@pytest.fixture
def office(db):
    return make_office(windows=2)


# --- booking a visit -------------------------------------------------------------------------------------


def test_a_visit_is_booked_on_the_first_free_window_with_a_digit_code(
    office, django_capture_on_commit_callbacks, sms_outbox
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(office, email="maria@example.ru", topic="Перерасчёт")
    assert appointment.window.number == 1
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.kind == Appointment.Kind.VISIT
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=15)
    assert re.fullmatch(r"\d{6}", appointment.code)
    assert appointment.phone == PHONE and appointment.channel == "site"
    sms = sms_outbox[-1]
    assert sms["to"] == PHONE
    assert "03.11.2026" in sms["text"] and "10:00" in sms["text"]
    assert appointment.code in sms["text"] and office.address in sms["text"]
    letter = mail.outbox[-1]
    assert letter.to == ["maria@example.ru"]
    assert "10:00" in letter.subject
    assert appointment.code in letter.body and office.address in letter.body
    entry = AuditEntry.objects.get(action="appointment.book")
    assert entry.target_id == str(appointment.pk) and entry.details["channel"] == "site"


def test_the_phone_is_stored_normalized_and_the_name_trimmed(office):
    appointment = book(office, phone="8 (912) 123-45-67", name="  Иванова   Мария ")
    assert appointment.phone == PHONE
    assert appointment.name == "Иванова Мария"


def test_the_second_booking_of_a_slot_gets_the_next_window_the_third_is_refused(office):
    first = book(office)
    second = book(office, phone="+79120000002")
    assert {first.window.number, second.window.number} == {1, 2}
    message = refused(book, office, phone="+79120000003")
    assert message == svc._taken_message()
    assert Appointment.objects.count() == 2


def test_messages_show_the_local_time_of_the_office(db):
    office = make_office(code="ekb", branch_code="66", time_zone="Asia/Yekaterinburg")
    starts_at = dt.datetime(2026, 11, 3, 9, 0, tzinfo=EKB)  # 07:00 in Moscow, 04:00 UTC
    appointment = book(office, starts_at, email="m@example.ru")
    sms = OutboundMessage.objects.get(channel="sms", purpose="appointment.confirm")
    assert "09:00" in sms.body and "07:00" not in sms.body
    letter = OutboundMessage.objects.get(channel="email", purpose="appointment.confirm")
    assert "03.11.2026" in letter.body and "09:00" in letter.body
    assert appointment.starts_at == dt.datetime(2026, 11, 3, 4, 0, tzinfo=dt.UTC)


def test_an_operator_books_for_a_client_account(office):
    account = AccountFactory()
    appointment = book(office, account=account, channel="operator", actor=UserFactory(is_staff=True))
    assert appointment.account == account and appointment.channel == "operator"
    assert appointment.user is None  # a staff login is not the client's
    assert AuditEntry.objects.get(action="appointment.book").account_number == account.number


def test_a_cabinet_booking_keeps_the_login_and_its_account(office):
    account = AccountFactory()
    user = client_login(account)
    appointment = book(office, account=account, user=user, channel="cabinet", actor=user)
    assert appointment.user == user and appointment.account == account
    stranger = client_login(AccountFactory())
    message = refused(book, office, LATER, account=account, user=stranger, actor=stranger, phone="+79120000009")
    assert "не привязан" in message or "not linked" in message
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    "starts_at",
    [
        dt.datetime(2026, 11, 3, 13, 0, tzinfo=MSK),  # the break
        dt.datetime(2026, 11, 3, 10, 5, tzinfo=MSK),  # between two slots
        dt.datetime(2026, 11, 4, 10, 0, tzinfo=MSK),  # Unity Day
        dt.datetime(2026, 11, 7, 10, 0, tzinfo=MSK),  # Saturday, closed
        dt.datetime(2026, 11, 2, 8, 30, tzinfo=MSK),  # sooner than the lead time (and before opening)
        dt.datetime(2026, 11, 1, 10, 0, tzinfo=MSK),  # the past
        dt.datetime(2026, 11, 24, 10, 0, tzinfo=MSK),  # beyond 14 days ahead
        dt.datetime(2026, 11, 3, 10, 0),  # naive: no zone
    ],
)
def test_a_time_outside_the_slots_is_refused(office, starts_at):
    message = refused(book, office, starts_at)
    assert message == str(svc._("This time cannot be booked. Choose a time from the list."))
    assert not Appointment.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_an_office_day_closure_refuses_bookings(office):
    OfficeDay.objects.create(office=office, date=AT.date(), closed=True)
    refused(book, office)
    assert not Appointment.objects.exists()


def test_an_office_without_bookings_or_closed_refuses(office):
    office.accepts_appointments = False
    office.save()
    assert refused(book, office)
    office.accepts_appointments = True
    office.is_active = False
    office.save()
    assert refused(book, office)
    assert not Appointment.objects.exists()


def test_an_inactive_service_is_refused(office):
    Service.objects.filter(code="consultation").update(is_active=False)
    assert refused(book, office)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "   "},
        {"name": "Я" * 201},
        {"phone": "12345"},
        {"phone": ""},
        {"email": "not-an-address"},
        {"topic": "в" * 501},
    ],
)
def test_bad_contact_data_is_refused(office, fields):
    fields = {"phone": PHONE, **fields}
    phone = fields.pop("phone")
    assert refused(book, office, phone=phone, **fields)
    assert not Appointment.objects.exists()


def test_one_phone_cannot_hold_two_bookings_at_one_time_nor_too_many(office):
    book(office)
    assert refused(book, office)  # the same phone, the same time (a double click): refused
    assert Appointment.objects.count() == 1
    book(office, AT + dt.timedelta(minutes=15))
    book(office, AT + dt.timedelta(minutes=30))
    message = refused(book, office, AT + dt.timedelta(minutes=45))
    assert str(svc.MAX_LIVE_PER_PHONE) in message
    assert Appointment.objects.count() == svc.MAX_LIVE_PER_PHONE
    # a cancelled booking frees a place
    svc.cancel_appointment(Appointment.objects.first(), actor="site", now=NOW)
    book(office, AT + dt.timedelta(minutes=45))


def test_past_bookings_do_not_count_against_the_phone_limit(office):
    for minutes in (0, 15, 30):
        book(office, AT + dt.timedelta(minutes=minutes))
    next_day = dt.datetime(2026, 11, 5, 10, tzinfo=MSK)
    assert book(office, next_day, now=dt.datetime(2026, 11, 3, 12, tzinfo=MSK))


# --- video consultations ----------------------------------------------------------------------------------


def test_a_video_consultation_gets_a_specialist_and_an_unguessable_room(
    office, settings, django_capture_on_commit_callbacks, sms_outbox
):
    settings.SBYT_JITSI_URL = "https://meet.energo.example/"
    specialist = make_specialist(office)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_video(office, email="m@example.ru")
    assert appointment.kind == Appointment.Kind.VIDEO
    assert appointment.specialist == specialist.user
    assert appointment.window is None
    assert re.fullmatch(r"sbyt[0-9a-f]{32}", appointment.video_room)
    link = svc.video_link(appointment)
    assert link == f"https://meet.energo.example/{appointment.video_room}"
    assert link in sms_outbox[-1]["text"]
    assert "10:00" in sms_outbox[-1]["text"] and svc._("MSK") in sms_outbox[-1]["text"]
    assert link in mail.outbox[-1].body
    other = book_video(office, AT + dt.timedelta(minutes=15), phone="+79120000002")
    assert other.video_room != appointment.video_room


def test_video_booking_tries_the_next_specialist_and_then_refuses(office):
    first = make_specialist(office, "video1")
    second = make_specialist(office, "video2")
    one = book_video(office)
    two = book_video(office, phone="+79120000002")
    assert {one.specialist, two.specialist} == {first.user, second.user}
    assert refused(book_video, office, phone="+79120000003") == svc._taken_message()
    assert refused(book_video, office, dt.datetime(2026, 11, 3, 14, 0, tzinfo=MSK), phone="+79120000004")
    assert Appointment.objects.count() == 2


def test_video_without_specialists_is_refused(office):
    assert refused(book_video, office)
    assert not Appointment.objects.exists()


def test_zone_label():
    assert svc.zone_label(dt.datetime(2026, 11, 3, 10, tzinfo=MSK)) == svc._("MSK")
    assert svc.zone_label(dt.datetime(2026, 11, 3, 10, tzinfo=EKB)) == svc._("MSK") + "+2"
    assert svc.zone_label(dt.datetime(2026, 11, 3, 10, tzinfo=ZoneInfo("Europe/Kaliningrad"))) == svc._("MSK") + "−1"


# --- cancel -------------------------------------------------------------------------------------------------


def test_cancel_frees_the_slot_and_tells_the_client(office, django_capture_on_commit_callbacks, sms_outbox):
    appointment = book(office)
    with django_capture_on_commit_callbacks(execute=True):
        svc.cancel_appointment(appointment, actor="site", now=NOW)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancelled_at == NOW
    assert "10:00" in sms_outbox[-1]["text"]
    assert OutboundMessage.objects.filter(purpose="appointment.cancel").count() == 1
    assert AuditEntry.objects.filter(action="appointment.cancel").count() == 1
    again = book(office)  # the slot is free again
    assert again.window == appointment.window


def test_cancel_guards(office):
    appointment = book(office)
    svc.cancel_appointment(appointment, actor="site", now=NOW)
    assert refused(svc.cancel_appointment, appointment, actor="site", now=NOW)
    checked = book(office, LATER)
    Appointment.objects.filter(pk=checked.pk).update(status=Appointment.Status.CHECKED_IN)
    assert refused(svc.cancel_appointment, checked, actor="site", now=NOW)
    late = book(office, AT + dt.timedelta(minutes=15), phone="+79120000002")
    assert refused(svc.cancel_appointment, late, actor="site", now=AT + dt.timedelta(minutes=20))
    late.refresh_from_db()
    assert late.status == Appointment.Status.BOOKED
    assert AuditEntry.objects.filter(action="appointment.cancel").count() == 1


# --- reschedule ---------------------------------------------------------------------------------------------


def test_reschedule_moves_the_booking_and_keeps_the_code(office, django_capture_on_commit_callbacks, sms_outbox):
    appointment = book(office)
    code = appointment.code
    Appointment.objects.filter(pk=appointment.pk).update(reminder_sent_at=NOW)
    with django_capture_on_commit_callbacks(execute=True):
        moved = svc.reschedule_appointment(appointment, starts_at=LATER, actor="site", now=NOW)
    assert moved.starts_at == LATER and moved.ends_at == LATER + dt.timedelta(minutes=15)
    assert moved.code == code and moved.window == appointment.window
    assert moved.reminder_sent_at is None  # the new time gets its own reminder
    assert "11:30" in sms_outbox[-1]["text"] and code in sms_outbox[-1]["text"]
    entry = AuditEntry.objects.get(action="appointment.reschedule")
    assert dt.datetime.fromisoformat(entry.details["old"]) == AT
    assert dt.datetime.fromisoformat(entry.details["new"]) == LATER
    # the old slot is free again for the two windows
    book(office, phone="+79120000002")
    book(office, phone="+79120000003")


def test_reschedule_to_a_taken_slot_keeps_the_old_one(db):
    office = make_office(windows=1)
    mine = book(office)
    book(office, LATER, phone="+79120000002")
    assert refused(svc.reschedule_appointment, mine, starts_at=LATER, actor="site", now=NOW) == svc._taken_message()
    mine.refresh_from_db()
    assert mine.starts_at == AT and mine.status == Appointment.Status.BOOKED
    assert refused(book, office, phone="+79120000003") == svc._taken_message()  # the old slot stays held
    assert not AuditEntry.objects.filter(action="appointment.reschedule").exists()


def test_reschedule_moves_to_another_window_when_its_own_is_busy(office):
    mine = book(office)
    other = book(office, LATER, phone="+79120000002")
    assert other.window == mine.window
    moved = svc.reschedule_appointment(mine, starts_at=LATER, actor="site", now=NOW)
    assert moved.window != other.window


def test_reschedule_guards(office):
    appointment = book(office)
    assert refused(svc.reschedule_appointment, appointment, starts_at=AT, actor="site", now=NOW)
    holiday = dt.datetime(2026, 11, 4, 10, tzinfo=MSK)
    assert refused(svc.reschedule_appointment, appointment, starts_at=holiday, actor="site", now=NOW)
    assert refused(svc.reschedule_appointment, appointment, starts_at=LATER, actor="site", now=AT)  # its time came
    svc.cancel_appointment(appointment, actor="site", now=NOW)
    assert refused(svc.reschedule_appointment, appointment, starts_at=LATER, actor="site", now=NOW)
    appointment.refresh_from_db()
    assert appointment.starts_at == AT


def test_a_video_consultation_is_moved_within_video_slots(office):
    make_specialist(office)
    appointment = book_video(office)
    moved = svc.reschedule_appointment(appointment, starts_at=LATER, actor="site", now=NOW)
    assert moved.starts_at == LATER and moved.specialist == appointment.specialist
    assert moved.video_room == appointment.video_room
    evening = dt.datetime(2026, 11, 3, 16, tzinfo=MSK)  # the office is open, the specialist is not
    assert refused(svc.reschedule_appointment, moved, starts_at=evening, actor="site", now=NOW)


# --- outcome and no-shows -----------------------------------------------------------------------------------


def test_the_specialist_records_the_outcome_after_the_time(office):
    make_specialist(office)
    appointment = book_video(office)
    assert refused(svc.record_outcome, appointment, status=Appointment.Status.DONE, actor="x", now=NOW)
    assert refused(svc.record_outcome, appointment, status="booked", actor="x", now=AT)
    svc.record_outcome(appointment, status=Appointment.Status.DONE, actor="x", now=AT + dt.timedelta(minutes=20))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.DONE
    assert refused(svc.record_outcome, appointment, status=Appointment.Status.NO_SHOW, actor="x", now=AT)


def test_visits_nobody_checked_in_for_become_no_shows(office):
    appointment = book(office)
    later = book(office, LATER, phone="+79120000002")
    assert svc.mark_no_shows(now=AT + dt.timedelta(minutes=15)) == 0
    assert svc.mark_no_shows(now=AT + dt.timedelta(minutes=16)) == 1
    appointment.refresh_from_db()
    later.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW
    assert later.status == Appointment.Status.BOOKED
    assert AuditEntry.objects.filter(action="appointment.no_show").count() == 1


# --- reminders ----------------------------------------------------------------------------------------------


def test_a_reminder_is_sent_the_day_before_once(office, django_capture_on_commit_callbacks, sms_outbox):
    friday = dt.datetime(2026, 10, 30, 15, tzinfo=MSK)
    appointment = book(office, email="m@example.ru", now=friday)  # booked on Friday for Tuesday 10:00
    monday = lambda hour, minute=0: dt.datetime(2026, 11, 2, hour, minute, tzinfo=MSK)  # noqa: E731
    assert svc.send_reminders(now=monday(9, 59)) == 0  # before the send window
    assert svc.send_reminders(now=dt.datetime(2026, 11, 1, 12, tzinfo=MSK)) == 0  # two days before
    with django_capture_on_commit_callbacks(execute=True):
        assert svc.send_reminders(now=monday(10)) == 1
    assert "03.11.2026" in sms_outbox[-1]["text"] and "10:00" in sms_outbox[-1]["text"]
    assert mail.outbox[-1].to == ["m@example.ru"]
    assert svc.send_reminders(now=monday(10, 5)) == 0
    assert svc.send_reminders(now=monday(20)) == 0
    appointment.refresh_from_db()
    assert appointment.reminder_sent_at == monday(10)
    assert OutboundMessage.objects.filter(purpose="appointment.reminder").count() == 2  # one SMS, one e-mail


def test_no_reminder_after_the_send_window_nor_for_a_booking_made_the_day_before(office):
    book(office, now=dt.datetime(2026, 11, 2, 8, tzinfo=MSK))
    assert svc.send_reminders(now=dt.datetime(2026, 11, 2, 21, 0, tzinfo=MSK)) == 0


def test_reminders_skip_cancelled_bookings(office):
    appointment = book(office, now=dt.datetime(2026, 10, 30, 12, tzinfo=MSK))
    svc.cancel_appointment(appointment, actor="site", now=NOW)
    assert svc.send_reminders(now=dt.datetime(2026, 11, 2, 12, tzinfo=MSK)) == 0


def test_the_reminder_day_and_hours_are_local(db):
    office = make_office(code="ekb", branch_code="66", time_zone="Asia/Yekaterinburg")
    starts_at = dt.datetime(2026, 11, 4 + 1, 9, 0, tzinfo=EKB)  # Thursday 9:00 local
    book(office, starts_at, now=dt.datetime(2026, 11, 2, 12, tzinfo=EKB))
    # Wednesday 9:30 in Yekaterinburg is 7:30 in Moscow: before the local send window.
    assert svc.send_reminders(now=dt.datetime(2026, 11, 4, 9, 30, tzinfo=EKB)) == 0
    # Wednesday 20:30 local is 18:30 in Moscow: inside; 21:00 local would be too late.
    assert svc.send_reminders(now=dt.datetime(2026, 11, 4, 20, 30, tzinfo=EKB)) == 1


# --- check-in at the kiosk ----------------------------------------------------------------------------------


def test_check_in_marks_the_arrival_and_issues_a_ticket_for_the_booked_service(office):
    account = AccountFactory()
    appointment = book(office, account=account)
    spaced = f"{appointment.code[:3]} {appointment.code[3:]}"  # as typed, with a space
    ticket = svc.check_in(office, code=spaced, now=AT - dt.timedelta(minutes=10))
    assert ticket.appointment == appointment
    assert ticket.service == appointment.service and ticket.office == office
    assert ticket.account == account
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CHECKED_IN
    assert AuditEntry.objects.get(action="appointment.check_in").details["ticket"] == ticket.number
    message = refused(svc.check_in, office, code=appointment.code, now=AT)
    assert ticket.number in message
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("minutes", [-30, 15])
def test_check_in_window_edges_are_accepted(office, minutes):
    appointment = book(office)
    assert svc.check_in(office, code=appointment.code, now=AT + dt.timedelta(minutes=minutes))


@pytest.mark.parametrize("minutes", [-31, 16])
def test_check_in_too_early_or_too_late_is_refused(office, minutes):
    appointment = book(office)
    message = refused(svc.check_in, office, code=appointment.code, now=AT + dt.timedelta(minutes=minutes))
    assert "10:00" in message
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert not Ticket.objects.exists()


def test_check_in_on_another_day_wrong_code_other_office_or_cancelled_is_refused(office):
    appointment = book(office)
    assert "03.11.2026" in refused(svc.check_in, office, code=appointment.code, now=NOW)
    assert refused(svc.check_in, office, code="000000" if appointment.code != "000000" else "111111", now=AT)
    assert refused(svc.check_in, office, code="", now=AT)
    elsewhere = make_office(code="other-office")
    assert refused(svc.check_in, elsewhere, code=appointment.code, now=AT)
    svc.cancel_appointment(appointment, actor="site", now=NOW)
    assert refused(svc.check_in, office, code=appointment.code, now=AT)
    assert not Ticket.objects.exists()


def test_a_video_booking_code_is_not_for_the_kiosk(office):
    make_specialist(office)
    appointment = book_video(office)
    assert refused(svc.check_in, office, code=appointment.code, now=AT)
    assert not Ticket.objects.exists()


def test_when_the_queue_refuses_the_booking_stays_unchecked(office):
    appointment = book(office)
    office.has_queue = False
    office.save()
    assert refused(svc.check_in, office, code=appointment.code, now=AT)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert not AuditEntry.objects.filter(action="appointment.check_in").exists()


def test_the_periodic_loop_marks_no_shows_and_sends_reminders(office):
    from sbyt.core import periodic

    periodic.load_jobs()
    jobs = {job.name.rsplit(".", 1)[-1]: job for job in periodic.JOBS if job.name.startswith("sbyt.offices.jobs.")}
    assert {"appointment_reminders", "appointment_no_shows", "hall_alerts"} <= set(jobs)
    appointment = book(office)
    with time_machine.travel(AT + dt.timedelta(minutes=16), tick=False):
        jobs["appointment_no_shows"].func()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW


def test_a_booking_code_is_unique_among_live_bookings_and_reused_after_one_ends(office):
    from django.db import IntegrityError, transaction

    first = book(office)
    svc.cancel_appointment(first, actor="site", now=NOW)
    second = book(office, LATER)
    Appointment.objects.filter(pk=second.pk).update(code=first.code)  # the cancelled booking's code, reused
    assert svc.find_by_code_and_phone(first.code, PHONE).pk == second.pk  # the newest booking with the code
    third = book(office, LATER + dt.timedelta(hours=1), phone="+79120000003")
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.filter(pk=third.pk).update(code=first.code)  # two live bookings, one code: refused
