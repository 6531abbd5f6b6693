"""«Open now»: lunch breaks, holidays, transferred working days, shortened pre-holiday days, OfficeDay
exceptions and offices outside Moscow time."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core import calendar
from sbyt.offices import hours
from sbyt.offices.hours import Hours, Schedule, Special, Why
from sbyt.offices.models import OfficeDay
from tests.offices.builders import make_office

MOSCOW = ZoneInfo("Europe/Moscow")
T = dt.time
LUNCH = Hours(T(9), T(18), T(13), T(14))
# Kola's offices: Monday 9–18, Tuesday–Friday 9–17, lunch 13–14.
KOLA = {0: LUNCH, **{d: Hours(T(9), T(17), T(13), T(14)) for d in range(1, 5)}}


def at(zone: str, *args) -> dt.datetime:
    """An aware instant given as local wall-clock time in ``zone``."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone))


def msk(*args) -> dt.datetime:
    return at("Europe/Moscow", *args)


def weekdays(h: Hours) -> dict[int, Hours]:
    return dict.fromkeys(range(5), h)


MOSCOW_OFFICE = Schedule("Europe/Moscow", weekdays(LUNCH))


# --- lunch break --------------------------------------------------------------------------------------------


def test_open_closed_across_a_lunch_break():
    wednesday = (2026, 11, 25)
    assert hours.status(MOSCOW_OFFICE, msk(*wednesday, 8, 59)).state == "closed"
    assert hours.is_open(MOSCOW_OFFICE, msk(*wednesday, 9, 0))
    assert hours.is_open(MOSCOW_OFFICE, msk(*wednesday, 12, 59))
    lunch = hours.status(MOSCOW_OFFICE, msk(*wednesday, 13, 0))
    assert (lunch.state, lunch.until) == ("break", T(14))
    assert not hours.is_open(MOSCOW_OFFICE, msk(*wednesday, 13, 59))
    assert hours.is_open(MOSCOW_OFFICE, msk(*wednesday, 14, 0))
    assert not hours.is_open(MOSCOW_OFFICE, msk(*wednesday, 18, 0))


def test_status_lines():
    def text(*moment):
        return hours.status_text(hours.status(MOSCOW_OFFICE, msk(*moment)))

    assert text(2026, 11, 25, 10, 0) == _("Open until %(time)s, break %(starts)s–%(ends)s") % {
        "time": "18:00",
        "starts": "13:00",
        "ends": "14:00",
    }
    assert text(2026, 11, 25, 13, 20) == _("Break until %(time)s") % {"time": "14:00"}
    assert text(2026, 11, 25, 15, 0) == _("Open until %(time)s") % {"time": "18:00"}
    assert text(2026, 11, 25, 7, 0) == _("Closed, opens today at %(time)s") % {"time": "09:00"}
    assert text(2026, 11, 25, 19, 0) == _("Closed, opens tomorrow at %(time)s") % {"time": "09:00"}
    # Friday evening → Monday.
    friday = hours.status(MOSCOW_OFFICE, msk(2026, 11, 27, 19, 0))
    assert friday.next_opening == msk(2026, 11, 30, 9, 0)
    assert hours.status_text(friday) == _("Closed, opens %(day)s at %(time)s") % {
        "day": hours.on_weekday(0),
        "time": "09:00",
    }


def test_status_lines_in_russian():
    from django.utils import translation

    with translation.override("ru"):
        line = hours.status_text(hours.status(MOSCOW_OFFICE, msk(2026, 11, 25, 10, 0)))
    # Before the lead merges var/tr_directory.json the catalog has no entry and the English msgid shows.
    assert line in ("Открыто до 18:00, перерыв 13:00–14:00", "Open until 18:00, break 13:00–14:00")


# --- holidays -----------------------------------------------------------------------------------------------


def test_closed_on_a_public_holiday_and_opens_after_the_new_year_holidays():
    tuesday = msk(2027, 1, 5, 11, 0)
    assert tuesday.weekday() == 1
    state = hours.status(MOSCOW_OFFICE, tuesday)
    assert state.state == "closed"
    assert state.day.why == Why.HOLIDAY
    assert state.next_opening == msk(2027, 1, 11, 9, 0)


def test_a_saturday_office_is_closed_on_a_saturday_holiday():
    tver_centre = Schedule("Europe/Moscow", {**weekdays(Hours(T(8), T(19))), 5: Hours(T(9), T(14))})
    assert hours.is_open(tver_centre, msk(2027, 4, 24, 10, 0))  # an ordinary Saturday
    assert not hours.is_open(tver_centre, msk(2027, 5, 1, 10, 0))  # 1 May falls on a Saturday in 2027


def test_closed_on_a_day_off_moved_by_decree():
    # 2025-11-03 (Monday) is the day off moved from Saturday 2025-11-01.
    assert not hours.is_open(Schedule("Europe/Moscow", KOLA), msk(2025, 11, 3, 10, 0))


# --- transferred working days -------------------------------------------------------------------------------


def test_the_calendar_knows_the_transferred_working_saturdays():
    assert calendar.is_transferred_working_day(dt.date(2025, 11, 1))
    assert calendar.replaced_day(dt.date(2025, 11, 1)) == dt.date(2025, 11, 3)
    assert calendar.is_transferred_working_day(dt.date(2027, 2, 20))
    assert calendar.replaced_day(dt.date(2027, 2, 20)) == dt.date(2027, 2, 22)
    assert not calendar.is_transferred_working_day(dt.date(2026, 11, 28))
    assert calendar.replaced_day(dt.date(2026, 11, 28)) is None


def test_on_a_working_saturday_the_office_works_the_hours_of_the_monday_it_replaces():
    kola = Schedule("Europe/Moscow", KOLA)
    saturday = hours.day_hours(kola, dt.date(2025, 11, 1))
    assert saturday.why == Why.TRANSFERRED
    # Monday's 9–18, one hour shorter before the 4 November holiday: 9–17 (Friday's would be 9–16).
    assert saturday.shortened
    assert (saturday.hours.opens, saturday.hours.closes) == (T(9), T(17))
    assert hours.is_open(kola, msk(2025, 11, 1, 16, 30))
    assert not hours.is_open(kola, msk(2025, 11, 1, 17, 0))
    assert hours.status(kola, msk(2025, 11, 1, 13, 30)).state == "break"


def test_an_office_without_weekday_hours_stays_closed_on_a_working_saturday():
    saturday_only = Schedule("Europe/Moscow", {5: Hours(T(10), T(14))})
    assert not hours.is_open(saturday_only, msk(2027, 2, 20, 11, 0))


# --- shortened pre-holiday days -----------------------------------------------------------------------------


def test_the_day_before_a_holiday_is_one_hour_shorter():
    assert calendar.is_pre_holiday(dt.date(2026, 11, 3))
    eve = hours.day_hours(MOSCOW_OFFICE, dt.date(2026, 11, 3))
    assert (eve.why, eve.hours.closes, eve.hours.break_starts) == (Why.PRE_HOLIDAY, T(17), T(13))
    assert hours.is_open(MOSCOW_OFFICE, msk(2026, 11, 3, 16, 59))
    state = hours.status(MOSCOW_OFFICE, msk(2026, 11, 3, 17, 30))
    assert state.state == "closed"
    assert state.next_opening == msk(2026, 11, 5, 9, 0)  # 4 November is Unity Day


def test_a_friday_before_a_weekend_is_not_shortened():
    assert not calendar.is_pre_holiday(dt.date(2026, 11, 27))
    assert hours.day_hours(MOSCOW_OFFICE, dt.date(2026, 11, 27)).hours.closes == T(18)


def test_the_2025_pre_holiday_days_match_the_production_calendar():
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(365)]
    assert [d for d in days if calendar.is_pre_holiday(d)] == [
        dt.date(2025, 3, 7),
        dt.date(2025, 4, 30),
        dt.date(2025, 6, 11),
        dt.date(2025, 11, 1),
    ]


# --- OfficeDay exceptions -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_office_day_closes_an_ordinary_day():
    office = make_office()
    OfficeDay.objects.create(office=office, date=dt.date(2026, 11, 25), closed=True, reason="Санитарный день")
    with time_machine.travel(msk(2026, 11, 25, 11, 0), tick=False):
        state = hours.status(hours.schedule_for(office), timezone.now())
    assert state.state == "closed"
    assert (state.day.why, state.day.reason) == (Why.SPECIAL, "Санитарный день")
    assert hours.why_text(state.day) == "Санитарный день"
    assert state.next_opening == msk(2026, 11, 26, 9, 0)


@pytest.mark.django_db
def test_explicit_office_day_hours_beat_the_pre_holiday_shortening():
    office = make_office()
    OfficeDay.objects.create(office=office, date=dt.date(2026, 11, 3), closed=False, opens=T(9), closes=T(18))
    with time_machine.travel(msk(2026, 11, 3, 17, 30), tick=False):
        state = hours.status(hours.schedule_for(office), timezone.now())
    assert (state.state, state.until) == ("open", T(18))
    assert state.day.hours.break_starts == T(13)  # the weekday's break is kept inside the special hours


@pytest.mark.django_db
def test_an_office_day_opens_an_office_on_a_holiday():
    office = make_office()
    OfficeDay.objects.create(office=office, date=dt.date(2027, 1, 5), closed=False, opens=T(10), closes=T(15))
    with time_machine.travel(msk(2027, 1, 5, 11, 0), tick=False):
        state = hours.status(hours.schedule_for(office), timezone.now())
    assert (state.state, state.until) == ("open", T(15))
    assert hours.why_text(state.day) == _("changed hours")


def test_special_day_without_hours_uses_the_weekday_hours():
    schedule = Schedule("Europe/Moscow", weekdays(LUNCH), {dt.date(2027, 1, 5): Special(closed=False)})
    assert hours.day_hours(schedule, dt.date(2027, 1, 5)).hours == LUNCH


# --- time zones ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "moment_utc", "moscow_open", "local_open"),
    [
        # 05:30 UTC: 08:30 in Moscow (closed), 09:30 in Izhevsk (open).
        ("Europe/Samara", (2026, 11, 25, 5, 30), False, True),
        # 14:30 UTC: 17:30 in Moscow (open), 18:30 in Izhevsk (closed).
        ("Europe/Samara", (2026, 11, 25, 14, 30), True, False),
        # 10:30 UTC: 13:30 in Moscow (lunch), 15:30 in Yekaterinburg (open).
        ("Asia/Yekaterinburg", (2026, 11, 25, 10, 30), False, True),
    ],
)
def test_open_now_is_decided_in_the_office_time_zone(zone, moment_utc, moscow_open, local_open):
    local = make_office(code="local", branch_code="18", time_zone=zone)
    moscow = make_office(code="moscow", branch_code="11", time_zone="Europe/Moscow")
    with time_machine.travel(dt.datetime(*moment_utc, tzinfo=dt.UTC), tick=False):
        now = timezone.now()
        assert hours.is_open(hours.schedule_for(moscow), now) is moscow_open
        assert hours.is_open(hours.schedule_for(local), now) is local_open


def test_next_opening_is_local_time_of_the_office():
    izhevsk = Schedule("Europe/Samara", weekdays(LUNCH))
    state = hours.status(izhevsk, at("UTC", 2026, 11, 25, 15, 0))  # 19:00 in Izhevsk
    assert state.next_opening == at("Europe/Samara", 2026, 11, 26, 9, 0)
    assert state.next_opening.utcoffset() == dt.timedelta(hours=4)


def test_no_hours_at_all_says_closed():
    state = hours.status(Schedule("Europe/Moscow"), msk(2026, 11, 25, 10, 0))
    assert (state.state, state.next_opening) == ("closed", None)
    assert hours.status_text(state) == _("Closed for now")
