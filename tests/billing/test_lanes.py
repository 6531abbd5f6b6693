"""A run split into lanes: the same charges and ledger as one lane, bill numbers in each lane's block, a crash in a
lane resumed to the same rows, accounts that arrive after the plan, and (PostgreSQL) lanes in forked processes."""

import datetime as dt
import os

import pytest
from django.db import connection

from sbyt.billing import run as engine
from sbyt.billing.models import BillingRun, Charge, Invoice, LedgerEntry
from sbyt.billing.services import run_billing

from .builders import after_window, make_branch, make_household, make_norm, make_tariff
from .test_run import snapshot

P10 = dt.date(2026, 10, 1)
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="forked lanes need PostgreSQL")


def priced_branch(monkeypatch):
    monkeypatch.setattr(engine, "MIN_LANE", 1)
    branch = make_branch()
    make_tariff(branch)
    make_tariff(branch, zones=2, prices={(1, 1): "6", (2, 1): "3"})
    make_norm(branch, "69")
    return branch


@pytest.fixture
def branch(db, monkeypatch):
    return priced_branch(monkeypatch)


def dataset(branch):
    """12 accounts; the 3rd cannot be billed (no tariff for its settlement), so its lane's block keeps a gap."""
    for n in range(12):
        if n == 2:
            make_household(branch, zones=None, settlement="rural")
        elif n % 4 == 1:
            make_household(branch, zones=2, readings={dt.date(2026, 4, 1): (0, 0), dt.date(2026, 9, 1): (600 + n, 300)})
        elif n % 4 == 3:
            make_household(branch, zones=None)
        else:
            make_household(branch, readings={dt.date(2026, 9, 1): 1000 + n, P10: 1100 + 13 * n})


def bill(branch, **kwargs) -> BillingRun:
    return run_billing(branch=branch, period=P10, actor="test", today=after_window(P10), **kwargs)


def wipe():
    LedgerEntry.objects.all().delete()  # the test starts over: no service deletes these
    Invoice.objects.all().delete()
    Charge.objects.all().delete()
    BillingRun.objects.all().delete()


def without_numbers(snap):
    charges, ledger, invoices = snap
    return charges, [e[:-1] for e in ledger], sorted(i[1:] for i in invoices)


def test_lanes_bill_what_one_lane_bills_and_number_bills_in_blocks(branch):
    dataset(branch)
    one = bill(branch, chunk_size=2)
    assert len(one.stats["lanes"]) == 1
    single = snapshot()
    wipe()
    run = bill(branch, chunk_size=2, lanes=3)
    assert run.state == BillingRun.State.DONE and run.processed == 12
    assert without_numbers(snapshot()) == without_numbers(single)
    assert (run.stats["invoices"], run.stats["charges"], run.stats["skipped_no_tariff"]) == (11, 11, 1)
    assert run.stats["billed"] == one.stats["billed"]
    lanes = run.stats["lanes"]
    accounts = list(Invoice.objects.order_by("account_id").values_list("account_id", flat=True))
    first = min(accounts) - 1
    assert [(lane["cursor"] - first if lane["high"] else None, lane["seq_end"], lane["done"]) for lane in lanes] == [
        (4, 4, True),
        (8, 8, True),
        (None, 12, True),
    ]
    numbers = dict(Invoice.objects.values_list("account_id", "seq"))
    # Lane 1: accounts 1–4, the 3rd unbilled → 1, 2, 4 (3 kept free); lanes 2 and 3 fill their blocks.
    assert [numbers.get(first + n) for n in range(1, 13)] == [1, 2, None, 3, 5, 6, 7, 8, 9, 10, 11, 12]
    assert Invoice.objects.get(seq=1).number == "11-202610-000001"


def test_a_crash_in_a_lane_resumes_to_what_an_uninterrupted_run_gives(branch):
    dataset(branch)
    bill(branch, chunk_size=2, lanes=3)
    whole = snapshot()
    wipe()

    class Crash(Exception):
        pass

    def crash(run):
        if run.processed >= 6:  # lane 1 done, lane 2 halfway
            raise Crash

    with pytest.raises(Crash):
        bill(branch, chunk_size=2, lanes=3, progress=crash)
    run = BillingRun.objects.get()
    assert (run.state, run.processed) == (BillingRun.State.FAILED, 6)
    assert [lane["done"] for lane in run.stats["lanes"]] == [True, False, False]
    resumed = bill(branch, chunk_size=2, lanes=1)  # the plan made at the start is kept
    assert resumed.pk == run.pk and resumed.state == BillingRun.State.DONE and resumed.processed == 12
    assert len(resumed.stats["lanes"]) == 3
    assert snapshot() == whole


def test_an_account_arriving_after_the_plan_takes_a_number_after_every_block(branch):
    dataset(branch)

    class Crash(Exception):
        pass

    def crash(run):
        raise Crash

    with pytest.raises(Crash):
        bill(branch, chunk_size=2, lanes=2, progress=crash)
    late = make_household(branch, zones=None).account  # the highest id: the last lane, beyond its block
    run = bill(branch, chunk_size=2)
    assert run.processed == 13 and run.stats["seq_spare"] == 13
    assert Invoice.objects.get(account=late).number == "11-202610-000013"
    numbers = sorted(Invoice.objects.values_list("seq", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13]  # 6: the unbilled account's


def test_a_small_branch_is_one_lane_whatever_is_asked(branch, monkeypatch):
    monkeypatch.setattr(engine, "MIN_LANE", 5)
    dataset(branch)
    assert len(bill(branch, lanes=4).stats["lanes"]) == 2  # 12 accounts: two lanes of at least 5


# -- lanes in processes (PostgreSQL) ------------------------------------------------------------------------------


@pytest.fixture
def pg_branch(transactional_db, monkeypatch):
    branch = priced_branch(monkeypatch)
    dataset(branch)
    return branch


@postgres_only
def test_two_processes_bill_the_lanes_at_once_and_match_one_process(pg_branch, monkeypatch, tmp_path):
    bill(pg_branch, chunk_size=2, lanes=2, workers=1)
    alone = snapshot()
    wipe()
    step = engine._Engine.step

    def recording(self, size):
        (tmp_path / f"{os.getpid()}-{self.lane_index}").touch()
        return step(self, size)

    monkeypatch.setattr(engine._Engine, "step", recording)
    run = bill(pg_branch, chunk_size=2, workers=2)
    assert run.state == BillingRun.State.DONE and run.processed == 12 and len(run.stats["lanes"]) == 2
    seen = {tuple(name.split("-")) for name in os.listdir(tmp_path)}
    assert len(seen) == 2 and {lane for _pid, lane in seen} == {"0", "1"}
    assert str(os.getpid()) in {pid for pid, _lane in seen}  # lane 0 here, lane 1 in a child
    assert snapshot() == alone
    assert connection.vendor == "postgresql"


@postgres_only
def test_a_failing_lane_process_fails_the_run_and_the_resumed_run_matches(pg_branch, monkeypatch):
    bill(pg_branch, chunk_size=2, lanes=2, workers=1)
    whole = snapshot()
    wipe()
    process = engine._Engine._process
    parent = os.getpid()

    def failing_in_the_child(self, accounts):
        if os.getpid() != parent and self.steps == 2:
            raise RuntimeError("диск переполнен")
        return process(self, accounts)

    monkeypatch.setattr(engine._Engine, "_process", failing_in_the_child)
    with pytest.raises(engine.LaneFailed):
        bill(pg_branch, chunk_size=2, workers=2)
    run = BillingRun.objects.get()
    assert run.state == BillingRun.State.FAILED and run.error == "RuntimeError: диск переполнен"
    assert run.stats["lanes"][1]["done"] is False and run.processed < 12
    monkeypatch.setattr(engine._Engine, "_process", process)
    resumed = bill(pg_branch, chunk_size=2, workers=2)
    assert resumed.state == BillingRun.State.DONE and resumed.processed == 12
    assert snapshot() == whole
