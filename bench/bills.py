#!/usr/bin/env python
"""Bill rendering benchmark: bills per second per process, and the ratio to a reference in the same run.

(a) ``render_bill`` on N generated bills (1–2 meters, single/two/three-zone 60/30/10 %, names and addresses of
    varying length, some overpaid, some with penalties and a message): bills/s by the wall clock and by the
    process's CPU time (the machine is shared: CPU time is the steadier figure);
(b) the reference: a one-page PDF with one line of text in the same embedded font, N times — the fixed cost of
    a ReportLab document with a font subset; the ratio bill/reference says how many "blank pages" a bill costs;
(c) the payment QR code alone (payload + zxing-cpp symbol), codes/s;
(d) the printing-house batch (``write_print_batch``: the PDFs into a ZIP plus the CSV register), bills/s;
peak memory (max RSS) at the end.

Usage: ``python bench/bills.py [--n 2000] [--profile FILE] [--png DIR]``. ``--png DIR`` also writes sample
PDFs of a bill (typical, a long two-page one, an overpaid one), a certificate of no debt and an account
statement, with PNG renderings of their pages (needs pypdfium2 from requirements-dev.txt). Target: (a) >= 80
bills/s per process.
"""

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sbyt.billing import documents, qr  # noqa: E402
from sbyt.billing.documents import (  # noqa: E402
    BillDocument,
    CertificateDocument,
    ChargeLine,
    ReadingLine,
    StatementDocument,
    StatementLine,
    Supplier,
)
from sbyt.billing.printing import write_print_batch  # noqa: E402
from sbyt.core.money import round_half_up  # noqa: E402

TARGET = 80  # bills/s per process
SEED = 20261201
NBSP = "\u00a0"
PERIOD = dt.date(2026, 11, 1)

SUPPLIER = Supplier(
    name="АО «Энергосбытовая компания Севера»",
    inn="1101301856",
    kpp="110101001",
    bank_account="40702810128000001234",
    bank_name="ОТДЕЛЕНИЕ N8617 СБЕРБАНКА РОССИИ",
    bic="048702640",
    correspondent_account="30101810400000000640",
    contact_phone=f"8{NBSP}800{NBSP}200-00-00",
    channels=(
        "Личный кабинет и мобильное приложение: lk.example.ru. Показания — с 18 по 25 число: SMS на номер 7511 "
        "с текстом «ПС номер показания», чат-боты в Telegram и VK, e-mail pokazania@example.ru, автоответчик "
        f"8{NBSP}800{NBSP}200-00-00 (кнопка 2). Офисы обслуживания — адреса и часы работы на сайте."
    ),
    address="167000, Республика Коми, г. Сыктывкар, ул. Первомайская, д. 70",
)
SURNAMES = ["Иванов", "Петрова", "Сидоренко", "Кузнецов", "Попова", "Ворошиловский-Задунайский", "Ли"]
NAMES = ["Иван Иванович", "Анна Сергеевна", "Константин Константинович", "Ольга", "Мария Петровна"]
STREETS = ["ул. Коммунистическая", "ул. Первомайская", "Октябрьский проспект", "ул. Маркова", "пер. Нагорный"]
TOWNS = ["г. Сыктывкар", "г. Ухта", "пгт Нижний Одес", "с. Усть-Кулом", "г. Печора"]
ZONES = {1: [""], 2: ["день", "ночь"], 3: ["пик", "полупик", "ночь"]}
PRICES = {"": Decimal("6.43"), "день": Decimal("7.12"), "ночь": Decimal("3.215"), "пик": Decimal("8.55"),
          "полупик": Decimal("6.43")}  # fmt: skip
METHODS = ["по показаниям"] * 8 + ["по среднему", "по нормативу"]


def make_bill(i: int, rnd: random.Random, *, readings_factor: int = 1) -> BillDocument:
    zones = rnd.choice([1] * 6 + [2] * 3 + [3])
    meters = 1 if rnd.random() < 0.9 else 2
    readings, charges = [], []
    for m in range(meters * readings_factor):
        method = rnd.choice(METHODS)
        for zone in ZONES[zones]:
            previous = Decimal(rnd.randint(1000, 90000))
            used = Decimal(rnd.randint(20, 400))
            metered = method == "по показаниям"
            readings.append(
                ReadingLine(
                    meter=f"{30000000 + 2 * i + m}",
                    zone=zone,
                    previous_value=previous,
                    previous_date=dt.date(2026, 10, rnd.randint(18, 25)),
                    current_value=previous + used if metered else None,
                    current_date=dt.date(2026, 11, rnd.randint(18, 25)) if metered else None,
                    consumption=used,
                    method=method,
                )
            )
            price = PRICES[zone]
            charges.append(
                ChargeLine(
                    "Электроснабжение", zone, "1-й (до 3 900 кВт·ч)", used, "кВт·ч", price, round_half_up(used * price)
                )  # fmt: skip
            )
    bill = BillDocument(
        number=f"11-2026-11-{i:07d}",
        period=PERIOD,
        issue_date=dt.date(2026, 12, 1),
        due_date=dt.date(2026, 12, 15),
        account_number=f"{100000000 + i}",
        payer_name=f"{rnd.choice(SURNAMES)} {rnd.choice(NAMES)}",
        address=(
            f"{167000 + rnd.randint(0, 999)}, Республика Коми, {rnd.choice(TOWNS)}, {rnd.choice(STREETS)}, "
            f"д. {rnd.randint(1, 200)}" + (f", кв. {rnd.randint(1, 300)}" if rnd.random() < 0.8 else "")
        ),
        supplier=SUPPLIER,
        readings=tuple(readings),
        charges=tuple(charges),
        branch="Сыктывкарский филиал",
    )
    charged = bill.charged
    roll = rnd.random()
    opening = charged * Decimal("0.9") if roll < 0.7 else (-charged * 2 if roll < 0.8 else charged * 3)
    payments = round_half_up(opening if roll < 0.7 else Decimal(0))
    penalties = round_half_up(opening * Decimal("0.01")) if roll >= 0.8 else Decimal("0.00")
    opening = round_half_up(opening)
    total = opening + charged + penalties - payments
    message = ""
    if roll >= 0.8:
        message = (
            "Уведомление о задолженности. При неоплате в течение 20 дней со дня доставки этого уведомления "
            "подача электроэнергии может быть ограничена (ПП РФ № 354, п. 117–119)."
        )
    return BillDocument(**{
        **{f: getattr(bill, f) for f in bill.__dataclass_fields__},
        "opening_balance": opening, "payments": payments, "penalties": penalties, "total_due": total,
        "message": message,
    })  # fmt: skip


def reference() -> bytes:
    sheet = documents.Sheet(title="Счёт", author=SUPPLIER.name)
    sheet.text(documents.LEFT, documents.TOP - 20, "Счёт за ноябрь 2026", 10)
    return sheet.finish()


def timed(function, items) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for ``function`` over ``items``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        function(item)
    return time.perf_counter() - wall, time.process_time() - cpu


def samples(directory: Path) -> None:
    import pypdfium2 as pdfium

    directory.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(SEED)
    typical = make_bill(1, rnd)
    long = make_bill(2, rnd, readings_factor=9)
    long = BillDocument(**{
        **{f: getattr(long, f) for f in long.__dataclass_fields__},
        "opening_balance": Decimal("-5000.00"), "payments": Decimal("3000.00"), "penalties": Decimal("0.00"),
        "total_due": long.charged - Decimal("8000.00"),
        "payer_name": "Ворошиловский-Задунайский Константин Константинович (наследственное имущество, "
                      "доверенность № 11АА1234567 от 01.02.2026)",
    })  # fmt: skip
    overpaid = BillDocument(**{
        **{f: getattr(typical, f) for f in typical.__dataclass_fields__},
        "opening_balance": Decimal("-3000.00"), "payments": Decimal("0.00"), "penalties": Decimal("0.00"),
        "total_due": typical.charged - Decimal("3000.00"), "message": "",
    })  # fmt: skip
    certificate = CertificateDocument(
        number="С-2026-000123", issue_date=dt.date(2026, 12, 3), as_of=dt.date(2026, 12, 3),
        account_number=typical.account_number, payer_name=typical.payer_name, address=typical.address,
        supplier=SUPPLIER, contract_number="200001", balance=Decimal("-120.50"),
    )  # fmt: skip
    lines, balance = [], Decimal("350.00")
    for k in range(12):
        period = dt.date(2025 + (11 + k) // 12, (11 + k) % 12 + 1, 1)
        charged, paid = Decimal(rnd.randint(800, 2500)), Decimal(rnd.randint(800, 2500))
        lines.append(StatementLine(period, balance, charged, Decimal("0.00"), paid, balance + charged - paid,
                                   Decimal(rnd.randint(120, 380))))  # fmt: skip
        balance += charged - paid
    statement = StatementDocument(
        number="В-2026-000045", issue_date=dt.date(2026, 12, 3), account_number=typical.account_number,
        payer_name=typical.payer_name, address=typical.address, supplier=SUPPLIER,
        period_from=lines[0].period, period_to=lines[-1].period, lines=tuple(lines), contract_number="200001",
    )  # fmt: skip
    for name, pdf in [
        ("bill", documents.render_bill(typical)),
        ("bill_long", documents.render_bill(long)),
        ("bill_overpaid", documents.render_bill(overpaid)),
        ("certificate", documents.render_certificate(certificate)),
        ("statement", documents.render_statement(statement)),
    ]:
        (directory / f"{name}.pdf").write_bytes(pdf)
        document = pdfium.PdfDocument(pdf)
        for index, page in enumerate(document, 1):
            page.render(scale=150 / 72).to_pil().save(directory / f"{name}_{index}.png")
        print(f"  {name}: {len(pdf):,} bytes, {len(document)} page(s) -> {directory}/{name}_*.png")
        document.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="bills to render (default 2 000)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the bill rendering to FILE")
    parser.add_argument("--png", metavar="DIR", help="also write sample PDFs and their PNG renderings to DIR")
    args = parser.parse_args()

    rnd = random.Random(SEED)
    bills = [make_bill(i, rnd) for i in range(args.n)]
    payloads = [qr.bill_payload(bill) for bill in bills]
    for bill in bills[:20]:  # warm-up: fonts registered, code paths loaded
        documents.render_bill(bill)
        reference()
    sizes = [len(documents.render_bill(bill)) for bill in bills[:50]]

    ref_wall, ref_cpu = timed(lambda _: reference(), range(args.n))
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    wall, cpu = timed(documents.render_bill, bills)
    if args.profile:
        profiler.disable()
        profiler.dump_stats(args.profile)
    qr_wall, qr_cpu = timed(lambda payload: qr.encode(payload), payloads)
    with tempfile.TemporaryDirectory(prefix="bench-bills-") as tmp:
        batch_wall, batch_cpu = timed(
            lambda chunk: write_print_batch(chunk, branch_code="11", period=PERIOD, directory=tmp), [bills]
        )
        batch_size = (Path(tmp) / "bills_11_2026-11.zip").stat().st_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    n = args.n
    rate, rate_cpu = n / wall, n / cpu
    ref_rate, ref_rate_cpu = n / ref_wall, n / ref_cpu
    print(f"bills rendered: {n}  (mean PDF {sum(sizes) / len(sizes) / 1024:.1f} KiB)")
    print(f"(a) render_bill:      {rate:7.1f} bills/s wall   {rate_cpu:7.1f} bills/s CPU   ({1000 / rate_cpu:.2f} ms)")
    print(f"(b) reference page:   {ref_rate:7.1f} pages/s wall   {ref_rate_cpu:7.1f} pages/s CPU")
    print(f"    ratio bill / reference: {ref_rate_cpu / rate_cpu:.2f}x the cost of a one-line page (CPU)")
    print(f"(c) payment QR code:  {n / qr_wall:7.1f} codes/s wall   {n / qr_cpu:7.1f} codes/s CPU")
    print(f"(d) printing batch:   {n / batch_wall:7.1f} bills/s wall   {n / batch_cpu:7.1f} bills/s CPU   "
          f"(ZIP {batch_size / 1024 / 1024:.1f} MiB)")  # fmt: skip
    print(f"peak memory (max RSS): {peak_mb:.0f} MiB")
    verdict = "met" if rate_cpu >= TARGET else "NOT met"
    print(f"target >= {TARGET} bills/s per process (CPU): {verdict}")
    if args.png:
        samples(Path(args.png))


if __name__ == "__main__":
    main()
