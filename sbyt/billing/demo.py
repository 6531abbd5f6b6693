"""Demo billing: plausible tariffs, norms, zone hours and bill settings for a branch, and half a year of real
billing runs with payments for the demo accounts. Called by ``manage.py seed_demo`` (and ``bench/billing.py``).

The prices and norms are plausible, not any region's order: single-rate ~6.2 ₽/kWh for urban gas-stove homes from
1 July 2025 (electric stoves and rural ×0.7), two volume ranges from 2025 (3 900 and 6 000 kWh a month),
+11.9 % from 1 July 2026; water ~250 ₽ (hot) and ~45 ₽ (cold) per m³. The payee's details are made up (a valid
INN check digit, a real bank's BIC) so a payment QR code decodes to something a banking app would show.

A development tool like ``customers.demo``: it writes configuration rows directly; charges and bills come from
``run_billing`` itself, payments from direct ledger rows (bulk, like the rest of the demo)."""

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from sbyt.core.periods import add_months, month_start
from sbyt.customers.models import Account, Branch

from .models import (
    BillDelivery,
    BillingRun,
    BillingSettings,
    ConsumptionNorm,
    Invoice,
    LedgerEntry,
    Tariff,
    TariffGroup,
    TariffPrice,
    ZoneHours,
)

D = Decimal
ACTOR = "seed_demo"
HISTORY_PERIODS = 6

# Range 1 / range 2 / range 3 price factors (from 2025: the 2nd and 3rd ranges cost more).
RANGE_FACTORS = (D("1"), D("1.31"), D("1.68"))
RANGES_FROM = dt.date(2025, 7, 1)
RANGE_LIMITS = (D("3900"), D("6000"))
# Zone prices relative to the single rate: day / night; peak / semi-peak / night.
ZONE_FACTORS = {1: (D("1"),), 2: (D("1.145"), D("0.55")), 3: (D("1.32"), D("1"), D("0.55"))}
GROUP_FACTORS = {
    TariffGroup.URBAN_GAS: D("1"),
    TariffGroup.URBAN_ELECTRIC: D("0.7"),
    TariffGroup.RURAL: D("0.7"),
    TariffGroup.EQUATED: D("1"),
}
BASE_PRICE = {"11": D("6.20"), "18": D("5.90")}
OTHER_PRICE = {"11": D("9.80"), "18": D("9.40")}  # businesses: one price, no ranges
WATER_PRICE = {"hot_water": D("251.40"), "cold_water": D("45.30")}
INDEXATION = D("1.119")  # from 1 July 2026
# Norm per person per month, gas stove, by rooms (1..4) and residents (1..5); electric stove ×1.35.
NORMS = {
    1: (151, 94, 73, 59, 52),
    2: (175, 109, 84, 68, 59),
    3: (190, 118, 91, 74, 65),
    4: (200, 124, 96, 78, 68),
}
WATER_NORMS = {"hot_water": D("3.500"), "cold_water": D("4.200")}
PAYEES = {
    "11": ("АО «Энергосбыт» (демо)", "1101999990", "110101001", "Отделение № 8617 Сбербанка", "048702640",
           "30101810400000000640", "167000, г. Сыктывкар, ул. Первомайская, д. 70"),
    "18": ("АО «Энергосбыт» (демо), Удмуртский филиал", "1832999996", "183201001", "Удмуртское отделение № 8618 "
           "Сбербанка", "049401601", "30101810400000000601", "426063, г. Ижевск, ул. Орджоникидзе, д. 52-а"),
}  # fmt: skip
CHANNELS = (
    "Личный кабинет и мобильное приложение: lk.example.ru\n"
    "Показания по SMS: ПС <номер договора> <показания>\n"
    "Telegram, ВКонтакте, Viber, WhatsApp: @energosbyt_demo\n"
    "Показания по e-mail (таблица): pokazaniya@example.ru"
)


def _price(value: Decimal) -> Decimal:
    return value.quantize(D("0.01"))


def _tariff(branch, *, resource, group, zones, valid_from, valid_to, prices, limits=()) -> None:
    limit1, limit2 = (*limits, None, None)[:2]
    tariff, created = Tariff.objects.get_or_create(
        branch=branch,
        resource=resource,
        group=group,
        zones=zones,
        valid_from=valid_from,
        defaults={"valid_to": valid_to, "range1_upto": limit1, "range2_upto": limit2, "source": "демо-данные"},
    )
    if created:
        TariffPrice.objects.bulk_create(
            [TariffPrice(tariff=tariff, zone=z, range_no=r, price=p) for (z, r), p in prices.items()]
        )


def seed_branch_billing(branch: Branch) -> None:
    """Tariffs (from 1 July 2024, 2025 and 2026), norms, zone hours and bill settings of a demo branch. Idempotent."""
    base = BASE_PRICE.get(branch.code, D("6.00"))
    other = OTHER_PRICE.get(branch.code, D("9.50"))
    spans = [
        (dt.date(2024, 7, 1), dt.date(2025, 6, 30), D("0.88"), False),
        (RANGES_FROM, dt.date(2026, 6, 30), D("1"), True),
        (dt.date(2026, 7, 1), None, INDEXATION, True),
    ]
    for valid_from, valid_to, factor, with_ranges in spans:
        ranges = RANGE_FACTORS if with_ranges else RANGE_FACTORS[:1]
        for group, group_factor in GROUP_FACTORS.items():
            for zones, zone_factors in ZONE_FACTORS.items():
                prices = {
                    (z, r): _price(base * factor * group_factor * zone_factor * range_factor)
                    for z, zone_factor in enumerate(zone_factors, start=1)
                    for r, range_factor in enumerate(ranges, start=1)
                }
                _tariff(branch, resource="electricity", group=group, zones=zones, valid_from=valid_from,
                        valid_to=valid_to, prices=prices, limits=RANGE_LIMITS if with_ranges else ())  # fmt: skip
        for zones, zone_factors in ZONE_FACTORS.items():
            prices = {(z, 1): _price(other * factor * f) for z, f in enumerate(zone_factors, start=1)}
            _tariff(branch, resource="electricity", group=TariffGroup.OTHER, zones=zones, valid_from=valid_from,
                    valid_to=valid_to, prices=prices)  # fmt: skip
        for resource, price in WATER_PRICE.items():
            _tariff(branch, resource=resource, group=TariffGroup.ANY, zones=1, valid_from=valid_from,
                    valid_to=valid_to, prices={(1, 1): _price(price * factor)})  # fmt: skip
    if not ConsumptionNorm.objects.filter(branch=branch).exists():
        norms = []
        for rooms, per_person in NORMS.items():
            for residents, value in enumerate(per_person, start=1):
                for stove, factor in (("gas", D("1")), ("electric", D("1.35")), ("none", D("1.35"))):
                    norms.append(
                        ConsumptionNorm(
                            branch=branch, resource="electricity", stove_type=stove, rooms=rooms, residents=residents,
                            per_person=(D(value) * factor).quantize(D("1")), source="демо-данные",
                        )
                    )  # fmt: skip
        norms += [
            ConsumptionNorm(branch=branch, resource=resource, per_person=value, source="демо-данные")
            for resource, value in WATER_NORMS.items()
        ]
        ConsumptionNorm.objects.bulk_create(norms)
    if not ZoneHours.objects.filter(branch=branch).exists():
        from .config import DEFAULT_ZONE_HOURS

        ZoneHours.objects.bulk_create(
            [
                ZoneHours(branch=branch, zones=zones, zone=zone, starts=starts, ends=ends)
                for zones, intervals in DEFAULT_ZONE_HOURS.items()
                for zone, starts, ends in intervals
            ]
        )
    payee = PAYEES.get(branch.code, PAYEES["11"])
    BillingSettings.objects.get_or_create(
        branch=branch,
        defaults={
            "payee_name": payee[0],
            "inn": payee[1],
            "kpp": payee[2],
            "account": "40702810" + branch.code.rjust(2, "0")[-2:] + "0000000001",
            "bank_name": payee[3],
            "bic": payee[4],
            "corr_account": payee[5],
            "address": payee[6],
            "channels": CHANNELS,
        },
    )


@dataclass
class BillingDemo:
    periods: list[dt.date] = field(default_factory=list)
    runs: int = 0
    charges: int = 0
    invoices: int = 0
    payments: int = 0
    debtors: int = 0


def seed_billing_demo(
    *, seed: int = 42, today: dt.date | None = None, showcase: list[str] | None = None
) -> BillingDemo:
    """Configure every branch, choose bill delivery for the accounts, then bill the last six periods one after the
    other with payments in between (most pay on time, some late, a few not at all)."""
    from .services import run_billing

    rng = random.Random(seed)
    today = today or timezone.localdate()
    result = BillingDemo()
    branches = list(Branch.objects.all())
    for branch in branches:
        seed_branch_billing(branch)
    _deliveries(rng, showcase or [])
    current = month_start(today)
    result.periods = [add_months(current, -k) for k in range(HISTORY_PERIODS, 0, -1)]
    habits = {pk: rng.random() for pk in Account.objects.values_list("pk", flat=True)}
    billed = [branch for branch in branches if Account.objects.filter(branch=branch).exists()]
    for period in result.periods:
        for branch in billed:
            run = run_billing(branch=branch, period=period, actor=ACTOR, today=_billing_day(period, today))
            result.runs += 1
            result.charges += run.stats.get("charges", 0)
            result.invoices += run.stats.get("invoices", 0)
        result.payments += _pay(period, habits, today, rng)
    # The demo's history is the past: its bills are not e-mailed again (nor printed) at the first start — the
    # delivery job takes only runs not handed over yet. Staff can still make a run's print batch by hand.
    BillingRun.objects.filter(actor_label=ACTOR, delivery_planned_at__isnull=True).update(
        delivery_planned_at=timezone.now()
    )
    result.debtors = sum(1 for habit in habits.values() if habit >= 0.95)
    return result


def _billing_day(period: dt.date, today: dt.date) -> dt.date:
    return min(period.replace(day=27) if period.month != 2 else period.replace(day=26), today)


def _deliveries(rng: random.Random, showcase: list[str]) -> None:
    rows = []
    for pk, number, email in Account.objects.values_list("pk", "number", "customer__email"):
        roll = rng.random()
        if number in showcase[:1]:
            method = BillDelivery.Method.CABINET
        elif email and (roll < 0.6 or number in showcase):
            method = BillDelivery.Method.EMAIL
        elif roll < 0.2:
            method = BillDelivery.Method.CABINET
        else:
            continue
        rows.append(BillDelivery(account_id=pk, method=method, changed_by=ACTOR))
    BillDelivery.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def _pay(period: dt.date, habits: dict[int, float], today: dt.date, rng: random.Random) -> int:
    """Payments of the period's bills: 85 % of clients before the due date, 10 % some 40–70 days late, 5 % never."""
    from sbyt.customers.models import Contract

    ids = dict(Contract.objects.values_list("number", "pk"))
    entries = []
    for invoice in Invoice.objects.filter(period=period).only("pk", "account_id", "due_date", "total_due", "data"):
        habit = habits.get(invoice.account_id, 0.0)
        if invoice.total_due <= 0 or habit >= 0.95:
            continue
        if habit < 0.85:
            paid_on = invoice.due_date - dt.timedelta(days=rng.randint(0, 12))
        else:
            paid_on = invoice.due_date + dt.timedelta(days=rng.randint(40, 70))
        if paid_on > today:
            continue
        contracts = [c["contract"] for c in invoice.data.get("contracts", [])]
        amounts = {c["contract"]: D(c["amount"]) for c in invoice.data.get("contracts", [])}
        rest = invoice.total_due
        for index, number in enumerate(contracts):
            share = rest if index == len(contracts) - 1 else min(rest, amounts[number])
            rest -= share
            if share > 0 and number in ids:
                entries.append(
                    LedgerEntry(
                        account_id=invoice.account_id, contract_id=ids[number], kind=LedgerEntry.Kind.PAYMENT,
                        amount=-share, period=period, value_date=paid_on, document_type="demo.payment",
                        document_id=f"{invoice.number}", note="оплата (демо)",
                    )
                )  # fmt: skip
    LedgerEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)
