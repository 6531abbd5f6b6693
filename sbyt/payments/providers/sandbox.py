"""The sandbox provider: a pretend bank inside Sbyt for the demo, development and the browser tests.

It keeps its own book (``SandboxCharge``) and a local page (``portal:sandbox_bank``) where the visitor plays the
bank: «Оплатить» (success), «Отказ банка» (decline) or «Не отвечать» (timeout: the bank never answers; the
periodic re-check finds the payment still pending, and after ``SBYT_SANDBOX_EXPIRY_SECONDS`` the bank reports it
cancelled, as ЮKassa cancels an unconfirmed payment). Success and decline send a notification in ЮKassa's format,
signed with an HMAC of the body (header ``X-Sandbox-Signature``), through the same store-first path as a real
webhook. Saved cards for autopay are ``sbx_pm_…`` ids; an id ending in ``-decline`` is a card the bank refuses."""

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ..models import SandboxCharge
from . import CANCELED, PENDING, SUCCEEDED, ForgedNotification, Notification, Provider, ProviderError, RemotePayment

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
