"""Due dates and penalties (ЖК РФ ст. 155): DOMAIN's example, the due-day change, moratoria, key-rate changes."""

import datetime as dt
from decimal import Decimal as D

import pytest

from sbyt.billing.penalties import (
    BUSINESS,
    HOUSEHOLD,
    Debt,
    Moratorium,
    Rates,
    Reduction,
    accrued_penalty,
    allocate,
    due_date,
    portion_penalty,
)
from sbyt.billing.pricing import q2


def close(value: D) -> D:
    """Unrounded sums compared to 10 places (1/300 is not exact in Decimal either)."""
    return value.quantize(D("1e-10"))


DUE_DAYS = [(dt.date(2000, 1, 1), 10), (dt.date(2026, 3, 1), 15)]
CAP = Moratorium(dt.date(2022, 2, 28), dt.date(2026, 12, 31), "cap", D("9.5"), "lower_of")
ZERO_2020 = Moratorium(dt.date(2020, 4, 6), dt.date(2020, 12, 31), "zero")
RATES = Rates([(dt.date(2025, 10, 27), D("16.5")), (dt.date(2025, 12, 22), D("16"))], [ZERO_2020, CAP])


def test_the_domain_example():
    """5 000.00 ₽ due 10.02.2026, paid 30.05.2026, rate 9.5 %: 60 days × 1/300 → 95.00, 19 days × 1/130 → 69.42;
    164.42 in all (daily amounts unrounded, the total rounded)."""
    debt = Debt(dt.date(2026, 2, 10), dt.date(2026, 1, 1), D("5000.00"))
    paid = Reduction(dt.date(2026, 5, 30), D("5000.00"))
    total = accrued_penalty([debt], [paid], as_of=dt.date(2026, 6, 30), rates=RATES, scale=HOUSEHOLD)
    assert q2(total) == D("164.42")
    first_90 = portion_penalty(D("5000"), debt.due, dt.date(2026, 5, 11), dt.date(2026, 5, 30), RATES, HOUSEHOLD)
    assert q2(first_90) == D("95.00")


def test_nothing_before_the_31st_day_and_the_day_of_payment_counts():
    due = dt.date(2026, 2, 10)
    assert portion_penalty(D("5000"), due, due + dt.timedelta(days=30), due, RATES, HOUSEHOLD) == 0
    one_day = portion_penalty(D("3000"), due, due + dt.timedelta(days=31), due, RATES, HOUSEHOLD)
    assert close(one_day) == D("0.95")  # 3 000 × 9.5 % / 300: the 31st day only


def test_businesses_pay_one_130th_from_the_first_day():
    due = dt.date(2026, 2, 18)
    assert q2(portion_penalty(D("13000"), due, due + dt.timedelta(days=10), due, RATES, BUSINESS)) == q2(
        D("13000") * D("9.5") / 100 / 130 * 10
    )


def test_due_day_is_the_10th_until_february_2026_and_the_15th_after():
    assert due_date(dt.date(2026, 1, 1), DUE_DAYS) == dt.date(2026, 2, 10)
    assert due_date(dt.date(2026, 2, 1), DUE_DAYS) == dt.date(2026, 3, 15)
    assert due_date(dt.date(2025, 12, 1), DUE_DAYS) == dt.date(2026, 1, 10)
    assert due_date(dt.date(2026, 11, 1), DUE_DAYS) == dt.date(2026, 12, 15)


def test_the_key_rate_on_the_day_of_payment_is_used_and_the_cap_takes_the_lower():
    rates = Rates([(dt.date(2027, 1, 1), D("20")), (dt.date(2027, 3, 1), D("8"))], [CAP])
    due = dt.date(2027, 1, 10)
    paid_high = portion_penalty(D("1000"), due, dt.date(2027, 2, 20), dt.date(2027, 2, 20), rates, BUSINESS)
    assert close(paid_high) == close(D("1000") * 20 / 100 / 130 * 41)  # after the cap ends: the full 20 %
    paid_low = portion_penalty(D("1000"), due, dt.date(2027, 2, 20), dt.date(2027, 3, 2), rates, BUSINESS)
    assert close(paid_low) == close(D("1000") * 8 / 100 / 130 * 41)  # the payment day's rate, for the whole delay


def test_a_moratorium_cap_applies_day_by_day_at_its_edge():
    rates = Rates([(dt.date(2026, 1, 1), D("16"))], [CAP])
    due = dt.date(2026, 12, 21)  # days 1…10 in 2026 (capped at 9.5 %), days 11…30 in 2027 (16 %)
    total = portion_penalty(D("1300"), due, dt.date(2027, 1, 20), dt.date(2027, 1, 20), rates, BUSINESS)
    assert close(total) == close(D("1300") / 100 / 130 * (D("9.5") * 10 + 16 * 20))


def test_a_fixed_cap_replaces_even_a_lower_key_rate():
    fixed = Moratorium(CAP.starts, CAP.ends, "cap", D("9.5"), "fixed")
    rates = Rates([(dt.date(2026, 1, 1), D("5"))], [fixed])
    due = dt.date(2026, 3, 1)
    assert close(portion_penalty(D("1300"), due, due + dt.timedelta(days=10), due, rates, BUSINESS)) == D("9.5")
    lower = Rates([(dt.date(2026, 1, 1), D("5"))], [CAP])
    assert close(portion_penalty(D("1300"), due, due + dt.timedelta(days=10), due, lower, BUSINESS)) == D("5")


@pytest.mark.parametrize(
    ("until", "days_300", "days_130"),
    [
        (dt.date(2020, 4, 5), 56, 0),  # the day before the moratorium: days 31…86
        (dt.date(2020, 4, 6), 56, 0),  # its first day is free
        (dt.date(2020, 12, 31), 56, 0),  # its last day is free (day 356)
        (dt.date(2021, 1, 1), 56, 1),  # the day after counts again, at 1/130 (day 357)
    ],
)
def test_the_2020_moratorium_edges(until, days_300, days_130):
    rates = Rates([(dt.date(2020, 1, 1), D("6"))], [ZERO_2020])
    due = dt.date(2020, 1, 10)  # day 31 = 10.02.2020
    total = portion_penalty(D("3000"), due, until, until, rates, HOUSEHOLD)
    assert close(total) == close(D("3000") * 6 / 100 * (D(days_300) / 300 + D(days_130) / 130))


def test_payments_go_to_the_period_they_name_then_to_the_oldest_debt():
    old = Debt(dt.date(2026, 2, 10), dt.date(2026, 1, 1), D("100"))
    new = Debt(dt.date(2026, 3, 15), dt.date(2026, 2, 1), D("200"))
    portions = allocate([new, old], [Reduction(dt.date(2026, 3, 1), D("250"), dt.date(2026, 2, 1))])
    assert [(debt.period.month, amount, paid is not None) for debt, amount, paid in portions] == [
        (2, D("200"), True),
        (1, D("50"), True),
        (1, D("50"), False),
    ]
    unnamed = allocate([new, old], [Reduction(dt.date(2026, 3, 1), D("150"))])
    assert [(debt.period.month, amount) for debt, amount, paid in unnamed if paid] == [(1, D("100")), (2, D("50"))]


def test_a_payment_after_the_day_computed_for_is_not_known_yet():
    debt = Debt(dt.date(2026, 2, 10), dt.date(2026, 1, 1), D("5000.00"))
    later = Reduction(dt.date(2026, 7, 10), D("5000.00"))
    as_of = dt.date(2026, 5, 30)
    assert accrued_penalty([debt], [later], as_of=as_of, rates=RATES, scale=HOUSEHOLD) == accrued_penalty(
        [debt], [], as_of=as_of, rates=RATES, scale=HOUSEHOLD
    )
