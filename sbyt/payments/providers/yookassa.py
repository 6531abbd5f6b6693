"""ЮKassa (YooKassa) through its official Python SDK (``yookassa``): API v3.

- create: ``POST /v3/payments`` with ``capture: true`` (one stage), a ``redirect`` confirmation back to our order's
  page, ``metadata.order``, our order's id as the ``Idempotence-Key`` (a retried create makes no second payment);
  ``save_payment_method`` when the client switches on autopay; an autopay charge names the saved
  ``payment_method_id`` and needs no confirmation;
- fetch: ``GET /v3/payments/{id}`` — the only source the services credit from;
- refunds: ``POST /v3/refunds`` (``payment_id``, ``amount``, ``description``; our refund's key as the
  ``Idempotence-Key``) and ``GET /v3/refunds/{id}``; an answer 400/401/403/404 means ЮKassa did not carry the request
  out (``ProviderRefused``), anything else (a timeout, 5xx, 429) leaves the refund's fate unknown (``ProviderError``);
- notifications: the JSON ЮKassa POSTs (``{"type": "notification", "event": "payment.succeeded", "object": {...}}``).
  ЮKassa does not sign them; it documents the networks it sends from, and the SDK's ``SecurityHelper`` knows them.
  A notification from anywhere else is refused (``SBYT_YOOKASSA_TRUSTED_NETWORKS`` adds networks, e.g. a proxy's;
  ``SBYT_YOOKASSA_CHECK_IP=0`` switches the check off behind a proxy that hides the sender). Whatever passes, the
  services still only believe the API.

The SDK keeps its settings in class attributes and opens its HTTP session without a timeout; ``_Client`` configures
it from Django's settings on every call and gives every request ``SBYT_YOOKASSA_TIMEOUT`` seconds."""

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.conf import settings
from requests.adapters import HTTPAdapter
from yookassa import Configuration
from yookassa import Payment as SdkPayment
from yookassa import Refund as SdkRefund
from yookassa.client import ApiClient
from yookassa.domain.common.security_helper import SecurityHelper
from yookassa.domain.exceptions import BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError
from yookassa.domain.notification import WebhookNotificationFactory
from yookassa.domain.request.refund_request import RefundRequest as SdkRefundRequest

from . import ForgedNotification, Notification, Provider, ProviderError, ProviderRefused, RemotePayment, RemoteRefund

PAYMENT_EVENTS = ("payment.succeeded", "payment.canceled", "payment.waiting_for_capture")
REFUSALS = (BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError)  # ЮKassa did nothing


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float, **kwargs):
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        if not kwargs.get("timeout"):
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class _Client(ApiClient):
    def get_session(self):
        session = super().get_session()
        adapter = _TimeoutAdapter(
            settings.SBYT_YOOKASSA_TIMEOUT, max_retries=session.get_adapter("https://").max_retries
        )
        session.mount("https://", adapter)
        session.mount("http://", _TimeoutAdapter(settings.SBYT_YOOKASSA_TIMEOUT))
        return session


class _Payment(SdkPayment):
    """The SDK's ``Payment`` with the client above."""

    def __init__(self):
        _configure()
        self.client = _Client()


class _Refund(SdkRefund):
    """The SDK's ``Refund`` with the client above."""

    def __init__(self):
        _configure()
        self.client = _Client()


def _configure() -> None:
    if not settings.SBYT_YOOKASSA_SHOP_ID or not settings.SBYT_YOOKASSA_SECRET_KEY:
        raise ProviderError("ЮKassa is not configured (SBYT_YOOKASSA_SHOP_ID, SBYT_YOOKASSA_SECRET_KEY)")
    Configuration.configure(
        settings.SBYT_YOOKASSA_SHOP_ID,
        settings.SBYT_YOOKASSA_SECRET_KEY,
        api_url=settings.SBYT_YOOKASSA_API_URL,
        max_attempts=1,
        timeout=500,  # the SDK's pause (ms) before retrying a 202 answer
    )


def _amount(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ProviderError(f"ЮKassa gave an unreadable amount: {value!r}") from None


def _remote(response) -> RemotePayment:
    method = getattr(response, "payment_method", None)
    card = getattr(method, "card", None)
    title = getattr(method, "title", None) or ""
    if not title and card is not None and getattr(card, "last4", None):
        title = f"•••• {card.last4}"
    cancellation = getattr(response, "cancellation_details", None)
    confirmation = getattr(response, "confirmation", None)
    amount = getattr(response, "amount", None)
    return RemotePayment(
        id=str(response.id),
        status=str(response.status),
        amount=_amount(getattr(amount, "value", "0")),
        currency=str(getattr(amount, "currency", "RUB")),
        paid=bool(getattr(response, "paid", False)),
        confirmation_url=str(getattr(confirmation, "confirmation_url", "") or ""),
        payment_method_id=str(getattr(method, "id", "") or ""),
        payment_method_saved=bool(getattr(method, "saved", False)),
        payment_method_title=str(title)[:64],
        cancel_reason=str(getattr(cancellation, "reason", "") or ""),
        metadata=dict(getattr(response, "metadata", None) or {}),
    )


def _remote_refund(response) -> RemoteRefund:
    amount = getattr(response, "amount", None)
    cancellation = getattr(response, "cancellation_details", None)
    return RemoteRefund(
        id=str(response.id),
        payment_id=str(getattr(response, "payment_id", "") or ""),
        status=str(response.status),
        amount=_amount(getattr(amount, "value", "0")),
        currency=str(getattr(amount, "currency", "RUB")),
        cancel_reason=str(getattr(cancellation, "reason", "") or ""),
    )


def _refusal(exc: Exception) -> str:
    content = getattr(exc, "content", None) or {}
    detail = content.get("description") or content.get("code") or str(exc)
    return f"ЮKassa: {type(exc).__name__}: {str(detail)[:200]}"


def _receipt(description: str, amount, *, email: str, phone: str) -> dict:
    """54-ФЗ receipt data (``SBYT_YOOKASSA_RECEIPTS``): one line, the electricity service, paid in full."""
    customer = {"email": email} if email else {"phone": phone.lstrip("+")}
    return {
        "customer": customer,
        "items": [
            {
                "description": description[:128],
                "quantity": "1.00",
                "amount": {"value": f"{amount:.2f}", "currency": "RUB"},
                "vat_code": settings.SBYT_YOOKASSA_VAT_CODE,
                "payment_mode": "full_payment",
                "payment_subject": "service",
            }
        ],
    }


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except ProviderError:
        raise
    except REFUSALS as exc:
        raise ProviderRefused(_refusal(exc)) from None
    except Exception as exc:  # the SDK raises its ApiError family, requests' errors, or worse on a dropped line
        raise ProviderError(f"ЮKassa: {type(exc).__name__}: {str(exc)[:200]}") from None


class YooKassaProvider(Provider):
    name = "yookassa"

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
        params: dict = {
            "amount": {"value": f"{amount:.2f}", "currency": "RUB"},
            "capture": True,
            "description": description[:128],
            "metadata": {"order": order},
        }
        if payment_method_id:
            params["payment_method_id"] = payment_method_id
        else:
            params["confirmation"] = {"type": "redirect", "return_url": return_url}
            params["payment_method_data"] = {"type": "sbp" if method == "sbp" else "bank_card"}
            if save_method:
                params["save_payment_method"] = True
        if settings.SBYT_YOOKASSA_RECEIPTS and (email or phone):
            params["receipt"] = _receipt(description, amount, email=email, phone=phone)
        return _remote(_call(_Payment.create, params, order))

    def fetch_payment(self, payment_id: str) -> RemotePayment:
        return _remote(_call(_Payment.find_one, payment_id))

    def create_refund(self, payment_id, amount, *, idempotence_key, description, email="", phone="") -> RemoteRefund:
        params: dict = {
            "payment_id": payment_id,
            "amount": {"value": f"{amount:.2f}", "currency": "RUB"},
            "description": description[:250],
        }
        if settings.SBYT_YOOKASSA_RECEIPTS and (email or phone):  # the refund receipt, as the payment had one
            params["receipt"] = _receipt(description, amount, email=email, phone=phone)
        try:  # the SDK's own checks, before anything is sent: a request it refuses never reached ЮKassa
            request = SdkRefundRequest(params)
            request.validate()
        except (ValueError, TypeError) as exc:
            raise ProviderRefused(f"ЮKassa: the refund request is not valid: {exc}") from None
        return _remote_refund(_call(_Refund.create, request, idempotence_key))

    def get_refund(self, refund_id: str) -> RemoteRefund:
        return _remote_refund(_call(_Refund.find_one, refund_id))

    def parse_notification(self, *, body: bytes, headers: Mapping[str, str], remote_ip: str) -> Notification:
        if settings.SBYT_YOOKASSA_CHECK_IP and not _trusted(remote_ip):
            raise ForgedNotification(f"sender {remote_ip or '?'} is not one of ЮKassa's networks")
        try:
            data = json.loads(body.decode("utf-8"))
            notification = WebhookNotificationFactory().create(data)
        except (ValueError, TypeError, UnicodeDecodeError, KeyError, AttributeError) as exc:
            raise ForgedNotification(f"not a ЮKassa notification: {type(exc).__name__}") from None
        event = str(notification.event or "")
        payment_id = str(getattr(notification.object, "id", "") or "")
        if not payment_id:
            raise ForgedNotification("the notification names no object")
        return Notification(event=event, object_id=payment_id)


def _trusted(remote_ip: str) -> bool:
    if not remote_ip:
        return False
    helper = SecurityHelper()
    try:
        if helper.is_ip_trusted(remote_ip):
            return True
        return any(helper.is_ip_in_network(remote_ip, net) for net in settings.SBYT_YOOKASSA_TRUSTED_NETWORKS)
    except Exception:  # netaddr refuses a malformed address
        return False
