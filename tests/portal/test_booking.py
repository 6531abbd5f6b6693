"""Booking a visit on the public site and in the cabinet, «Мои записи», cancelling by code and phone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from sbyt.messaging.models import OutboundMessage
from sbyt.offices import appointments as svc
from sbyt.offices.models import Appointment, Service, VideoHours, VideoSpecialist
from tests.factories import UserFactory, staff_login
from tests.offices.builders import make_office

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 11, 2, 8, 0, tzinfo=MSK)  # Monday morning; Wednesday 4 November is a holiday
AT = dt.datetime(2026, 11, 3, 10, 0, tzinfo=MSK)
BOOK = reverse("portal:book_visit")
DONE = reverse("portal:booking_done")
CANCEL = reverse("portal:booking_cancel")
MINE = reverse("portal:my_appointments")
PHONE = "+79121234567"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def office(db):
    return make_office(windows=2)


def consultation():
    return Service.objects.get(code="consultation")


def contact(office, *, time="10:00", date="2026-11-03", consent=True, **fields):
    data = {
        "office": office.code,
        "service": "consultation",
        "date": date,
        "time": time,
        "name": "Иванова Мария",
        "phone": "8 912 123-45-67",
        "email": "",
        "topic": "",
    }
    if consent:
        data["consent"] = "on"
    data.update(fields)
    return data


def book_directly(office, starts_at=AT, phone=PHONE, **kwargs):
    fields = {"name": "Иванова Мария", "channel": "site", "actor": "site", **kwargs}
    return svc.book_visit(office, service=consultation(), starts_at=starts_at, phone=phone, **fields)


# --- the steps ----------------------------------------------------------------------------------------------


def test_the_first_step_lists_the_offices_taking_bookings_by_town(client, office):
    make_office(code="no-booking", accepts_appointments=False, name="Участок без записи")
    make_office(code="ukhta", town="Ухта", name="Ухтинский офис", address="г. Ухта, ул. Ленина, д. 1")
    html = client.get(BOOK).content.decode()
    assert office.name in html and "Ухтинский офис" in html
    assert "Участок без записи" not in html
    assert f"?office={office.code}" in html
    only_ukhta = client.get(BOOK, {"town": "Ухта"}).content.decode()
    assert "Ухтинский офис" in only_ukhta and office.address not in only_ukhta


def test_the_second_step_offers_the_services_and_a_video_consultation(client, office):
    html = client.get(BOOK, {"office": office.code}).content.decode()
    assert "Консультация" in html and "Оплата в кассе" in html
    assert "kind=video" not in html  # no video specialists yet
    user = UserFactory(username="video1", is_staff=True)
    specialist = VideoSpecialist.objects.create(user=user, office=office, display_name="Петров П. П.")
    specialist.services.set([consultation()])
    html = client.get(BOOK, {"office": office.code}).content.decode()
    assert "kind=video" in html


def test_an_unknown_office_or_one_not_taking_bookings_shows_the_first_step(client, office):
    closed = make_office(code="closed", accepts_appointments=False)
    for code in ("nope", closed.code):
        response = client.get(BOOK, {"office": code})
        assert response.status_code == 200
        assert response.context["step"] == 1


def test_the_date_step_counts_free_times_and_skips_closed_days(client, office):
    response = client.get(BOOK, {"office": office.code, "service": "consultation"})
    assert response.context["step"] == 3
    days = {row["day"]: row["count"] for row in response.context["days"]}
    assert days[dt.date(2026, 11, 3)] == 28  # the eve of the holiday: 9:00–17:00 without the break
    assert days[dt.date(2026, 11, 4)] == 0  # Unity Day
    assert days[dt.date(2026, 11, 7)] == 0  # Saturday
    html = response.content.decode()
    assert "date=2026-11-03" in html and "date=2026-11-04" not in html


def test_the_time_step_shows_only_free_times(client, office):
    book_directly(office)
    book_directly(office, phone="+79120000002")
    response = client.get(BOOK, {"office": office.code, "service": "consultation", "date": "2026-11-03"})
    assert response.context["step"] == 4
    labels = [row["label"] for row in response.context["times"]]
    assert "10:00" not in labels and "10:15" in labels
    assert "time=10%3A15" in response.content.decode()


def test_a_date_outside_the_bookable_days_goes_back_to_the_dates(client, office):
    for date in ("2026-12-31", "garbage", "2026-11-01"):
        response = client.get(BOOK, {"office": office.code, "service": "consultation", "date": date})
        assert response.context["step"] == 3


# --- booking ------------------------------------------------------------------------------------------------


def test_a_visitor_books_and_sees_the_code(client, office, django_capture_on_commit_callbacks, sms_outbox):
    page = client.get(BOOK, contact(office))
    assert page.context["step"] == 5
    assert "consent" in page.context["form"].fields
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(BOOK, contact(office))
    assert response.status_code == 302 and response.url == DONE
    appointment = Appointment.objects.get()
    assert appointment.phone == PHONE and appointment.channel == "site"
    assert appointment.user is None and appointment.account is None
    assert appointment.starts_at == AT
    html = client.get(DONE).content.decode()
    assert appointment.code in html
    assert office.address in html and "10:00" in html
    assert appointment.code in sms_outbox[-1]["text"]


def test_without_consent_or_with_a_bad_phone_nothing_is_booked(client, office):
    response = client.post(BOOK, contact(office, consent=False))
    assert response.status_code == 200 and response.context["form"].errors["consent"]
    response = client.post(BOOK, contact(office, phone="123"))
    assert response.context["form"].errors["phone"]
    assert not Appointment.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_a_time_not_offered_is_refused_in_words(client, office):
    response = client.post(BOOK, contact(office, time="10:05"))
    assert response.status_code == 200
    assert svc._("This time cannot be booked. Choose a time from the list.") in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_taken_time_is_answered_with_a_link_to_another(client, office):
    book_directly(office, phone="+79120000001")
    book_directly(office, phone="+79120000002")
    response = client.post(BOOK, contact(office))
    assert response.status_code == 200
    assert svc._taken_message() in response.content.decode()
    assert "date=2026-11-03" in response.context["other_time_url"]
    assert Appointment.objects.count() == 2


def test_a_video_consultation_is_booked_with_its_link(client, office, settings):
    settings.SBYT_JITSI_URL = "https://meet.energo.example"
    user = UserFactory(username="video1", is_staff=True)
    specialist = VideoSpecialist.objects.create(user=user, office=office, display_name="Петров П. П.")
    specialist.services.set([consultation()])
    VideoHours.objects.create(specialist=specialist, weekday=1, starts=dt.time(10), ends=dt.time(12))
    response = client.post(BOOK, contact(office, kind="video"))
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.kind == "video" and appointment.specialist == user
    html = client.get(DONE).content.decode()
    assert f"https://meet.energo.example/{appointment.video_room}" in html
    assert "Петров П. П." in html


def test_the_done_page_without_a_booking_goes_to_the_start(client, db):
    assert client.get(DONE).url == BOOK


def test_public_bookings_are_rate_limited_per_address_and_per_phone(client, office, settings):
    settings.RATELIMIT_CODES = "2/h"
    assert client.post(BOOK, contact(office, time="10:00")).status_code == 302
    assert client.post(BOOK, contact(office, time="10:15", phone="+79120000002")).status_code == 302
    response = client.post(BOOK, contact(office, time="10:30", phone="+79120000003"))
    assert response.status_code == 429
    assert Appointment.objects.count() == 2
    # from another address, but the same phone as the first two bookings' first one: limited by the phone
    other = client.post(BOOK, contact(office, time="10:45"), REMOTE_ADDR="198.51.100.7")
    assert client.post(BOOK, contact(office, time="11:00"), REMOTE_ADDR="198.51.100.7").status_code == 429
    assert other.status_code == 302
    assert Appointment.objects.count() == 3


def test_one_phone_may_hold_only_a_few_live_bookings(client, office):
    for minutes in ("10:00", "10:15", "10:30"):
        assert client.post(BOOK, contact(office, time=minutes)).status_code == 302
    response = client.post(BOOK, contact(office, time="10:45"))
    assert response.status_code == 200
    assert str(svc.MAX_LIVE_PER_PHONE) in response.content.decode()
    assert Appointment.objects.count() == 3


# --- in the cabinet -------------------------------------------------------------------------------------------


def test_a_logged_in_client_gets_the_form_prefilled_and_the_account_attached(logged_in, home, office):
    page = logged_in.get(BOOK, contact(office))
    form = page.context["form"]
    assert "consent" not in form.fields
    assert form.initial["name"] == home.account.customer.display_name
    assert form.initial["phone"] == home.account.customer.phone
    data = contact(office, consent=False)
    response = logged_in.post(BOOK, data)
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.user == home.user and appointment.account == home.account
    assert appointment.channel == "cabinet"
    assert reverse("portal:my_appointments") in logged_in.get(DONE).content.decode()


def test_my_bookings_list_and_the_navigation_link(logged_in, home, office):
    mine = book_directly(office, user=home.user, account=home.account)
    by_operator = book_directly(office, AT + dt.timedelta(minutes=15), account=home.account, channel="operator")
    stranger = book_directly(office, AT + dt.timedelta(minutes=30), phone="+79120000009")
    response = logged_in.get(MINE)
    assert response.status_code == 200
    html = response.content.decode()
    assert mine.code in html and by_operator.code in html
    assert stranger.code not in html
    assert f'href="{MINE}"' in logged_in.get(reverse("portal:home")).content.decode()


def test_my_bookings_need_a_client_login(client, office):
    assert client.get(MINE).url.startswith(reverse("portal:login"))
    client.force_login(staff_login())
    assert client.get(MINE).url == reverse("backoffice:home")


def test_a_client_cancels_a_booking_after_confirming(logged_in, home, office):
    appointment = book_directly(office, user=home.user, account=home.account)
    url = reverse("portal:appointment_cancel", args=[appointment.pk])
    page = logged_in.get(url)
    assert page.status_code == 200 and appointment.code in page.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "booked"  # a GET changes nothing
    assert logged_in.post(url).url == MINE
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    again = logged_in.post(url)
    assert again.status_code == 200 and again.context["error"]


def test_someone_elses_booking_is_not_found(logged_in, office):
    other = book_directly(office, phone="+79120000009")
    assert logged_in.get(reverse("portal:appointment_cancel", args=[other.pk])).status_code == 404
    assert logged_in.post(reverse("portal:appointment_cancel", args=[other.pk])).status_code == 404
    assert logged_in.get(reverse("portal:appointment_reschedule", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.status == "booked"


def test_a_client_moves_a_booking(logged_in, home, office):
    appointment = book_directly(office, user=home.user, account=home.account)
    url = reverse("portal:appointment_reschedule", args=[appointment.pk])
    days = logged_in.get(url).context["days"]
    assert any(row["count"] for row in days)
    times = logged_in.get(url, {"date": "2026-11-05"}).context["times"]
    assert times[0]["slot"].key == "2026-11-05T09:00"
    response = logged_in.post(url, {"slot": "2026-11-05T09:00"})
    assert response.url == MINE
    appointment.refresh_from_db()
    assert appointment.starts_at == dt.datetime(2026, 11, 5, 9, 0, tzinfo=MSK)
    refused = logged_in.post(url, {"slot": "2026-11-04T09:00"})  # the holiday
    assert refused.status_code == 200 and refused.context["error"]
    garbage = logged_in.post(url, {"slot": "tomorrow"})
    assert garbage.context["error"]
    appointment.refresh_from_db()
    assert appointment.starts_at == dt.datetime(2026, 11, 5, 9, 0, tzinfo=MSK)


# --- cancelling without a login --------------------------------------------------------------------------------


def test_cancel_by_code_and_phone_after_a_confirmation(client, office):
    appointment = book_directly(office)
    wrong = client.post(CANCEL, {"code": "000000" if appointment.code != "000000" else "111111", "phone": PHONE})
    assert wrong.status_code == 200 and wrong.context["form"].non_field_errors()
    other_phone = client.post(CANCEL, {"code": appointment.code, "phone": "+79120000009"})
    assert other_phone.context["form"].non_field_errors()
    found = client.post(CANCEL, {"code": appointment.code, "phone": "8 (912) 123-45-67"})
    assert found.context["appointment"] == appointment
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    done = client.post(CANCEL, {"code": appointment.code, "phone": PHONE, "confirm": "1"})
    assert done.url == CANCEL
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_code_lookups_are_rate_limited(client, office, settings):
    settings.RATELIMIT_PUBLIC_READINGS = "2/h"
    appointment = book_directly(office)
    for _ in range(2):
        client.post(CANCEL, {"code": "123", "phone": PHONE})
    response = client.post(CANCEL, {"code": appointment.code, "phone": PHONE, "confirm": "1"})
    assert response.status_code == 429
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_a_link_for_a_video_consultation_skips_the_service_when_there_is_one(client, office):
    user = UserFactory(username="video1", is_staff=True)
    specialist = VideoSpecialist.objects.create(user=user, office=office, display_name="Петров П. П.")
    specialist.services.set([consultation()])
    response = client.get(BOOK, {"office": office.code, "kind": "video"})
    assert response.context["step"] == 3
    assert response.context["choice"].video and response.context["choice"].service == consultation()
    specialist.services.add(Service.objects.get(code="cash"))
    response = client.get(BOOK, {"office": office.code, "kind": "video"})
    assert response.context["step"] == 2
    assert response.context["services"] == [] and len(response.context["video_services"]) == 2
