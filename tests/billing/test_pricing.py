"""Pricing as pure functions: volume ranges (marginal), zones, pro rata over a tariff change, rounding per line."""

import datetime as dt
from decimal import Decimal as D

import pytest

from sbyt.billing.pricing import PricingError, Term, price_volume, split_by_shares, split_ranges

JULY = dt.date(2026, 7, 1)


def term(prices, *, limits=(), starts=JULY, ends=dt.date(2026, 7, 31), tariff_id=1):
    return Term(tariff_id, starts, ends, tuple(D(x) for x in limits), {k: D(v) for k, v in prices.items()})


RANGED = {(1, 1): "6", (1, 2): "8", (1, 3): "10"}


def test_domain_example_of_volume_ranges():
    """DOMAIN: 6 / 8 / 10 ₽, thresholds 3 900 / 6 000: 4 500 kWh → 3 900 × 6 + 600 × 8 = 28 200.00 ₽."""
    priced = price_volume([D("4500.00")], [term(RANGED, limits=("3900", "6000"))], month_days=31)
    assert priced.amount == D("28200.00")
    assert priced.range_volumes == (D("3900"), D("600"), D("0"))
    assert [(line["range"], line["volume"], line["amount"]) for line in priced.lines] == [
        (1, "3900.00", "23400.00"),
        (2, "600.00", "4800.00"),
    ]


def test_all_three_ranges_and_the_edges():
    tariff = [term(RANGED, limits=("3900", "6000"))]
    assert price_volume([D("7000")], tariff, month_days=31).amount == D("3900") * 6 + 2100 * 8 + 1000 * 10
    assert price_volume([D("3900")], tariff, month_days=31).range_volumes == (D("3900"), 0, 0)
    assert price_volume([D("3900.01")], tariff, month_days=31).range_volumes == (D("3900"), D("0.01"), 0)
    assert price_volume([D("6000")], tariff, month_days=31).range_volumes == (D("3900"), D("2100"), 0)


def test_zones_are_priced_each_at_its_own_price():
    two = term({(1, 1): "7.10", (2, 1): "3.40"})
    priced = price_volume([D("123.45"), D("67.89")], [two], month_days=31)
    # 123.45 × 7.10 = 876.495 → 876.50; 67.89 × 3.40 = 230.826 → 230.83 (half up per line)
    assert [line["amount"] for line in priced.lines] == ["876.50", "230.83"]
    assert priced.amount == D("1107.33")


def test_a_zone_metered_volume_is_split_across_ranges_in_proportion():
    prices = {(1, 1): "6", (1, 2): "8", (2, 1): "3", (2, 2): "4"}
    priced = price_volume([D("3000"), D("1500")], [term(prices, limits=("3900",))], month_days=31)
    cells = {(line["zone"], line["range"]): D(line["volume"]) for line in priced.lines}
    assert cells == {(1, 1): D("2600"), (2, 1): D("1300"), (1, 2): D("400"), (2, 2): D("200")}
    assert priced.amount == 2600 * 6 + 1300 * 3 + 400 * 8 + 200 * 4


def test_proportional_split_adds_up_exactly_by_zone_and_by_range():
    cells = split_ranges([D("1000.01"), D("2000.02"), D("1500.03")], [D("3900"), D("6000")])
    assert [sum(row) for row in cells] == [D("1000.01"), D("2000.02"), D("1500.03")]
    assert [sum(column) for column in zip(*cells, strict=True)] == [D("3900"), D("600.06")]
    assert all(cell >= 0 for row in cells for cell in row)


def test_a_credit_is_not_split_by_ranges():
    priced = price_volume([D("-150")], [term(RANGED, limits=("100",))], month_days=31)
    assert priced.amount == D("-900.00")
    assert [line["range"] for line in priced.lines] == [1]


def test_a_period_spanning_a_tariff_change_is_priced_pro_rata_by_days():
    old = term({(1, 1): "5"}, ends=dt.date(2026, 7, 9), tariff_id=1)
    new = term({(1, 1): "6"}, starts=dt.date(2026, 7, 10), tariff_id=2)
    priced = price_volume([D("310")], [old, new], month_days=31)
    # 9 of 31 days: 310 × 9 / 31 = 90.00 at 5 ₽, the other 22 days 220.00 at 6 ₽
    assert [(line["volume"], line["from"], line["to"]) for line in priced.lines] == [
        ("90.00", "2026-07-01", "2026-07-09"),
        ("220.00", "2026-07-10", "2026-07-31"),
    ]
    assert priced.amount == D("450.00") + D("1320.00")


def test_pro_rata_parts_add_up_to_the_volume_and_ranges_scale_with_the_days():
    old = term(RANGED, limits=("3900", "6000"), ends=dt.date(2026, 7, 15), tariff_id=1)
    new = term({(1, 1): "7", (1, 2): "9", (1, 3): "11"}, limits=("3900", "6000"), starts=dt.date(2026, 7, 16))
    priced = price_volume([D("4500.01")], [old, new], month_days=31)
    assert sum(D(line["volume"]) for line in priced.lines) == D("4500.01")
    # Equal limits: the same as the month's ranges split by days — 3 900 in range 1, 600.01 in range 2.
    assert priced.range_volumes[0] == D("3900.00")
    assert priced.range_volumes[1] == D("600.01")


def test_split_by_shares_keeps_the_total():
    assert split_by_shares(D("100.00"), [1, 1, 1]) == [D("33.33"), D("33.33"), D("33.34")]


def test_a_missing_price_is_an_error_not_a_zero():
    with pytest.raises(PricingError) as raised:
        price_volume([D("4500")], [term({(1, 1): "6"}, limits=("3900",))], month_days=31)
    assert raised.value.code == "no_price"
    with pytest.raises(PricingError):
        price_volume([D("1")], [], month_days=31)
