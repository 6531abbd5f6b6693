"""Payments through API v1 (CAB-7, CAB-10, PAY-5): a client's credited payments, paying one or several own accounts
online (the app opens ``confirmation_url``), the order's state, autopay's state and switching it off."""

import datetime as dt
import uuid
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from sbyt.core.errors import NotFound
from sbyt.customers.queries import account_for
from sbyt.payments import queries
from sbyt.payments import services as payments
from sbyt.payments.models import PaymentChannel, PaymentIntent

from .schemas import ErrorOut, ValidationErrorOut

router = Router(tags=["payments"])


class PaymentOut(Schema):
    id: int
    kind: str
    channel: str
    channel_label: str
    amount: Decimal
    period: dt.date | None
    paid_on: dt.date


class PayItemIn(Schema):
    number: str = Field(..., max_length=20, description="Client number (one of the login's)")
    amount: str = Field(..., max_length=16, description='Rubles, e.g. "1500.00"')
    period: dt.date | None = Field(None, description="The month paid for (any day of it); none: the oldest debt")


class PayIn(Schema):
    items: list[PayItemIn] = Field(..., max_length=payments.MAX_ACCOUNTS)
    method: str = Field("card", description="card or sbp")
    return_url: str = Field(..., max_length=400, description="Where the bank's page returns; {token} is replaced")


class OrderItemOut(Schema):
    number: str
    amount: Decimal
    period: dt.date | None


class OrderOut(Schema):
    token: uuid.UUID
    status: str
    status_label: str
    amount: Decimal
    confirmation_url: str
    items: list[OrderItemOut]


class AutopayOut(Schema):
    status: str
    status_label: str
    limit: Decimal
    day: int
    card: str
    consent_given_at: dt.datetime


def _order(intent: PaymentIntent) -> dict:
    return {
        "token": intent.token,
        "status": intent.status,
        "status_label": intent.get_status_display(),
        "amount": intent.amount,
        "confirmation_url": intent.confirmation_url,
        "items": [
            {"number": item.account.number, "amount": item.amount, "period": item.period}
            for item in intent.items.select_related("account").order_by("id")
        ],
    }


@router.get("/accounts/{number}", response={200: list[PaymentOut], 404: ErrorOut}, summary="Credited payments")
def list_payments(request, number: str):
    account = account_for(request.user, number)
    return [
        {
            "id": p.pk,
            "kind": p.kind,
            "channel": p.channel,
            "channel_label": p.get_channel_display(),
            "amount": p.amount,
            "period": p.period,
            "paid_on": p.paid_on,
        }
        for p in queries.payments_of_accounts([account], limit=100)
    ]


@router.post("", response={201: OrderOut, 400: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}, summary="Pay online")
def pay(request, payload: PayIn):
    """Create an online payment for one or several of the login's accounts; open ``confirmation_url``."""
    if payload.method not in ("card", "sbp"):
        message = _("Choose how to pay: by card or through the fast payment system.")
        return Status(400, {"code": "invalid_method", "message": message})
    items = [
        payments.PayItem(account_for(request.user, item.number), item.amount, item.period) for item in payload.items
    ]
    intent = payments.start_online_payment(
        items=items,
        source=PaymentIntent.Source.APP,
        actor=request.user,
        return_url=payload.return_url,
        method=PaymentChannel.SBP if payload.method == "sbp" else PaymentChannel.CARD,
    )
    return Status(201, _order(intent))


@router.get("/orders/{token}", response={200: OrderOut, 404: ErrorOut}, summary="State of an online payment")
def order(request, token: uuid.UUID):
    intent = queries.intent_by_token(token)
    if intent is None or intent.user_id != request.user.pk:
        raise NotFound(_("Payment not found."))
    if intent.status == PaymentIntent.Status.PENDING:
        intent = payments.refresh_intent(intent=intent, actor=request.user)
    return _order(intent)


@router.get("/accounts/{number}/autopay", response={200: AutopayOut | None, 404: ErrorOut}, summary="Autopay")
def get_autopay(request, number: str):
    account = account_for(request.user, number)
    mandate = queries.live_mandate(account)
    if mandate is None:
        return None
    return {
        "status": mandate.status,
        "status_label": mandate.get_status_display(),
        "limit": mandate.limit,
        "day": mandate.day,
        "card": mandate.card_title,
        "consent_given_at": mandate.consent_given_at,
    }


@router.delete("/accounts/{number}/autopay", response={204: None, 400: ErrorOut, 404: ErrorOut}, summary="Autopay off")
def cancel_autopay(request, number: str):
    account = account_for(request.user, number)
    mandate = queries.live_mandate(account)
    if mandate is None:
        raise NotFound(_("Autopay is not on for this account."))
    payments.cancel_autopay(mandate=mandate, actor=request.user)
    return Status(204, None)
