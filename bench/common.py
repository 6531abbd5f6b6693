"""What the benchmarks share: a throw-away database and a generated set of households with meter history."""

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def prepare_database(name: str, *, postgres: bool) -> tuple[str, str | None]:
    """A fresh database: PostgreSQL ``name`` on 127.0.0.1:5432, or an SQLite file in a temporary folder.
    Returns its URL and the folder to remove afterwards (SQLite)."""
    if postgres:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        pg_admin(f"CREATE DATABASE {name}")
        return f"{PG_SERVER}/{name}", None
    tmp = tempfile.mkdtemp(prefix=f"{name}-")
    return f"sqlite:///{tmp}/bench.sqlite3", tmp


def setup_django(url: str) -> None:
    """Django on the throw-away database ``url``, production-like (no debug query log, warnings only)."""
    import os

    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["SBYT_DEBUG"] = "0"
    os.environ.setdefault("SBYT_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("SBYT_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def drop_database(name: str, *, postgres: bool, tmp: str | None) -> None:
    from django.db import connections

    connections.close_all()
    if postgres:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    elif tmp:
        shutil.rmtree(tmp, ignore_errors=True)


def households(
    rnd,
    *,
    n_contracts: int,
    meters_of: Callable[[int], int],
    window: tuple[int, int],
    period: dt.date,
    received_at: Callable[[object], dt.datetime],
):
    """Two branches (Moscow and Irkutsk time) with the readings ``window``; one customer, account, premises and
    electricity contract per household, ``meters_of(i)`` meters on the i-th contract (serials 30000000 + 2i + k);
    zones 60 % one, 30 % two, 10 % three; one accepted reading in ``period`` per meter, received at
    ``received_at(branch)``. Bulk inserts only. Returns (contracts, [(meter, previous values)]) in creation order."""
    from sbyt.customers.models import Account, Branch, Contract, Customer, Premises
    from sbyt.metering.models import Meter, Reading, ReadingWindow

    moscow = Branch.objects.create(code="11", name="Сыктывкарский", time_zone="Europe/Moscow")
    irkutsk = Branch.objects.create(code="38", name="Иркутский", time_zone="Asia/Irkutsk")
    for branch in (moscow, irkutsk):
        ReadingWindow.objects.create(branch=branch, first_day=window[0], last_day=window[1])
    batch = 5000
    customers = Customer.objects.bulk_create(
        [Customer(last_name="Иванов", first_name="Иван", phone=f"+79{i:09d}") for i in range(n_contracts)],
        batch_size=batch,
    )
    accounts = Account.objects.bulk_create(
        [
            Account(number=f"{100000000 + i}", customer=c, branch=moscow if i % 5 else irkutsk)
            for i, c in enumerate(customers)
        ],
        batch_size=batch,
    )
    premises = Premises.objects.bulk_create(
        [Premises(account=a, address=f"ул. Первомайская, д. {i % 200}, кв. {i}") for i, a in enumerate(accounts)],
        batch_size=batch,
    )
    contracts = Contract.objects.bulk_create(
        [
            Contract(number=f"{200000 + i}", account=a, premises=p, start_date=dt.date(2020, 1, 1))
            for i, (a, p) in enumerate(zip(accounts, premises, strict=True))
        ],
        batch_size=batch,
    )
    zones_mix = [1] * 6 + [2] * 3 + [3]
    meters = Meter.objects.bulk_create(
        [
            Meter(
                contract=contract,
                serial=f"{30000000 + i * 2 + k}",
                zones=rnd.choice(zones_mix),
                digits=6,
                verification_due=dt.date(2040, 1, 1),
            )
            for i, contract in enumerate(contracts)
            for k in range(meters_of(i))
        ],
        batch_size=batch,
    )
    branches = {moscow.pk: moscow, irkutsk.pk: irkutsk}
    branch_of_contract = {c.pk: branches[a.branch_id] for c, a in zip(contracts, accounts, strict=True)}
    history, readings = [], []
    for meter in meters:
        previous = tuple(rnd.randint(1_000, 90_000) for _ in range(meter.zones))
        t = (*previous, None, None)
        readings.append(
            Reading(
                meter=meter,
                period=period,
                t1=t[0],
                t2=t[1],
                t3=t[2],
                raw=" ".join(map(str, previous)),
                received_at=received_at(branch_of_contract[meter.contract_id]),
                channel="cabinet",
                status=Reading.Status.ACCEPTED,
                reason="accepted",
            )
        )
        history.append((meter, previous))
    Reading.objects.bulk_create(readings, batch_size=batch)
    return contracts, history
