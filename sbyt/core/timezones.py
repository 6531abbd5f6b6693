"""Local time of a branch: everything the client sees and every window is in the branch's zone."""

import datetime as dt
from zoneinfo import ZoneInfo, available_timezones

from django.utils import timezone


def local_now(tz_name: str, now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()).astimezone(ZoneInfo(tz_name))


def is_valid_time_zone(name: str) -> bool:
    return name in available_timezones()
