"""Reads of payments shared by the cabinet, the API, the back office and the receipt."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Sum

from sbyt.billing.queries import balances_of_accounts
from sbyt.customers.models import Account, Contract
from sbyt.customers.queries import find_account
from sbyt.metering.models import Meter, Reading

from .models import AutopayMandate, Payment, PaymentIntent, RefundRequest, Registry, RegistryFormat, SuspenseItem

ZERO = Decimal("0.00")


def payments_of_accounts(accounts: Iterable[Account | int], *, limit: int | None = 100) -> QuerySet:
    """Credited payments and refunds of the accounts, newest first (CAB-7)."""
    ids = [a if isinstance(a, int) else a.pk for a in accounts]
    payments = Payment.objects.filter(account_id__in=ids).select_related("account").order_by("-paid_at", "-id")
    return payments[:limit] if limit else payments


def refundable(payment: Payment) -> Decimal:
    """What is left to refund of a payment: its amount less the refunds posted and those still at the provider."""
    if payment.kind != Payment.Kind.PAYMENT:
        return ZERO
    posted = payment.refunds.aggregate(total=Sum("amount"))["total"] or ZERO
    in_flight = (
        payment.refund_requests.filter(
            status__in=[RefundRequest.Status.CREATED, RefundRequest.Status.PENDING]
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    return max(payment.amount - posted - in_flight, ZERO)


def refund_requests_of(payment: Payment) -> QuerySet:
    return payment.refund_requests.select_related("document").order_by("created_at", "id")


def debts_of(accounts: Iterable[Account | int]) -> dict[int, Decimal]:
    """What each account owes now (the positive part of its balance); an advance is 0."""
    return {pk: max(balance, ZERO) for pk, balance in balances_of_accounts(list(accounts)).items()}


def intent_by_token(token) -> PaymentIntent | None:
    try:
        return PaymentIntent.objects.prefetch_related("items__account").filter(token=token).first()
    except (ValidationError, ValueError):  # not a UUID; a database failure is not «not found» and propagates
        return None


def live_mandate(account: Account) -> AutopayMandate | None:
    return (
        AutopayMandate.objects.filter(
            account=account, status__in=[AutopayMandate.Status.AWAITING_CARD, AutopayMandate.Status.ACTIVE]
        )
        .order_by("-created_at")
        .first()
    )


def mandates_of(accounts: Iterable[Account]) -> dict[int, AutopayMandate]:
    result: dict[int, AutopayMandate] = {}
    for mandate in AutopayMandate.objects.filter(
        account__in=list(accounts), status__in=[AutopayMandate.Status.AWAITING_CARD, AutopayMandate.Status.ACTIVE]
    ).order_by("created_at"):
        result[mandate.account_id] = mandate
    return result


def identify(number: str, reference: str) -> Account | None:
    """The account a client number and a contract number (or meter serial) from the bill designate together: the
    pair is the proof of holding the bill, so the debt may be shown (PUB-3). Anything else: None."""
    account = find_account(number)
    reference = "".join((reference or "").split())
    if account is None or not reference:
        return None
    if Contract.objects.filter(account=account, number=reference).exists():
        return account
    digits = reference.lstrip("0")
    serials = Meter.objects.filter(contract__account=account).values_list("serial", flat=True)
    if any(s == reference or (digits and s.lstrip("0") == digits) for s in serials):
        return account
    return None


def registries() -> QuerySet:
    return Registry.objects.select_related("format").defer("content").order_by("-received_at", "-id")


def active_formats() -> QuerySet:
    return RegistryFormat.objects.filter(active=True).order_by("name")


def open_suspense() -> QuerySet:
    return (
        SuspenseItem.objects.filter(status=SuspenseItem.Status.OPEN)
        .select_related("registry")
        .order_by("paid_at", "id")
    )


def suspense_of(registry: Registry) -> QuerySet:
    return registry.suspense_items.select_related("payment__account").order_by("line_no")


# ------------------------------------------------------------------------------------------------------ receipt


@dataclass
class ReceiptReading:
    serial: str
    zones: tuple[str, ...]
    values: tuple[int, ...]
    status: str


@dataclass
class Receipt:
    """What the office receipt shows (PAY-4: account, period, service, amount, balance, readings)."""

    number: str
    paid_at: dt.datetime
    time_zone: str
    account: str
    payer: str
    address: str
    branch: str
    services: list[str]
    period: dt.date | None
    amount: Decimal
    balance_after: Decimal
    cashier: str
    channel: str
    kind: str
    readings: list[ReceiptReading] = field(default_factory=list)
    payee: str = ""
    inn: str = ""
    phones: list[str] = field(default_factory=list)


def receipt(payment: Payment) -> Receipt:
    from sbyt.billing.models import BillingSettings, LedgerEntry

    account = Account.objects.select_related("customer", "branch").get(pk=payment.account_id)
    contracts = list(Contract.objects.filter(account=account).order_by("number"))
    premises = account.premises.order_by("id").first()
    entries = LedgerEntry.objects.filter(account=account)
    # the balance right after this payment: every entry written up to its own ledger entries
    own = entries.filter(document_type="payment", document_id=str(payment.pk)).order_by("-id").first()
    if own is not None:
        entries = entries.filter(Q(id__lte=own.pk))
    balance = sum((e for e in entries.values_list("amount", flat=True)), ZERO)
    readings = [
        ReceiptReading(r.meter.serial, r.meter.zone_names, r.values, r.get_status_display())
        for r in Reading.objects.filter(source=f"payment:{payment.pk}").select_related("meter").order_by("id")
    ]
    settings = BillingSettings.objects.filter(branch=account.branch).first()
    return Receipt(
        number=f"{payment.pk:08d}",
        paid_at=payment.paid_at,
        time_zone=account.branch.time_zone,
        account=account.number,
        payer=payment.payer or account.customer.display_name,
        address=premises.address if premises else "",
        branch=account.branch.name,
        services=sorted({c.get_resource_display() for c in contracts}) or ["электроэнергия"],
        period=payment.period,
        amount=payment.amount,
        balance_after=balance,
        cashier=payment.actor_label,
        channel=payment.get_channel_display(),
        kind=payment.get_kind_display(),
        readings=readings,
        payee=settings.payee_name if settings else "",
        inn=settings.inn if settings else "",
        phones=account.branch.phones,
    )
