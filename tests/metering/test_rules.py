"""The pure intake rules: value parsing (property-tested) and decisions."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbyt.metering.rules import (
    MeterFacts,
    PastReading,
    Reason,
    Thresholds,
    ValueRejected,
    WindowRule,
    decide,
    explain,
    parse_value,
    target_period,
)

WINDOW = WindowRule(18, 25, refuse_outside=False)
REFUSING = WindowRule(18, 25, refuse_outside=True)
THRESHOLDS = Thresholds(factor=Decimal(5), floor_per_month=1500)


def meter(**overrides) -> MeterFacts:
    base = {
        "zones": 1,
        "digits": 5,
        "in_service": True,
        "verification_overdue": False,
        "is_smart": False,
        "serial": "0123456",
    }
    return MeterFacts(**{**base, **overrides})


def past(values, period=dt.date(2026, 10, 1), on=dt.date(2026, 10, 20)) -> PastReading:
    return PastReading(values=tuple(values), period=period, received_on=on)


def run(values, *, facts=None, day=dt.date(2026, 11, 20), window=WINDOW, previous=None, current=None, baseline=None):
    return decide(
        meter=facts or meter(),
        values=tuple(values),
        local_day=day,
        window=window,
        previous=previous,
        current=current,
        baseline=baseline,
        thresholds=THRESHOLDS,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("11638", 11638), (" 11638 ", 11638), ("011638", 11638), ("0", 0), ("000", 0), ("12 345", 12345), (7, 7)],
)
def test_parse_value_accepts_whole_numbers(text, expected):
    assert parse_value(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Reason.EMPTY_VALUE),
        ("   ", Reason.EMPTY_VALUE),
        ("11638,5", Reason.NOT_WHOLE_NUMBER),
        ("11638.50", Reason.NOT_WHOLE_NUMBER),
        (",5", Reason.NOT_WHOLE_NUMBER),
        (1.5, Reason.NOT_WHOLE_NUMBER),
        ("abc", Reason.INVALID_VALUE),
        ("-5", Reason.INVALID_VALUE),
        (-5, Reason.INVALID_VALUE),
        ("12a", Reason.INVALID_VALUE),
        ("١٢٣", Reason.INVALID_VALUE),  # non-ASCII digits are not register digits
        ("1" * 16, Reason.TOO_MANY_DIGITS),
        (None, Reason.INVALID_VALUE),
        (True, Reason.INVALID_VALUE),
        (".", Reason.INVALID_VALUE),
    ],
)
def test_parse_value_refuses_with_a_reason(text, reason):
    with pytest.raises(ValueRejected) as exc:
        parse_value(text)
    assert exc.value.reason == reason


@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.binary(), st.booleans()))
def test_parse_value_never_crashes_and_always_answers(value):
    try:
        result = parse_value(value)
    except ValueRejected as exc:
        assert exc.reason in Reason.values
        assert explain(exc.reason, meter=meter())  # every refusal has a wording
    else:
        assert isinstance(result, int)
        assert 0 <= result < 10**15


@given(st.integers(min_value=0, max_value=10**15 - 1), st.integers(min_value=0, max_value=5))
def test_parse_value_round_trips_with_leading_zeros(number, zeros):
    assert parse_value("0" * zeros + str(number)) == number


def test_target_period_inside_and_outside_the_window():
    assert target_period(dt.date(2026, 11, 18), WINDOW) == (dt.date(2026, 11, 1), True)
    assert target_period(dt.date(2026, 11, 25), WINDOW) == (dt.date(2026, 11, 1), True)
    assert target_period(dt.date(2026, 11, 26), WINDOW) == (dt.date(2026, 12, 1), False)
    assert target_period(dt.date(2026, 12, 31), WINDOW) == (dt.date(2027, 1, 1), False)
    assert target_period(dt.date(2026, 11, 5), WINDOW) == (dt.date(2026, 11, 1), False)


def test_accepted_and_consumption():
    decision = run([1150], previous=past([1000]))
    assert decision.reason == Reason.ACCEPTED
    assert decision.consumption == 150
    assert decision.period == dt.date(2026, 11, 1)


def test_first_reading_of_a_meter_is_accepted():
    assert run([5]).reason == Reason.ACCEPTED


def test_meter_not_in_service_and_overdue_verification():
    assert run([1], facts=meter(in_service=False)).reason == Reason.METER_NOT_IN_SERVICE
    decision = run([1], facts=meter(verification_overdue=True))
    assert decision.reason == Reason.METER_NOT_IN_SERVICE
    assert "поверки" in explain(decision.reason, meter=meter(), params=decision.params)


def test_smart_meter_is_not_asked():
    assert run([1], facts=meter(is_smart=True)).reason == Reason.SMART_METER


def test_wrong_number_of_values():
    assert run([1, 2], facts=meter(zones=1)).reason == Reason.WRONG_VALUE_COUNT
    assert run([1], facts=meter(zones=2)).reason == Reason.WRONG_VALUE_COUNT
    assert run([], facts=meter(zones=3)).reason == Reason.WRONG_VALUE_COUNT
    text = explain(Reason.WRONG_VALUE_COUNT, meter=meter(zones=2))
    assert "день, ночь" in text
    assert "пик, полупик, ночь" in explain(Reason.WRONG_VALUE_COUNT, meter=meter(zones=3))


def test_more_digits_than_the_register():
    assert run([100000], facts=meter(digits=5)).reason == Reason.TOO_MANY_DIGITS
    assert run([99999], facts=meter(digits=5)).reason == Reason.ACCEPTED


def test_outside_window_by_branch_policy():
    refused = run([1150], day=dt.date(2026, 11, 26), window=REFUSING, previous=past([1000]))
    assert refused.reason == Reason.OUTSIDE_WINDOW
    assert "с 18 по 25" in explain(refused.reason, window=REFUSING)
    accepted = run([1150], day=dt.date(2026, 11, 26), previous=past([1000]))
    assert accepted.reason == Reason.ACCEPTED_NEXT_PERIOD
    assert accepted.period == dt.date(2026, 12, 1)
    assert "декабрь 2026" in explain(accepted.reason, period=accepted.period)


def test_repeat_of_the_same_values_is_already_accepted():
    current = past([1150], period=dt.date(2026, 11, 1), on=dt.date(2026, 11, 19))
    assert run([1150], previous=past([1000]), current=current).reason == Reason.ALREADY_ACCEPTED
    assert run([1160], previous=past([1000]), current=current).reason == Reason.ACCEPTED


def test_lower_than_previous():
    decision = run([990], previous=past([1000]))
    assert decision.reason == Reason.LOWER_THAN_PREVIOUS
    text = explain(decision.reason, previous=past([1000]))
    assert "1000 от 20.10.2026" in text


def test_rollover_past_the_register_maximum_is_recognised():
    decision = run([20], facts=meter(digits=5), previous=past([99950]))
    assert decision.reason == Reason.ACCEPTED
    assert decision.is_rollover
    assert decision.consumption == 70


def test_implausible_consumption_is_held_for_review():
    # Average 150/month over the year; 2 000 in a month is above 5 × 150 and above the 1 500 floor.
    baseline = past([0], period=dt.date(2025, 11, 1), on=dt.date(2025, 11, 20))
    previous = past([1800], period=dt.date(2026, 10, 1), on=dt.date(2026, 10, 20))
    assert run([3800], previous=previous, baseline=baseline).reason == Reason.HELD_FOR_REVIEW
    assert run([2500], previous=previous, baseline=baseline).reason == Reason.ACCEPTED


def test_floor_keeps_small_consumers_from_being_held():
    baseline = past([0], period=dt.date(2025, 11, 1), on=dt.date(2025, 11, 20))
    previous = past([120], period=dt.date(2026, 10, 1), on=dt.date(2026, 10, 20))
    assert run([1400], previous=previous, baseline=baseline).reason == Reason.ACCEPTED


def test_multi_zone_values_compared_per_zone():
    previous = past([45000, 23000])
    assert run([45055, 23186], facts=meter(zones=2), previous=previous).reason == Reason.ACCEPTED
    assert run([45055, 22999], facts=meter(zones=2), previous=previous).reason == Reason.LOWER_THAN_PREVIOUS


def test_every_reason_has_a_russian_wording():
    for reason in Reason:
        text = explain(
            reason,
            meter=meter(zones=2),
            window=WINDOW,
            previous=past([1]),
            period=dt.date(2026, 12, 1),
            params={},
        )
        assert text and any("а" <= ch <= "я" for ch in text.lower()), reason
    assert explain(Reason.ACCEPTED) == "Показания приняты. Спасибо."
