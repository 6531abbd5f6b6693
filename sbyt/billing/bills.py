"""An issued bill as the renderer sees it: ``bill_document(invoice)`` turns the invoice's stored snapshot (what was
printed at issue, never recomputed) into ``documents.BillDocument``; ``bill_pdf(invoice)`` renders it.

Everything comes from ``Invoice.snapshot`` (its data and its run's header) and the invoice's own columns: a bill
rendered today prints what it printed the day it was issued, whatever tariffs, settings or readings have changed
since."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from sbyt.core.errors import DomainError
from sbyt.metering.rules import ZONE_NAMES

from .documents import BillDocument, ChargeLine, ReadingLine, Supplier, render_bill
from .models import Invoice, Method

SERVICES = {
    "electricity": "Электроснабжение",
    "hot_water": "Горячее водоснабжение",
    "cold_water": "Холодное водоснабжение",
}
METHOD_LABELS = {
    Method.READING: "по показаниям",
    Method.AVERAGE: "по среднему",
    Method.NORM: "по нормативу",
    Method.RECALCULATION: "перерасчёт",
}
RANGE_LABELS = {1: "1-й диапазон", 2: "2-й диапазон", 3: "3-й диапазон"}


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _zone_name(zones: int, zone: int) -> str:
    names = ZONE_NAMES.get(zones, ("",))
    return names[zone - 1] if 0 < zone <= len(names) else str(zone)


def supplier_of(data: dict) -> Supplier:
    payee = data.get("payee")
    if not payee:
        raise DomainError("Для филиала не заданы реквизиты получателя платежа: счёт нельзя напечатать.")
    branch = data.get("branch") or {}
    return Supplier(
        name=payee["name"],
        inn=payee["inn"],
        kpp=payee.get("kpp", ""),
        bank_account=payee["account"],
        bank_name=payee["bank_name"],
        bic=payee["bic"],
        correspondent_account=payee["corr_account"],
        contact_phone=", ".join(branch.get("phones") or []),
        channels="; ".join(data.get("channels") or []),
        address=payee.get("address", ""),
    )


def _readings(item: dict) -> list[ReadingLine]:
    """One line per register zone of the metered contracts; one line (no values) for a contract without a meter."""
    method = METHOD_LABELS.get(item["method"], item["method"])
    days = item.get("days")
    if isinstance(days, list) and len(days) == 2:  # an estimate for the days the contract was in force
        method = f"{method}, {days[0]} из {days[1]} дн."
    meter = item.get("meter")
    volumes = [Decimal(v) for v in item.get("volumes", [])]
    if not meter:
        return [ReadingLine("—", "", None, None, None, None, sum(volumes, Decimal("0.00")), method)]
    previous, current = item.get("previous") or {}, item.get("current") or {}
    zones = meter.get("zones") or 1
    lines = []
    for index in range(zones):
        before = previous.get("values") or []
        now = current.get("values") or []
        # By the norm a multi-zone meter is priced single-rate: the whole volume stands on the first zone's line.
        consumption = volumes[index] if index < len(volumes) else Decimal("0.00")
        lines.append(
            ReadingLine(
                meter=meter["serial"],
                zone=_zone_name(zones, index + 1) if zones > 1 else "",
                previous_value=Decimal(before[index]) if index < len(before) else None,
                previous_date=_date(previous.get("date")),
                current_value=Decimal(now[index]) if index < len(now) else None,
                current_date=_date(current.get("date")),
                consumption=consumption,
                method=method,
            )
        )
    return lines


def _charges(item: dict) -> list[ChargeLine]:
    service = SERVICES.get(item["resource"], item["resource"])
    zones = len(item.get("volumes") or []) or 1
    ranges_used = {line["range"] for line in item.get("lines", [])}
    lines = []
    for line in item.get("lines", []):
        volume_range = RANGE_LABELS.get(line["range"], "") if ranges_used != {1} else ""
        if "from" in line:  # a period priced pro rata over a tariff change
            part = f"{_date(line['from']):%d.%m}–{_date(line['to']):%d.%m}"
            volume_range = f"{volume_range}, {part}" if volume_range else part
        lines.append(
            ChargeLine(
                service=service,
                zone=_zone_name(zones, line["zone"]) if zones > 1 else "",
                volume_range=volume_range,
                volume=Decimal(line["volume"]),
                unit=item.get("unit", ""),
                price=Decimal(line["price"]),
                amount=Decimal(line["amount"]),
            )
        )
    return lines


def bill_document(invoice: Invoice) -> BillDocument:
    """The renderer's view of an issued bill."""
    data = invoice.snapshot
    issued = invoice.issued_at.astimezone(ZoneInfo(invoice.branch.time_zone)).date()
    contracts = data.get("contracts", [])
    readings, charges = [], []
    for item in contracts:
        readings += _readings(item)
        charges += _charges(item)
    recalculations = sum((Decimal(a["amount"]) for a in data.get("adjustments", [])), Decimal("0.00"))
    return BillDocument(
        number=invoice.number,
        period=invoice.period,
        issue_date=issued,
        due_date=invoice.due_date,
        account_number=data.get("account", ""),
        payer_name=data.get("customer", ""),
        address=data.get("address", ""),
        supplier=supplier_of(data),
        readings=tuple(readings),
        charges=tuple(charges),
        opening_balance=invoice.opening_balance,
        payments=invoice.paid,
        penalties=invoice.penalties,
        recalculations=recalculations,
        total_due=invoice.closing_balance,  # ≤ 0 prints «оплата не требуется» (and an advance, if any)
        contract_number=contracts[0]["contract"] if len(contracts) == 1 else "",
        branch=(data.get("branch") or {}).get("name", ""),
    )


def bill_pdf(invoice: Invoice) -> bytes:
    return render_bill(bill_document(invoice))
