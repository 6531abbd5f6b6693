"""The receipt of an office payment (PAY-4: account, period, service, amount, balance after it, readings taken), laid
out on billing's ReportLab sheet with the shipped DejaVu font. Russian literals on purpose: the receipt is a Russian
document whatever language the process has active."""

from reportlab.lib.units import mm

from sbyt.billing.documents import LEFT, RIGHT, TOP, Sheet, money
from sbyt.core.periods import period_label
from sbyt.core.timezones import local_now

from .queries import Receipt


def receipt_pdf(data: Receipt) -> bytes:
    sheet = Sheet(title=f"Квитанция № {data.number}", author=data.payee or data.branch, subject="Квитанция об оплате")
    y = TOP - 4 * mm
    if data.payee:
        sheet.text(LEFT, y, data.payee + (f", ИНН {data.inn}" if data.inn else ""), 9, bold=True, width=RIGHT - LEFT)
        y -= 5 * mm
    sheet.text(LEFT, y, data.branch, 8, width=RIGHT - LEFT)
    y -= 10 * mm
    sheet.text(LEFT, y, f"КВИТАНЦИЯ № {data.number}", 13, bold=True)
    paid = local_now(data.time_zone, data.paid_at)
    sheet.text(RIGHT, y, paid.strftime("%d.%m.%Y %H:%M"), 10, align="r")
    y -= 5 * mm
    sheet.text(LEFT, y, f"{data.kind.capitalize()} · {data.channel}", 8)
    y -= 4 * mm
    sheet.rule(y)
    y -= 7 * mm
    rows = [
        ("Лицевой счёт (номер клиента)", data.account),
        ("Плательщик", data.payer),
        ("Адрес", data.address or "—"),
        ("Услуга", ", ".join(data.services)),
        ("Период оплаты", period_label(data.period) if data.period else "не указан (в счёт самого раннего долга)"),
        ("Сумма, ₽", money(data.amount)),
        (
            "Остаток по счёту после оплаты, ₽",
            money(data.balance_after)
            + (" (долг)" if data.balance_after > 0 else " (переплата)" if data.balance_after < 0 else ""),
        ),
        ("Принял", data.cashier),
    ]
    for label, value in rows:
        sheet.text(LEFT, y, label, 9)
        sheet.text(LEFT + 70 * mm, y, str(value), 10, bold=label.startswith("Сумма"), width=RIGHT - LEFT - 70 * mm)
        y -= 6.5 * mm
    y -= 3 * mm
    sheet.text(LEFT, y, "Показания приборов учёта, принятые при оплате", 10, bold=True)
    y -= 6 * mm
    if data.readings:
        for reading in data.readings:
            values = ", ".join(
                f"{zone}: {value}" if len(reading.values) > 1 else str(value)
                for zone, value in zip(reading.zones, reading.values, strict=False)
            )
            sheet.text(LEFT, y, f"Прибор № {reading.serial}", 9)
            sheet.text(LEFT + 45 * mm, y, values or "—", 9, width=80 * mm)
            sheet.text(RIGHT, y, reading.status, 9, align="r")
            y -= 5.5 * mm
    else:
        sheet.text(LEFT, y, "не передавались", 9)
        y -= 5.5 * mm
    y -= 4 * mm
    sheet.rule(y)
    y -= 6 * mm
    sheet.text(LEFT, y, "Оплата принята без комиссии. Сохраняйте квитанцию до отражения платежа в счёте.", 8)
    if data.phones:
        y -= 5 * mm
        sheet.text(LEFT, y, "Контакт-центр: " + ", ".join(data.phones), 8, width=RIGHT - LEFT)
    return sheet.finish()
