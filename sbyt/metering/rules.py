"""Readings intake rules as pure functions: parsing values and deciding on a submission.

Every channel ends in ``services.submit_reading`` (or its batch twin), which feeds these functions;
so the cabinet, SMS, bots, IVR, registries and operators share one set of checks and one wording.
"""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _

from sbyt.core.periods import add_months, month_start, period_label


class Reason(models.TextChoices):
    ACCEPTED = "accepted", "принято"
    ACCEPTED_NEXT_PERIOD = "accepted_next_period", "принято в следующий период"
    ALREADY_ACCEPTED = "already_accepted", "уже принято"
    HELD_FOR_REVIEW = "held_for_review", "принято, на проверке"
    UNKNOWN_CLIENT = "unknown_client", "не найден номер клиента или договора"
    METER_NOT_IN_SERVICE = "meter_not_in_service", "прибор учёта не в работе"
    SMART_METER = "smart_meter", "прибор в интеллектуальной системе учёта"
    OUTSIDE_WINDOW = "outside_window", "вне периода приёма"
    WRONG_VALUE_COUNT = "wrong_value_count", "неверное число значений"
    EMPTY_VALUE = "empty_value", "значение не введено"
    NOT_WHOLE_NUMBER = "not_whole_number", "не целое число"
    INVALID_VALUE = "invalid_value", "не число"
    TOO_MANY_DIGITS = "too_many_digits", "больше цифр, чем на табло"
    LOWER_THAN_PREVIOUS = "lower_than_previous", "меньше предыдущего"


ACCEPTING = {
    Reason.ACCEPTED,
    Reason.ACCEPTED_NEXT_PERIOD,
    Reason.ALREADY_ACCEPTED,
    Reason.HELD_FOR_REVIEW,
}

ZONE_NAMES = {1: ("",), 2: ("день", "ночь"), 3: ("пик", "полупик", "ночь")}
MAX_VALUE_DIGITS = 15  # longer than any register; keeps values inside a 64-bit integer

_WHITESPACE = re.compile(r"\s+")
_WHOLE = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^\d*[.,]\d*$")


class ValueRejected(Exception):
    def __init__(self, reason: Reason):
        super().__init__(reason)
        self.reason = reason


def parse_value(text) -> int:
    """One register value as typed by a person: digits only, leading zeros tolerated."""
    if isinstance(text, bool):
        raise ValueRejected(Reason.INVALID_VALUE)
    if isinstance(text, int):
        if text < 0:
            raise ValueRejected(Reason.INVALID_VALUE)
        text = str(text)
    if isinstance(text, (float, Decimal)):
        raise ValueRejected(Reason.NOT_WHOLE_NUMBER)
    if not isinstance(text, str):
        raise ValueRejected(Reason.INVALID_VALUE)
    if text.isascii() and text.isdigit() and len(text) <= MAX_VALUE_DIGITS:
        return int(text)  # the common case: plain digits as typed
    cleaned = _WHITESPACE.sub("", text)
    if not cleaned:
        raise ValueRejected(Reason.EMPTY_VALUE)
    if _WHOLE.match(cleaned) and cleaned.isascii():
        digits = cleaned.lstrip("0") or "0"
        if len(digits) > MAX_VALUE_DIGITS:
            raise ValueRejected(Reason.TOO_MANY_DIGITS)
        return int(digits)
    if cleaned.isascii() and _DECIMAL.match(cleaned) and any(c.isdigit() for c in cleaned):
        raise ValueRejected(Reason.NOT_WHOLE_NUMBER)
    raise ValueRejected(Reason.INVALID_VALUE)


@dataclass(frozen=True)
class PastReading:
    """An accepted reading as the rules see it."""

    values: tuple[int, ...]
    period: dt.date
    received_on: dt.date


@dataclass(frozen=True)
class MeterFacts:
    zones: int
    digits: int
    in_service: bool
    verification_overdue: bool
    is_smart: bool
    serial: str
    is_electricity: bool = True


@dataclass(frozen=True)
class WindowRule:
    first_day: int
    last_day: int
    refuse_outside: bool


@dataclass(frozen=True)
class Thresholds:
    factor: Decimal
    floor_per_month: int


@dataclass(frozen=True)
class Decision:
    reason: Reason
    period: dt.date | None = None
    is_rollover: bool = False
    consumption: int | None = None
    params: dict | None = None

    @property
    def accepted(self) -> bool:
        return self.reason in ACCEPTING

    @property
    def stores_reading(self) -> bool:
        return self.reason in {Reason.ACCEPTED, Reason.ACCEPTED_NEXT_PERIOD, Reason.HELD_FOR_REVIEW}


def target_period(local_day: dt.date, window: WindowRule) -> tuple[dt.date, bool]:
    """The period a reading taken on ``local_day`` is billed in, and whether that day is inside the window."""
    current = month_start(local_day)
    if window.first_day <= local_day.day <= window.last_day:
        return current, True
    if local_day.day > window.last_day:
        return add_months(current, 1), False
    return current, False


def _monthly_rate(consumption: int, since: dt.date, until: dt.date) -> Decimal:
    months = max(Decimal(1), Decimal((until - since).days) / Decimal("30.4"))
    return Decimal(consumption) / months


def _plausible_limit(previous: PastReading, baseline: PastReading | None, thresholds: Thresholds) -> Decimal:
    limit = Decimal(thresholds.floor_per_month)
    if baseline is not None and previous.received_on > baseline.received_on:
        base_total = sum(baseline.values[: len(previous.values)])
        average = _monthly_rate(max(0, sum(previous.values) - base_total), baseline.received_on, previous.received_on)
        limit = max(limit, average * thresholds.factor)
    return limit


def decide(
    *,
    meter: MeterFacts,
    values: tuple[int, ...],
    local_day: dt.date,
    window: WindowRule,
    previous: PastReading | None,
    current: PastReading | None,
    baseline: PastReading | None,
    thresholds: Thresholds,
) -> Decision:
    """Decide on parsed values for one meter. ``previous``: the last accepted reading of an earlier period;
    ``current``: the accepted reading of the target period, if any; ``baseline``: the oldest accepted
    reading within the last year (for the average consumption)."""
    if not meter.in_service or meter.verification_overdue:
        return Decision(Reason.METER_NOT_IN_SERVICE, params={"overdue": meter.verification_overdue})
    if meter.is_smart:
        return Decision(Reason.SMART_METER)
    if len(values) != meter.zones:
        return Decision(Reason.WRONG_VALUE_COUNT, params={"given": len(values)})
    register_max = 10**meter.digits - 1
    if any(v > register_max for v in values):
        return Decision(Reason.TOO_MANY_DIGITS)

    period, inside = target_period(local_day, window)
    if not inside and window.refuse_outside:
        return Decision(Reason.OUTSIDE_WINDOW)
    if current is not None and current.values == values and current.period == period:
        return Decision(Reason.ALREADY_ACCEPTED, period=period)

    consumption = 0
    rollover = False
    if previous is not None and len(previous.values) == len(values):
        limit = _plausible_limit(previous, baseline, thresholds)
        for new, old in zip(values, previous.values, strict=True):
            if new >= old:
                consumption += new - old
                continue
            wrapped = new + register_max + 1 - old
            if _monthly_rate(wrapped, previous.received_on, local_day) <= limit:
                consumption += wrapped
                rollover = True
            else:
                return Decision(Reason.LOWER_THAN_PREVIOUS, period=period)
        if _monthly_rate(consumption, previous.received_on, local_day) > limit:
            return Decision(Reason.HELD_FOR_REVIEW, period=period, is_rollover=rollover, consumption=consumption)
    else:
        consumption = None
    reason = Reason.ACCEPTED if inside else Reason.ACCEPTED_NEXT_PERIOD
    return Decision(reason, period=period, is_rollover=rollover, consumption=consumption)


def explain(
    reason: Reason,
    *,
    meter: MeterFacts | None = None,
    window: WindowRule | None = None,
    previous: PastReading | None = None,
    period: dt.date | None = None,
    params: dict | None = None,
) -> str:
    """The one Russian wording of every outcome, used by every channel."""
    if reason == Reason.ACCEPTED:
        return _("Readings accepted. Thank you.")
    if reason == Reason.ACCEPTED_NEXT_PERIOD:
        return _(
            "Readings accepted. Thank you. They are outside this month's intake days and will be billed for %(period)s."
        ) % {"period": period_label(period)}
    if reason == Reason.ALREADY_ACCEPTED:
        return _("These readings have already been accepted. Thank you.")
    if reason == Reason.HELD_FOR_REVIEW:
        return _(
            "Readings accepted. The consumption is much higher than usual, so a specialist will check them; "
            "we will contact you if anything is wrong."
        )
    if reason == Reason.UNKNOWN_CLIENT:
        return _("Client or contract number not found. Check the number on your bill.")
    if reason == Reason.METER_NOT_IN_SERVICE:
        if params and params.get("overdue"):
            return _(
                "The verification period of meter No. %(serial)s has expired, so its readings cannot be accepted. "
                "Please contact the contact centre or an office."
            ) % {"serial": meter.serial}
        return _(
            "Meter No. %(serial)s is not in service, so its readings cannot be accepted. "
            "Please contact the contact centre or an office."
        ) % {"serial": meter.serial}
    if reason == Reason.SMART_METER:
        return _("Meter No. %(serial)s sends its readings automatically; you do not need to submit them.") % {
            "serial": meter.serial
        }
    if reason == Reason.OUTSIDE_WINDOW:
        return _(
            "Readings are accepted from the %(first)s to the %(last)s of each month. Please submit them on those days."
        ) % {
            "first": window.first_day,
            "last": window.last_day,
        }
    if reason == Reason.WRONG_VALUE_COUNT:
        if meter.zones == 1:
            return _("The meter has one tariff zone: enter one value.")
        names = ", ".join(ZONE_NAMES[meter.zones])
        return _("The meter has %(zones)s tariff zones: enter %(zones)s values (%(names)s).") % {
            "zones": meter.zones,
            "names": names,
        }
    if reason == Reason.EMPTY_VALUE:
        return _("Enter the reading.")
    if reason == Reason.NOT_WHOLE_NUMBER:
        return _("Enter readings as a whole number, without the digits after the decimal point.")
    if reason == Reason.INVALID_VALUE:
        return _("A reading consists of digits only.")
    if reason == Reason.TOO_MANY_DIGITS:
        if meter is not None:
            return _("The reading has more digits than the meter's register (%(digits)s).") % {"digits": meter.digits}
        return _("The reading has too many digits.")
    if reason == Reason.LOWER_THAN_PREVIOUS:
        return _(
            "The reading is lower than the previous accepted one (%(previous)s of %(date)s). Check the digits."
        ) % {
            "previous": " / ".join(str(v) for v in previous.values),
            "date": previous.received_on.strftime("%d.%m.%Y"),
        }
    raise ValueError(reason)
