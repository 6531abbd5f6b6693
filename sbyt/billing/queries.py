"""Reads of billing shared by the cabinet, the API, the back office and the documents.

Balances are sums of the ledger: positive — the client owes, negative — an advance."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import Q, QuerySet, Sum

from sbyt.core.periods import add_months, month_start
from sbyt.customers.models import Account, Contract
from sbyt.metering.models import Meter
from sbyt.metering.queries import last_accepted, today_in

from .config import BranchConfig, tariff_group
from .models import BillDelivery, BillEmail, BillingRun, Charge, Invoice, LedgerEntry, PrintBatch
from .pricing import ZERO, Priced, PricingError, price_volume, q2

# -------------------------------------------------------------------------------------------------- balances


def _sum(queryset) -> Decimal:
    return q2(queryset.aggregate(total=Sum("amount"))["total"] or ZERO)


def account_balance(account: Account, *, on: dt.date | None = None) -> Decimal:
    """What the client owes on the account (CAB-5, DEBT-5): the sum of its ledger, up to ``on`` if given."""
    entries = LedgerEntry.objects.filter(account=account)
    if on is not None:
        entries = entries.filter(value_date__lte=on)
    return _sum(entries)


def account_debt(account: Account) -> Decimal:
    """The debt: the balance if positive, else zero."""
    return max(account_balance(account), ZERO)


def contract_balance(contract: Contract) -> Decimal:
    return _sum(LedgerEntry.objects.filter(contract=contract))


def contract_balances(account: Account) -> dict[int, Decimal]:
    """Balance of each contract of the account (contract id → balance; contracts without entries: 0)."""
    balances = dict.fromkeys(Contract.objects.filter(account=account).values_list("pk", flat=True), ZERO)
    for contract_id, total in (
        LedgerEntry.objects.filter(account=account)
        .values_list("contract_id")
        .annotate(total=Sum("amount"))
        .values_list("contract_id", "total")
    ):
        if contract_id is not None:
            balances[contract_id] = q2(total or ZERO)
    return balances


def balances_of_accounts(accounts: Iterable[Account | int]) -> dict[int, Decimal]:
    """Balances of many accounts in one query (lists of accounts)."""
    ids = [a if isinstance(a, int) else a.pk for a in accounts]
    result = dict.fromkeys(ids, ZERO)
    for account_id, total in (
        LedgerEntry.objects.filter(account_id__in=ids)
        .values_list("account_id")
        .annotate(total=Sum("amount"))
        .values_list("account_id", "total")
    ):
        result[account_id] = q2(total or ZERO)
    return result


def ledger_of_account(account: Account, *, since: dt.date | None = None, until: dt.date | None = None) -> QuerySet:
    """The account's ledger in date order (an account statement)."""
    entries = LedgerEntry.objects.filter(account=account).select_related("contract")
    if since is not None:
        entries = entries.filter(value_date__gte=since)
    if until is not None:
        entries = entries.filter(value_date__lte=until)
    return entries.order_by("value_date", "id")


# --------------------------------------------------------------------------------------------------- charges


def charges_of_period(account: Account, period: dt.date) -> list[Charge]:
    """The charges of an account's contracts for a period (CAB-8): the period's own and any adjustments of it."""
    return list(
        Charge.objects.filter(account=account, period=month_start(period))
        .select_related("contract")
        .order_by("contract__resource", "contract__number", "id")
    )


def charged_periods(account: Account, *, months: int = 12) -> list[dict]:
    """Per period, newest first: the amount charged (with adjustments), for the history of charges."""
    rows = (
        Charge.objects.filter(account=account)
        .values("period")
        .annotate(amount=Sum("amount"))
        .order_by("-period")[:months]
    )
    return [{"period": row["period"], "amount": q2(row["amount"] or ZERO)} for row in rows]


def consumption_history(contract: Contract, *, months: int = 12, until: dt.date | None = None) -> list[tuple]:
    """(period, volume) for the ``months`` periods up to ``until`` (default: the latest charged), oldest first;
    a period without a charge has volume None. The volume is the period's total with its adjustments."""
    totals = dict(
        Charge.objects.filter(contract=contract)
        .values_list("period")
        .annotate(total=Sum("volume"))
        .values_list("period", "total")
    )
    if until is None:
        until = max(totals) if totals else month_start(dt.date.today())
    until = month_start(until)
    periods = [add_months(until, -k) for k in range(months - 1, -1, -1)]
    return [(p, q2(totals[p]) if totals.get(p) is not None else None) for p in periods]


# ------------------------------------------------------------------------------------------------------ bills


def invoices_of_account(account: Account) -> QuerySet:
    """The account's issued bills, newest first (CAB-6)."""
    return Invoice.objects.filter(account=account).order_by("-period", "-id")


def invoice_of_period(account: Account, period: dt.date) -> Invoice | None:
    return Invoice.objects.filter(account=account, period=month_start(period)).first()


def bill_delivery(account: Account) -> BillDelivery:
    """The account's delivery choice (an unsaved «paper» one if the client never chose)."""
    return BillDelivery.objects.filter(account=account).first() or BillDelivery(account=account)


def left_to_pay(account: Account, invoices: Iterable[Invoice]) -> dict[int, Decimal]:
    """What is still to pay of each bill (invoice id → rubles; 0 when paid): its amount due less the payments and
    credits that came after it (those not on it or an earlier bill), oldest debt first — so a bill whose debt a later
    payment covered asks for nothing, and a bill carried into the next one asks only for what is still unpaid."""
    credits = list(LedgerEntry.objects.filter(account=account, amount__lt=0).values_list("amount", "invoice__period"))
    result = {}
    for invoice in invoices:
        after = sum((-amount for amount, printed in credits if printed is None or printed > invoice.period), ZERO)
        result[invoice.pk] = q2(min(max(invoice.closing_balance - after, ZERO), invoice.total_due))
    return result


def print_batch_of_run(run: BillingRun) -> PrintBatch | None:
    return PrintBatch.objects.filter(run=run).first()


def bill_emails_of_run(run: BillingRun) -> dict[str, int]:
    """How many of the run's bills are waiting, handed over, sent and failed by e-mail (status → count)."""
    counts = dict.fromkeys(BillEmail.Status.values, 0)
    for status, count in (
        BillEmail.objects.filter(run=run)
        .values_list("status")
        .annotate(n=models.Count("pk"))
        .values_list("status", "n")
    ):
        counts[status] = count
    return counts


# ------------------------------------------------------------------------------------------------------- runs


def runs(branch=None) -> QuerySet:
    queryset = BillingRun.objects.select_related("branch", "started_by")
    if branch is not None:
        queryset = queryset.filter(branch=branch)
    return queryset.order_by("-created_at", "-id")


def open_run(branch, period: dt.date) -> BillingRun | None:
    return (
        BillingRun.objects.filter(branch=branch, period=month_start(period))
        .filter(
            Q(state=BillingRun.State.PENDING) | Q(state=BillingRun.State.RUNNING) | Q(state=BillingRun.State.FAILED)
        )
        .first()
    )


# ---------------------------------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class Preview:
    """What the consumption since the last accepted reading costs at today's tariffs (before submitting)."""

    period: dt.date
    volumes: tuple[Decimal, ...]
    amount: Decimal
    lines: list[dict]
    previous: tuple[int, ...]

    @property
    def volume(self) -> Decimal:
        return sum(self.volumes, ZERO)


def preview_charge(*, meter: Meter, values: Sequence[int], on: dt.date | None = None) -> Preview | None:
    """The cost of the consumption ``values`` − the last accepted reading of ``meter``, priced as the billing run
    would price it in the period of ``on`` (default today in the branch). None if it cannot be priced (no previous
    reading, fewer values than zones, lower values, no tariff)."""
    contract = meter.contract
    account = contract.account
    branch = account.branch
    on = on or today_in(branch)
    previous = last_accepted(meter.pk)
    if previous is None or len(values) != meter.zones or len(previous.values) != meter.zones:
        return None
    deltas = []
    for new, old in zip(values, previous.values, strict=True):
        new = int(new)
        if new < old:
            return None
        deltas.append(Decimal(new - old))
    period = month_start(on)
    config = BranchConfig(branch, period)
    premises = contract.premises
    group = (
        tariff_group(
            customer_kind=account.customer.kind,
            is_residential=premises.is_residential,
            settlement=premises.settlement,
            stove_type=premises.stove_type,
            override=getattr(getattr(contract, "tariff_group", None), "group", None),
        )
        if contract.resource == Contract.Resource.ELECTRICITY
        else "any"
    )
    terms = config.terms(contract.resource, group, meter.zones)
    if terms is None:
        return None
    try:
        priced: Priced = price_volume(deltas, terms, month_days=config.month_days)
    except PricingError:
        return None
    return Preview(period, tuple(deltas), priced.amount, priced.lines, previous.values)


def unpaid_by_period(account: Account) -> dict[dt.date, Decimal]:
    """What is still unpaid of each period's charges (payments to the period named, then the oldest)."""
    from .services import _unpaid

    ledger = defaultdict(list)
    for entry in LedgerEntry.objects.filter(account=account).order_by("value_date", "id"):
        ledger[entry.contract_id].append(entry)
    result: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    for entries in ledger.values():
        for _due, period, amount in _unpaid(entries):
            if period is not None:
                result[period] += amount
    return dict(result)
