"""Reads the cabinet and API v1 need on top of ``sbyt.billing.queries``: each contract's balance with its words,
the charges of a period as display rows, the consumption chart's bars, and the documents on request (the
certificate of no debt and the account statement) built from the ledger.

Nothing here writes: the balance is always the sum of the ledger (``billing.queries``); the documents are plain
data for ``billing.documents`` renderers."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from sbyt.billing import queries
from sbyt.billing.bills import METHOD_LABELS, RANGE_LABELS, SERVICES, supplier_of
from sbyt.billing.documents import CertificateDocument, StatementDocument, StatementLine, Supplier
from sbyt.billing.models import BillingSettings, Charge, LedgerEntry, bill_header
from sbyt.core.errors import DomainError
from sbyt.core.periods import add_months, month_start
from sbyt.customers.models import Account, Contract
from sbyt.metering.queries import today_in
from sbyt.metering.rules import ZONE_NAMES

ZERO = Decimal("0.00")
CHART_MONTHS = 12


# ---------------------------------------------------------------------------------------------------- balances


@dataclass(frozen=True)
class ContractBalance:
    contract: Contract
    balance: Decimal  # + the client owes, − an advance

    @property
    def debt(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def overpayment(self) -> Decimal:
        return max(-self.balance, ZERO)


def contract_balances(account: Account) -> list[ContractBalance]:
    """Every contract of the account with its balance (the sum of its ledger), in the cabinet's order."""
    balances = queries.contract_balances(account)
    contracts = Contract.objects.filter(account=account).order_by("resource", "number")
    return [ContractBalance(c, balances.get(c.pk, ZERO)) for c in contracts]


# ----------------------------------------------------------------------------------------------------- charges


def zone_label(zones: int, zone: int) -> str:
    names = ZONE_NAMES.get(zones, ("",))
    return names[zone - 1] if 0 < zone <= len(names) and names[zone - 1] else ""


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


@dataclass(frozen=True)
class ChargeRow:
    charge: Charge
    service: str
    method: str
    is_adjustment: bool
    zone_volumes: list[tuple[str, Decimal]]  # (zone label, volume)
    lines: list[dict]  # zone, range, period part, volume, price, amount — as displayed
    days: tuple[int, int] | None = None  # an estimate for part of the month: (days the contract was in force, of)


def charge_rows(account: Account, period: dt.date) -> list[ChargeRow]:
    """The charges of a period (the period's own and its adjustments), ready for a table."""
    rows = []
    for charge in queries.charges_of_period(account, period):
        zones = charge.zones or 1
        ranges_used = {line.get("range") for line in charge.lines}
        lines = []
        for line in charge.lines:
            part = ""
            if "from" in line:
                part = f"{dt.date.fromisoformat(line['from']):%d.%m}–{dt.date.fromisoformat(line['to']):%d.%m}"
            lines.append(
                {
                    "zone": zone_label(zones, int(line.get("zone", 1))) if zones > 1 else "",
                    "range": RANGE_LABELS.get(line.get("range"), "") if ranges_used != {1} else "",
                    "part": part,
                    "volume": Decimal(line["volume"]),
                    "price": Decimal(line["price"]),
                    "amount": Decimal(line["amount"]),
                }
            )
        zone_volumes = [
            (zone_label(zones, index) if zones > 1 else "", volume)
            for index, volume in enumerate(charge.zone_volumes, start=1)
        ]
        rows.append(
            ChargeRow(
                charge=charge,
                service=SERVICES.get(charge.contract.resource, charge.contract.get_resource_display()),
                method=method_label(charge.method),
                is_adjustment=charge.kind == Charge.Kind.ADJUSTMENT,
                zone_volumes=zone_volumes,
                lines=lines,
                days=_days(charge.basis),
            )
        )
    return rows


def _days(basis) -> tuple[int, int] | None:
    days = basis.get("days") if isinstance(basis, dict) else None
    if isinstance(days, list) and len(days) == 2 and all(isinstance(d, int) for d in days):
        return days[0], days[1]
    return None


# ------------------------------------------------------------------------------------------------------- chart


@dataclass(frozen=True)
class Bar:
    period: dt.date
    volume: Decimal | None
    share: Decimal  # of the tallest bar, 0…1

    @property
    def percent(self) -> int:
        return int(round(self.share * 100))


def consumption_chart(contract: Contract, *, months: int = CHART_MONTHS) -> list[Bar]:
    """12 months of consumption of a contract, oldest first, up to the latest charged period."""
    history = queries.consumption_history(contract, months=months)
    top = max((v for _p, v in history if v is not None and v > 0), default=ZERO)
    bars = []
    for period, volume in history:
        share = volume / top if top and volume is not None and volume > 0 else ZERO
        bars.append(Bar(period, volume, share))
    return bars


# --------------------------------------------------------------------------------------------------- documents


def branch_supplier(account: Account) -> Supplier:
    """The payee as the branch's bill settings give it (a document on request has no bill snapshot)."""
    branch = account.branch
    data = bill_header(branch, BillingSettings.objects.filter(branch=branch).first())
    return supplier_of(data)  # DomainError in Russian when the branch has no payee details


def _address(account: Account) -> str:
    place = account.premises.order_by("id").first()
    return place.address if place else ""


def _contract_number(account: Account) -> str:
    numbers = list(Contract.objects.filter(account=account).order_by("number").values_list("number", flat=True))
    return numbers[0] if len(numbers) == 1 else ""


def certificate_number(account: Account, today: dt.date) -> str:
    return f"С-{account.number}-{today:%Y%m%d}"


def statement_number(account: Account, today: dt.date) -> str:
    return f"В-{account.number}-{today:%Y%m%d}"


def certificate_refusal(account: Account) -> str:
    """Why a certificate of no debt cannot be issued now, or «» when it can."""
    debt = queries.account_debt(account)
    if debt > 0:
        amount = f"{debt:,.2f}".replace(",", "\u00a0").replace(".", ",")
        return _(
            "A certificate of no debt cannot be issued: the account has a debt of %(amount)s ₽. "
            "It becomes available once the debt is paid."
        ) % {"amount": amount}
    return ""


def certificate_document(account: Account, *, today: dt.date | None = None) -> CertificateDocument:
    """The certificate of no debt as of today in the branch. DomainError (Russian) with a debt."""
    today = today or today_in(account.branch)
    refusal = certificate_refusal(account)
    if refusal:
        raise DomainError(refusal, code="debt")
    return CertificateDocument(
        number=certificate_number(account, today),
        issue_date=today,
        as_of=today,
        account_number=account.number,
        payer_name=account.customer.display_name,
        address=_address(account),
        supplier=branch_supplier(account),
        contract_number=_contract_number(account),
        balance=queries.account_balance(account),
    )


def statement_lines(account: Account, *, until: dt.date, months: int = 12) -> list[StatementLine]:
    """One line per month of operations (by value date) for ``months`` months up to ``until``: the opening
    balance, charges with corrections, penalties, payments and the closing balance; the last closing balance is the
    account's balance on ``until``. Consumption: the electricity charged for that period."""
    last = month_start(until)
    first = add_months(last, -(months - 1))
    opening = queries.account_balance(account, on=first - dt.timedelta(days=1))
    sums: dict[dt.date, dict[str, Decimal]] = {}
    for entry in queries.ledger_of_account(account, since=first, until=until):
        bucket = sums.setdefault(month_start(entry.value_date), {"charged": ZERO, "penalties": ZERO, "paid": ZERO})
        if entry.kind == LedgerEntry.Kind.PENALTY:
            bucket["penalties"] += entry.amount
        elif entry.kind == LedgerEntry.Kind.PAYMENT:
            bucket["paid"] -= entry.amount
        else:
            bucket["charged"] += entry.amount
    volumes: dict[dt.date, Decimal] = {}
    for charge in Charge.objects.filter(
        account=account, contract__resource=Contract.Resource.ELECTRICITY, period__gte=first, period__lte=last
    ).only("period", "volume"):
        volumes[charge.period] = volumes.get(charge.period, ZERO) + charge.volume
    lines = []
    for k in range(months):
        period = add_months(first, k)
        bucket = sums.get(period, {"charged": ZERO, "penalties": ZERO, "paid": ZERO})
        closing = opening + bucket["charged"] + bucket["penalties"] - bucket["paid"]
        lines.append(
            StatementLine(
                period, opening, bucket["charged"], bucket["penalties"], bucket["paid"], closing, volumes.get(period)
            )
        )
        opening = closing
    return lines


def statement_document(account: Account, *, today: dt.date | None = None, months: int = 12) -> StatementDocument:
    today = today or today_in(account.branch)
    lines = statement_lines(account, until=today, months=months)
    return StatementDocument(
        number=statement_number(account, today),
        issue_date=today,
        account_number=account.number,
        payer_name=account.customer.display_name,
        address=_address(account),
        supplier=branch_supplier(account),
        period_from=lines[0].period,
        period_to=lines[-1].period,
        lines=tuple(lines),
        contract_number=_contract_number(account),
    )
