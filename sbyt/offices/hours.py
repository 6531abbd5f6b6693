"""Opening hours: is an office open at an instant, its hours on a day, when it opens next, and the status line.

Pure functions over a ``Schedule`` (weekly hours, dated exceptions, an IANA zone); ``schedule_for(office)``
builds one from an office's rows (prefetch ``hours`` and ``special_days`` when listing many). The rules for one
local date, first match wins:

1. an ``OfficeDay`` of that date: closed, or open at its hours (the weekday's break kept if it fits inside);
2. a public holiday or a day off moved by decree (production calendar, ``sbyt.core.calendar``): closed;
3. a transferred working Saturday/Sunday: the hours of the weekday it replaces (2025-11-01 works as Monday
   2025-11-03, whose day off moved to it); if the decree table does not say, the first weekday with hours;
4. otherwise the weekday's hours (an office that works on Saturdays keeps them on ordinary weekends).

A working day right before a non-working holiday (Labour Code art. 95, ``calendar.is_pre_holiday``) closes one
hour earlier — unless an ``OfficeDay`` gives that date's hours explicitly.
"""

import datetime as dt
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from django.utils import dateformat
from django.utils.translation import gettext as _

from sbyt.core import calendar

SEARCH_DAYS = 31  # the New Year holidays are the longest closure of the calendar: look a month ahead
ONE_HOUR = dt.timedelta(hours=1)


class Why:
    """Why a day has the hours it has (shown next to today's hours on the office page)."""

    REGULAR = "regular"
    SPECIAL = "special"  # an OfficeDay
    HOLIDAY = "holiday"  # a public holiday or a day off by decree
    TRANSFERRED = "transferred"  # a Saturday/Sunday made a working day
    PRE_HOLIDAY = "pre_holiday"  # shortened by an hour
    WEEKEND = "weekend"  # no hours on this weekday


@dataclass(frozen=True)
class Hours:
    """Opening hours of one weekday or one date, local wall-clock times."""

    opens: dt.time
    closes: dt.time
    break_starts: dt.time | None = None
    break_ends: dt.time | None = None

    @property
    def has_break(self) -> bool:
        return self.break_starts is not None and self.break_ends is not None


@dataclass(frozen=True)
class Special:
    """An exception for one date (an ``OfficeDay``): closed, or open at other hours."""

    closed: bool = True
    opens: dt.time | None = None
    closes: dt.time | None = None
    reason: str = ""


@dataclass(frozen=True)
class Schedule:
    time_zone: str
    weekly: dict[int, Hours] = field(default_factory=dict)  # 0 = Monday
    special: dict[dt.date, Special] = field(default_factory=dict)


@dataclass(frozen=True)
class Day:
    """The hours of one local date and why; ``hours`` is None when closed all day."""

    date: dt.date
    hours: Hours | None
    why: str
    reason: str = ""  # the OfficeDay's reason, if any
    shortened: bool = False  # one hour shorter before a holiday


@dataclass(frozen=True)
class Status:
    """Where an office stands at an instant (local times)."""

    state: str  # "open", "break", "closed"
    local: dt.datetime
    day: Day
    until: dt.time | None = None  # open → closing time; break → end of the break
    next_opening: dt.datetime | None = None  # closed → when it opens next (local), None if not within a month

    @property
    def is_open(self) -> bool:
        return self.state == "open"


# --- building a schedule ---------------------------------------------------------------------------------


def schedule_for(office) -> Schedule:
    """The schedule of an office from its rows (uses prefetched ``hours`` / ``special_days`` if there)."""
    weekly = {
        h.weekday: Hours(h.opens, h.closes, h.break_starts, h.break_ends)
        for h in office.hours.all()
        if h.opens and h.closes
    }
    special = {d.date: Special(d.closed, d.opens, d.closes, d.reason) for d in office.special_days.all()}
    return Schedule(time_zone=office.branch.time_zone, weekly=weekly, special=special)


def weekly_from_data(days: dict) -> dict[int, Hours]:
    """{"mon": {"opens": "09:00", "closes": "18:00", "break": ["13:00", "14:00"]}, …} → {0: Hours(…), …}
    (the form of the directory file; raises ValueError on a bad day name or time)."""
    weekly = {}
    for name, spec in days.items():
        weekday = WEEKDAY_KEYS.index(name)
        pause = spec.get("break") or (None, None)
        weekly[weekday] = Hours(
            _time(spec["opens"]),
            _time(spec["closes"]),
            _time(pause[0]) if pause[0] else None,
            _time(pause[1]) if pause[1] else None,
        )
    return weekly


WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


# --- the rules -----------------------------------------------------------------------------------------------


def day_hours(schedule: Schedule, day: dt.date) -> Day:
    """The hours of a local date by the rules in the module's docstring."""
    special = schedule.special.get(day)
    if special is not None:
        if special.closed:
            return Day(day, None, Why.SPECIAL, special.reason)
        base = _calendar_hours(schedule, day).hours or schedule.weekly.get(day.weekday())
        if special.opens and special.closes:
            hours = _with_break(Hours(special.opens, special.closes), base)
        elif base is not None:
            hours = base
        else:
            return Day(day, None, Why.SPECIAL, special.reason)
        return Day(day, hours, Why.SPECIAL, special.reason)
    return _calendar_hours(schedule, day)


def _calendar_hours(schedule: Schedule, day: dt.date) -> Day:
    if calendar.is_day_off(day):
        return Day(day, None, Why.HOLIDAY)
    why = Why.REGULAR
    if calendar.is_transferred_working_day(day):
        why = Why.TRANSFERRED
        replaced = calendar.replaced_day(day)
        hours = schedule.weekly.get(replaced.weekday()) if replaced else None
        if hours is None:
            hours = next((schedule.weekly[w] for w in range(5) if w in schedule.weekly), None)
    else:
        hours = schedule.weekly.get(day.weekday())
    if hours is None:
        return Day(day, None, Why.WEEKEND)
    if calendar.is_pre_holiday(day):
        return Day(day, _shortened(hours), why if why == Why.TRANSFERRED else Why.PRE_HOLIDAY, shortened=True)
    return Day(day, hours, why)


def _shortened(hours: Hours) -> Hours:
    """One hour shorter at the end (art. 95); a break that no longer fits before closing is dropped."""
    closes = (dt.datetime.combine(dt.date.min, hours.closes) - ONE_HOUR).time()
    if closes <= hours.opens:
        return hours
    shorter = replace(hours, closes=closes)
    if shorter.has_break and shorter.break_ends >= closes:
        shorter = replace(shorter, break_starts=None, break_ends=None)
    return shorter


def _with_break(hours: Hours, base: Hours | None) -> Hours:
    if base is not None and base.has_break and hours.opens < base.break_starts and base.break_ends < hours.closes:
        return replace(hours, break_starts=base.break_starts, break_ends=base.break_ends)
    return hours


def local_time(schedule: Schedule, at: dt.datetime) -> dt.datetime:
    return at.astimezone(ZoneInfo(schedule.time_zone))


def status(schedule: Schedule, at: dt.datetime) -> Status:
    """Open, on a break or closed at the instant ``at`` (aware), in the schedule's zone."""
    local = local_time(schedule, at)
    today = day_hours(schedule, local.date())
    now = local.time().replace(tzinfo=None)
    hours = today.hours
    if hours is not None and hours.opens <= now < hours.closes:
        if hours.has_break and hours.break_starts <= now < hours.break_ends:
            return Status("break", local, today, until=hours.break_ends)
        return Status("open", local, today, until=hours.closes)
    return Status("closed", local, today, next_opening=next_opening(schedule, at))


def is_open(schedule: Schedule, at: dt.datetime) -> bool:
    return status(schedule, at).is_open


def next_opening(schedule: Schedule, at: dt.datetime) -> dt.datetime | None:
    """The next local instant after ``at`` when the office opens (or reopens after its break)."""
    local = local_time(schedule, at)
    now = local.time().replace(tzinfo=None)
    for offset in range(SEARCH_DAYS + 1):
        day = local.date() + dt.timedelta(days=offset)
        hours = day_hours(schedule, day).hours
        if hours is None:
            continue
        starts = [hours.opens] + ([hours.break_ends] if hours.has_break else [])
        for start in starts:
            if offset > 0 or start > now:
                return dt.datetime.combine(day, start, tzinfo=local.tzinfo)
    return None


def week(schedule: Schedule, start: dt.date, days: int = 7) -> list[Day]:
    """The hours of ``days`` consecutive local dates from ``start`` (for a table with this week's exceptions)."""
    return [day_hours(schedule, start + dt.timedelta(days=n)) for n in range(days)]


# --- words --------------------------------------------------------------------------------------------------


def hhmm(value: dt.time) -> str:
    return f"{value:%H:%M}"


def status_text(current: Status) -> str:
    """«Открыто до 18:00, перерыв 13:00–14:00», «Перерыв до 14:00», «Закрыто, откроется завтра в 09:00»."""
    if current.state == "break":
        return _("Break until %(time)s") % {"time": hhmm(current.until)}
    if current.state == "open":
        hours = current.day.hours
        now = current.local.time().replace(tzinfo=None)
        if hours.has_break and now < hours.break_starts:
            return _("Open until %(time)s, break %(starts)s–%(ends)s") % {
                "time": hhmm(current.until),
                "starts": hhmm(hours.break_starts),
                "ends": hhmm(hours.break_ends),
            }
        return _("Open until %(time)s") % {"time": hhmm(current.until)}
    opening = current.next_opening
    if opening is None:
        return _("Closed for now")
    days_ahead = (opening.date() - current.local.date()).days
    time = hhmm(opening.time())
    if days_ahead == 0:
        return _("Closed, opens today at %(time)s") % {"time": time}
    if days_ahead == 1:
        return _("Closed, opens tomorrow at %(time)s") % {"time": time}
    if days_ahead < 7:
        return _("Closed, opens %(day)s at %(time)s") % {"day": on_weekday(opening.weekday()), "time": time}
    return _("Closed, opens on %(date)s at %(time)s") % {"date": day_month(opening.date()), "time": time}


def on_weekday(weekday: int) -> str:
    """«в понедельник», «во вторник»… (the preposition depends on the word in Russian)."""
    return [
        _("on Monday"),
        _("on Tuesday"),
        _("on Wednesday"),
        _("on Thursday"),
        _("on Friday"),
        _("on Saturday"),
        _("on Sunday"),
    ][weekday]


def day_month(day: dt.date) -> str:
    """«12 января» (the month in the genitive, from Django's locale formats)."""
    return dateformat.format(day, "j E")


def why_text(day: Day) -> str:
    """What to say next to a date's hours when they are not the usual ones ("" when they are)."""
    if day.why == Why.SPECIAL:
        return day.reason or _("changed hours")
    if day.why == Why.HOLIDAY:
        return _("public holiday")
    if day.why == Why.TRANSFERRED:
        if day.shortened:
            return _("working day by the production calendar, one hour shorter")
        return _("working day by the production calendar")
    if day.why == Why.PRE_HOLIDAY:
        return _("pre-holiday day, one hour shorter")
    return ""
