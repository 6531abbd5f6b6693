"""Law as data: the Bank of Russia key rate history, the penalty moratoria and the due days (DOMAIN: payments, due
date, penalties); and the billing permissions of the staff roles."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

# Effective dates of the Bank of Russia's key-rate decisions (cbr.ru «Ключевая ставка Банка России»), from the rate
# in force on 01.01.2016 — when ЖК РФ ст. 155 ч. 14 took its present form. Later decisions are added in the admin.
KEY_RATES = [
    ("2015-08-03", "11.00"), ("2016-06-14", "10.50"), ("2016-09-19", "10.00"), ("2017-03-27", "9.75"),
    ("2017-05-02", "9.25"), ("2017-06-19", "9.00"), ("2017-09-18", "8.50"), ("2017-10-30", "8.25"),
    ("2017-12-18", "7.75"), ("2018-02-12", "7.50"), ("2018-03-26", "7.25"), ("2018-09-17", "7.50"),
    ("2018-12-17", "7.75"), ("2019-06-17", "7.50"), ("2019-07-29", "7.25"), ("2019-09-09", "7.00"),
    ("2019-10-28", "6.50"), ("2019-12-16", "6.25"), ("2020-02-10", "6.00"), ("2020-04-27", "5.50"),
    ("2020-06-22", "4.50"), ("2020-07-27", "4.25"), ("2021-03-22", "4.50"), ("2021-04-26", "5.00"),
    ("2021-06-15", "5.50"), ("2021-07-26", "6.50"), ("2021-09-13", "6.75"), ("2021-10-25", "7.50"),
    ("2021-12-20", "8.50"), ("2022-02-14", "9.50"), ("2022-02-28", "20.00"), ("2022-04-11", "17.00"),
    ("2022-05-04", "14.00"), ("2022-05-27", "11.00"), ("2022-06-14", "9.50"), ("2022-07-25", "8.00"),
    ("2022-09-19", "7.50"), ("2023-07-24", "8.50"), ("2023-08-15", "12.00"), ("2023-09-18", "13.00"),
    ("2023-10-30", "15.00"), ("2023-12-18", "16.00"), ("2024-07-29", "18.00"), ("2024-09-16", "19.00"),
    ("2024-10-28", "21.00"), ("2025-06-09", "20.00"), ("2025-07-28", "18.00"), ("2025-09-15", "17.00"),
    ("2025-10-27", "16.50"), ("2025-12-22", "16.00"),
]  # fmt: skip
MORATORIA = [
    ("2020-04-06", "2020-12-31", "zero", None, "lower_of", "ПП РФ от 02.04.2020 № 424: пени не начисляются"),
    (
        "2022-02-28",
        "2026-12-31",
        "cap",
        "9.50",
        "lower_of",
        "ПП РФ от 26.03.2022 № 474 с продлениями: ставка не выше 9,5 % (ключевая ставка на 27.02.2022)",
    ),
]
DUE_DAYS = [
    ("household", 10, "2000-01-01", "ЖК РФ ст. 155 ч. 1: до 10-го числа следующего месяца"),
    ("household", 15, "2026-03-01", "ЖК РФ ст. 155 ч. 1 в ред. 177-ФЗ: до 15-го числа с 01.03.2026"),
    ("business", 18, "2000-01-01", "ПП РФ № 442 п. 82: окончательный расчёт до 18-го числа следующего месяца"),
]


def seed(apps, schema_editor):
    KeyRate = apps.get_model("billing", "KeyRate")
    PenaltyMoratorium = apps.get_model("billing", "PenaltyMoratorium")
    DueDay = apps.get_model("billing", "DueDay")
    for day, rate in KEY_RATES:
        KeyRate.objects.get_or_create(valid_from=dt.date.fromisoformat(day), defaults={"rate": Decimal(rate)})
    for starts, ends, kind, cap, mode, basis in MORATORIA:
        PenaltyMoratorium.objects.get_or_create(
            starts=dt.date.fromisoformat(starts),
            ends=dt.date.fromisoformat(ends),
            kind=kind,
            defaults={"cap_rate": Decimal(cap) if cap else None, "mode": mode, "basis": basis},
        )
    for payer, day, valid_from, basis in DUE_DAYS:
        DueDay.objects.get_or_create(
            payer=payer, valid_from=dt.date.fromisoformat(valid_from), defaults={"day": day, "basis": basis}
        )


def roles(apps, schema_editor):
    from sbyt.users.roles import ensure_roles

    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("users", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(roles, migrations.RunPython.noop),
    ]
