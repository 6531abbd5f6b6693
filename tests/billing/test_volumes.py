"""Which volume and method: reading, average (at most 3 periods, 2 non-residential), norm, recalculation."""

import datetime as dt
from decimal import Decimal as D

from sbyt.billing.models import Method
from sbyt.billing.volumes import Billed, Read, average_base, find_volume
from sbyt.core.periods import add_months

JAN = dt.date(2026, 1, 1)


def p(month: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, 1)


def history(last_month: int = 2, start: int = 0, used: int = 1060):
    """Readings from August 2025 to ``last_month`` 2026: ``used`` kWh over the 6 months before the last one."""
    last = p(last_month)
    base = add_months(last, -6)
    return [Read(base, (start,)), Read(last, (start + used,))]


def test_by_reading():
    volume = find_volume(period=p(3), meter_zones=1, reads=[Read(p(2), (1000,)), Read(p(3), (1150,))], norm=D(138))
    assert volume.method == Method.READING
    assert volume.volumes == (D("150.00"),)
    assert volume.basis["previous"]["values"] == [1000]


def test_by_reading_over_the_register_maximum():
    volume = find_volume(period=p(3), meter_zones=1, digits=5, reads=[Read(p(2), (99950,)), Read(p(3), (30,))])
    assert volume.volumes == (D("80.00"),)


def test_two_zones_by_reading():
    volume = find_volume(period=p(3), meter_zones=2, reads=[Read(p(2), (500, 300)), Read(p(3), (620, 350))])
    assert volume.volumes == (D("120.00"), D("50.00"))


def test_the_domain_example_average_then_norm_then_recalculation():
    """DOMAIN: average 176.67 in March, April, May; June by norm 138; July reading 1 000 kWh since the last
    accepted one → July 1 000 − (3 × average + 138) = 332.00."""
    reads = history(last_month=2)  # 1 060 kWh over Aug 2025 – Feb 2026: 176.666… a month
    billed = []
    for month in (3, 4, 5):
        volume = find_volume(period=p(month), meter_zones=1, reads=reads, billed=billed, norm=D(138))
        assert volume.method == Method.AVERAGE
        billed.append(Billed(p(month), volume.method, (volume.volumes[0], D(0), D(0))))
    assert [b.volumes[0] for b in billed] == [D("176.67"), D("176.66"), D("176.67")]  # 530.00 in all
    june = find_volume(period=p(6), meter_zones=1, reads=reads, billed=billed, norm=D(138))
    assert (june.method, june.volumes) == (Method.NORM, (D("138.00"),))
    billed.append(Billed(p(6), june.method, (D(138), D(0), D(0))))
    july = find_volume(
        period=p(7), meter_zones=1, reads=[*reads, Read(p(7), (1060 + 1000,))], billed=billed, norm=D(138)
    )
    assert july.method == Method.RECALCULATION
    assert july.volumes == (D("332.00"),)
    assert sum(b.volumes[0] for b in billed) + july.volumes[0] == D(1000)


def test_a_recalculation_can_be_a_credit():
    billed = [Billed(p(3), Method.AVERAGE, (D(200), D(0), D(0)))]
    volume = find_volume(period=p(4), meter_zones=1, reads=[Read(p(2), (1000,)), Read(p(4), (1150,))], billed=billed)
    assert volume.method == Method.RECALCULATION
    assert volume.volumes == (D("-50.00"),)


def test_non_residential_premises_get_two_periods_of_average():
    reads = history(last_month=2)
    billed = [Billed(p(3), Method.AVERAGE, (D(1), 0, 0)), Billed(p(4), Method.AVERAGE, (D(1), 0, 0))]
    residential = find_volume(period=p(5), meter_zones=1, reads=reads, billed=billed, norm=D(100))
    assert residential.method == Method.AVERAGE
    business = find_volume(period=p(5), meter_zones=1, reads=reads, billed=billed, residential=False)
    assert business is None  # no norm for non-residential premises: no basis to bill on


def test_average_needs_at_least_three_months_of_readings():
    young = [Read(p(12, 2025), (0,)), Read(p(2), (300,))]  # two months apart
    volume = find_volume(period=p(3), meter_zones=1, reads=young, norm=D(138))
    assert volume.method == Method.NORM
    three = [Read(p(11, 2025), (0,)), Read(p(2), (300,))]
    volume = find_volume(period=p(3), meter_zones=1, reads=three, norm=D(138))
    assert (volume.method, volume.volumes) == (Method.AVERAGE, (D("100.00"),))


def test_average_prefers_six_months_over_the_whole_history():
    reads = [Read(p(1, 2025), (0,)), Read(p(8, 2025), (5000,)), Read(p(9, 2025), (5100,)), Read(p(2), (5600,))]
    base, months = average_base(reads, reads[-1])
    assert (base.period, months) == (p(8, 2025), 6)  # the latest reading at least 6 months before
    volume = find_volume(period=p(3), meter_zones=1, reads=reads, norm=D(138))
    assert volume.volumes == (D("100.00"),)  # 600 / 6


def test_no_meter_or_no_reading_ever_goes_by_the_norm():
    assert find_volume(period=p(3), meter_zones=None, norm=D("140.50")).volumes == (D("140.50"),)
    assert find_volume(period=p(3), meter_zones=1, reads=[], norm=D(138)).method == Method.NORM
    assert find_volume(period=p(3), meter_zones=None, norm=None) is None


def test_a_meters_first_reading_period_goes_by_the_norm_and_the_next_one_measures_from_it():
    first = find_volume(period=p(3), meter_zones=1, reads=[Read(p(3), (500,))], norm=D(138))
    assert first.method == Method.NORM
    assert first.basis["first_reading"] is True
    second = find_volume(period=p(4), meter_zones=1, reads=[Read(p(3), (500,)), Read(p(4), (640,))], norm=D(138))
    assert (second.method, second.volumes) == (Method.READING, (D("140.00"),))


def test_a_multi_zone_meter_by_norm_is_priced_single_rate_and_recalculated_per_zone():
    reads = [Read(p(8, 2025), (0, 0)), Read(p(2), (600, 300))]
    billed = [Billed(p(m), Method.AVERAGE, (D(100), D(50), D(0))) for m in (3, 4, 5)]
    june = find_volume(period=p(6), meter_zones=2, reads=reads, billed=billed, norm=D(138))
    assert (june.method, june.volumes) == (Method.NORM, (D("138.00"),))
    billed.append(Billed(p(6), Method.NORM, (D(138), D(0), D(0))))
    july = find_volume(period=p(7), meter_zones=2, reads=[*reads, Read(p(7), (1200, 500))], billed=billed)
    # day: 600 − (3 × 100 + 138) = 162; night: 200 − 3 × 50 = 50
    assert july.volumes == (D("162.00"), D("50.00"))


def test_an_estimate_for_part_of_the_month_is_that_share_a_measurement_is_not():
    norm = find_volume(period=p(3), meter_zones=None, norm=D(138), days=(12, 31))
    assert (norm.method, norm.volumes, norm.basis["days"]) == ("norm", (D("53.42"),), [12, 31])
    reads = [Read(dt.date(2025, 8, 1), (0,)), Read(p(2), (1060,))]  # the DOMAIN example: 176.67 a month
    average = find_volume(period=p(3), meter_zones=1, reads=reads, norm=D(138), days=(15, 31))
    assert average.method == "average" and average.volumes == (D("85.49"),)  # 176.67 × 15 / 31
    measured = find_volume(period=p(2), meter_zones=1, reads=reads, days=(15, 28))
    assert measured.method == "reading" and measured.volumes == (D("1060.00"),)
    assert "days" not in measured.basis
    assert find_volume(period=p(3), meter_zones=None, norm=D(138), days=(31, 31)).volumes == (D("138.00"),)
