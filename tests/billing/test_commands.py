"""``run_billing`` on the command line (progress, errors), a real kill -9 in the middle of a run and its resumption,
and the periodic loop's jobs."""

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from sbyt.billing.models import BillingRun, BillingSettings, Charge
from sbyt.billing.schedule import resume_stale_runs, start_due_runs

from .builders import make_branch, make_household, make_norm, make_tariff

ROOT = Path(__file__).resolve().parents[2]
LAST_MONTH = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


@pytest.fixture
def branch(db):
    branch = make_branch()
    make_tariff(branch)
    make_norm(branch, "69")
    return branch


def test_the_command_bills_and_shows_progress(branch, capsys):
    for _n in range(5):
        make_household(branch, zones=None)
    call_command("run_billing", "--branch", "11", "--period", LAST_MONTH.strftime("%Y-%m"), "--chunk-size", "2")
    out = capsys.readouterr().out
    assert "[####################] 100 %  5 из 5 лицевых счетов" in out
    assert "по нормативу: 5" in out and "счетов выставлено: 5" in out
    assert Charge.objects.count() == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "99", "--period", "2026-10"], "Нет филиала с кодом «99»"),
        (["--branch", "11", "--period", "октябрь"], "укажите год и месяц"),
        (["--branch", "11", "--period", "2099-01"], "Будущий период рассчитать нельзя."),
    ],
)
def test_the_command_refuses_clearly(branch, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("run_billing", *args)
    assert not BillingRun.objects.exists()


# -- the periodic loop -------------------------------------------------------------------------------------------


def at(day: int, month: int = 10):
    return timezone.make_aware(dt.datetime(2026, month, day, 12))


def test_the_schedule_starts_a_branch_on_its_day_and_only_once(branch, django_capture_on_commit_callbacks):
    make_household(branch, zones=None)
    with django_capture_on_commit_callbacks(execute=True):
        caught_up = start_due_runs(now=at(25))  # the window of October is open; September was never billed
    assert [run.period for run in caught_up] == [dt.date(2026, 9, 1)]
    assert start_due_runs(now=at(25)) == []
    with django_capture_on_commit_callbacks(execute=True):
        started = start_due_runs(now=at(26))  # the day after the window closes
    assert [(run.period, run.actor_label) for run in started] == [(dt.date(2026, 10, 1), "periodic")]
    assert set(BillingRun.objects.values_list("state", flat=True)) == {"done"}
    assert start_due_runs(now=at(27)) == []
    assert BillingRun.objects.count() == 2


def test_the_schedule_respects_the_branch_settings(branch):
    BillingRun.objects.create(branch=branch, period=dt.date(2026, 9, 1), state="done")
    settings = BillingSettings.objects.get(branch=branch)
    settings.run_day = 28
    settings.save()
    assert start_due_runs(now=at(27)) == []
    assert [run.period for run in start_due_runs(now=at(28))] == [dt.date(2026, 10, 1)]
    BillingRun.objects.filter(period=dt.date(2026, 10, 1)).delete()
    settings.auto_run = False
    settings.save()
    assert start_due_runs(now=at(29)) == []


def test_a_run_whose_worker_vanished_is_handed_back(branch, django_capture_on_commit_callbacks):
    make_household(branch, zones=None)
    stale = BillingRun.objects.create(
        branch=branch, period=LAST_MONTH, state="running", worker="elsewhere:1:x", total=1,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=10), penalty_as_of=LAST_MONTH,
    )  # fmt: skip
    fresh = BillingRun.objects.create(
        branch=make_branch("18"), period=LAST_MONTH, state="running", worker="elsewhere:1:y",
        heartbeat_at=timezone.now(),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        handed = resume_stale_runs()
    assert handed == [stale.pk]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.state == "done" and Charge.objects.count() == 1
    assert fresh.state == "running"


# -- kill -9 in the middle of a run ---------------------------------------------------------------------------------


def _manage(url: str, *args, **kwargs):
    env = {**os.environ, "DATABASE_URL": url, "SBYT_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, text=True, **kwargs)


def _generate(url: str, accounts: int) -> None:
    """A database migrated and filled by the billing benchmark's generator (its own process)."""
    setup = (
        "import random, django; django.setup(); "
        "from django.core.management import call_command; call_command('migrate', verbosity=0); "
        f"import bench.billing as b; b.generate({accounts}, random.Random(7))"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True, timeout=600)


def _rows(database: Path):
    with sqlite3.connect(database) as db:
        charges = db.execute(
            "SELECT contract_id, period, kind, method, volume, volume_t1, volume_t2, volume_t3, volume_r1, amount,"
            " lines, basis FROM billing_charge ORDER BY contract_id, id"
        ).fetchall()
        ledger = db.execute(
            "SELECT account_id, contract_id, kind, amount, period, due_date, value_date, document_id, invoice_id"
            " FROM billing_ledgerentry ORDER BY id"
        ).fetchall()
        bills = db.execute(
            "SELECT id, account_id, number, seq, due_date, opening_balance, charged, penalties, paid, total_due,"
            " delivery, data FROM billing_invoice ORDER BY id"
        ).fetchall()
        runs = db.execute("SELECT state, processed, total FROM billing_billingrun").fetchall()
    return charges, ledger, bills, runs


@pytest.mark.skipif(os.name != "posix", reason="kill -9")
def test_killing_a_run_midway_and_starting_it_again_gives_the_same_rows(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the processes share an SQLite file; the engine is the same on PostgreSQL")
    database = tmp_path / "kill.sqlite3"
    _generate(f"sqlite:///{database}", 1500)
    twin = tmp_path / "twin.sqlite3"
    shutil.copy(database, twin)
    command = ["run_billing", "--branch", "11", "--period", "2026-10", "--chunk-size", "100"]

    killed = _manage(f"sqlite:///{database}", *command, stdout=subprocess.PIPE)
    progress = [killed.stdout.readline() for _ in range(3)]  # three chunks committed
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert all("лицевых счетов" in line for line in progress)
    charges, _ledger, _bills, runs = _rows(database)
    assert runs[0][0] == "running" and 300 <= runs[0][1] < 1500  # stopped midway, its process gone
    assert len([c for c in charges if c[1] == "2026-10-01"]) == runs[0][1]  # whole chunks only

    resumed = _manage(f"sqlite:///{database}", *command, stdout=subprocess.PIPE)
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    whole = _manage(f"sqlite:///{twin}", *command, stdout=subprocess.DEVNULL)
    assert whole.wait(timeout=300) == 0

    after_kill, uninterrupted = _rows(database), _rows(twin)
    assert after_kill[3] == [("done", 1500, 1500)] == uninterrupted[3]
    assert len([c for c in after_kill[0] if c[1] == "2026-10-01"]) == 1500
    assert after_kill[0] == uninterrupted[0]  # the same charges
    assert after_kill[1] == uninterrupted[1]  # the same ledger entries
    assert after_kill[2] == uninterrupted[2]  # the same bills: numbers, totals and the printed snapshot


def _pg_rows(url: str):
    import psycopg

    with psycopg.connect(url) as db:
        charges = db.execute(
            "SELECT contract_id, period, kind, method, volume, volume_t1, volume_t2, volume_t3, volume_r1, amount,"
            " CAST(lines AS TEXT), CAST(basis AS TEXT) FROM billing_charge ORDER BY contract_id, period, kind"
        ).fetchall()
        ledger = db.execute(
            "SELECT l.account_id, l.contract_id, l.kind, l.amount, l.period, l.due_date, l.value_date, i.number"
            " FROM billing_ledgerentry l LEFT JOIN billing_invoice i ON i.id = l.invoice_id"
            " ORDER BY 1, 2, 3, 4, 5, 8"
        ).fetchall()
        bills = db.execute(
            "SELECT number, account_id, seq, due_date, opening_balance, charged, penalties, paid, total_due, delivery,"
            " CAST(data AS TEXT) FROM billing_invoice ORDER BY number"
        ).fetchall()
        runs = db.execute("SELECT state, processed, total FROM billing_billingrun").fetchall()
    return charges, ledger, bills, runs


@pytest.mark.skipif(os.name != "posix", reason="kill -9")
def test_killing_a_two_process_run_on_postgresql_and_starting_it_again_gives_the_same_rows():
    """The production path: two worker processes on lanes; the parent is killed, its lane process stops by itself;
    a second command resumes both lanes. Ids differ (sequences are not rolled back): rows compare without them."""
    if connection.vendor != "postgresql":
        pytest.skip("worker processes run on PostgreSQL only")
    import time

    import psycopg

    own = connection.settings_dict
    server = f"postgres://{own['USER'] or 'postgres'}@{own['HOST'] or '127.0.0.1'}:{own['PORT'] or 5432}"
    name = f"sbyt_kill_{os.getpid()}"
    twin = f"{name}_twin"

    def admin(sql):
        with psycopg.connect(f"{server}/postgres", autocommit=True) as db:
            db.execute(sql)

    for database in (name, twin):
        admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    admin(f"CREATE DATABASE {name}")
    try:
        _generate(f"{server}/{name}", 3000)
        admin(f"CREATE DATABASE {twin} TEMPLATE {name}")
        command = ["run_billing", "--branch", "11", "--period", "2026-10", "--chunk-size", "100", "--workers", "2"]

        killed = _manage(f"{server}/{name}", *command, stdout=subprocess.PIPE)
        progress = [killed.stdout.readline() for _ in range(3)]  # three chunks of the first lane committed
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
        assert all("лицевых счетов" in line for line in progress)
        deadline = time.monotonic() + 120
        with psycopg.connect(f"{server}/postgres", autocommit=True) as db:
            while db.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]:
                assert time.monotonic() < deadline, "the orphaned lane process did not stop"
                time.sleep(0.2)  # the other lane's process notices its parent is gone after its chunk
        charges, _ledger, _bills, runs = _pg_rows(f"{server}/{name}")
        assert runs[0][0] == "running" and 300 <= runs[0][1] < 3000  # stopped midway
        assert len([c for c in charges if c[1] == dt.date(2026, 10, 1)]) == runs[0][1]  # whole chunks only

        resumed = _manage(f"{server}/{name}", *command, stdout=subprocess.PIPE)
        assert resumed.wait(timeout=600) == 0, resumed.stdout.read()
        whole = _manage(f"{server}/{twin}", *command, stdout=subprocess.DEVNULL)
        assert whole.wait(timeout=600) == 0

        after_kill, uninterrupted = _pg_rows(f"{server}/{name}"), _pg_rows(f"{server}/{twin}")
        assert after_kill[3] == [("done", 3000, 3000)] == uninterrupted[3]
        assert len([c for c in after_kill[0] if c[1] == dt.date(2026, 10, 1)]) == 3000
        assert after_kill[0] == uninterrupted[0]  # the same charges
        assert after_kill[1] == uninterrupted[1]  # the same ledger entries, on the same bills
        assert after_kill[2] == uninterrupted[2]  # the same bills: numbers, totals and the printed snapshot
    finally:
        for database in (name, twin):
            admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
