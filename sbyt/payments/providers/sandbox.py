"""The sandbox provider: a pretend bank inside Sbyt for the demo, development and the browser tests.

It keeps its own book (``SandboxCharge``) and a local page (``portal:sandbox_bank``) where the visitor plays the
bank: «Оплатить» (success), «Отказ банка» (decline) or «Не отвечать» (timeout: the bank never answers; the
periodic re-check finds the payment still pending, and after ``SBYT_SANDBOX_EXPIRY_SECONDS`` the bank reports it
cancelled, as ЮKassa cancels an unconfirmed payment). Success and decline send a notification in ЮKassa's format,
signed with an HMAC of the body (header ``X-Sandbox-Signature``), through the same store-first path as a real
webhook. Saved cards for autopay are ``sbx_pm_…`` ids; an id ending in ``-decline`` is a card the bank refuses.

Refunds (``SandboxRefund``): a refund of a paid charge succeeds at once; ``SBYT_SANDBOX_REFUND`` = ``pending`` leaves
it to the bank (``answer_refund`` settles it later and, on success, sends a signed ``refund.succeeded`` notification),
``decline`` has the card's bank reject it (``rejected_by_payee``). More than is left of the charge, or a charge that
was not paid, is refused as ЮKassa refuses it (``ProviderRefused``). The same idempotence key gives the same refund."""

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from ..models import SandboxCharge, SandboxRefund
from . import (
    CANCELED,
    PENDING,
    SUCCEEDED,
    ForgedNotification,
    Notification,
    Provider,
    ProviderError,
    ProviderRefused,
    RemotePayment,
    RemoteRefund,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
SUCCESS, DECLINE, TIMEOUT = "success", "decline", "timeout"


def sign(body: bytes) -> str:
    key = hashlib.sha256(b"sbyt-sandbox:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def _remote(charge: SandboxCharge) -> RemotePayment:
    return RemotePayment(
        id=charge.id,
        status=charge.status,
        amount=charge.amount,
        paid=charge.status == SandboxCharge.Status.SUCCEEDED,
        confirmation_url=reverse("portal:sandbox_bank", args=[charge.id]) if charge.return_url else "",
        payment_method_id=charge.payment_method_id,
        payment_method_saved=bool(charge.payment_method_id),
        payment_method_title="Visa •••• 4242" if charge.payment_method_id else "",
        cancel_reason=charge.cancel_reason,
        metadata=dict(charge.metadata),
    )


def notification_body(charge: SandboxCharge) -> bytes:
    """The notification in ЮKassa's shape (type, event, object with id, status, amount, metadata)."""
    event = "payment.succeeded" if charge.status == SandboxCharge.Status.SUCCEEDED else "payment.canceled"
    payload = {
        "type": "notification",
        "event": event,
        "object": {
            "id": charge.id,
            "status": charge.status,
            "paid": charge.status == SandboxCharge.Status.SUCCEEDED,
            "amount": {"value": f"{charge.amount:.2f}", "currency": "RUB"},
            "created_at": charge.created_at.isoformat(),
            "metadata": charge.metadata,
            "test": True,
        },
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _remote_refund(refund: SandboxRefund) -> RemoteRefund:
    return RemoteRefund(
        id=refund.id,
        payment_id=refund.charge_id,
        status=refund.status,
        amount=refund.amount,
        cancel_reason=refund.cancel_reason,
    )


def refund_notification_body(refund: SandboxRefund) -> bytes:
    """``refund.succeeded`` in ЮKassa's shape."""
    payload = {
        "type": "notification",
        "event": "refund.succeeded",
        "object": {
            "id": refund.id,
            "payment_id": refund.charge_id,
            "status": refund.status,
            "amount": {"value": f"{refund.amount:.2f}", "currency": "RUB"},
            "created_at": refund.created_at.isoformat(),
            "description": refund.description,
        },
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


class SandboxProvider(Provider):
    name = "sandbox"

    def create_payment(
        self,
        *,
        order,
        amount,
        description,
        return_url,
        method="card",
        save_method=False,
        payment_method_id="",
        email="",
        phone="",
    ) -> RemotePayment:
        existing = SandboxCharge.objects.filter(metadata__order=order).first()  # the idempotence key
        if existing is not None:
            return _remote(existing)
        charge = SandboxCharge(
            id=f"sbx_{uuid.uuid4().hex}",
            amount=amount,
            description=description[:200],
            return_url="" if payment_method_id else return_url,
            method=method,
            save_method=save_method,
            metadata={"order": order},
        )
        if payment_method_id:  # an autopay charge: the bank answers at once
            known = SandboxCharge.objects.filter(payment_method_id=payment_method_id).exists()
            if known and not payment_method_id.endswith("-decline"):
                charge.status, charge.payment_method_id = SandboxCharge.Status.SUCCEEDED, payment_method_id
            else:
                charge.status, charge.cancel_reason = SandboxCharge.Status.CANCELED, "permission_revoked"
            charge.answered_at = timezone.now()
        charge.save()
        return _remote(charge)

    def fetch_payment(self, payment_id: str) -> RemotePayment:
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().filter(pk=payment_id).first()
            if charge is None:
                raise ProviderError(f"sandbox: no payment {payment_id}")
            expiry = dt.timedelta(seconds=settings.SBYT_SANDBOX_EXPIRY_SECONDS)
            if charge.status == PENDING and timezone.now() - charge.created_at >= expiry:
                charge.status, charge.cancel_reason = CANCELED, "expired_on_confirmation"
                charge.answered_at = timezone.now()
                charge.save(update_fields=["status", "cancel_reason", "answered_at"])
        return _remote(charge)

    def create_refund(self, payment_id, amount, *, idempotence_key, description, email="", phone="") -> RemoteRefund:
        with transaction.atomic():
            existing = SandboxRefund.objects.filter(idempotence_key=idempotence_key).first()
            if existing is not None:
                return _remote_refund(existing)
            charge = SandboxCharge.objects.select_for_update().filter(pk=payment_id).first()
            if charge is None or charge.status != SUCCEEDED:
                raise ProviderRefused(f"sandbox: payment {payment_id} cannot be refunded")
            taken = charge.refunds.exclude(status=CANCELED).aggregate(total=Sum("amount"))["total"] or 0
            if amount <= 0 or amount > charge.amount - taken:
                raise ProviderRefused(f"sandbox: {amount} is more than is left of payment {payment_id}")
            refund = SandboxRefund(
                id=f"sbx_r_{uuid.uuid4().hex}",
                charge=charge,
                idempotence_key=idempotence_key[:64],
                amount=amount,
                description=description[:250],
            )
            outcome = settings.SBYT_SANDBOX_REFUND
            if outcome != PENDING:
                refund.status = CANCELED if outcome == DECLINE else SUCCEEDED
                refund.cancel_reason = "rejected_by_payee" if outcome == DECLINE else ""
                refund.answered_at = timezone.now()
            refund.save()
        return _remote_refund(refund)

    def get_refund(self, refund_id: str) -> RemoteRefund:
        refund = SandboxRefund.objects.filter(pk=refund_id).first()
        if refund is None:
            raise ProviderError(f"sandbox: no refund {refund_id}")
        return _remote_refund(refund)

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str], remote_ip: str) -> Notification:
        signature = _header(headers, SIGNATURE_HEADER)
        if not signature or not hmac.compare_digest(signature, sign(body)):
            raise ForgedNotification("wrong sandbox signature")
        try:
            data = json.loads(body.decode("utf-8"))
            return Notification(event=str(data["event"]), object_id=str(data["object"]["id"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ForgedNotification("not a notification") from None


def answer(charge_id: str, outcome: str) -> SandboxCharge:
    """The visitor's answer on the pretend bank's page. Success and decline notify Sbyt (store first, then the
    re-check by API); a timeout changes nothing and sends nothing."""
    from ..services import receive_notification

    with transaction.atomic():
        charge = SandboxCharge.objects.select_for_update().get(pk=charge_id)
        if charge.status != PENDING or outcome == TIMEOUT:
            return charge
        if outcome == SUCCESS:
            charge.status = SUCCEEDED
            if charge.save_method:
                charge.payment_method_id = f"sbx_pm_{uuid.uuid4().hex[:20]}"
        else:
            charge.status, charge.cancel_reason = CANCELED, "insufficient_funds"
        charge.answered_at = timezone.now()
        charge.save()
    body = notification_body(charge)
    receive_notification(provider="sandbox", body=body, headers={SIGNATURE_HEADER: sign(body)}, remote_ip="127.0.0.1")
    return charge


def answer_refund(refund_id: str, outcome: str, *, notify: bool = True) -> SandboxRefund:
    """The pretend bank settles a pending refund: ``success`` (then, unless ``notify`` is off — a lost notification —
    a signed ``refund.succeeded`` goes to Sbyt) or ``decline``. ЮKassa sends no notification for a cancelled refund."""
    from ..services import receive_notification

    with transaction.atomic():
        refund = SandboxRefund.objects.select_for_update().get(pk=refund_id)
        if refund.status != PENDING or outcome == TIMEOUT:
            return refund
        if outcome == SUCCESS:
            refund.status = SUCCEEDED
        else:
            refund.status, refund.cancel_reason = CANCELED, "rejected_by_payee"
        refund.answered_at = timezone.now()
        refund.save()
    if refund.status == SUCCEEDED and notify:
        body = refund_notification_body(refund)
        receive_notification(
            provider="sandbox", body=body, headers={SIGNATURE_HEADER: sign(body)}, remote_ip="127.0.0.1"
        )
    return refund
