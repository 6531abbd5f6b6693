"""Builders shared by the billing tests: a branch with tariffs and norms, households with meters and readings."""

import datetime as dt
from decimal import Decimal

from sbyt.billing.models import BillingSettings, ConsumptionNorm, Tariff, TariffPrice
from sbyt.customers.models import Account, Branch, Contract, Customer, Premises
from sbyt.metering.models import Meter, Reading, ReadingWindow
from tests.factories import aware

D = Decimal


def make_branch(code: str = "11", time_zone: str = "Europe/Moscow", *, settings: bool = True) -> Branch:
    branch, _ = Branch.objects.get_or_create(
        code=code,
        defaults={"name": f"Филиал {code}", "time_zone": time_zone, "contact_phones": "8-800-200-83-81"},
    )
    if not ReadingWindow.objects.filter(branch=branch).exists():
        ReadingWindow.objects.create(branch=branch, first_day=18, last_day=25)
    if settings and not BillingSettings.objects.filter(branch=branch).exists():
        BillingSettings.objects.create(
            branch=branch,
            payee_name="АО «Энергосбыт»",
            inn="1101301856",
            kpp="110101001",
            account="40702810928000000001",
            bank_name="Отделение № 8617 ПАО Сбербанк",
            bic="048702640",
            corr_account="30101810400000000640",
            channels="Личный кабинет: lk.example.ru\nSMS: ПС <номер договора> <показания>",
        )
    return branch


def make_tariff(
    branch: Branch,
    *,
    group: str = "urban_gas",
    zones: int = 1,
    prices: dict | None = None,
    valid_from: dt.date = dt.date(2020, 1, 1),
    valid_to: dt.date | None = None,
    limits: tuple = (),
    resource: str = "electricity",
) -> Tariff:
    """``prices``: {(zone, range): price}; default 5.00 for every zone in one range."""
    limit1, limit2 = (*limits, None, None)[:2]
    tariff = Tariff.objects.create(
        branch=branch,
        resource=resource,
        group=group,
        zones=zones,
        valid_from=valid_from,
        valid_to=valid_to,
        range1_upto=limit1,
        range2_upto=limit2,
    )
    prices = prices or {(z, 1): D("5.00") for z in range(1, zones + 1)}
    TariffPrice.objects.bulk_create(
        [TariffPrice(tariff=tariff, zone=z, range_no=r, price=D(str(p))) for (z, r), p in prices.items()]
    )
    return tariff


def make_norm(branch: Branch, per_person, *, resource: str = "electricity", **fields) -> ConsumptionNorm:
    return ConsumptionNorm.objects.create(branch=branch, resource=resource, per_person=D(str(per_person)), **fields)


_seq = {"n": 0}


def make_household(
    branch: Branch,
    *,
    zones: int | None = 1,
    digits: int = 6,
    residents: int = 2,
    rooms: int = 2,
    stove: str = "gas",
    settlement: str = "urban",
    residential: bool = True,
    kind: str = "person",
    resource: str = "electricity",
    email: str = "",
    account: Account | None = None,
    readings: dict | None = None,
) -> Contract:
    """A contract (with its account, customer and premises unless ``account`` is given) and, if ``zones``, a meter
    with accepted ``readings`` {period: values}, each received on the 20th of its period."""
    _seq["n"] += 1
    n = _seq["n"]
    if account is None:
        customer = Customer.objects.create(
            kind=kind,
            last_name="Иванова",
            first_name="Мария",
            middle_name="Петровна",
            org_name="ООО «Югыд»",
            email=email,
        )
        account = Account.objects.create(number=f"{branch.code}{n:08d}", customer=customer, branch=branch)
    premises = Premises.objects.create(
        account=account,
        address=f"г. Сыктывкар, ул. Коммунистическая, д. {n}",
        residents=residents,
        rooms=rooms,
        stove_type=stove,
        settlement=settlement,
        is_residential=residential,
    )
    contract = Contract.objects.create(
        number=f"{300000 + n}", account=account, premises=premises, resource=resource, start_date=dt.date(2015, 1, 1)
    )
    if zones:
        meter = Meter.objects.create(
            contract=contract, serial=f"M{n:07d}", zones=zones, digits=digits, verification_due=dt.date(2040, 1, 1)
        )
        for period, values in (readings or {}).items():
            add_reading(meter, period, values)
    return contract


def add_reading(meter: Meter, period: dt.date, values, *, status: str = "accepted", day: int = 20) -> Reading:
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    padded = (*values, None, None, None)
    return Reading.objects.create(
        meter=meter,
        period=period,
        t1=padded[0],
        t2=padded[1],
        t3=padded[2],
        raw=" ".join(map(str, values)),
        received_at=aware(period.year, period.month, day),
        channel="cabinet",
        status=status,
        reason="accepted" if status == "accepted" else "held_for_review",
    )


def after_window(period: dt.date) -> dt.date:
    """A local day on which ``period`` may be billed (its window 18–25 is over)."""
    return period.replace(day=27)
