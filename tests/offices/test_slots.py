"""Free appointment slots: hours, the break, holidays, special days, lead time, days ahead, windows per service,
time zones, video specialists."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sbyt.offices import slots
from sbyt.offices.models import Appointment, OfficeDay, OfficeHours, Service, VideoHours, VideoSpecialist, Window
from tests.factories import UserFactory
from tests.offices.builders import make_office

MSK = ZoneInfo("Europe/Moscow")
# Monday 2 November 2026, 8:00 in Moscow; Wednesday 4 November is Unity Day (a public holiday).
MONDAY_MORNING = dt.datetime(2026, 11, 2, 8, 0, tzinfo=MSK)
TUESDAY = dt.date(2026, 11, 3)  # the eve of the holiday: one hour shorter
NEXT_TUESDAY = dt.date(2026, 11, 10)
HOLIDAY = dt.date(2026, 11, 4)
SATURDAY = dt.date(2026, 11, 7)

pytestmark = pytest.mark.django_db


def times(slot_list):
    return [s.starts_at.strftime("%H:%M") for s in slot_list]


def consultation():
    return Service.objects.get(code="consultation")


def day_slots(office, day, *, service=None, now=MONDAY_MORNING, video=False, include_full=False):
    finder = slots.video_slots if video else slots.visit_slots
    return finder(office, service or consultation(), start=day, end=day, now=now, include_full=include_full).get(
        day, []
    )


def book(office, window, starts_at, minutes=15, status=Appointment.Status.BOOKED, code="100001"):
    return Appointment.objects.create(
        office=office,
        service=consultation(),
        window=window,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=minutes),
        status=status,
        code=code,
        name="Иванова Мария",
        phone="+79121234567",
    )


def test_a_working_day_has_slots_from_opening_to_closing_without_the_break():
    office = make_office()
    found = times(day_slots(office, NEXT_TUESDAY))
    assert found[0] == "09:00"
    assert found[-1] == "17:45"
    assert "12:45" in found and "14:00" in found
    assert not [t for t in found if "13:00" <= t < "14:00"]
    assert len(found) == 32  # 4 hours before the break and 4 after, by 15 minutes


def test_the_slot_length_is_the_office_setting_and_a_slot_must_fit_before_the_break():
    office = make_office(appointment_minutes=40)
    found = times(day_slots(office, NEXT_TUESDAY))
    # 9:00, 9:40, 10:20, 11:00, 11:40, 12:20 (ends 13:00); 14:00 … 17:20 (ends 18:00)
    assert found == [
        "09:00",
        "09:40",
        "10:20",
        "11:00",
        "11:40",
        "12:20",
        "14:00",
        "14:40",
        "15:20",
        "16:00",
        "16:40",
        "17:20",
    ]


def test_the_eve_of_a_holiday_closes_an_hour_earlier():
    office = make_office()
    found = times(day_slots(office, TUESDAY))
    assert found[-1] == "16:45"
    assert len(found) == 28


def test_a_day_off_by_decree_has_no_slots_and_a_working_saturday_has_the_hours_of_the_day_it_replaces():
    office = make_office(appointment_days_ahead=30)
    # 31 December 2026 (Thursday) is a day off moved from 4 January by the decree.
    assert day_slots(office, dt.date(2026, 12, 31), now=dt.datetime(2026, 12, 20, 8, tzinfo=MSK)) == []
    # Saturday 20 February 2027 is a working day standing in for Monday 22 February (a day off instead).
    OfficeHours.objects.filter(office=office, weekday=0).update(opens=dt.time(8), closes=dt.time(17))
    now = dt.datetime(2027, 2, 15, 8, tzinfo=MSK)
    saturday = times(day_slots(office, dt.date(2027, 2, 20), now=now))
    # Monday's hours, one hour shorter: the Monday it stands for is the eve of 23 February.
    assert saturday[0] == "08:00" and saturday[-1] == "15:45"
    assert day_slots(office, dt.date(2027, 2, 22), now=now) == []


def test_a_public_holiday_and_a_day_without_hours_have_no_slots():
    office = make_office()
    assert day_slots(office, HOLIDAY) == []
    assert day_slots(office, SATURDAY) == []
    assert day_slots(office, TUESDAY)


def test_an_office_day_closes_the_office_or_changes_its_hours():
    office = make_office()
    OfficeDay.objects.create(office=office, date=TUESDAY, closed=True, reason="санитарный день")
    assert day_slots(office, TUESDAY) == []
    thursday = dt.date(2026, 11, 5)
    OfficeDay.objects.create(office=office, date=thursday, closed=False, opens=dt.time(10), closes=dt.time(15))
    found = times(day_slots(office, thursday))
    assert found[0] == "10:00"
    assert found[-1] == "14:45"
    assert "13:15" not in found  # the break still applies


def test_nothing_sooner_than_the_lead_time_and_nothing_in_the_past():
    office = make_office()
    now = dt.datetime(2026, 11, 3, 10, 20, tzinfo=MSK)
    found = times(day_slots(office, TUESDAY, now=now))
    assert found[0] == "11:30"  # 11:20 is the earliest allowed start: the next slot is 11:30
    assert dt.timedelta(hours=1) == slots.LEAD_TIME
    assert day_slots(office, dt.date(2026, 11, 2), now=now) == []
    past = dt.datetime(2026, 11, 3, 10, 0, tzinfo=MSK)
    assert slots.slot_at(office, consultation(), past, now=now) is None
    too_soon = dt.datetime(2026, 11, 3, 11, 15, tzinfo=MSK)
    assert slots.slot_at(office, consultation(), too_soon, now=now) is None
    off_grid = dt.datetime(2026, 11, 3, 11, 40, tzinfo=MSK)
    assert slots.slot_at(office, consultation(), off_grid, now=now) is None


def test_bookings_only_up_to_the_days_ahead():
    office = make_office(appointment_days_ahead=3)
    days = slots.bookable_days(office, MONDAY_MORNING)
    assert days[0] == dt.date(2026, 11, 2)
    assert days[-1] == dt.date(2026, 11, 5)
    everything = slots.visit_slots(office, consultation(), now=MONDAY_MORNING)
    assert max(everything) == dt.date(2026, 11, 5)
    far = dt.datetime(2026, 11, 6, 10, tzinfo=MSK)
    assert slots.slot_at(office, consultation(), far, now=MONDAY_MORNING) is None
    near = dt.datetime(2026, 11, 5, 10, tzinfo=MSK)
    assert slots.slot_at(office, consultation(), near, now=MONDAY_MORNING) is not None


def test_a_slot_is_free_while_one_window_serving_the_service_is_free():
    office = make_office(windows=2, services=("consultation", "cash"))
    one, two = office.windows.order_by("number")
    two.services.set([Service.objects.get(code="cash")])  # window 2 takes payments only
    at = dt.datetime(2026, 11, 3, 10, tzinfo=MSK)
    slot = slots.slot_at(office, consultation(), at, now=MONDAY_MORNING)
    assert slot.free == (one.pk,)
    book(office, one, at)
    assert slots.slot_at(office, consultation(), at, now=MONDAY_MORNING).free == ()
    assert "10:00" not in times(day_slots(office, TUESDAY))
    assert "10:00" in times(day_slots(office, TUESDAY, include_full=True))
    cash = slots.slot_at(office, Service.objects.get(code="cash"), at, now=MONDAY_MORNING)
    assert cash.free == (two.pk,)  # window 1 is busy with the consultation, window 2 is free for payments


def test_cancelled_bookings_and_inactive_windows_do_not_count():
    office = make_office(windows=2)
    one, two = office.windows.order_by("number")
    at = dt.datetime(2026, 11, 3, 10, tzinfo=MSK)
    book(office, one, at, status=Appointment.Status.CANCELLED)
    assert slots.slot_at(office, consultation(), at, now=MONDAY_MORNING).free == (one.pk, two.pk)
    Window.objects.filter(pk=two.pk).update(is_active=False)
    assert slots.slot_at(office, consultation(), at, now=MONDAY_MORNING).free == (one.pk,)


def test_a_booking_of_another_length_blocks_every_slot_it_overlaps():
    office = make_office(windows=1)
    window = office.windows.get()
    book(office, window, dt.datetime(2026, 11, 3, 10, 10, tzinfo=MSK), minutes=30)  # 10:10–10:40
    found = times(day_slots(office, TUESDAY))
    assert "10:00" not in found and "10:15" not in found and "10:30" not in found
    assert "09:45" in found and "10:45" in found


def test_slots_are_in_the_office_zone_and_its_local_today():
    office = make_office(code="ekb", branch_code="66", time_zone="Asia/Yekaterinburg")
    zone = ZoneInfo("Asia/Yekaterinburg")
    # 23:30 in Moscow on Monday is already 01:30 on Tuesday in Yekaterinburg.
    now = dt.datetime(2026, 11, 2, 23, 30, tzinfo=MSK)
    assert slots.bookable_days(office, now)[0] == TUESDAY
    found = day_slots(office, TUESDAY, now=now)
    assert found[0].starts_at == dt.datetime(2026, 11, 3, 9, 0, tzinfo=zone)
    assert found[0].starts_at.astimezone(dt.UTC).hour == 4
    assert found[0].key == "2026-11-03T09:00"
    assert slots.parse_slot_key(office, "2026-11-03T09:00") == found[0].starts_at
    assert slots.parse_slot_key(office, "03.11.2026 9:00") is None


def make_specialist(office, username="video1", hours=((0, dt.time(10), dt.time(12)),), services=("consultation",)):
    user = UserFactory(username=username, is_staff=True)
    specialist = VideoSpecialist.objects.create(user=user, office=office, display_name=f"Специалист {username}")
    specialist.services.set(Service.objects.filter(code__in=services))
    for weekday, starts, ends in hours:
        VideoHours.objects.create(specialist=specialist, weekday=weekday, starts=starts, ends=ends)
    return specialist


def test_video_slots_come_from_the_specialists_hours():
    office = make_office()
    first = make_specialist(office, "video1", hours=((1, dt.time(10), dt.time(11)),))
    second = make_specialist(office, "video2", hours=((1, dt.time(10, 30), dt.time(12)),))
    found = day_slots(office, TUESDAY, video=True)
    assert times(found) == ["10:00", "10:15", "10:30", "10:45", "11:00", "11:15", "11:30", "11:45"]
    both = next(s for s in found if s.key.endswith("10:30"))
    assert both.free == (first.user_id, second.user_id)
    Appointment.objects.create(
        kind=Appointment.Kind.VIDEO,
        office=office,
        service=consultation(),
        specialist=first.user,
        starts_at=both.starts_at,
        ends_at=both.ends_at,
        code="200002",
        name="Иванова Мария",
        phone="+79121234567",
    )
    again = slots.slot_at(office, consultation(), both.starts_at, video=True, now=MONDAY_MORNING)
    assert again.free == (second.user_id,)
    assert day_slots(office, dt.date(2026, 11, 2), video=True) == []  # no Monday hours


def test_video_slots_skip_holidays_inactive_specialists_and_other_services():
    office = make_office()
    specialist = make_specialist(office, hours=((2, dt.time(10), dt.time(11)),))
    assert day_slots(office, HOLIDAY, video=True) == []  # Wednesday, but Unity Day
    next_wednesday = dt.date(2026, 11, 11)
    assert len(day_slots(office, next_wednesday, video=True)) == 4
    assert day_slots(office, next_wednesday, video=True, service=Service.objects.get(code="cash")) == []
    assert [s.code for s in slots.video_services(office)] == ["consultation"]
    VideoSpecialist.objects.filter(pk=specialist.pk).update(is_active=False)
    assert day_slots(office, next_wednesday, video=True) == []
    assert slots.video_services(office) == []
