#!/usr/bin/env python
"""Staff client search benchmark (CC-3, issue 6) on a throw-away database.

Generates N accounts set-based (one ``INSERT … SELECT`` per table: customers with Russian surnames and mobile
phones, accounts, premises with addresses in 150 streets of 4 towns, electricity contracts), then times the search
the back office runs (``customers.queries.search_accounts``, the first 51 rows with their premises, exactly what
the client search page shows) by client number, phone (typed «8 912 …»), surname (+ first name) and an address
fragment («Ленина 12 34»): p50 / p99 per kind, with the reference measured in the same run — fetching one account
with its customer and branch by primary key.

On PostgreSQL the search indexes (``customers`` migration 0003: the phone and prefix b-trees, the address trigram
index) are dropped before the load and built after it, as a bulk load would do; their build time is printed.

Usage: ``python bench/search.py [--accounts 1000000] [--queries 200] [--postgres]``. SQLite: a temporary file.
``--postgres``: the database ``sbyt_bench_search`` on 127.0.0.1:5432 (user postgres), created and dropped.
Target: p99 < 300 ms per search kind on PostgreSQL with 1 000 000 accounts.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PG_SERVER, drop_database, prepare_database, setup_django  # noqa: E402

PG_NAME = "sbyt_bench_search"
P99_TARGET_MS = 300.0
SEED = 20261123
RESULTS = 51  # the page shows 50 and says «more» when there is a 51st

SURNAMES = (  # noqa: SIM905
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков "
    "Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин "
    "Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов "
    "Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв Белов "
    "Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов "
    "Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов Мельников Денисов Гаврилов Тихонов "
    "Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов Федотов Щербаков "
    "Назаров Калинин Исаев Чернышёв Быков Маслов Родионов Коновалов Лазарев Воронин Климов Филатов "
    "Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников Трофимов Леонов Соболев "
    "Ермаков Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин Ефремов Архипов Громов Кириллов "
    "Малышев Панов Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов Ерёмин Тихомиров Галкин "
    "Лукьянов Михеев Скворцов Юдин Белоусов Нестеров Симонов Прокофьев Харитонов Князев Цветков Левин "
    "Митрофанов Воронов Аксёнов Софронов Мальцев Логинов Горшков Савин Краснов Майоров Демидов Елисеев "
    "Рыбаков Сафонов Плотников Демин Хохлов Жданов"
).split()
MALE = (  # noqa: SIM905
    "Александр Сергей Дмитрий Андрей Алексей Максим Евгений Иван Михаил Артём Николай Владимир Павел Олег"
).split()
FEMALE = (  # noqa: SIM905
    "Елена Ольга Наталья Татьяна Ирина Светлана Мария Анна Юлия Екатерина Галина Людмила Марина Надежда"
).split()
TOWNS = ("г. Сыктывкар", "г. Ухта", "г. Воркута", "г. Иркутск")
STREETS = (  # noqa: SIM905
    "Ленина Мира Советская Октябрьская Коммунистическая Первомайская Интернациональная Пушкина Гагарина "
    "Кирова Садовая Лесная Школьная Молодёжная Набережная Заречная Строителей Энергетиков Победы Южная "
    "Северная Комсомольская Пролетарская Чапаева Куратова Морозова Орджоникидзе Свердлова Карла Маркса "
    "Горького Чехова Лермонтова Некрасова Тургенева Толстого Маяковского Есенина Жукова Рабочая Полевая "
    "Луговая Береговая Дачная Заводская Фабричная Вокзальная Станционная Почтовая Трудовая Новая "
    "Центральная Парковая Солнечная Зелёная Весенняя Светлая Тихая Кооперативная Колхозная Совхозная "
    "Мичурина Космонавтов Юбилейная Сосновая Берёзовая Рябиновая Кедровая Таёжная Уральская Сибирская "
    "Байкальская Ангарская Печорская Вычегодская Сысольская Озёрная Речная Нагорная Подгорная Клубничная "
    "Вишнёвая Яблоневая Сиреневая Цветочная Хвойная Морская"
).split()
HOUSES = 150
FLATS = 400


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000, help="accounts to generate (default 1 000 000)")
    parser.add_argument("--queries", type=int, default=200, help="searches timed per kind (default 200)")
    parser.add_argument("--postgres", action="store_true", help=f"use PostgreSQL ({PG_SERVER}/{PG_NAME})")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (to EXPLAIN queries)")
    return parser.parse_args()


# -- the data set ----------------------------------------------------------------------------------------------


def _pad(expression: str, width: int, postgres: bool) -> str:
    zeros = "0" * width
    return (
        f"right('{zeros}' || ({expression}), {width})" if postgres else f"substr('{zeros}' || ({expression}), -{width})"
    )


def generate(n: int, *, postgres: bool) -> dict[str, float]:
    """Set-based load: a word table, then one INSERT … SELECT over a series per table. Returns seconds per step."""
    from django.db import connection, transaction

    from sbyt.customers.models import Account, Branch, Contract, Customer, Premises

    branches = [
        Branch.objects.create(code="11", name="Коми", time_zone="Europe/Moscow"),
        Branch.objects.create(code="38", name="Иркутск", time_zone="Asia/Irkutsk"),
    ]
    words = [("s", i, w) for i, w in enumerate(SURNAMES)] + [("m", i, w) for i, w in enumerate(MALE)]
    words += [("f", i, w) for i, w in enumerate(FEMALE)] + [("t", i, w) for i, w in enumerate(TOWNS)]
    words += [("r", i, w) for i, w in enumerate(STREETS)]
    series = (
        f"(SELECT generate_series(0, {n - 1}) AS i) s"
        if postgres
        else f"(WITH RECURSIVE q(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM q WHERE i < {n - 1}) SELECT i FROM q) s"
    )
    female = "(s.i % 2 = 1)"
    customer, account, premises, contract = (m._meta.db_table for m in (Customer, Account, Premises, Contract))
    timings = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_words (kind varchar(1), idx integer, word varchar(40))")
        cursor.executemany("INSERT INTO bench_words VALUES (%s, %s, %s)", words)
        steps = {
            "customers": f"""
                INSERT INTO {customer} (id, kind, last_name, first_name, middle_name, org_name, inn, phone, email,
                                        created_at)
                SELECT s.i + 1, 'person', ln.word || CASE WHEN {female} THEN 'а' ELSE '' END, fn.word, '', '', '',
                       '+79' || {_pad("(CAST(s.i AS bigint) * 7919) % 1000000000", 9, postgres)}, '', CURRENT_TIMESTAMP
                FROM {series}
                JOIN bench_words ln ON ln.kind = 's' AND ln.idx = (s.i / 7) % {len(SURNAMES)}
                JOIN bench_words fn ON fn.kind = CASE WHEN {female} THEN 'f' ELSE 'm' END
                                   AND fn.idx = (s.i / 3) % {len(MALE)}""",
            "accounts": f"""
                INSERT INTO {account} (id, number, customer_id, branch_id)
                SELECT s.i + 1, CAST(110000000 + s.i AS varchar(20)), s.i + 1,
                       CASE WHEN s.i % 5 = 0 THEN {branches[1].pk} ELSE {branches[0].pk} END
                FROM {series}""",
            "premises": f"""
                INSERT INTO {premises} (id, account_id, address, residents, rooms, stove_type, settlement,
                                        is_residential)
                SELECT s.i + 1, s.i + 1,
                       t.word || ', ул. ' || r.word || ', д. ' || CAST((s.i / {FLATS}) % {HOUSES} + 1 AS varchar(8))
                       || ', кв. ' || CAST(s.i % {FLATS} + 1 AS varchar(8)),
                       1, 1, 'gas', 'urban', {"true" if postgres else "1"}
                FROM {series}
                JOIN bench_words t ON t.kind = 't' AND t.idx = s.i % {len(TOWNS)}
                JOIN bench_words r ON r.kind = 'r' AND r.idx = (s.i / {FLATS * HOUSES}) % {len(STREETS)}""",
            "contracts": f"""
                INSERT INTO {contract} (id, number, account_id, premises_id, resource, start_date, status)
                SELECT s.i + 1, CAST(500000000 + s.i AS varchar(20)), s.i + 1, s.i + 1, 'electricity',
                       '2020-01-01', 'active'
                FROM {series}""",
        }
        for name, sql in steps.items():
            started = time.perf_counter()
            cursor.execute(sql)
            timings[name] = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_words")
        if postgres:
            for table in (customer, account, premises, contract):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})")
    return timings


def sample_queries(n: int, count: int, rnd: random.Random) -> dict[str, list[str]]:
    """Real values of random accounts, typed the way a caller says them."""
    from sbyt.customers.models import Account

    picks = [rnd.randrange(n) + 1 for _ in range(count * 4)]
    rows = {
        a.pk: a for a in Account.objects.filter(pk__in=picks).select_related("customer").prefetch_related("premises")
    }
    accounts = [rows[pk] for pk in picks if pk in rows]
    kinds: dict[str, list[str]] = {"number": [], "phone": [], "surname": [], "address": []}
    for i, account in enumerate(accounts):
        kind = list(kinds)[i % 4]
        customer = account.customer
        if kind == "number":
            kinds[kind].append(account.number)
        elif kind == "phone":
            digits = customer.phone[2:]
            kinds[kind].append(f"8 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}")
        elif kind == "surname":
            name = customer.last_name.lower() if i % 8 < 4 else f"{customer.last_name} {customer.first_name}"
            kinds[kind].append(name)
        else:
            address = account.premises.all()[0].address  # «г. Ухта, ул. Ленина, д. 12, кв. 34»
            street = address.split("ул. ")[1].split(",")[0]
            house = address.split("д. ")[1].split(",")[0]
            flat = address.split("кв. ")[1]
            kinds[kind].append(f"{street.lower()} {house} {flat}")
    return kinds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def time_calls(calls) -> list[float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    args = parse_args()
    url, tmp = prepare_database(PG_NAME, postgres=args.postgres)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    from sbyt.customers.models import Account
    from sbyt.customers.queries import search_accounts

    try:
        call_command("migrate", verbosity=0)
        call_command("migrate", "customers", "0002", verbosity=0)  # drop the search indexes for the bulk load
        started = time.perf_counter()
        steps = generate(args.accounts, postgres=args.postgres)
        load = time.perf_counter() - started
        started = time.perf_counter()
        call_command("migrate", verbosity=0)  # build them on the loaded data
        index_build = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        queries = sample_queries(args.accounts, args.queries, random.Random(SEED))
        print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}, accounts: {args.accounts:,}".replace(",", " "))
        print(f"load: {load:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in steps.items())}); "
              f"search indexes built in {index_build:.1f} s")  # fmt: skip
        rnd = random.Random(SEED + 1)
        pks = [rnd.randrange(args.accounts) + 1 for _ in range(args.queries)]
        for pk in pks[:20]:  # warm-up
            Account.objects.select_related("customer", "branch").get(pk=pk)
        reference = time_calls(
            lambda pk=pk: Account.objects.select_related("customer", "branch").get(pk=pk) for pk in pks
        )
        ref50 = statistics.median(reference)
        print(f"{'reference: one account by pk':<32} p50 {ref50:7.2f} ms   p99 {percentile(reference, 0.99):7.2f} ms")
        worst = 0.0
        for kind, texts in queries.items():
            found: list[int] = []

            def search(text=None, found=found):
                rows = list(search_accounts(text)[:RESULTS])
                for account in rows:
                    account.customer.display_name  # noqa: B018 — what the page prints
                    list(account.premises.all())
                found.append(len(rows))

            for text in texts[:10]:  # warm-up
                search(text)
            found.clear()
            times = time_calls(lambda t=t: search(t) for t in texts)
            p50, p99 = statistics.median(times), percentile(times, 0.99)
            worst = max(worst, p99)
            empty = sum(1 for f in found if f == 0)
            print(
                f"{'search by ' + kind:<32} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   ×{p50 / ref50:6.1f} the reference"
                f"   ({len(times)} searches, rows p50 {statistics.median(found):.0f}, none found: {empty})"
            )
        verdict = "met" if worst < P99_TARGET_MS else "NOT met"
        print(f"target p99 < {P99_TARGET_MS:.0f} ms per kind: {verdict} (worst p99 {worst:.1f} ms)")
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            drop_database(PG_NAME, postgres=args.postgres, tmp=tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
