"""Payment services: online payments through a provider, notifications, the office desk, suspense lines, refunds and
autopay. Registries are in ``registries.py`` (set-based); reads in ``queries.py``.

Every credited payment is a new ``Payment`` row (unique ``(channel, external_id)``) posted to the billing ledger with
``billing.services.post_payment`` (document ``payment`` / the payment's id), which shares it per ГК РФ ст. 319.1: the
period the payer named first, else the oldest debt. Online payments are credited only from what the provider's API
reports (``refresh_intent``), never from a notification's own words; a cancelled payment is never credited; a replayed
notification finds its order already final and changes nothing. The client's confirmation (e-mail, else SMS) is
queued in the same transaction and leaves after the commit (PAY-3: within 5 minutes).

Refunds (``refund_payment``) are ``RefundRequest`` rows: an online payment's money goes back through its provider and
the refund document is posted only on the provider's «succeeded» (by the refund's id, once); the others are posted at
once (the money goes back outside Sbyt)."""

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sbyt.billing.models import LedgerEntry
from sbyt.billing.queries import account_debt
from sbyt.billing.services import post_payment
from sbyt.core.actors import actor_label, is_user
from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.money import round_half_up
from sbyt.core.periods import month_start, period_label
from sbyt.core.phones import normalize_phone
from sbyt.core.timezones import local_now
from sbyt.customers.models import Account, AccountAccess, Contract
from sbyt.messaging.services import send_email, send_sms
from sbyt.metering.models import Channel, Meter
from sbyt.metering.services import ReadingResult, submit_reading

from .ledger import DOCUMENT_TYPE
from .models import (
    ONLINE_CHANNELS,
    AutopayMandate,
    IntentItem,
    Payment,
    PaymentChannel,
    PaymentIntent,
    ProviderEvent,
    RefundRequest,
    SuspenseItem,
)
from .providers import ForgedNotification, ProviderError, ProviderRefused, RemotePayment, RemoteRefund, get_provider
from .queries import refundable

log = logging.getLogger(__name__)

MAX_ACCOUNTS = 10
CONSENT_VERSION = "2026-11"
TAKE_PERMISSION = "payments.take_payment"
REFUND_PERMISSION = "payments.refund_payment"
SUSPENSE_PERMISSION = "payments.resolve_suspense"
ZERO = Decimal("0.00")


def _guard_permission(actor, permission: str, message: str) -> None:
    if not (is_user(actor) and actor.has_perm(permission)):
        raise PermissionDenied(message)


def parse_money(value) -> Decimal:
    """Rubles as typed («1500», «1 500,50») → Decimal with kopecks; ``DomainError`` for anything else."""
    text = str(value if value is not None else "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise DomainError(_("Enter the amount in rubles, e.g. 1500 or 1500,50.")) from None
    if not amount.is_finite() or amount != round_half_up(amount):
        raise DomainError(_("Enter the amount in rubles, e.g. 1500 or 1500,50."))
    return round_half_up(amount)


def _limit_message() -> str:
    limit = f"{settings.SBYT_PAYMENT_MAX_AMOUNT:,}".replace(",", "\u00a0")
    return _("One payment may be at most %(limit)s ₽.") % {"limit": limit}


def _positive(amount) -> Decimal:
    amount = parse_money(amount)
    if amount <= 0:
        raise DomainError(_("The amount must be greater than zero."))
    if amount > settings.SBYT_PAYMENT_MAX_AMOUNT:
        raise DomainError(_limit_message())
    return amount


def rubles(value: Decimal) -> str:
    """«1 500,00 ₽»."""
    return f"{round_half_up(value):,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0₽"


def _local_today(account: Account) -> dt.date:
    return local_now(account.branch.time_zone).date()


def _post(payment: Payment, actor) -> None:
    """The payment's ledger entries (shared between the account's contracts by billing's rules)."""
    post_payment(
        account=payment.account,
        amount=payment.amount,
        paid_on=payment.paid_on,
        actor=actor,
        document_type=DOCUMENT_TYPE,
        document_id=str(payment.pk),
        period=payment.period,
        contract=payment.contract,
        note=payment.get_channel_display(),
    )


# ------------------------------------------------------------------------------------------- online payments


@dataclass(frozen=True)
class PayItem:
    account: Account
    amount: Decimal | str
    period: dt.date | None = None


def _contact(*, email: str, phone: str, required: bool) -> tuple[str, str]:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise DomainError(_("Enter a valid e-mail address.")) from None
    normalized = ""
    if (phone or "").strip():
        normalized = normalize_phone(phone)
        if not normalized:
            raise DomainError(_("Enter a mobile phone number, e.g. +7 912 345-67-89."))
    if required and not email and not normalized:
        raise DomainError(_("Give an e-mail or a mobile phone for the payment confirmation."))
    return email, normalized


def start_online_payment(
    *,
    items: Sequence[PayItem],
    source: str,
    actor,
    return_url: str,
    method: str = PaymentChannel.CARD,
    email: str = "",
    phone: str = "",
    save_method: bool = False,
    mandate: AutopayMandate | None = None,
    autopay_period: dt.date | None = None,
) -> PaymentIntent:
    """Create an order for one or several accounts and the payment at the provider. The order is saved first; the
    client then goes to ``intent.confirmation_url`` (the provider's page). ``return_url`` may contain ``{token}``.

    The provider unreachable: the order is marked failed and ``DomainError`` says to try again later."""
    if method not in (PaymentChannel.CARD, PaymentChannel.SBP):
        raise DomainError(_("Choose how to pay: by card or through the fast payment system."))
    if source not in PaymentIntent.Source.values:
        raise DomainError(_("Unknown payment source."))
    if not items:
        raise DomainError(_("Choose at least one account to pay."))
    if len(items) > MAX_ACCOUNTS:
        raise DomainError(_("At most %(count)s accounts in one payment.") % {"count": MAX_ACCOUNTS})
    accounts = [item.account for item in items]
    if len({a.pk for a in accounts}) != len(accounts):
        raise DomainError(_("Each account may be named only once in a payment."))
    amounts = [_positive(item.amount) for item in items]
    total = sum(amounts, ZERO)
    if total > settings.SBYT_PAYMENT_MAX_AMOUNT:
        raise DomainError(_limit_message())
    for account in accounts:
        if account.closed_on is not None:
            raise DomainError(_("Account %(number)s is closed.") % {"number": account.number})
    user = actor if is_user(actor) else None
    if source in (PaymentIntent.Source.CABINET, PaymentIntent.Source.APP):
        if user is None or AccountAccess.objects.filter(user=user, account__in=accounts).count() != len(accounts):
            raise PermissionDenied(_("You can pay from the cabinet only for your own accounts."))
        customer = accounts[0].customer
        email = email or (user.email if getattr(user, "email", "") else "") or customer.email
        phone = phone or customer.phone
    if save_method and (source != PaymentIntent.Source.CABINET or method != PaymentChannel.CARD):
        raise DomainError(_("A card can be saved for autopay only when paying by card from the cabinet."))
    email, phone = _contact(
        email=email, phone=phone, required=source in (PaymentIntent.Source.PUBLIC, PaymentIntent.Source.APP)
    )
    provider = get_provider()
    with transaction.atomic():
        intent = PaymentIntent.objects.create(
            provider=provider.name,
            method=method,
            amount=total,
            source=source,
            user=user,
            email=email,
            phone=phone,
            save_method=save_method,
            mandate=mandate,
            autopay_period=autopay_period,
        )
        IntentItem.objects.bulk_create(
            [
                IntentItem(intent=intent, account=item.account, amount=amount, period=_period(item.period))
                for item, amount in zip(items, amounts, strict=True)
            ]
        )
        audit(
            actor,
            "payments.intent_create",
            intent,
            account_number=accounts[0].number,
            accounts=[a.number for a in accounts],
            amount=str(total),
            source=source,
            method=method,
        )
    description = _("Electricity bill, account %(numbers)s") % {"numbers": ", ".join(a.number for a in accounts)}
    try:
        remote = provider.create_payment(
            order=str(intent.token),
            amount=total,
            description=description,
            return_url=return_url.replace("{token}", str(intent.token)),
            method=method,
            save_method=save_method,
            payment_method_id=mandate.payment_method_id if mandate else "",
            email=email,
            phone=phone,
        )
    except ProviderError as exc:
        log.warning("payment provider %s: %s", provider.name, exc)
        PaymentIntent.objects.filter(pk=intent.pk).update(status=PaymentIntent.Status.FAILED, error=str(exc)[:300])
        intent.refresh_from_db()
        if mandate is not None:
            return intent
        raise DomainError(_("The payment service is not answering. Please try again in a few minutes.")) from None
    PaymentIntent.objects.filter(pk=intent.pk).update(
        provider_payment_id=remote.id,
        confirmation_url=remote.confirmation_url[:500],
        status=PaymentIntent.Status.PENDING,
    )
    intent.refresh_from_db()
    if remote.succeeded or remote.canceled:  # an autopay charge is answered at once
        intent = refresh_intent(intent=intent, actor=actor, remote=remote)
    return intent


def _period(value) -> dt.date | None:
    return month_start(value) if value else None


def refresh_intent(*, intent: PaymentIntent, actor, remote: RemotePayment | None = None) -> PaymentIntent:
    """Ask the provider's API about the order and act on its answer: credit a success (once), record a
    cancellation, note that it is still pending. ``remote``: an answer just fetched from the API."""
    if intent.is_final or not intent.provider_payment_id:
        return intent
    provider = get_provider(intent.provider)
    if remote is None:
        try:
            remote = provider.fetch_payment(intent.provider_payment_id)
        except ProviderError as exc:
            log.warning("payment provider %s: %s", intent.provider, exc)
            PaymentIntent.objects.filter(pk=intent.pk).update(
                checked_at=timezone.now(), checks=F("checks") + 1, error=str(exc)[:300]
            )
            intent.refresh_from_db()
            return intent
    with transaction.atomic():
        intent = PaymentIntent.objects.select_for_update().get(pk=intent.pk)
        if intent.is_final:
            return intent
        intent.checked_at, intent.checks = timezone.now(), intent.checks + 1
        if remote.id != intent.provider_payment_id:  # never credit what the answer is not about
            intent.error = f"the provider answered about payment {remote.id[:40]}"
            intent.save(update_fields=["checked_at", "checks", "error"])
            return intent
        if remote.succeeded:
            problem = _mismatch(intent, remote)
            if problem:
                intent.status, intent.error = PaymentIntent.Status.FAILED, problem
                intent.save()
                audit(actor, "payments.intent_mismatch", intent, problem=problem, remote_amount=str(remote.amount))
                return intent
            _credit(intent, remote, actor)
        elif remote.canceled:
            intent.status = PaymentIntent.Status.CANCELED
            intent.cancel_reason = remote.cancel_reason[:100]
            intent.save()
            audit(actor, "payments.intent_canceled", intent, reason=remote.cancel_reason)
            if intent.mandate_id and intent.mandate.status == AutopayMandate.Status.ACTIVE:
                _autopay_declined(intent)
        else:
            intent.save(update_fields=["checked_at", "checks"])
    return intent


def _mismatch(intent: PaymentIntent, remote: RemotePayment) -> str:
    if remote.currency != "RUB" or remote.amount != intent.amount:
        return f"the provider reports {remote.amount} {remote.currency}, the order is {intent.amount} RUB"
    order = remote.metadata.get("order") if remote.metadata else None
    if order is not None and str(order) != str(intent.token):
        return "the provider's payment belongs to another order"
    return ""


def _credit(intent: PaymentIntent, remote: RemotePayment, actor) -> None:
    now = timezone.now()
    items = list(intent.items.select_related("account__branch", "account__customer").order_by("id"))
    payments = []
    for item in items:
        account = item.account
        payment = Payment.objects.create(
            channel=intent.method,
            external_id=f"{intent.provider}:{remote.id}:{account.pk}",
            account=account,
            amount=item.amount,
            period=item.period,
            paid_at=now,
            paid_on=_local_today(account),
            payer=account.customer.display_name[:200],
            intent=intent,
            actor_label=actor_label(actor),
            note=_("Order %(token)s") % {"token": intent.token},
        )
        _post(payment, actor)
        payments.append(payment)
    intent.status = PaymentIntent.Status.SUCCEEDED
    intent.paid_at = intent.credited_at = now
    intent.error = ""
    if remote.payment_method_saved and remote.payment_method_id:
        intent.payment_method_id = remote.payment_method_id[:64]
        intent.payment_method_title = remote.payment_method_title[:64]
    intent.save()
    audit(
        actor,
        "payments.intent_credit",
        intent,
        account_number=items[0].account.number if items else "",
        payments=[p.pk for p in payments],
        amount=str(intent.amount),
    )
    if intent.save_method and intent.payment_method_id:
        for mandate in AutopayMandate.objects.select_for_update().filter(
            account__in=[i.account for i in items], user=intent.user, status=AutopayMandate.Status.AWAITING_CARD
        ):
            mandate.status = AutopayMandate.Status.ACTIVE
            mandate.payment_method_id = intent.payment_method_id
            mandate.card_title = intent.payment_method_title
            mandate.provider = intent.provider
            mandate.save()
            audit(actor, "payments.autopay_active", mandate, account_number=mandate.account.number)
    if intent.mandate_id:
        AutopayMandate.objects.filter(pk=intent.mandate_id).update(
            last_period=intent.autopay_period, last_result=_("Paid %(amount)s.") % {"amount": rubles(intent.amount)}
        )
    _confirm(intent, items)


def _confirm(intent: PaymentIntent, items: list[IntentItem]) -> None:
    """The client's confirmation: e-mail if known, else SMS (PAY-3)."""
    if not items:
        return
    account = items[0].account
    day = local_now(account.branch.time_zone, intent.paid_at)
    if len(items) == 1:
        text = _("Payment of %(amount)s for account %(number)s is credited on %(date)s. Thank you!") % {
            "amount": rubles(intent.amount),
            "number": account.number,
            "date": day.strftime("%d.%m.%Y"),
        }
    else:
        parts = ", ".join(f"{item.account.number} — {rubles(item.amount)}" for item in items)
        text = _("Payment of %(amount)s is credited on %(date)s: %(parts)s. Thank you!") % {
            "amount": rubles(intent.amount),
            "date": day.strftime("%d.%m.%Y"),
            "parts": parts,
        }
    purpose = f"payment:{intent.pk}"  # OutboundMessage.purpose holds 32 characters
    if intent.email:
        body = text + "\n\n" + _("Order number: %(token)s.") % {"token": intent.token}
        send_email(to=intent.email, subject=_("Payment credited"), text=body, purpose=purpose)
    elif intent.phone:
        send_sms(to=intent.phone, text=text, purpose=purpose)


# ----------------------------------------------------------------------------------------------- notifications


@dataclass(frozen=True)
class NotificationResult:
    event: ProviderEvent
    duplicate: bool = False

    @property
    def refused(self) -> bool:
        return self.event.status == ProviderEvent.Status.REFUSED

    @property
    def failed(self) -> bool:
        return self.event.status == ProviderEvent.Status.FAILED


def receive_notification(
    *, provider: str, body: bytes, headers: Mapping[str, str], remote_ip: str
) -> NotificationResult:
    """A provider's notification: stored raw first (unique by its body), then checked (a forged one is refused),
    then the order it names is re-checked through the provider's API. A replay changes nothing."""
    digest = hashlib.sha256(body).hexdigest()
    event_name, object_id = _peek(body)
    event, created = ProviderEvent.objects.get_or_create(
        provider=provider[:16],
        key=f"{event_name[:64]}:{object_id[:64]}:{digest}",
        defaults={
            "event": event_name[:64],
            "object_id": object_id[:64],
            "body": body.decode("utf-8", errors="replace"),
            "remote_ip": remote_ip or None,
        },
    )
    if not created:
        ProviderEvent.objects.filter(pk=event.pk).update(repeats=F("repeats") + 1)
        event.refresh_from_db()
        # A replay of what was taken changes nothing. One that was refused or failed is judged again: a forged copy
        # of a body must not block the genuine notification, and processing is idempotent anyway.
        if event.status not in (ProviderEvent.Status.FAILED, ProviderEvent.Status.REFUSED):
            return NotificationResult(event, duplicate=True)
    actor = f"{provider}:notification"
    try:
        notification = get_provider(provider).parse_notification(body=body, headers=headers, remote_ip=remote_ip)
    except ForgedNotification as exc:
        _event_status(event, ProviderEvent.Status.REFUSED, str(exc))
        audit(actor, "payments.notification_refused", event, reason=str(exc)[:200], remote_ip=remote_ip)
        return NotificationResult(event)
    except ValueError as exc:  # an unknown provider name
        _event_status(event, ProviderEvent.Status.REFUSED, str(exc))
        return NotificationResult(event)
    if notification.event.startswith("refund."):
        return _refund_notification(event, provider, notification.object_id, actor)
    intent = PaymentIntent.objects.filter(provider=provider, provider_payment_id=notification.object_id).first()
    if intent is None:
        _event_status(event, ProviderEvent.Status.IGNORED, "no order with this payment id")
        return NotificationResult(event)
    ProviderEvent.objects.filter(pk=event.pk).update(intent=intent)
    try:
        intent = refresh_intent(intent=intent, actor=actor)
    except Exception as exc:
        log.exception("notification %s failed", event.pk)
        _event_status(event, ProviderEvent.Status.FAILED, f"{type(exc).__name__}: {exc}")
        return NotificationResult(event)
    _event_status(event, ProviderEvent.Status.PROCESSED, intent.get_status_display())
    return NotificationResult(event)


def _refund_notification(event: ProviderEvent, provider: str, refund_id: str, actor) -> NotificationResult:
    """``refund.succeeded``: the refund it names is re-checked through the provider's API, as a payment is."""
    request = RefundRequest.objects.filter(provider=provider, provider_refund_id=refund_id).first()
    if request is None:
        _event_status(event, ProviderEvent.Status.IGNORED, "no refund with this id")
        return NotificationResult(event)
    try:
        request = refresh_refund(request=request, actor=actor)
    except Exception as exc:
        log.exception("notification %s failed", event.pk)
        _event_status(event, ProviderEvent.Status.FAILED, f"{type(exc).__name__}: {exc}")
        return NotificationResult(event)
    _event_status(event, ProviderEvent.Status.PROCESSED, f"refund {request.pk}: {request.get_status_display()}")
    return NotificationResult(event)


def _event_status(event: ProviderEvent, status: str, note: str) -> None:
    ProviderEvent.objects.filter(pk=event.pk).update(status=status, note=note[:300])
    event.status, event.note = status, note[:300]


def _peek(body: bytes) -> tuple[str, str]:
    """Event and object id for the record, before anything is trusted."""
    try:
        data = json.loads(body.decode("utf-8"))
        return str(data.get("event", ""))[:64], str((data.get("object") or {}).get("id", ""))[:64]
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
        return "", ""


def recheck_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=1), limit: int = 200) -> int:
    """The periodic loop's re-check of orders stuck in «pending» (a lost notification, a bank that never answered):
    each is asked about at most once a minute. Returns how many were asked."""
    now = timezone.now()
    due = (
        PaymentIntent.objects.filter(status=PaymentIntent.Status.PENDING, created_at__lte=now - older_than)
        .exclude(checked_at__gt=now - older_than)
        .order_by("checked_at", "created_at")[:limit]
    )
    return _recheck_each(due, lambda intent: refresh_intent(intent=intent, actor="periodic"), "order")


def _recheck_each(due, refresh, what: str) -> int:
    """The periodic re-checks: each item asked about once; one that fails is logged, the others still go."""
    count = 0
    for item in due:
        try:
            refresh(item)
        except Exception:
            log.exception("re-check of %s %s failed", what, item.pk)
        count += 1
    return count


# ---------------------------------------------------------------------------------------------- office desk


@dataclass(frozen=True)
class DeskResult:
    payment: Payment
    readings: list[tuple[Meter, ReadingResult]]


def take_office_payment(
    *,
    account: Account,
    amount,
    actor,
    period: dt.date | None = None,
    payer: str = "",
    readings: Mapping[int, Sequence] | None = None,
) -> DeskResult:
    """A cashier takes a payment at the office desk (PAY-1, PAY-4), with the readings the client tells (RD-7
    office channel). The receipt is ``documents.receipt_pdf(payment)``."""
    _guard_permission(actor, TAKE_PERMISSION, _("You are not allowed to take payments."))
    amount = _positive(amount)
    if account.closed_on is not None:
        raise DomainError(_("Account %(number)s is closed.") % {"number": account.number})
    if not Contract.objects.filter(account=account).exists():
        raise DomainError(_("The account has no contracts to post the payment to."))
    meters = {m.pk: m for m in Meter.objects.filter(contract__account=account)}
    typed = {int(k): v for k, v in (readings or {}).items() if any(str(x).strip() for x in v)}
    unknown = set(typed) - set(meters)
    if unknown:
        raise DomainError(_("The meter does not belong to this account."))
    account = Account.objects.select_related("branch", "customer").get(pk=account.pk)
    with transaction.atomic():
        now = timezone.now()
        payment = Payment.objects.create(
            channel=PaymentChannel.OFFICE,
            external_id=f"office:{uuid.uuid4().hex}",
            account=account,
            amount=amount,
            period=_period(period),
            paid_at=now,
            paid_on=_local_today(account),
            payer=(payer or account.customer.display_name)[:200],
            actor_label=actor_label(actor),
        )
        _post(payment, actor)
        results = []
        for meter_id, values in typed.items():
            result = submit_reading(
                meter=meters[meter_id],
                values=list(values),
                channel=Channel.OFFICE,
                actor=actor,
                source=f"payment:{payment.pk}",
                received_at=now,
            )
            results.append((meters[meter_id], result))
        audit(
            actor,
            "payments.office_take",
            payment,
            account_number=account.number,
            amount=str(amount),
            readings=[meter.pk for meter, _r in results],
        )
    return DeskResult(payment, results)


# ------------------------------------------------------------------------------------------------- suspense


def assign_suspense(
    *, item: SuspenseItem, account: Account, actor, period: dt.date | None = None, note: str = ""
) -> Payment:
    """An operator assigns a suspense line to the account it was meant for: it is credited there as a payment of
    the registry's channel, on the day it was paid."""
    _guard_permission(actor, SUSPENSE_PERMISSION, _("You are not allowed to assign unmatched payments."))
    if not Contract.objects.filter(account=account).exists():
        raise DomainError(_("The account has no contracts to post the payment to."))
    account = Account.objects.select_related("branch", "customer").get(pk=account.pk)
    with transaction.atomic():
        item = SuspenseItem.objects.select_for_update().select_related("registry").get(pk=item.pk)
        if item.status != SuspenseItem.Status.OPEN:
            raise DomainError(_("This payment has already been dealt with."))
        paid_on = item.paid_at.astimezone(local_now(account.branch.time_zone).tzinfo).date()
        payment = Payment.objects.create(
            channel=item.registry.channel,
            external_id=f"suspense:{item.pk}",
            account=account,
            amount=item.amount,
            period=_period(period) or item.period,
            paid_at=item.paid_at,
            paid_on=min(paid_on, _local_today(account)),
            payer=item.payer,
            registry=item.registry,
            line_no=item.line_no,
            actor_label=actor_label(actor),
            note=_("Assigned from the unmatched list: %(note)s") % {"note": note.strip()} if note.strip() else "",
        )
        _post(payment, actor)
        item.status, item.payment = SuspenseItem.Status.ASSIGNED, payment
        item.resolved_by, item.resolved_at, item.note = actor, timezone.now(), note.strip()[:300]
        item.save()
        audit(
            actor,
            "payments.suspense_assign",
            item,
            account_number=account.number,
            payment=payment.pk,
            amount=str(item.amount),
            typed=item.account_text,
        )
    return payment


def return_suspense(*, item: SuspenseItem, actor, note: str) -> SuspenseItem:
    """The money of a suspense line goes back to the payer (the accounting returns it through the bank)."""
    _guard_permission(actor, SUSPENSE_PERMISSION, _("You are not allowed to assign unmatched payments."))
    if not note.strip():
        raise DomainError(_("Give the reason for returning the payment."))
    with transaction.atomic():
        item = SuspenseItem.objects.select_for_update().get(pk=item.pk)
        if item.status != SuspenseItem.Status.OPEN:
            raise DomainError(_("This payment has already been dealt with."))
        item.status = SuspenseItem.Status.RETURNED
        item.resolved_by, item.resolved_at, item.note = actor, timezone.now(), note.strip()[:300]
        item.save()
        audit(actor, "payments.suspense_return", item, amount=str(item.amount), note=item.note)
    return item


# ---------------------------------------------------------------------------------------------------------- refunds

REFUND_RESEND_WINDOW = dt.timedelta(hours=23)  # ЮKassa keeps an idempotence key for 24 hours
NO_ANSWER = "no_answer"  # our own cancel_reason: the provider never answered the request


def _online_intent(payment: Payment) -> PaymentIntent | None:
    """The online order a card or SBP payment came from: its money goes back through that order's provider."""
    if payment.channel not in ONLINE_CHANNELS or payment.intent_id is None:
        return None
    intent = payment.intent
    return intent if intent.provider_payment_id else None


def _idempotence_key(value) -> uuid.UUID:
    if value is None or value == "":
        return uuid.uuid4()
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise DomainError(_("The refund form is out of date; open the payment again.")) from None


def refund_payment(*, payment: Payment, amount, reason: str, actor, idempotence_key=None) -> RefundRequest:
    """A staff refund (PAY: «a correction is a new document»). The first payment is never touched.

    An online payment (card, SBP): the provider is asked to return the money to the payer first; the refund document
    (a ``Payment`` of kind «возврат»: ``request.document``) and its ledger entries are posted only when the provider
    says «succeeded» — now, or later through ``refresh_refund`` (a notification, the periodic re-check). «pending»
    waits; «canceled» and a refused request post nothing. Any other payment: the money goes back outside Sbyt and the
    document is posted at once. ``idempotence_key`` (the form's own key, sent to the provider): the same key again
    returns the same request, nothing is done twice. Look at ``request.status``."""
    _guard_permission(actor, REFUND_PERMISSION, _("You are not allowed to refund payments."))
    amount = parse_money(amount)
    if amount <= 0:
        raise DomainError(_("The amount must be greater than zero."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the refund."))
    key = _idempotence_key(idempotence_key)
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update(of=("self",))
            .select_related("account__branch", "intent")
            .get(pk=payment.pk)
        )
        existing = RefundRequest.objects.filter(idempotence_key=key).first()
        if existing is not None:  # the same form again: the refund it already asked for
            if existing.payment_id != payment.pk or existing.amount != amount:
                raise DomainError(_("The refund form is out of date; open the payment again."))
            return existing
        if payment.kind != Payment.Kind.PAYMENT:
            raise DomainError(_("Only a payment can be refunded."))
        left = refundable(payment)
        if amount > left:
            raise DomainError(_("At most %(amount)s of this payment is left to refund.") % {"amount": rubles(left)})
        intent = _online_intent(payment)
        request = RefundRequest.objects.create(
            payment=payment,
            idempotence_key=key,
            provider=intent.provider if intent else "",
            amount=amount,
            reason=reason[:300],
            requested_by=actor,
            actor_label=actor_label(actor),
        )
        if intent is None:
            _post_refund(request, actor, external_id=f"refund:{payment.pk}:{payment.refunds.count() + 1}")
            return request
        audit(
            actor,
            "payments.refund_request",
            request,
            account_number=payment.account.number,
            payment=payment.pk,
            amount=str(amount),
            provider=request.provider,
            reason=request.reason,
        )
    return _send_refund(request, actor)


def _send_refund(request: RefundRequest, actor) -> RefundRequest:
    """Ask the provider for the refund (again, with the same key, when its first answer was lost)."""
    payment = request.payment
    try:
        remote = get_provider(request.provider).create_refund(
            payment.intent.provider_payment_id,
            request.amount,
            idempotence_key=str(request.idempotence_key),
            description=_("Refund of payment No. %(number)s, account %(account)s")
            % {"number": payment.pk, "account": payment.account.number},
            email=payment.intent.email,
            phone=payment.intent.phone,
        )
    except ProviderRefused as exc:
        return _refund_failed(request, actor, error=str(exc))
    except ProviderError as exc:  # its fate is unknown: the periodic re-check asks again with the same key
        log.warning("payment provider %s, refund %s: %s", request.provider, request.pk, exc)
        RefundRequest.objects.filter(pk=request.pk).update(
            checked_at=timezone.now(), checks=F("checks") + 1, error=str(exc)[:300]
        )
        request.refresh_from_db()
        return request
    return _apply_refund(request, remote, actor)


def _refund_failed(request: RefundRequest, actor, *, error: str, reason: str = "") -> RefundRequest:
    with transaction.atomic():
        request = (
            RefundRequest.objects.select_for_update(of=("self",)).select_related("payment__account").get(pk=request.pk)
        )
        if request.is_final:
            return request
        now = timezone.now()
        request.status, request.error, request.cancel_reason = RefundRequest.Status.FAILED, error[:300], reason
        request.checked_at, request.checks, request.finished_at = now, request.checks + 1, now
        request.save()
        audit(
            actor,
            "payments.refund_failed",
            request,
            account_number=request.payment.account.number,
            payment=request.payment_id,
            error=request.error,
        )
    return request


def _refund_mismatch(request: RefundRequest, remote: RemoteRefund) -> str:
    intent = request.payment.intent
    if remote.payment_id != intent.provider_payment_id:
        return f"the provider's refund {remote.id[:40]} is of payment {remote.payment_id[:40]}"
    if remote.currency != "RUB" or remote.amount != request.amount:
        return f"the provider reports {remote.amount} {remote.currency}, the refund is {request.amount} RUB"
    return ""


def _apply_refund(request: RefundRequest, remote: RemoteRefund, actor) -> RefundRequest:
    """Act on the provider's word about a refund: post it once on «succeeded», record «canceled», wait on anything
    else. The request's row is locked; a final request is never touched again."""
    with transaction.atomic():
        request = (
            RefundRequest.objects.select_for_update(of=("self",))
            .select_related("payment__account__branch", "payment__intent")
            .get(pk=request.pk)
        )
        if request.is_final:
            return request
        now = timezone.now()
        request.checked_at, request.checks = now, request.checks + 1
        if request.provider_refund_id and remote.id != request.provider_refund_id:  # not about this refund
            request.error = f"the provider answered about refund {remote.id[:40]}"
            request.save(update_fields=["checked_at", "checks", "error"])
            return request
        request.provider_refund_id = remote.id[:64]
        problem = _refund_mismatch(request, remote)
        if problem:
            request.status, request.error, request.finished_at = RefundRequest.Status.FAILED, problem[:300], now
            request.save()
            audit(
                actor,
                "payments.refund_mismatch",
                request,
                account_number=request.payment.account.number,
                problem=problem,
                remote_amount=str(remote.amount),
            )
            return request
        request.error = ""
        if remote.succeeded:
            _post_refund(request, actor, external_id=f"{request.provider}:refund:{remote.id}"[:100])
        elif remote.canceled:
            request.status, request.finished_at = RefundRequest.Status.CANCELED, now
            request.cancel_reason = (remote.cancel_reason or "unknown")[:100]
            request.save()
            audit(
                actor,
                "payments.refund_canceled",
                request,
                account_number=request.payment.account.number,
                payment=request.payment_id,
                reason=request.cancel_reason,
            )
        else:
            request.status = RefundRequest.Status.PENDING
            request.save()
    return request


def _post_refund(request: RefundRequest, actor, *, external_id: str) -> Payment:
    """The refund document and its ledger entries, in the caller's transaction: a positive «оплата» entry back on the
    contracts the payment went to (the latest share first; what earlier refunds put back is not put back again)."""
    payment = request.payment
    Payment.objects.select_for_update().filter(pk=payment.pk).first()  # refunds of one payment post one at a time
    account = payment.account
    now = timezone.now()
    refund = Payment.objects.create(
        kind=Payment.Kind.REFUND,
        channel=payment.channel,
        external_id=external_id,
        account=account,
        contract=payment.contract,
        amount=request.amount,
        period=payment.period,
        paid_at=now,
        paid_on=_local_today(account),
        payer=payment.payer,
        refund_of=payment,
        actor_label=request.actor_label,
        note=request.reason,
    )
    shares = list(
        LedgerEntry.objects.filter(
            kind=LedgerEntry.Kind.PAYMENT, document_type=DOCUMENT_TYPE, document_id=str(payment.pk)
        ).order_by("-id")
    )
    earlier = [str(pk) for pk in payment.refunds.exclude(pk=refund.pk).values_list("pk", flat=True)]
    returned: dict[int | None, Decimal] = {}
    for contract_id, part in LedgerEntry.objects.filter(
        document_type=DOCUMENT_TYPE, document_id__in=earlier
    ).values_list("contract_id", "amount"):
        returned[contract_id] = returned.get(contract_id, ZERO) + part
    left, entries = request.amount, []
    for share in shares:
        if left <= 0:
            break
        part = min(left, -share.amount - returned.pop(share.contract_id, ZERO))
        if part <= 0:
            continue
        entries.append((share.contract_id, part))
        left -= part
    if left > 0:
        entries.append((shares[0].contract_id if shares else None, left))
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                account=account,
                contract_id=contract_id,
                kind=LedgerEntry.Kind.PAYMENT,
                amount=part,
                period=payment.period,
                value_date=refund.paid_on,
                document_type=DOCUMENT_TYPE,
                document_id=str(refund.pk),
                note=_("Refund of payment No. %(number)s") % {"number": payment.pk},
            )
            for contract_id, part in entries
        ]
    )
    request.status, request.document, request.finished_at = RefundRequest.Status.SUCCEEDED, refund, now
    request.save()
    audit(
        actor,
        "payments.refund",
        refund,
        account_number=account.number,
        payment=payment.pk,
        amount=str(request.amount),
        request=request.pk,
        provider=request.provider,
        provider_refund_id=request.provider_refund_id,
        requested_by=request.actor_label,
    )
    return refund


def refresh_refund(*, request: RefundRequest, actor) -> RefundRequest:
    """Ask the provider about a refund that is not final and act on its answer only. A request whose first answer
    was lost is sent again with the same key (the provider gives the same refund), for as long as the provider keeps
    the key; after that it is failed and the operator is told to look in the provider's own cabinet."""
    if request.is_final or not request.provider:
        return request
    if not request.provider_refund_id:
        if timezone.now() - request.created_at > REFUND_RESEND_WINDOW:
            return _refund_failed(request, actor, error="the provider never answered the request", reason=NO_ANSWER)
        return _send_refund(request, actor)
    try:
        remote = get_provider(request.provider).get_refund(request.provider_refund_id)
    except ProviderError as exc:
        log.warning("payment provider %s, refund %s: %s", request.provider, request.pk, exc)
        RefundRequest.objects.filter(pk=request.pk).update(
            checked_at=timezone.now(), checks=F("checks") + 1, error=str(exc)[:300]
        )
        request.refresh_from_db()
        return request
    return _apply_refund(request, remote, actor)


def recheck_pending_refunds(*, older_than: dt.timedelta = dt.timedelta(minutes=1), limit: int = 200) -> int:
    """The periodic loop's re-check of refunds still at the provider (pending, or sent with no answer): each is asked
    about at most once a minute. Returns how many were asked."""
    now = timezone.now()
    due = (
        RefundRequest.objects.filter(
            status__in=[RefundRequest.Status.CREATED, RefundRequest.Status.PENDING],
            created_at__lte=now - older_than,
        )
        .exclude(provider="")
        .exclude(checked_at__gt=now - older_than)
        .select_related("payment__account", "payment__intent")
        .order_by("checked_at", "created_at")[:limit]
    )
    return _recheck_each(due, lambda request: refresh_refund(request=request, actor="periodic"), "refund")


CANCEL_MESSAGES = {
    "insufficient_funds": gettext_lazy(
        "The payment service could not refund: the shop's money at the service today is less than the refund. "
        "Try again tomorrow."
    ),
    "rejected_by_payee": gettext_lazy(
        "The payer's bank rejected the refund. Agree with the client how to return the money outside the payment "
        "service (e.g. a bank transfer)."
    ),
    "yoo_money_account_closed": gettext_lazy(
        "The client's ЮMoney wallet is closed; the money cannot go back through the payment service. Agree with the "
        "client how to return it."
    ),
    "rejected_by_timeout": gettext_lazy("The payment service did not finish the refund in time. Try again."),
    NO_ANSWER: gettext_lazy(
        "The payment service did not answer for a day. Check the refund in the service's own cabinet before trying "
        "again."
    ),
}


def refund_message(request: RefundRequest) -> str:
    """What the operator is told about a refund request in its current state."""
    status = RefundRequest.Status
    if request.status == status.SUCCEEDED:
        if request.online:
            return _("The money is returned to the payer through the payment service; the refund is posted.")
        return _("The refund is recorded as a new document.")
    if request.status == status.PENDING:
        return _("The payment service is processing the refund; it will be posted when the service confirms it.")
    if request.status == status.CREATED:
        return _(
            "The payment service has not answered yet; the request will be repeated automatically and the refund "
            "posted when the service confirms it."
        )
    if request.cancel_reason in CANCEL_MESSAGES:
        return str(CANCEL_MESSAGES[request.cancel_reason])
    if request.status == status.CANCELED:
        return _(
            "The payment service declined the refund (reason: %(reason)s). Nothing is posted; ask the service's "
            "support for details."
        ) % {"reason": request.cancel_reason or "—"}
    return _("The refund is not done and nothing is posted: %(error)s") % {"error": request.error or "—"}


# -------------------------------------------------------------------------------------------------- autopay


def request_autopay(
    *, account: Account, actor, limit, day: int, consent: bool, return_url: str, channel: str = "cabinet"
) -> PaymentIntent:
    """Switch autopay on (PAY-5): record the consent, the limit and the day, then pay the current debt (or 1 ₽ when
    there is none, credited as an advance) by card with «save the card». The mandate is active once the provider
    confirms the payment and the saved card."""
    if not is_user(actor):
        raise PermissionDenied(_("Log in to switch on autopay."))
    if not AccountAccess.objects.filter(user=actor, account=account).exists():
        raise PermissionDenied(_("You can pay from the cabinet only for your own accounts."))
    if not consent:
        raise DomainError(_("Autopay needs your consent to charges from the card."))
    limit = _positive(limit)
    try:
        day = int(day)
    except (TypeError, ValueError):
        day = 0
    if not 1 <= day <= 28:
        raise DomainError(_("Choose a day of the month from 1 to 28."))
    with transaction.atomic():
        live = AutopayMandate.objects.select_for_update().filter(
            account=account, status__in=[AutopayMandate.Status.AWAITING_CARD, AutopayMandate.Status.ACTIVE]
        )
        for mandate in live:
            if mandate.status == AutopayMandate.Status.ACTIVE:
                raise DomainError(_("Autopay is already on for this account."))
            mandate.status, mandate.cancelled_at = AutopayMandate.Status.CANCELLED, timezone.now()
            mandate.save(update_fields=["status", "cancelled_at"])
        try:
            mandate = AutopayMandate.objects.create(
                account=account,
                user=actor,
                provider=get_provider().name,
                limit=limit,
                day=day,
                consent_version=CONSENT_VERSION,
                consent_given_at=timezone.now(),
                consent_channel=channel[:16],
            )
        except IntegrityError:
            raise DomainError(_("Autopay is already on for this account.")) from None
        audit(
            actor,
            "payments.autopay_request",
            mandate,
            account_number=account.number,
            limit=str(limit),
            day=day,
            consent_version=CONSENT_VERSION,
        )
    debt = account_debt(account)
    first = min(debt, limit) if debt > 0 else Decimal("1.00")
    return start_online_payment(
        items=[PayItem(account, first)],
        source=PaymentIntent.Source.CABINET,
        actor=actor,
        return_url=return_url,
        method=PaymentChannel.CARD,
        save_method=True,
    )


def cancel_autopay(*, mandate: AutopayMandate, actor) -> AutopayMandate:
    """Switch autopay off; the saved card is not charged again."""
    staff = is_user(actor) and actor.is_staff and actor.has_perm(SUSPENSE_PERMISSION)
    if not staff and not (
        is_user(actor) and AccountAccess.objects.filter(user=actor, account_id=mandate.account_id).exists()
    ):
        raise PermissionDenied(_("You can pay from the cabinet only for your own accounts."))
    with transaction.atomic():
        mandate = AutopayMandate.objects.select_for_update().select_related("account").get(pk=mandate.pk)
        if mandate.status == AutopayMandate.Status.CANCELLED:
            raise DomainError(_("Autopay is already off."))
        mandate.status, mandate.cancelled_at = AutopayMandate.Status.CANCELLED, timezone.now()
        mandate.save(update_fields=["status", "cancelled_at"])
        audit(actor, "payments.autopay_cancel", mandate, account_number=mandate.account.number)
    return mandate


def run_autopay(*, now: dt.datetime | None = None) -> dict:
    """The periodic loop's autopay: on or after each active mandate's day (the account's local time), once per
    month, charge the saved card with the account's debt when it is within the limit; a debt above the limit is
    not charged and the client is told."""
    now = now or timezone.now()
    done = {"charged": 0, "over_limit": 0, "nothing_due": 0, "failed": 0}
    mandates = AutopayMandate.objects.filter(status=AutopayMandate.Status.ACTIVE).select_related(
        "account__branch", "account__customer", "user"
    )
    for mandate in mandates:
        account = mandate.account
        today = local_now(account.branch.time_zone, now).date()
        period = month_start(today)
        if today.day < mandate.day or (mandate.last_period and mandate.last_period >= period):
            continue
        if not AccountAccess.objects.filter(user=mandate.user, account=account).exists() or not mandate.user.is_active:
            _cancel_quietly(mandate)
            continue
        debt = account_debt(account)
        if debt <= 0:
            AutopayMandate.objects.filter(pk=mandate.pk).update(
                last_period=period, last_result=_("Nothing to pay for %(period)s.") % {"period": period_label(period)}
            )
            done["nothing_due"] += 1
            continue
        if debt > mandate.limit:
            message = _(
                "Autopay for account %(number)s: the amount due %(debt)s is above your limit %(limit)s; "
                "please pay it yourself."
            ) % {"number": account.number, "debt": rubles(debt), "limit": rubles(mandate.limit)}
            with transaction.atomic():
                AutopayMandate.objects.filter(pk=mandate.pk).update(last_period=period, last_result=message[:300])
                _notify(account, mandate, message, purpose=f"autopay:{mandate.pk}:{period:%Y-%m}"[:32])
            done["over_limit"] += 1
            continue
        try:
            intent = start_online_payment(
                items=[PayItem(account, debt)],
                source=PaymentIntent.Source.AUTOPAY,
                actor="autopay",
                return_url="",
                method=PaymentChannel.CARD,
                email=mandate.user.email or account.customer.email,
                phone=account.customer.phone,
                mandate=mandate,
                autopay_period=period,
            )
        except (DomainError, IntegrityError) as exc:
            AutopayMandate.objects.filter(pk=mandate.pk).update(last_period=period, last_result=str(exc)[:300])
            done["failed"] += 1
            continue
        if intent.status == PaymentIntent.Status.SUCCEEDED:
            done["charged"] += 1
        elif intent.status == PaymentIntent.Status.FAILED:
            AutopayMandate.objects.filter(pk=mandate.pk).update(last_result=intent.error[:300])
            done["failed"] += 1
    return done


def _cancel_quietly(mandate: AutopayMandate) -> None:
    with transaction.atomic():
        AutopayMandate.objects.filter(pk=mandate.pk).update(
            status=AutopayMandate.Status.CANCELLED, cancelled_at=timezone.now()
        )
        audit("autopay", "payments.autopay_cancel", mandate, account_number=mandate.account.number, reason="no access")


def _autopay_declined(intent: PaymentIntent) -> None:
    mandate = intent.mandate
    message = _("Autopay for account %(number)s: the bank declined the charge of %(amount)s; please pay yourself.") % {
        "number": mandate.account.number,
        "amount": rubles(intent.amount),
    }
    AutopayMandate.objects.filter(pk=mandate.pk).update(last_period=intent.autopay_period, last_result=message[:300])
    _notify(mandate.account, mandate, message, purpose=f"autopay:{mandate.pk}:declined")


def _notify(account: Account, mandate: AutopayMandate, text: str, *, purpose: str) -> None:
    email = mandate.user.email or account.customer.email
    if email:
        send_email(to=email, subject=_("Autopay"), text=text, purpose=purpose)
    elif account.customer.phone:
        send_sms(to=account.customer.phone, text=text, purpose=purpose)
