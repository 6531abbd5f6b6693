"""Free appointment slots (OFF-5, CAB-12): pure reads, no writes.

A visit slot is ``office.appointment_minutes`` long and lies inside the office's opening hours of that local
date, outside the lunch break; a closed date (a public holiday of the production calendar, an ``OfficeDay``
marked closed) has none. It is free while at least one active window serving the service has no live booking
(booked or checked in) overlapping it. A video slot comes from the weekly ``VideoHours`` of the office's active
video specialists serving the service, and is free while one of them is free.

Only slots from ``now + LEAD_TIME`` up to the end of the local date ``today + office.appointment_days_ahead``
are offered. Times are aware datetimes in the office's zone (``office.branch.time_zone``).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.utils import timezone

from sbyt.core.calendar import is_day_off
from sbyt.core.timezones import local_now

from .hours import Schedule, day_hours, schedule_for
from .models import Appointment, Office, Service, VideoHours, VideoSpecialist, Window

LEAD_TIME = dt.timedelta(hours=1)  # the office needs an hour's notice; nothing sooner is offered


@dataclass(frozen=True)
class Slot:
    """One bookable period; ``free`` are the ids of the free windows (visits) or video specialists, in the
    order a booking tries them."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    free: tuple[int, ...] = field(default=())

    @property
    def is_free(self) -> bool:
        return bool(self.free)

    @property
    def key(self) -> str:
        """The slot's local start as typed in a URL: ``2026-12-01T10:30``."""
        return self.starts_at.strftime("%Y-%m-%dT%H:%M")


def bookable_days(office: Office, now: dt.datetime | None = None) -> list[dt.date]:
    """The local dates a booking may fall on: today up to today + ``appointment_days_ahead``."""
    today = local_now(office.time_zone, now).date()
    return [today + dt.timedelta(days=n) for n in range(office.appointment_days_ahead + 1)]


def serving_windows(office: Office, service: Service) -> list[Window]:
    return list(Window.objects.filter(office=office, is_active=True, services=service).order_by("number"))


def video_specialists(office: Office, service: Service) -> list[VideoSpecialist]:
    return list(
        VideoSpecialist.objects.filter(office=office, is_active=True, user__is_active=True, services=service)
        .select_related("user")
        .order_by("display_name", "pk")
    )


def visit_services(office: Office) -> list[Service]:
    """The services an office takes bookings for: those some active window serves."""
    return list(Service.objects.filter(is_active=True, windows__office=office, windows__is_active=True).distinct())


def video_services(office: Office) -> list[Service]:
    """The services the office's active video specialists give."""
    return list(
        Service.objects.filter(
            is_active=True,
            video_specialists__office=office,
            video_specialists__is_active=True,
            video_specialists__user__is_active=True,
        ).distinct()
    )


def open_periods(schedule: Schedule, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    """The local periods an office is open on a date, the break cut out (the rules are those of ``hours``:
    special days, holidays and days off by decree, transferred working days, shortened pre-holiday days)."""
    hours = day_hours(schedule, day).hours
    if hours is None:
        return []
    if hours.has_break and hours.opens < hours.break_starts and hours.break_ends < hours.closes:
        return [(hours.opens, hours.break_starts), (hours.break_ends, hours.closes)]
    return [(hours.opens, hours.closes)]


def _grid(periods, day: dt.date, zone: ZoneInfo, minutes: int):
    """Starts of the slots of ``minutes`` that fit wholly inside the local periods of ``day``."""
    step = dt.timedelta(minutes=minutes)
    for start, end in periods:
        at = dt.datetime.combine(day, start, tzinfo=zone)
        stop = dt.datetime.combine(day, end, tzinfo=zone)
        while at + step <= stop:
            yield at, at + step
            at += step


def _busy(field_name: str, ids, start: dt.datetime, end: dt.datetime) -> dict[int, list[tuple]]:
    """Live bookings of the windows (or specialists) overlapping [start, end), per id."""
    busy: dict[int, list[tuple]] = defaultdict(list)
    rows = Appointment.objects.filter(
        **{f"{field_name}__in": list(ids)},
        status__in=Appointment.ACTIVE,
        starts_at__lt=end,
        ends_at__gt=start,
    ).values_list(f"{field_name}_id", "starts_at", "ends_at")
    for key, starts_at, ends_at in rows:
        busy[key].append((starts_at, ends_at))
    return busy


def _is_free(busy: list[tuple], start: dt.datetime, end: dt.datetime) -> bool:
    return not any(b_start < end and b_end > start for b_start, b_end in busy)


def _days(office: Office, start: dt.date | None, end: dt.date | None, now: dt.datetime) -> list[dt.date]:
    allowed = bookable_days(office, now)
    return [d for d in allowed if (start is None or d >= start) and (end is None or d <= end)]


def _range(days: list[dt.date], zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(days[0], dt.time(0), tzinfo=zone),
        dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(0), tzinfo=zone),
    )


def _all_visit_slots(office, service, days, now) -> dict[dt.date, list[Slot]]:
    zone = ZoneInfo(office.time_zone)
    windows = serving_windows(office, service)
    result: dict[dt.date, list[Slot]] = {day: [] for day in days}
    if not windows or not days:
        return result
    busy = _busy("window", [w.pk for w in windows], *_range(days, zone))
    earliest = now + LEAD_TIME
    schedule = schedule_for(office)
    for day in days:
        for start, end in _grid(open_periods(schedule, day), day, zone, office.appointment_minutes):
            if start < earliest:
                continue
            free = tuple(w.pk for w in windows if _is_free(busy[w.pk], start, end))
            result[day].append(Slot(start, end, free))
    return result


def _specialist_periods(hours: list[VideoHours], day: dt.date) -> list[tuple[dt.time, dt.time]]:
    return [(h.starts, h.ends) for h in hours if h.weekday == day.weekday() and h.starts < h.ends]


def _all_video_slots(office, service, days, now) -> dict[dt.date, list[Slot]]:
    zone = ZoneInfo(office.time_zone)
    specialists = video_specialists(office, service)
    result: dict[dt.date, list[Slot]] = {day: [] for day in days}
    if not specialists or not days:
        return result
    hours: dict[int, list[VideoHours]] = defaultdict(list)
    for row in VideoHours.objects.filter(specialist__in=specialists):
        hours[row.specialist_id].append(row)
    busy = _busy("specialist", [s.user_id for s in specialists], *_range(days, zone))
    earliest = now + LEAD_TIME
    for day in days:
        if is_day_off(day):  # public holidays and days off by decree; no office hours needed otherwise
            continue
        by_start: dict[tuple, list[int]] = {}
        for specialist in specialists:
            periods = _specialist_periods(hours[specialist.pk], day)
            for start, end in _grid(periods, day, zone, office.appointment_minutes):
                if start < earliest:
                    continue
                free = by_start.setdefault((start, end), [])
                if _is_free(busy[specialist.user_id], start, end):
                    free.append(specialist.user_id)
        result[day] = [Slot(start, end, tuple(free)) for (start, end), free in sorted(by_start.items())]
    return result


def visit_slots(
    office: Office,
    service: Service,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    now: dt.datetime | None = None,
    include_full: bool = False,
) -> dict[dt.date, list[Slot]]:
    """The visit slots per local date from ``start`` to ``end`` (both within the bookable days); only the
    free ones unless ``include_full``."""
    now = now or timezone.now()
    slots = _all_visit_slots(office, service, _days(office, start, end, now), now)
    if include_full:
        return slots
    return {day: [s for s in day_slots if s.is_free] for day, day_slots in slots.items()}


def video_slots(
    office: Office,
    service: Service,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    now: dt.datetime | None = None,
    include_full: bool = False,
) -> dict[dt.date, list[Slot]]:
    """The video consultation slots per local date, like ``visit_slots``; ``free`` holds specialists' user ids."""
    now = now or timezone.now()
    slots = _all_video_slots(office, service, _days(office, start, end, now), now)
    if include_full:
        return slots
    return {day: [s for s in day_slots if s.is_free] for day, day_slots in slots.items()}


def slot_at(
    office: Office, service: Service, starts_at: dt.datetime, *, video: bool = False, now: dt.datetime | None = None
) -> Slot | None:
    """The bookable slot starting exactly at ``starts_at`` (free or full), or None when there is no such slot
    (outside the hours, on a closed day, in the past, sooner than the lead time, too far ahead)."""
    if starts_at is None or timezone.is_naive(starts_at):
        return None
    day = starts_at.astimezone(ZoneInfo(office.time_zone)).date()
    finder = video_slots if video else visit_slots
    for slot in finder(office, service, start=day, end=day, now=now, include_full=True).get(day, []):
        if slot.starts_at == starts_at:
            return slot
    return None


def parse_slot_key(office: Office, key: str) -> dt.datetime | None:
    """``2026-12-01T10:30`` (local time of the office) → an aware datetime, or None when malformed."""
    try:
        naive = dt.datetime.strptime((key or "").strip(), "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    return naive.replace(tzinfo=ZoneInfo(office.time_zone))
