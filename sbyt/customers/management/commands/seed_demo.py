"""``manage.py seed_demo [--accounts N] [--if-empty] [--seed 42]``: a realistic demo database in seconds."""

import time

from django.core.management.base import BaseCommand, CommandError

from sbyt.billing.demo import seed_billing_demo
from sbyt.customers.demo import CLIENT_PASSWORD, MIN_ACCOUNTS, build_demo
from sbyt.customers.models import Account
from sbyt.offices.demo import print_offices_demo, seed_offices_demo

COUNT_LABELS = {
    "customers": "клиентов",
    "accounts": "лицевых счетов",
    "contracts": "договоров",
    "meters": "приборов учёта",
    "readings": "показаний",
}


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo data: two branches, thousands of clients with 1-, 2- and 3-zone meters "
        "and water contracts, a year of readings, demo client and staff logins (printed at the end)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=3000, help="Number of accounts (default 3000)")
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed gives the same data")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database already has accounts")

    def handle(self, *args, accounts=3000, seed=42, if_empty=False, **options):
        if Account.objects.exists():
            if if_empty:
                self.stdout.write("В базе уже есть лицевые счета: демо-данные не создаются (--if-empty).")
                return
            raise CommandError(
                "В базе уже есть лицевые счета. seed_demo заполняет пустую базу; "
                "запустите с --if-empty, чтобы пропустить, или начните с пустой базы."
            )
        if accounts < MIN_ACCOUNTS:
            raise CommandError(f"--accounts: не меньше {MIN_ACCOUNTS}.")
        started = time.monotonic()
        result = build_demo(accounts=accounts, seed=seed)
        elapsed = time.monotonic() - started

        out = self.stdout
        counts = ", ".join(f"{COUNT_LABELS[k]} {v}" for k, v in result.counts.items())
        out.write(self.style.SUCCESS(f"Демо-данные созданы за {elapsed:.1f} с: {counts}."))
        out.write(f"Показаний на проверке у специалиста: {result.held}.")
        for branch in result.branches:
            out.write(f"Филиал {branch.code} «{branch.name}», {branch.time_zone}, тел. {branch.contact_phones}")
        out.write("")
        out.write("Личный кабинет — вход по номеру клиента, пароль для всех: " + self.style.SUCCESS(CLIENT_PASSWORD))
        for login in result.logins:
            out.write(f"  {login.account}  {login.what} — {login.name}")
            for extra in login.extra_accounts:
                out.write(f"              + привязан второй счёт {extra}")
        out.write("")
        out.write("Регистрация (кабинета ещё нет, телефон есть; код из SMS виден в консоли сервера):")
        for number, what, phone in result.registration:
            out.write(f"  {number}  {what}, телефон {phone}")
        out.write("Регистрация без телефона (сайт объяснит, как получить доступ):")
        for number, name in result.no_phone:
            out.write(f"  {number}  {name}")
        out.write("")
        out.write("Сотрудники — вход /staff/ и /admin/:")
        for username, password, role in result.staff:
            out.write(f"  {username} / {password} — {role}")
        print_offices_demo(seed_offices_demo(), out.write)
        billing = seed_billing_demo(seed=seed, showcase=[login.account for login in result.logins])
        out.write("")
        out.write(
            f"Начисления: тарифы и нормативы филиалов, {billing.runs} расчётов за {len(billing.periods)} мес., "
            f"счетов {billing.invoices}, оплат {billing.payments} (должников без оплат: {billing.debtors})."
        )
