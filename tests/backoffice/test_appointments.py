"""Appointments in the staff workspace: booking for a client, an office's day, a video specialist's day, and
who may do what."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from sbyt.core.models import AuditEntry
from sbyt.offices import appointments as svc
from sbyt.offices.models import Appointment, Service, VideoHours, VideoSpecialist
from tests.factories import AccountFactory, UserFactory, client_login, staff_login
from tests.offices.builders import make_office

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 11, 2, 8, 0, tzinfo=MSK)
AT = dt.datetime(2026, 11, 3, 10, 0, tzinfo=MSK)
DAY = reverse("backoffice:appointments")
BOOK = reverse("backoffice:appointment_book")
VIDEO = reverse("backoffice:video_day")
OPERATOR = "Оператор контакт-центра"
OFFICE_SPECIALIST = "Специалист офиса"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def office():
    return make_office(windows=2)


@pytest.fixture
def operator():
    return staff_login(OPERATOR)


def consultation():
    return Service.objects.get(code="consultation")


def book(office, starts_at=AT, phone="+79121234567", **kwargs):
    fields = {"name": "Иванова Мария", "channel": "site", "actor": "site", **kwargs}
    return svc.book_visit(office, service=consultation(), starts_at=starts_at, phone=phone, **fields)


def make_video_specialist(office, username="video1"):
    user = staff_login(OFFICE_SPECIALIST, username=username)
    profile = VideoSpecialist.objects.create(user=user, office=office, display_name="Петров Пётр")
    profile.services.set([consultation()])
    VideoHours.objects.create(specialist=profile, weekday=1, starts=dt.time(10), ends=dt.time(12))
    return profile


# --- an office's day ------------------------------------------------------------------------------------------


def test_the_office_day_lists_the_bookings_and_is_audited(client, office, operator):
    account = AccountFactory()
    appointment = book(office, account=account, topic="Перерасчёт за октябрь")
    client.force_login(operator)
    response = client.get(DAY, {"office": office.code, "date": "2026-11-03"})
    assert response.status_code == 200
    html = response.content.decode()
    assert appointment.code in html and "Иванова Мария" in html and "+79121234567" in html
    assert "Перерасчёт за октябрь" in html and account.number in html
    assert "10:00" in html
    entry = AuditEntry.objects.get(action="appointments.office_day")
    assert entry.kind == AuditEntry.Kind.VIEW and entry.details["count"] == 1


def test_the_office_day_shows_local_times_of_the_office(client, operator):
    office = make_office(code="ekb", branch_code="66", time_zone="Asia/Yekaterinburg")
    book(office, dt.datetime(2026, 11, 3, 9, 0, tzinfo=ZoneInfo("Asia/Yekaterinburg")))
    client.force_login(operator)
    html = client.get(DAY, {"office": office.code, "date": "2026-11-03"}).content.decode()
    assert "09:00" in html and "07:00" not in html


def test_office_staff_see_only_their_offices(client, office):
    other = make_office(code="other", name="Другой офис")
    theirs = book(other)
    specialist = staff_login(OFFICE_SPECIALIST)
    office.staff.add(specialist)
    client.force_login(specialist)
    response = client.get(DAY, {"office": other.code, "date": "2026-11-03"})
    assert response.context["office"] == office  # the other office is not theirs: their own is shown
    assert theirs.code not in response.content.decode()
    assert [o.code for o in response.context["offices"]] == [office.code]


def test_the_office_day_needs_the_permission(client, office):
    assert client.get(DAY).url.startswith(reverse("backoffice:login"))
    client.force_login(staff_login())
    assert client.get(DAY).status_code == 403
    client.force_login(client_login(AccountFactory()))
    assert client.get(DAY).status_code == 302


def test_staff_cancel_a_booking(client, office, operator):
    appointment = book(office)
    client.force_login(operator)
    response = client.post(reverse("backoffice:appointment_cancel", args=[appointment.pk]))
    assert response.status_code == 302 and "date=2026-11-03" in response.url
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert AuditEntry.objects.get(action="appointment.cancel").actor == operator


def test_cancelling_needs_the_permission_and_the_office(client, office):
    appointment = book(office)
    client.force_login(staff_login())
    assert client.post(reverse("backoffice:appointment_cancel", args=[appointment.pk])).status_code == 403
    elsewhere = staff_login(OFFICE_SPECIALIST)
    make_office(code="other").staff.add(elsewhere)
    client.force_login(elsewhere)
    assert client.post(reverse("backoffice:appointment_cancel", args=[appointment.pk])).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


# --- booking for a client -------------------------------------------------------------------------------------


def test_an_operator_finds_the_client_and_books_a_visit(client, office, operator):
    account = AccountFactory(customer__phone="+79125556677")
    client.force_login(operator)
    params = {"number": account.number, "office": office.code, "service": "consultation", "date": "2026-11-03"}
    page = client.get(BOOK, params)
    assert page.status_code == 200
    assert account.customer.display_name in page.content.decode()
    assert page.context["form"].initial["phone"] == "+79125556677"
    assert [s.key for s in page.context["times"]][:2] == ["2026-11-03T09:00", "2026-11-03T09:15"]
    assert AuditEntry.objects.filter(action="appointments.client", account_number=account.number).exists()
    data = {
        **params,
        "name": "Иванова Мария",
        "phone": "+79125556677",
        "email": "",
        "topic": "",
        "slot": "2026-11-03T10:00",
    }
    response = client.post(BOOK, data)
    assert response.status_code == 302 and response.url.startswith(DAY)
    appointment = Appointment.objects.get()
    assert appointment.account == account and appointment.channel == "operator"
    assert appointment.user is None and appointment.starts_at == AT
    assert AuditEntry.objects.get(action="appointment.book").actor == operator


def test_an_operator_books_a_video_consultation(client, office, operator):
    profile = make_video_specialist(office)
    client.force_login(operator)
    params = {"office": office.code, "service": "video:consultation", "date": "2026-11-03"}
    page = client.get(BOOK, params)
    assert (
        "video:consultation",
        svc._("Video consultation: %(service)s") % {"service": "Консультация"},
    ) in page.context["service_options"]
    data = {**params, "name": "Сидоров", "phone": "89121112233", "slot": "2026-11-03T11:00"}
    assert client.post(BOOK, data).status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.kind == "video" and appointment.specialist == profile.user


def test_bad_data_or_a_taken_time_books_nothing(client, office, operator):
    client.force_login(operator)
    params = {"office": office.code, "service": "consultation", "date": "2026-11-03"}
    bad_phone = client.post(BOOK, {**params, "name": "Иванова", "phone": "12", "slot": "2026-11-03T10:00"})
    assert bad_phone.status_code == 400
    assert svc._("Enter a mobile phone number, e.g. +7 912 345-67-89.") in bad_phone.content.decode()
    no_slot = client.post(BOOK, {**params, "name": "Иванова", "phone": "89121112233", "slot": "nonsense"})
    assert no_slot.status_code == 400
    book(office, phone="+79120000001")
    book(office, phone="+79120000002")
    taken = client.post(BOOK, {**params, "name": "Иванова", "phone": "89121112233", "slot": "2026-11-03T10:00"})
    assert taken.status_code == 400 and svc._taken_message() in taken.content.decode()
    assert Appointment.objects.count() == 2


def test_an_unknown_client_number_is_said_and_the_booking_goes_without_it(client, office, operator):
    client.force_login(operator)
    page = client.get(BOOK, {"number": "999999999", "office": office.code})
    assert page.context["not_found"] is True and page.context["account"] is None


def test_booking_for_a_client_needs_the_permission(client, office):
    client.force_login(staff_login())
    assert client.get(BOOK).status_code == 403
    assert client.post(BOOK, {"office": office.code}).status_code == 403
    client.logout()
    assert client.get(BOOK).url.startswith(reverse("backoffice:login"))


# --- a video specialist's day -----------------------------------------------------------------------------------


def test_the_specialist_sees_the_day_with_room_links_and_records_the_outcome(client, office, settings, clock):
    settings.SBYT_JITSI_URL = "https://meet.energo.example"
    profile = make_video_specialist(office)
    appointment = svc.book_video(
        office,
        service=consultation(),
        starts_at=AT,
        name="Сидоров С.",
        phone="+79121112233",
        channel="site",
        actor="site",
    )
    client.force_login(profile.user)
    html = client.get(VIDEO, {"date": "2026-11-03"}).content.decode()
    assert f"https://meet.energo.example/{appointment.video_room}" in html
    assert "Сидоров С." in html and "10:00" in html
    assert AuditEntry.objects.filter(action="appointments.video_day").exists()
    clock.move_to(AT + dt.timedelta(minutes=20))
    response = client.post(reverse("backoffice:appointment_outcome", args=[appointment.pk]), {"status": "done"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.DONE


def test_staff_with_the_view_permission_choose_a_specialist(client, office, operator):
    profile = make_video_specialist(office)
    client.force_login(operator)
    response = client.get(VIDEO)
    assert response.status_code == 200 and response.context["profile"] is None
    assert profile in response.context["specialists"]
    chosen = client.get(VIDEO, {"specialist": profile.pk, "date": "2026-11-03"})
    assert chosen.context["profile"] == profile


def test_the_video_day_and_outcomes_need_a_profile_or_the_permission(client, office):
    profile = make_video_specialist(office)
    appointment = svc.book_video(
        office, service=consultation(), starts_at=AT, name="Сидоров", phone="+79121112233", channel="site", actor="site"
    )
    nobody = staff_login()
    client.force_login(nobody)
    assert client.get(VIDEO).status_code == 403
    assert (
        client.post(reverse("backoffice:appointment_outcome", args=[appointment.pk]), {"status": "done"}).status_code
        == 403
    )
    other = make_video_specialist(office, "video2")
    other.user.groups.clear()
    client.force_login(other.user)
    assert client.get(VIDEO).context["profile"] == other
    assert (
        client.post(reverse("backoffice:appointment_outcome", args=[appointment.pk]), {"status": "done"}).status_code
        == 403
    )
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    assert profile.user != other.user


def test_the_home_page_links_to_appointments(client, operator):
    client.force_login(operator)
    assert DAY in client.get(reverse("backoffice:home")).content.decode()
    video_only = UserFactory(is_staff=True)
    VideoSpecialist.objects.create(user=video_only, office=make_office(), display_name="Видео")
    client.force_login(video_only)
    assert VIDEO in client.get(reverse("backoffice:home")).content.decode()
