"""Billing through API v1 (CAB-5, CAB-6, CAB-8): a client's balance per contract (the sum of the ledger), the
charges of each period in detail, 12 months of consumption, the issued bills and a bill's PDF. Only the login's
own accounts (``customers.queries.account_for``: someone else's is the same 404 as a missing one)."""

import datetime as dt
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from sbyt.billing import queries
from sbyt.billing.bills import METHOD_LABELS, bill_document
from sbyt.billing.documents import render_bill
from sbyt.core.errors import NotFound
from sbyt.customers.models import Contract
from sbyt.customers.queries import account_for

from .schemas import ErrorOut

router = Router(tags=["billing"])
ZERO = Decimal("0.00")


class ContractBalanceOut(Schema):
    contract: str
    resource: str
    resource_label: str
    balance: Decimal


class BalanceOut(Schema):
    number: str
    balance: Decimal  # + the client owes, − an advance
    debt: Decimal
    overpayment: Decimal
    contracts: list[ContractBalanceOut]


class PeriodOut(Schema):
    period: dt.date
    amount: Decimal


class ChargeLineOut(Schema):
    zone: int
    range: int
    volume: Decimal
    price: Decimal
    amount: Decimal
    starts: dt.date | None = None
    ends: dt.date | None = None


class ChargeOut(Schema):
    contract: str
    resource: str
    kind: str
    method: str
    method_label: str
    zones: int
    volume: Decimal
    zone_volumes: list[Decimal]
    range_volumes: list[Decimal]
    amount: Decimal
    lines: list[ChargeLineOut]


class ConsumptionOut(Schema):
    contract: str
    resource: str
    unit: str
    months: list[PeriodOut]


class BillOut(Schema):
    number: str
    period: dt.date
    due_date: dt.date
    opening_balance: Decimal
    charged: Decimal
    penalties: Decimal
    paid: Decimal
    total_due: Decimal
    delivery: str
    pdf_url: str


def _period(value: str) -> dt.date:
    """«2026-10» (or a full date in the month) → the month's 1st day; NotFound for anything else."""
    try:
        day = dt.date.fromisoformat(value if len(value) > 7 else f"{value}-01")
    except ValueError:
        raise NotFound(_("Period not found.")) from None
    return day.replace(day=1)


@router.get("/{number}/balance", response={200: BalanceOut, 404: ErrorOut}, summary="Balance of each contract")
def balance(request, number: str):
    account = account_for(request.user, number)
    balances = queries.contract_balances(account)
    total = queries.account_balance(account)
    contracts = Contract.objects.filter(account=account).order_by("resource", "number")
    return {
        "number": account.number,
        "balance": total,
        "debt": max(total, ZERO),
        "overpayment": max(-total, ZERO),
        "contracts": [
            {
                "contract": c.number,
                "resource": c.resource,
                "resource_label": c.get_resource_display(),
                "balance": balances.get(c.pk, ZERO),
            }
            for c in contracts
        ],
    }


@router.get("/{number}/charges", response={200: list[PeriodOut], 404: ErrorOut}, summary="Charges per period")
def charges(request, number: str):
    account = account_for(request.user, number)
    return queries.charged_periods(account, months=12)


@router.get("/{number}/charges/{period}", response={200: list[ChargeOut], 404: ErrorOut}, summary="Charges of a period")
def period_charges(request, number: str, period: str):
    account = account_for(request.user, number)
    rows = queries.charges_of_period(account, _period(period))
    if not rows:
        raise NotFound(_("Nothing was charged for this period."))
    return [
        {
            "contract": c.contract.number,
            "resource": c.contract.resource,
            "kind": c.kind,
            "method": c.method,
            "method_label": METHOD_LABELS.get(c.method, c.method),
            "zones": c.zones,
            "volume": c.volume,
            "zone_volumes": list(c.zone_volumes),
            "range_volumes": [c.volume_r1, c.volume_r2, c.volume_r3],
            "amount": c.amount,
            "lines": [
                {
                    "zone": line["zone"],
                    "range": line["range"],
                    "volume": line["volume"],
                    "price": line["price"],
                    "amount": line["amount"],
                    "starts": line.get("from"),
                    "ends": line.get("to"),
                }
                for line in c.lines
            ],
        }
        for c in rows
    ]


@router.get(
    "/{number}/consumption", response={200: list[ConsumptionOut], 404: ErrorOut}, summary="12 months of consumption"
)
def consumption(request, number: str):
    account = account_for(request.user, number)
    return [
        {
            "contract": c.number,
            "resource": c.resource,
            "unit": c.unit,
            "months": [
                {"period": p, "amount": v} for p, v in queries.consumption_history(c, months=12) if v is not None
            ],
        }
        for c in Contract.objects.filter(account=account).order_by("resource", "number")
    ]


@router.get("/{number}/bills", response={200: list[BillOut], 404: ErrorOut}, summary="Issued bills, newest first")
def bills(request, number: str):
    account = account_for(request.user, number)
    return [
        {
            "number": i.number,
            "period": i.period,
            "due_date": i.due_date,
            "opening_balance": i.opening_balance,
            "charged": i.charged,
            "penalties": i.penalties,
            "paid": i.paid,
            "total_due": i.total_due,
            "delivery": i.delivery,
            "pdf_url": f"/api/v1/billing/{account.number}/bills/{i.period:%Y-%m}/pdf",
        }
        for i in queries.invoices_of_account(account)
    ]


@router.get(
    "/{number}/bills/{period}/pdf",
    response={200: None, 404: ErrorOut},
    summary="A bill as a PDF (application/pdf)",
)
def bill_pdf(request, number: str, period: str):
    account = account_for(request.user, number)
    invoice = queries.invoice_of_period(account, _period(period))
    if invoice is None:
        raise NotFound(_("Bill not found."))
    response = HttpResponse(render_bill(bill_document(invoice)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bill-{invoice.number}.pdf"'
    return response
