"""Billing services: start and run a billing, post payments and corrections to the ledger, the bill delivery choice.

Every write goes through here (or through the run engine in ``run.py``, which these start); reads live in
``queries.py``."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.actors import is_user, require_permission
from sbyt.core.audit import audit
from sbyt.core.errors import DomainError
from sbyt.core.periods import add_months, month_start, period_label
from sbyt.core.timezones import local_now
from sbyt.customers.models import Account, Branch, Consent, Contract
from sbyt.metering.queries import window_for

from .config import load_due_days, payer_of, period_end
from .models import BillDelivery, BillingRun, Invoice, LedgerEntry
from .penalties import Debt, Reduction, allocate, due_date
from .pricing import ZERO, q2
from .run import CHUNK_SIZE, execute_run

RUN_PERMISSION = "billing.run_billing"
CORRECTION_PERMISSION = "billing.post_correction"
OPEN_STATES = (BillingRun.State.PENDING, BillingRun.State.RUNNING, BillingRun.State.FAILED)


def _money(value) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", ".").replace(" ", ""))
    except (InvalidOperation, ValueError):
        raise DomainError(_("The amount must be a number of rubles, with kopecks after a point.")) from None
    if not amount.is_finite() or amount != q2(amount):
        raise DomainError(_("The amount must be a number of rubles, with kopecks after a point."))
    return amount


def local_today(branch: Branch) -> dt.date:
    return local_now(branch.time_zone).date()


# -------------------------------------------------------------------------------------------------- runs


def billable_from(branch: Branch, period: dt.date) -> dt.date:
    """The first local day a period may be billed: the day after its readings window closes."""
    window = window_for(branch, "", period)
    return period.replace(day=min(window.last_day, period_end(period).day)) + dt.timedelta(days=1)


def start_billing_run(
    *,
    branch: Branch,
    period: dt.date,
    actor,
    enqueue: bool = True,
    chunk_size: int = CHUNK_SIZE,
    today: dt.date | None = None,
) -> BillingRun:
    """Create a billing run of ``branch`` for ``period`` and (``enqueue``) hand it to the worker on commit.

    Guards: the actor may run billing; the period is not in the future and its readings window is over; no run of
    the branch and period is unfinished (that one is continued instead, see ``run_billing``)."""
    require_permission(actor, RUN_PERMISSION, _("You are not allowed to run billing."))
    period = month_start(period)
    today = today or local_today(branch)
    if period > month_start(today):
        raise DomainError(_("A future period cannot be billed."), code="future_period")
    opens = billable_from(branch, period)
    if today < opens:
        raise DomainError(
            _("Readings for %(period)s are accepted until the %(day)s: the period can be billed from %(date)s.")
            % {"period": period_label(period), "day": (opens - dt.timedelta(days=1)).day, "date": f"{opens:%d.%m.%Y}"},
            code="window_open",
        )
    if chunk_size < 1:
        raise DomainError(_("The chunk size must be a positive number."))
    with transaction.atomic():
        open_run = BillingRun.objects.filter(branch=branch, period=period, state__in=OPEN_STATES).first()
        if open_run is not None:
            raise DomainError(
                _("The billing of %(period)s is already started (%(percent)s %%); it is continued, not started again.")
                % {"period": period_label(period), "percent": open_run.percent},
                code="open_run",
            )
        as_of = min(period_end(period), today - dt.timedelta(days=1))
        later = BillingRun.objects.filter(branch=branch, state=BillingRun.State.DONE, penalty_as_of__gt=as_of)
        previous = (
            BillingRun.objects.filter(branch=branch, state=BillingRun.State.DONE, stats__penalties_on=True)
            .order_by("-started_at")
            .first()
        )
        run = BillingRun.objects.create(
            branch=branch,
            period=period,
            started_by=actor if is_user(actor) else None,
            actor_label=actor if isinstance(actor, str) else (actor.get_username() if is_user(actor) else ""),
            total=Account.objects.filter(branch=branch).count(),
            chunk_size=chunk_size,
            penalty_as_of=as_of,
            stats={
                # Penalties are cumulative up to a day: a re-run of an older period must not take back later ones.
                "penalties_on": not later.exists(),
                "previous_run_at": previous.started_at.isoformat() if previous and previous.started_at else None,
                "previous_as_of": previous.penalty_as_of.isoformat() if previous and previous.penalty_as_of else None,
            },
        )
        audit(actor, "billing.run_start", run, branch=branch.code, period=period.isoformat())
        if enqueue:
            from .tasks import execute_billing_run

            run_id = run.pk
            transaction.on_commit(lambda: execute_billing_run.enqueue(run_id))
    return run


def run_billing(
    *,
    branch: Branch,
    period: dt.date,
    actor,
    progress=None,
    chunk_size: int | None = None,
    today: dt.date | None = None,
    workers: int | None = None,
    lanes: int | None = None,
) -> BillingRun:
    """Bill in this process: continue the unfinished run of the branch and period, or start a new one (the command
    and the tests use this; the back office and the schedule start runs for the worker)."""
    period = month_start(period)
    run = BillingRun.objects.filter(branch=branch, period=period, state__in=OPEN_STATES).first()
    if run is None:
        run = start_billing_run(
            branch=branch,
            period=period,
            actor=actor,
            enqueue=False,
            chunk_size=chunk_size or CHUNK_SIZE,
            today=today,
        )
    else:
        require_permission(actor, RUN_PERMISSION, _("You are not allowed to run billing."))
    return execute_run(run, progress=progress, chunk_size=chunk_size, workers=workers, lanes=lanes)


def resume_billing_run(*, run: BillingRun, actor) -> BillingRun:
    """Hand an unfinished run (failed, or whose worker is gone) back to the worker."""
    require_permission(actor, RUN_PERMISSION, _("You are not allowed to run billing."))
    from .run import is_stale
    from .tasks import execute_billing_run

    with transaction.atomic():
        run = BillingRun.objects.select_for_update().get(pk=run.pk)
        if run.state == BillingRun.State.DONE:
            raise DomainError(_("This billing run is finished."))
        if not is_stale(run):
            raise DomainError(_("This billing run is in progress."))
        audit(actor, "billing.run_resume", run, branch=run.branch.code, period=run.period.isoformat())
        run_id = run.pk
        transaction.on_commit(lambda: execute_billing_run.enqueue(run_id))
    return run


# ------------------------------------------------------------------------------------------------ ledger


def _next_bill_period(account: Account, today: dt.date) -> dt.date:
    last = Invoice.objects.filter(account=account).order_by("-period").values_list("period", flat=True).first()
    current = month_start(today)
    return max(current, add_months(last, 1)) if last else current


def _unpaid(entries: list[LedgerEntry]) -> list[tuple[dt.date, dt.date | None, Decimal]]:
    """A contract's unpaid debts (due date, period, amount), oldest first, as penalties see them."""
    debts, reductions = [], []
    for entry in entries:
        if entry.kind == LedgerEntry.Kind.PENALTY:
            continue
        if entry.amount > 0 and entry.due_date:
            debts.append(Debt(entry.due_date, entry.period, entry.amount))
        elif entry.amount < 0:
            reductions.append(Reduction(entry.value_date, -entry.amount, entry.period))
    return [(debt.due, debt.period, amount) for debt, amount, paid in allocate(debts, reductions) if paid is None]


def split_payment(
    amount: Decimal, contracts: list[Contract], ledger: dict[int, list[LedgerEntry]], period: dt.date | None
) -> dict[int, Decimal]:
    """How a payment without a named contract is shared: the debts of the period it names first, then the oldest
    debts of any contract, then unpaid penalties; what is left is an advance on the first (electricity) contract."""
    order = {contract.pk: index for index, contract in enumerate(contracts)}
    debts = []
    for contract in contracts:
        for due, debt_period, unpaid in _unpaid(ledger.get(contract.pk, [])):
            debts.append((not (period and debt_period == period), due, order[contract.pk], contract.pk, unpaid))
    debts.sort()
    shares: dict[int, Decimal] = defaultdict(lambda: ZERO)
    left = amount
    for *_key, contract_id, unpaid in debts:
        if left <= 0:
            break
        part = min(left, unpaid)
        shares[contract_id] += part
        left -= part
    for contract in contracts:
        if left <= 0:
            break
        balance = sum((e.amount for e in ledger.get(contract.pk, [])), ZERO) - shares[contract.pk]
        if balance > 0:
            part = min(left, balance)
            shares[contract.pk] += part
            left -= part
    if left > 0:
        shares[contracts[0].pk] += left
    return {pk: value for pk, value in shares.items() if value}


def post_payment(
    *,
    account: Account,
    amount,
    paid_on: dt.date,
    actor,
    document_type: str,
    document_id: str,
    period: dt.date | None = None,
    contract: Contract | None = None,
    note: str = "",
) -> list[LedgerEntry]:
    """Post a payment to the ledger (the payments app calls this for every payment it accepts).

    ``document_type`` / ``document_id`` name the payment (e.g. ``"payments.payment"``, its id): posting the same
    document again returns the entries of the first time and changes nothing. Without ``contract`` the amount is
    shared between the account's contracts (``split_payment``). The account row is locked, as the billing run
    locks the accounts of a chunk, so a payment never slips between a bill's totals and its entries."""
    amount = _money(amount)
    if amount <= 0:
        raise DomainError(_("The payment amount must be greater than zero."))
    if not document_type or not document_id:
        raise DomainError(_("A payment needs the type and number of its document."))
    if period is not None:
        period = month_start(period)
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("branch").get(pk=account.pk)
        if paid_on > local_today(account.branch):
            raise DomainError(_("The payment date is in the future."))
        posted = list(
            LedgerEntry.objects.filter(
                kind=LedgerEntry.Kind.PAYMENT, document_type=document_type, document_id=str(document_id)
            ).order_by("id")
        )
        if posted:
            if any(entry.account_id != account.pk for entry in posted):
                raise DomainError(_("This payment document is already posted to another account."))
            return posted
        contracts = list(
            Contract.objects.filter(account=account).order_by(
                # electricity first, then by number: the advance goes to the first
                "resource",
                "number",
            )
        )
        contracts.sort(key=lambda c: (c.resource != Contract.Resource.ELECTRICITY, c.number))
        if contract is not None:
            if contract.account_id != account.pk:
                raise DomainError(_("The contract belongs to another account."))
            shares = {contract.pk: amount}
        elif not contracts:
            raise DomainError(_("The account has no contracts to post the payment to."))
        else:
            ledger: dict[int, list[LedgerEntry]] = defaultdict(list)
            for entry in LedgerEntry.objects.filter(account=account).order_by("value_date", "id"):
                ledger[entry.contract_id].append(entry)
            shares = split_payment(amount, contracts, ledger, period)
        entries = LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    account=account,
                    contract_id=contract_id,
                    kind=LedgerEntry.Kind.PAYMENT,
                    amount=-share,
                    period=period,
                    value_date=paid_on,
                    document_type=document_type,
                    document_id=str(document_id),
                    note=note[:300],
                )
                for contract_id, share in shares.items()
            ]
        )
        audit(
            actor,
            "billing.payment_post",
            (document_type, document_id),
            account_number=account.number,
            amount=str(amount),
            paid_on=paid_on.isoformat(),
            shares={str(k): str(v) for k, v in shares.items()},
        )
    return entries


def post_correction(*, contract: Contract, amount, reason: str, actor, period: dt.date | None = None) -> LedgerEntry:
    """A correction of a contract's balance by staff (+ more to pay, − less), with its reason; it goes on the next
    bill and, if positive, is due with it."""
    require_permission(actor, CORRECTION_PERMISSION, _("You are not allowed to correct balances."))
    amount = _money(amount)
    if amount == 0:
        raise DomainError(_("The correction amount must not be zero."))
    if not reason.strip():
        raise DomainError(_("Give the reason for the correction."))
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("customer", "branch").get(pk=contract.account_id)
        today = local_today(account.branch)
        bill_period = _next_bill_period(account, today)
        due = due_date(bill_period, load_due_days().get(payer_of(account.customer.kind), []))
        entry = LedgerEntry.objects.create(
            account=account,
            contract=contract,
            kind=LedgerEntry.Kind.CORRECTION,
            amount=amount,
            period=month_start(period) if period else bill_period,
            due_date=due if amount > 0 else None,
            value_date=today,
            document_type="correction",
            document_id="",
            note=reason.strip()[:300],
        )
        LedgerEntry.objects.filter(pk=entry.pk).update(document_id=str(entry.pk))
        entry.document_id = str(entry.pk)
        audit(actor, "billing.correction", entry, account_number=account.number, amount=str(amount), reason=reason)
    return entry


# ----------------------------------------------------------------------------------------------- delivery


def set_bill_delivery(
    *, account: Account, method: str, actor, email: str = "", channel: str = "cabinet"
) -> BillDelivery:
    """The client's choice of how bills come (CAB-11): on paper, by e-mail (a PDF), or only in the cabinet. An
    electronic choice records the consent to electronic bills; going back to paper withdraws it."""
    if method not in BillDelivery.Method.values:
        raise DomainError(_("Unknown way of delivering bills."))
    email = (email or "").strip()
    with transaction.atomic():
        account = Account.objects.select_for_update().select_related("customer").get(pk=account.pk)
        if method == BillDelivery.Method.EMAIL:
            address = email or account.customer.email
            if not address:
                raise DomainError(_("Give the e-mail address for bills."))
            try:
                validate_email(address)
            except ValidationError:
                raise DomainError(_("The e-mail address is not valid.")) from None
        elif email:
            try:
                validate_email(email)
            except ValidationError:
                raise DomainError(_("The e-mail address is not valid.")) from None
        label = actor if isinstance(actor, str) else (actor.get_username() if is_user(actor) else "system")
        delivery, _created = BillDelivery.objects.update_or_create(
            account=account, defaults={"method": method, "email": email, "changed_by": label[:120]}
        )
        now = timezone.now()
        consents = Consent.objects.filter(
            customer=account.customer, kind=Consent.Kind.ELECTRONIC_BILLS, withdrawn_at__isnull=True
        )
        if method == BillDelivery.Method.PAPER:
            consents.update(withdrawn_at=now)
        elif not consents.exists():
            Consent.objects.create(
                customer=account.customer, kind=Consent.Kind.ELECTRONIC_BILLS, channel=channel[:32], given_at=now
            )
        audit(actor, "billing.delivery", delivery, account_number=account.number, method=method, email=email)
    return delivery
