"""The billing run end to end: methods through consecutive periods, pro rata, ranges and zones, penalties, bills,
idempotency, re-runs after a correction, and resuming after a crash."""

import datetime as dt
from decimal import Decimal as D

import pytest

from sbyt.billing.models import BillDelivery, BillingRun, Charge, Invoice, LedgerEntry
from sbyt.billing.services import post_payment, run_billing, start_billing_run
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.metering.models import Reading
from sbyt.metering.services import approve_reading
from tests.factories import staff_login

from .builders import add_reading, after_window, make_branch, make_household, make_norm, make_tariff

pytestmark = pytest.mark.django_db


def p(month: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, 1)


@pytest.fixture
def branch():
    branch = make_branch()
    make_tariff(branch)  # 5.00 ₽ single rate
    make_tariff(branch, zones=2, prices={(1, 1): "6", (2, 1): "3"})
    make_norm(branch, "69")  # 2 residents → 138 kWh
    return branch


def bill(branch, period, **kwargs) -> BillingRun:
    return run_billing(branch=branch, period=period, actor="test", today=after_window(period), **kwargs)


def charges_of(contract):
    return [(c.period, c.kind, c.method, c.volume, c.amount) for c in Charge.objects.filter(contract=contract)]


def snapshot():
    """Everything a run wrote, without ids and times: to compare two runs."""
    charges = sorted(
        (c.contract.number, c.period, c.kind, c.method, c.volume_t1, c.volume_t2, c.volume_r1, c.amount, str(c.lines))
        for c in Charge.objects.select_related("contract")
    )
    ledger = sorted(
        (e.account.number, e.kind, e.amount, e.period, e.due_date, e.invoice.number if e.invoice else None)
        for e in LedgerEntry.objects.select_related("account", "invoice")
    )
    invoices = sorted(
        (i.number, i.account.number, i.total_due, i.due_date, i.delivery, str(i.data))
        for i in Invoice.objects.select_related("account")
    )
    return charges, ledger, invoices


# -- methods through the periods ---------------------------------------------------------------------------------


def test_the_domain_example_through_monthly_runs(branch):
    """Average 176.67 for three periods (no readings), then the norm 138, then the July reading: 332.00."""
    contract = make_household(branch, readings={p(8, 2025): 0, p(2): 1060})
    for month in (3, 4, 5, 6):
        bill(branch, p(month))
    add_reading(contract.meters.get(), p(7), 2060)
    bill(branch, p(7))
    assert charges_of(contract) == [
        (p(3), "primary", "average", D("176.67"), D("883.35")),
        (p(4), "primary", "average", D("176.66"), D("883.30")),
        (p(5), "primary", "average", D("176.67"), D("883.35")),
        (p(6), "primary", "norm", D("138.00"), D("690.00")),
        (p(7), "primary", "recalculation", D("332.00"), D("1660.00")),
    ]
    july = Invoice.objects.get(account=contract.account, period=p(7))
    item = july.data["contracts"][0]
    assert item["method"] == "recalculation"
    assert item["previous"]["values"] == [1060] and item["current"]["values"] == [2060]
    assert [b["method"] for b in item["billed"]] == ["average", "average", "average", "norm"]


def test_reading_two_zones_and_norm_for_a_contract_without_meter(branch):
    one = make_household(branch, readings={p(9): 1000, p(10): 1150})
    two = make_household(branch, zones=2, readings={p(9): (500, 200), p(10): (600, 250)})
    none = make_household(branch, zones=None)
    run = bill(branch, p(10))
    assert charges_of(one) == [(p(10), "primary", "reading", D("150.00"), D("750.00"))]
    assert charges_of(two) == [(p(10), "primary", "reading", D("150.00"), D("750.00"))]  # 100 × 6 + 50 × 3
    assert charges_of(none) == [(p(10), "primary", "norm", D("138.00"), D("690.00"))]
    assert (run.stats["method_reading"], run.stats["method_norm"], run.stats["invoices"]) == (2, 1, 3)
    assert run.state == BillingRun.State.DONE and run.processed == 3


def test_a_held_reading_is_not_billed_until_approved(branch):
    contract = make_household(branch, readings={p(3): 0, p(9): 600})
    add_reading(contract.meters.get(), p(10), 700, status=Reading.Status.HELD)
    bill(branch, p(10))
    assert charges_of(contract) == [(p(10), "primary", "average", D("100.00"), D("500.00"))]


def test_the_run_takes_the_latest_accepted_readings_up_to_its_period_and_none_after(branch):
    """The current reading is the period's accepted one and the previous the latest accepted before it, with
    readings of later periods, superseded and rejected ones beside them."""
    with_current = make_household(branch, readings={p(7): 100, p(8): 200, p(9): 350, p(10): 500, p(11): 800})
    add_reading(with_current.meters.get(), p(9), 300, status=Reading.Status.SUPERSEDED)
    without = make_household(branch, readings={p(3): 0, p(9): 600, p(11): 900})
    add_reading(without.meters.get(), p(10), 999, status=Reading.Status.REJECTED)
    bill(branch, p(10))
    assert charges_of(with_current) == [(p(10), "primary", "reading", D("150.00"), D("750.00"))]
    assert charges_of(without) == [(p(10), "primary", "average", D("100.00"), D("500.00"))]
    item = Invoice.objects.get(account=without.account, period=p(10)).data["contracts"][0]
    assert item["previous"]["period"] == "2026-09-01" and item["previous"]["values"] == [600]
    item = Invoice.objects.get(account=with_current.account, period=p(10)).data["contracts"][0]
    assert (item["previous"]["values"], item["current"]["values"]) == ([350], [500])


def test_ranges_three_zones_and_a_tariff_change_mid_month(branch):
    make_tariff(
        branch,
        zones=3,
        prices={(1, 1): "8", (2, 1): "6", (3, 1): "3", (1, 2): "10", (2, 2): "8", (3, 2): "4"},
        limits=(D("3900"),),
        valid_to=dt.date(2026, 7, 15),
    )
    make_tariff(
        branch,
        zones=3,
        prices={(1, 1): "9", (2, 1): "7", (3, 1): "4", (1, 2): "11", (2, 2): "9", (3, 2): "5"},
        limits=(D("3900"),),
        valid_from=dt.date(2026, 7, 16),
    )
    contract = make_household(branch, zones=3, readings={p(6): (0, 0, 0), p(7): (1240, 1860, 1550)})  # 4 650 kWh
    bill(branch, p(7))
    charge = Charge.objects.get(contract=contract)
    assert charge.method == "reading" and charge.volume == D("4650.00")
    assert (charge.volume_t1, charge.volume_t2, charge.volume_t3) == (D("1240"), D("1860"), D("1550"))
    # 15 of 31 days at the old prices, 16 at the new; each part's range limit scaled the same way: 3 900 in all.
    assert charge.volume_r1 == D("3900.00") and charge.volume_r2 == D("750.00")
    assert {(line["from"], line["to"]) for line in charge.lines} == {
        ("2026-07-01", "2026-07-15"),
        ("2026-07-16", "2026-07-31"),
    }
    assert sum(D(line["volume"]) for line in charge.lines) == D("4650.00")
    assert charge.amount == sum(D(line["amount"]) for line in charge.lines)


def test_water_by_norm_and_contracts_that_cannot_be_billed_are_reported(branch):
    make_tariff(branch, group="any", resource="hot_water", prices={(1, 1): "251.40"})
    make_norm(branch, "3.5", resource="hot_water")
    water = make_household(branch, zones=None, resource="hot_water", residents=3)
    no_tariff = make_household(branch, zones=None, settlement="rural")  # no rural tariff in this branch
    shop = make_household(branch, zones=None, residential=False, kind="organisation")  # no norm, no meter
    run = bill(branch, p(10))
    assert charges_of(water) == [(p(10), "primary", "norm", D("10.50"), D("2639.70"))]
    assert not Charge.objects.filter(contract__in=[no_tariff, shop]).exists()
    assert run.stats["skipped_no_tariff"] == 1 and run.stats["skipped_no_basis"] == 1
    assert not Invoice.objects.filter(account__in=[no_tariff.account, shop.account]).exists()


# -- bills --------------------------------------------------------------------------------------------------------


def test_bills_are_numbered_and_carry_what_is_printed(branch):
    a = make_household(branch, readings={p(9): 1000, p(10): 1150}, email="client@example.com")
    b = make_household(branch, readings={p(9): 10, p(10): 20})
    make_tariff(branch, group="other", prices={(1, 1): "9.80"})
    c = make_household(branch, readings={p(9): 10, p(10): 20}, kind="organisation")
    BillDelivery.objects.create(account=a.account, method="email")
    BillDelivery.objects.create(account=b.account, method="email")  # no address on file: on paper
    bill(branch, p(10))
    first, second, third = Invoice.objects.order_by("seq")
    assert [i.number for i in (first, second, third)] == ["11-202610-000001", "11-202610-000002", "11-202610-000003"]
    assert (first.delivery, first.email) == ("email", "client@example.com")
    assert second.delivery == "paper"
    assert first.due_date == dt.date(2026, 11, 15) and third.due_date == dt.date(2026, 11, 18)  # business: 18th
    data = first.snapshot
    assert data["account"] == a.account.number and data["customer"] == "Иванова Мария Петровна"
    assert data["branch"]["phones"] == ["8-800-200-83-81"] and data["channels"][0].startswith("Личный кабинет")
    assert data["payee"]["bic"] == "048702640"
    # The header is the run's, stored once: not repeated in each bill's row.
    assert not {"branch", "channels", "payee"} & set(first.data) and first.run.header["payee"]["bic"] == "048702640"
    assert data["total_due"] == "750.00" and data["due_date"] == "2026-11-15" and data["period"] == "2026-10-01"
    assert (data["opening_balance"], data["charged"], data["closing_balance"]) == ("0.00", "750.00", "750.00")
    # So are the period, due date and totals: they are the bill's columns.
    assert not {"period", "due_date", *Invoice.TOTALS} & set(first.data) and first.data["v"] == 2
    assert data["contracts"][0]["current"] == {"period": "2026-10-01", "values": [1150], "date": "2026-10-20"}
    assert data["contracts"][0]["lines"][0]["amount"] == "750.00"
    assert LedgerEntry.objects.filter(invoice=first).count() == 1
    assert third.data["contracts"][0]["group"] == "other" and third.total_due == D("98.00")
    assert third.account == c.account


def test_the_next_bill_shows_the_payment_and_the_opening_balance(branch):
    contract = make_household(branch, readings={p(8): 0, p(9): 100, p(10): 250})
    bill(branch, p(9))
    post_payment(
        account=contract.account,
        amount="400.00",
        paid_on=dt.date(2026, 10, 5),
        actor="test",
        document_type="test",
        document_id="1",
    )
    bill(branch, p(10))
    october = Invoice.objects.get(account=contract.account, period=p(10))
    assert (october.opening_balance, october.charged, october.paid) == (D("500.00"), D("750.00"), D("400.00"))
    assert (october.closing_balance, october.total_due) == (D("850.00"), D("850.00"))
    assert october.data["payments"] == [{"date": "2026-10-05", "amount": "400.00"}]
    assert LedgerEntry.objects.filter(invoice__isnull=True).count() == 0


# -- idempotency, re-runs and crashes ------------------------------------------------------------------------------


def test_running_twice_changes_nothing(branch):
    for n in range(5):
        make_household(branch, readings={p(9): 1000 + n, p(10): 1100 + 7 * n})
    make_household(branch, zones=None)
    bill(branch, p(10))
    before = snapshot()
    again = bill(branch, p(10))
    assert snapshot() == before
    assert again.stats["unchanged"] == 6 and again.stats["charges"] == 0 and again.stats["invoices"] == 0
    assert BillingRun.objects.filter(state="done").count() == 2


def test_a_reading_approved_after_the_run_is_billed_by_a_rerun_without_touching_the_bill(branch):
    contract = make_household(branch, readings={p(3): 0, p(9): 600})
    held = add_reading(contract.meters.get(), p(10), 800, status=Reading.Status.HELD)
    bill(branch, p(10))
    invoice = Invoice.objects.get()
    printed = (invoice.total_due, invoice.data)
    approve_reading(reading=held, actor=staff_login("Специалист по показаниям"))
    rerun = bill(branch, p(10))
    assert charges_of(contract) == [
        (p(10), "primary", "average", D("100.00"), D("500.00")),
        (p(10), "adjustment", "reading", D("100.00"), D("500.00")),  # 200 by the reading − 100 billed
    ]
    assert rerun.stats["adjustments"] == 1
    correction = LedgerEntry.objects.get(kind="correction")
    assert (correction.amount, correction.invoice, correction.due_date) == (D("500.00"), None, dt.date(2026, 12, 15))
    invoice.refresh_from_db()
    assert (invoice.total_due, invoice.data) == printed and Invoice.objects.count() == 1
    add_reading(contract.meters.get(), p(11), 900)
    bill(branch, p(11))
    november = Invoice.objects.get(period=p(11))
    assert november.data["adjustments"] == [
        {"contract": contract.number, "period": "2026-10-01", "amount": "500.00", "note": ""}
    ]
    assert november.data["contracts"][0]["method"] == "reading"  # measured from the approved October reading


def _dataset(branch):
    for n in range(9):
        make_household(branch, readings={p(9): 1000 + n, p(10): 1100 + 13 * n})
    for n in range(4):
        make_household(branch, zones=2, readings={p(4): (0, 0), p(9): (600 + n, 300)})  # average
    for _n in range(3):
        make_household(branch, zones=None)  # norm
    make_household(branch, zones=None, settlement="rural")  # no tariff: skipped


def test_resuming_after_a_crash_between_chunks_gives_what_an_uninterrupted_run_gives(branch):
    _dataset(branch)
    bill(branch, p(10), chunk_size=4)
    whole = snapshot()
    LedgerEntry.objects.all().delete()  # the test starts over: no service deletes these
    Invoice.objects.all().delete()
    Charge.objects.all().delete()
    BillingRun.objects.all().delete()

    class Crash(Exception):
        pass

    seen = []

    def crash_after_two_chunks(run):
        seen.append(run.processed)
        if len(seen) == 2:
            raise Crash

    with pytest.raises(Crash):
        bill(branch, p(10), chunk_size=4, progress=crash_after_two_chunks)
    run = BillingRun.objects.get()
    assert (run.state, run.processed, run.total) == (BillingRun.State.FAILED, 8, 17)
    assert Charge.objects.count() == 8
    resumed = bill(branch, p(10), chunk_size=4)
    assert resumed.pk == run.pk and resumed.state == BillingRun.State.DONE and resumed.processed == 17
    assert snapshot() == whole


def test_a_chunk_that_fails_midway_leaves_nothing_and_the_resumed_run_matches(branch):
    _dataset(branch)
    bill(branch, p(10), chunk_size=4)
    whole = snapshot()
    LedgerEntry.objects.all().delete()
    Invoice.objects.all().delete()
    Charge.objects.all().delete()
    BillingRun.objects.all().delete()
    # A stray bill holding the number the third chunk will give: the chunk's insert fails after its charges.
    account = make_household(branch, zones=None, settlement="rural").account
    Invoice.objects.create(account=account, branch=branch, period=p(9), seq=1, number="11-202610-000009",
                           issued_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC), due_date=dt.date(2026, 10, 15),
                           delivery="paper")  # fmt: skip
    with pytest.raises(Exception):  # noqa: B017 - the database's integrity error, whatever the backend calls it
        bill(branch, p(10), chunk_size=4)
    run = BillingRun.objects.get()
    assert (run.state, run.processed) == (BillingRun.State.FAILED, 8)
    assert "unique" in run.error.lower() and "invoice" in run.error
    assert Charge.objects.count() == 8 and LedgerEntry.objects.count() == 8
    Invoice.objects.filter(number="11-202610-000009", period=p(9)).delete()
    bill(branch, p(10), chunk_size=4)
    assert snapshot()[0] == whole[0]  # the same charges
    assert snapshot()[2] == whole[2]


# -- penalties ----------------------------------------------------------------------------------------------------


def test_penalties_in_a_run_follow_the_domain_example_and_are_posted_once(branch):
    contract = make_household(branch, readings={p(4): 0, p(5): 100})
    LedgerEntry.objects.create(
        account=contract.account,
        contract=contract,
        kind="charge",
        amount=D("5000.00"),
        period=p(1),
        due_date=dt.date(2026, 2, 10),
        value_date=dt.date(2026, 1, 31),
        document_type="test",
    )
    post_payment(account=contract.account, amount="5000.00", paid_on=dt.date(2026, 5, 30), actor="test",
                 document_type="test", document_id="paid-in-may")  # fmt: skip
    run = run_billing(branch=branch, period=p(5), actor="test", today=dt.date(2026, 6, 1))
    assert run.penalty_as_of == dt.date(2026, 5, 31)
    penalty = LedgerEntry.objects.get(kind="penalty")
    assert penalty.amount == D("164.42")  # 9.5 %: the key rate (16 %) capped by the moratorium
    may = Invoice.objects.get(period=p(5))
    assert may.penalties == D("164.42") and may.data["penalty_as_of"] == "2026-05-31"
    again = run_billing(branch=branch, period=p(5), actor="test", today=dt.date(2026, 6, 1))
    assert again.stats.get("penalties", 0) == 0 and LedgerEntry.objects.filter(kind="penalty").count() == 1


def test_unpaid_debt_accrues_penalty_month_by_month_without_penalty_on_penalty(branch):
    contract = make_household(branch, zones=None)
    LedgerEntry.objects.create(account=contract.account, contract=contract, kind="charge", amount=D("3000.00"),
                               period=p(1), due_date=dt.date(2026, 2, 10), value_date=dt.date(2026, 1, 31))  # fmt: skip
    run_billing(branch=branch, period=p(4), actor="test", today=dt.date(2026, 4, 27))
    april = LedgerEntry.objects.get(kind="penalty").amount
    # days 31…75 (13.03–26.04) at 9.5 % / 300 on 3 000, nothing on April's own 690 (not due yet)
    assert april == (D("3000") * D("9.5") / 100 / 300 * 45).quantize(D("0.01"))
    run_billing(branch=branch, period=p(5), actor="test", today=dt.date(2026, 5, 27))
    total = sum(e.amount for e in LedgerEntry.objects.filter(kind="penalty"))
    # up to 26.05 (day 105): days 31…90 at 1/300, days 91…105 at 1/130 — posted as the difference to April's
    assert total == (D("3000") * D("9.5") / 100 * (D(60) / 300 + D(15) / 130)).quantize(D("0.01")) == D("89.88")


def test_a_debt_overdue_and_paid_between_two_runs_gets_its_penalty_in_the_second(branch):
    contract = make_household(branch, zones=None)
    LedgerEntry.objects.create(account=contract.account, contract=contract, kind="charge", amount=D("3000.00"),
                               period=p(3), due_date=dt.date(2026, 4, 15), value_date=dt.date(2026, 3, 31))  # fmt: skip
    run_billing(branch=branch, period=p(4), actor="test", today=dt.date(2026, 5, 1))  # penalties to 30.04: day 15
    assert not LedgerEntry.objects.filter(kind="penalty").exists()
    post_payment(account=contract.account, amount="3000.00", paid_on=dt.date(2026, 5, 20), actor="bank",
                 document_type="test", document_id="late")  # fmt: skip
    run_billing(branch=branch, period=p(5), actor="test", today=dt.date(2026, 6, 1))
    penalty = LedgerEntry.objects.get(kind="penalty")
    assert penalty.amount == (D("3000") * D("9.5") / 100 / 300 * 5).quantize(D("0.01"))  # days 31…35, 16.05–20.05


def test_a_rerun_of_an_older_period_does_not_take_back_later_penalties(branch):
    contract = make_household(branch, zones=None)
    LedgerEntry.objects.create(account=contract.account, contract=contract, kind="charge", amount=D("3000.00"),
                               period=p(1), due_date=dt.date(2026, 2, 10), value_date=dt.date(2026, 1, 31))  # fmt: skip
    run_billing(branch=branch, period=p(4), actor="test", today=dt.date(2026, 4, 27))
    run_billing(branch=branch, period=p(5), actor="test", today=dt.date(2026, 5, 27))
    posted = sum(e.amount for e in LedgerEntry.objects.filter(kind="penalty"))
    older = run_billing(branch=branch, period=p(4), actor="test", today=dt.date(2026, 5, 28))
    assert older.stats["penalties_on"] is False
    assert sum(e.amount for e in LedgerEntry.objects.filter(kind="penalty")) == posted


# -- guards -------------------------------------------------------------------------------------------------------


def test_guards_of_starting_a_run(branch):
    with pytest.raises(PermissionDenied):
        start_billing_run(branch=branch, period=p(10), actor=staff_login(), today=after_window(p(10)))
    with pytest.raises(DomainError) as future:
        start_billing_run(branch=branch, period=p(11), actor="test", today=dt.date(2026, 10, 27))
    assert future.value.code == "future_period"
    with pytest.raises(DomainError) as window:
        start_billing_run(branch=branch, period=p(10), actor="test", today=dt.date(2026, 10, 25))
    assert window.value.code == "window_open"
    assert "25" in window.value.message and "26.10.2026" in window.value.message
    run = start_billing_run(branch=branch, period=p(10), actor="test", today=dt.date(2026, 10, 26), enqueue=False)
    with pytest.raises(DomainError) as twice:
        start_billing_run(branch=branch, period=p(10), actor="test", today=dt.date(2026, 10, 26))
    assert twice.value.code == "open_run"
    assert BillingRun.objects.get() == run and run.state == BillingRun.State.PENDING


def test_a_branch_administrator_may_run_billing(branch):
    admin = staff_login("Администратор филиала")
    make_household(branch, zones=None)
    run = run_billing(branch=branch, period=p(10), actor=admin, today=after_window(p(10)))
    assert run.state == "done" and run.started_by == admin


# -- the readings window's edge -------------------------------------------------------------------------------------


def test_a_reading_on_the_last_day_of_the_window_and_one_the_day_after(branch):
    """A reading sent on the 25th (the window's last day) is billed in October; one sent on the 26th belongs to
    November: October goes by the average, November recalculates from it."""
    from sbyt.metering.services import submit_reading
    from tests.factories import aware

    in_time = make_household(branch, readings={p(4): 0, p(9): 600})
    late = make_household(branch, readings={p(4): 0, p(9): 600})
    assert submit_reading(meter=in_time.meters.get(), values=["720"], channel="sms",
                          received_at=aware(2026, 10, 25, 23)).period == p(10)  # fmt: skip
    assert submit_reading(meter=late.meters.get(), values=["720"], channel="sms",
                          received_at=aware(2026, 10, 26, 0)).period == p(11)  # fmt: skip
    bill(branch, p(10))
    assert charges_of(in_time) == [(p(10), "primary", "reading", D("120.00"), D("600.00"))]
    assert charges_of(late) == [(p(10), "primary", "average", D("120.00"), D("600.00"))]  # 600 over 5 months
    bill(branch, p(11))
    assert charges_of(late)[-1] == (p(11), "primary", "recalculation", D("0.00"), D("0.00"))  # 120 − 120 billed
    assert charges_of(in_time)[-1][2] == "average"  # no November reading for the one read in time


# -- a contract in force for part of the period -----------------------------------------------------------------


def test_a_contract_started_or_ended_inside_the_period_pays_the_norm_for_its_days_only(branch):
    started = make_household(branch, zones=None)  # concluded on 20 October: 12 of 31 days
    started.start_date = dt.date(2026, 10, 20)
    started.save(update_fields=["start_date"])
    ended = make_household(branch, zones=None)  # terminated on 10 October: 10 of 31 days
    ended.end_date, ended.status = dt.date(2026, 10, 10), "terminated"
    ended.save(update_fields=["end_date", "status"])
    whole = make_household(branch, zones=None)
    measured = make_household(branch, readings={p(9): 1000, p(10): 1150})  # a reading: what the meter measured
    measured.start_date = dt.date(2026, 9, 15)
    measured.end_date, measured.status = dt.date(2026, 10, 25), "terminated"
    measured.save(update_fields=["start_date", "end_date", "status"])
    bill(branch, p(10))
    assert charges_of(started) == [(p(10), "primary", "norm", D("53.42"), D("267.10"))]  # 138 × 12 / 31
    assert charges_of(ended) == [(p(10), "primary", "norm", D("44.52"), D("222.60"))]  # 138 × 10 / 31
    assert charges_of(whole) == [(p(10), "primary", "norm", D("138.00"), D("690.00"))]
    assert charges_of(measured) == [(p(10), "primary", "reading", D("150.00"), D("750.00"))]
    charge = Charge.objects.get(contract=started)
    assert charge.basis["days"] == [12, 31]
    item = Invoice.objects.get(account=started.account, period=p(10)).data["contracts"][0]
    assert item["days"] == [12, 31] and item["volume"] == "53.42"
    assert "days" not in Charge.objects.get(contract=whole).basis
    # the next month is a whole one again
    bill(branch, p(11))
    assert charges_of(started)[-1] == (p(11), "primary", "norm", D("138.00"), D("690.00"))
    assert [c[0] for c in charges_of(ended)] == [p(10)]  # not billed after its end


def test_the_planner_statistics_are_refreshed_as_the_tables_grow(branch, monkeypatch):
    from sbyt.billing import run as engine

    steps = []
    monkeypatch.setattr(engine._Engine, "_analyze", lambda self: steps.append(self.steps))
    for _ in range(9):
        make_household(branch, zones=None)
    bill(branch, p(10), chunk_size=1)  # 9 accounts, 10 steps (the last finds none)
    assert steps == [2, 4, 8]
    assert Invoice.objects.filter(period=p(10)).count() == 9


def test_a_chunk_plans_its_reads_for_memory_and_the_collector_runs_rarely_only_while_lanes_run(branch, monkeypatch):
    import gc

    from django.db import connection

    from sbyt.billing import run as engine

    seen = []
    process = engine._Engine._process

    def spy(self, account_rows):
        cost = engine.fetch("SHOW random_page_cost")[0][0] if connection.vendor == "postgresql" else None
        seen.append((cost, gc.get_threshold()[0]))
        return process(self, account_rows)

    monkeypatch.setattr(engine._Engine, "_process", spy)
    make_household(branch, zones=None)
    before = gc.get_threshold()
    if connection.vendor == "postgresql":  # whatever the server's is, the run sets its chunks' own
        engine.execute("SET random_page_cost = 3")
    bill(branch, p(10))
    assert seen == [("1.1" if connection.vendor == "postgresql" else None, 100_000)]
    assert gc.get_threshold() == before
