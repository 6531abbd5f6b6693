"""The ЮKassa adapter through its official SDK against a local fake of API v3: the create request's wire format,
notifications in ЮKassa's real format, the sender check, the re-check by API before crediting, a cancelled payment,
an amount that does not match, the API being down, autopay with a saved card; refunds (``POST /v3/refunds``) and the
``refund.succeeded`` notification."""

import base64
import copy
import datetime as dt
import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.test import Client

from sbyt.core.errors import DomainError
from sbyt.payments import services
from sbyt.payments.models import AutopayMandate, Payment, PaymentIntent, ProviderEvent
from sbyt.payments.providers import ForgedNotification
from sbyt.payments.providers.yookassa import YooKassaProvider
from sbyt.payments.services import PayItem, start_online_payment
from tests.factories import client_login
from tests.payments.conftest import INSIDE, balance

pytestmark = pytest.mark.django_db

SHOP, SECRET = "100500", "test_Fh8hUAVVBGUGbjmlzba6TB0iyUbos_lueTHE-axOwM0"
YOOKASSA_IP = "185.71.76.10"  # inside 185.71.76.0/27, one of ЮKassa's notification networks
URL = "/payments/notify/yookassa/"


class FakeYooKassa:
    """A local HTTP server answering as ЮKassa API v3 does: POST /v3/payments, GET /v3/payments/{id}."""

    def __init__(self):
        self.requests: list[dict] = []
        self.payments: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.refund_status = "succeeded"  # what a new refund is: succeeded | pending | canceled
        self.lose_answer = False  # carry out the next refund but answer 500, as a dropped line would
        self.down = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                expected = "Basic " + base64.b64encode(f"{SHOP}:{SECRET}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._answer(401, {"type": "error", "code": "invalid_credentials", "description": "Bad auth"})
                    return False
                return True

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                fake.requests.append(
                    {"method": "POST", "path": self.path, "headers": fake.lower(self.headers), "json": body}
                )
                if fake.down:
                    return self._answer(500, {"type": "error", "code": "internal_server_error"})
                if not self._authorised():
                    return None
                key = self.headers.get("Idempotence-Key")
                if self.path == "/v3/refunds":
                    return self._answer(*fake.create_refund(body, key))
                for payment in fake.payments.values():  # ЮKassa answers a repeated key with the same payment
                    if payment["_key"] == key:
                        return self._answer(200, fake.public(payment))
                payment_id = str(uuid.uuid4())
                payment = {
                    "_key": key,
                    "id": payment_id,
                    "status": "pending",
                    "paid": False,
                    "amount": body["amount"],
                    "created_at": "2026-11-20T09:00:00.000Z",
                    "description": body.get("description", ""),
                    "metadata": body.get("metadata", {}),
                    "recipient": {"account_id": SHOP, "gateway_id": "100700"},
                    "refundable": False,
                    "test": True,
                }
                if "payment_method_id" in body:
                    payment.update(status="succeeded", paid=True)
                    payment["payment_method"] = fake.card(body["payment_method_id"], saved=True)
                else:
                    payment["confirmation"] = {
                        "type": "redirect",
                        "confirmation_url": f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={payment_id}",
                    }
                fake.payments[payment_id] = payment
                return self._answer(200, fake.public(payment))

            def do_GET(self):
                fake.requests.append({"method": "GET", "path": self.path, "headers": fake.lower(self.headers)})
                if fake.down:
                    return self._answer(500, {"type": "error", "code": "internal_server_error"})
                if not self._authorised():
                    return None
                book = fake.refunds if self.path.startswith("/v3/refunds/") else fake.payments
                payment = book.get(self.path.rsplit("/", 1)[-1])
                if payment is None:
                    return self._answer(404, {"type": "error", "code": "not_found", "description": "Not found"})
                return self._answer(200, fake.public(payment))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @staticmethod
    def lower(headers) -> dict:
        return {key.lower(): value for key, value in headers.items()}

    @staticmethod
    def public(payment: dict) -> dict:
        return {k: v for k, v in payment.items() if not k.startswith("_")}

    @staticmethod
    def card(method_id: str, *, saved: bool) -> dict:
        return {
            "type": "bank_card",
            "id": method_id,
            "saved": saved,
            "card": {
                "first6": "555555",
                "last4": "4444",
                "expiry_month": "07",
                "expiry_year": "2028",
                "card_type": "MasterCard",
                "issuer_country": "RU",
            },
            "title": "Bank card *4444",
        }

    def pay(self, payment_id: str, *, save: bool = False) -> None:
        """The client paid on ЮKassa's page."""
        payment = self.payments[payment_id]
        payment.update(status="succeeded", paid=True, captured_at="2026-11-20T09:01:10.000Z")
        payment["payment_method"] = self.card(payment_id, saved=save)
        payment.pop("confirmation", None)

    def cancel(self, payment_id: str) -> None:
        payment = self.payments[payment_id]
        payment.update(status="canceled", paid=False)
        payment["cancellation_details"] = {"party": "yoo_money", "reason": "expired_on_confirmation"}

    def notification(self, payment_id: str, event: str = "payment.succeeded", **changes) -> bytes:
        """The body ЮKassa POSTs, as its documentation shows it."""
        obj = copy.deepcopy(self.public(self.payments[payment_id]))
        obj.update(changes)
        obj.setdefault("authorization_details", {"rrn": "10000000000", "auth_code": "000000"})
        return json.dumps({"type": "notification", "event": event, "object": obj}, ensure_ascii=False).encode()

    def create_refund(self, body: dict, key: str) -> tuple[int, dict]:
        """POST /v3/refunds as ЮKassa answers it: the same key gives the same refund; a payment that is not paid, or
        more than is left of it, is a 400."""
        for refund in self.refunds.values():
            if refund["_key"] == key:
                return 200, self.public(refund)
        payment = self.payments.get(body.get("payment_id"))
        if payment is None or payment["status"] != "succeeded":
            return 400, {"type": "error", "code": "invalid_request", "description": "Payment can't be refunded"}
        taken = sum(
            Decimal(r["amount"]["value"])
            for r in self.refunds.values()
            if r["payment_id"] == payment["id"] and r["status"] != "canceled"
        )
        if Decimal(body["amount"]["value"]) > Decimal(payment["amount"]["value"]) - taken:
            return 400, {
                "type": "error",
                "code": "invalid_request",
                "parameter": "amount",
                "description": "Refund amount is greater than the amount left to refund",
            }
        refund = {
            "_key": key,
            "id": str(uuid.uuid4()),
            "payment_id": payment["id"],
            "status": self.refund_status,
            "created_at": "2026-11-20T10:00:00.000Z",
            "amount": body["amount"],
            "description": body.get("description", ""),
        }
        if self.refund_status == "canceled":
            refund["cancellation_details"] = {"party": "refund_network", "reason": "rejected_by_payee"}
        self.refunds[refund["id"]] = refund
        if self.lose_answer:
            self.lose_answer = False
            return 500, {"type": "error", "code": "internal_server_error"}
        return 200, self.public(refund)

    def refund_notification(self, refund_id: str, **changes) -> bytes:
        obj = copy.deepcopy(self.public(self.refunds[refund_id]))
        obj.update(changes)
        return json.dumps({"type": "notification", "event": "refund.succeeded", "object": obj}).encode()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def yookassa(settings):
    fake = FakeYooKassa()
    settings.SBYT_PAYMENT_PROVIDER = "yookassa"
    settings.SBYT_YOOKASSA_SHOP_ID = SHOP
    settings.SBYT_YOOKASSA_SECRET_KEY = SECRET
    settings.SBYT_YOOKASSA_API_URL = fake.url
    settings.SBYT_YOOKASSA_TIMEOUT = 2
    settings.SBYT_YOOKASSA_CHECK_IP = True
    settings.SBYT_YOOKASSA_TRUSTED_NETWORKS = []
    with time_machine.travel(INSIDE, tick=False):
        yield fake
    fake.close()


def _pay(account, amount="1500.00", **kwargs):
    kwargs.setdefault("source", PaymentIntent.Source.PUBLIC)
    kwargs.setdefault("actor", "public")
    kwargs.setdefault("email", "client@example.ru")
    return start_online_payment(
        items=[PayItem(account, amount)], return_url="https://lk.example.ru/pay/order/{token}/", **kwargs
    )


def _notify(body: bytes, ip: str = YOOKASSA_IP):
    return Client().post(URL, body, content_type="application/json", REMOTE_ADDR=ip)


def test_create_sends_the_documented_request(household, yookassa):
    account, *_ = household
    intent = _pay(account, method="sbp")
    request = yookassa.requests[-1]
    assert (request["method"], request["path"]) == ("POST", "/v3/payments")
    assert request["headers"]["idempotence-key"] == str(intent.token)
    assert request["headers"]["content-type"] == "application/json"
    body = request["json"]
    assert body["amount"] == {"value": "1500.00", "currency": "RUB"}
    assert body["capture"] is True
    assert body["confirmation"] == {
        "type": "redirect",
        "return_url": f"https://lk.example.ru/pay/order/{intent.token}/",
    }
    assert body["payment_method_data"] == {"type": "sbp"}
    assert body["metadata"]["order"] == str(intent.token)  # the SDK adds its cms_name
    assert account.number in body["description"]
    assert "save_payment_method" not in body and "receipt" not in body
    assert intent.status == "pending"
    assert intent.confirmation_url.startswith("https://yoomoney.ru/checkout/")


def test_a_genuine_notification_is_checked_by_api_then_credited_once(household, yookassa):
    account, *_ = household
    intent = _pay(account)
    yookassa.pay(intent.provider_payment_id)
    body = yookassa.notification(intent.provider_payment_id)
    assert _notify(body).status_code == 200
    gets = [r for r in yookassa.requests if r["method"] == "GET"]
    assert [r["path"] for r in gets] == [f"/v3/payments/{intent.provider_payment_id}"]
    intent.refresh_from_db()
    assert intent.status == "succeeded"
    payment = Payment.objects.get()
    assert (payment.channel, payment.external_id) == ("card", f"yookassa:{intent.provider_payment_id}:{account.pk}")
    assert balance(account) == Decimal("700.00")
    for _ in range(2):  # ЮKassa repeats a notification until it gets 200; replays change nothing
        assert _notify(body).status_code == 200
    assert Payment.objects.count() == 1
    assert ProviderEvent.objects.get().repeats == 2


def test_a_notification_from_outside_yookassas_networks_is_refused(household, yookassa):
    account, *_ = household
    intent = _pay(account)
    yookassa.pay(intent.provider_payment_id)
    body = yookassa.notification(intent.provider_payment_id)
    assert _notify(body, ip="203.0.113.7").status_code == 403
    assert not [r for r in yookassa.requests if r["method"] == "GET"]  # not even asked about
    assert Payment.objects.count() == 0
    assert ProviderEvent.objects.get().status == "refused"
    # the same body from ЮKassa itself is then taken
    assert _notify(body).status_code == 200
    assert Payment.objects.count() == 1


def test_a_notification_claiming_success_is_not_believed_when_the_api_says_cancelled(household, yookassa):
    account, *_ = household
    intent = _pay(account)
    yookassa.cancel(intent.provider_payment_id)
    body = yookassa.notification(intent.provider_payment_id, status="succeeded", paid=True)
    assert _notify(body).status_code == 200
    intent.refresh_from_db()
    assert (intent.status, intent.cancel_reason) == ("canceled", "expired_on_confirmation")
    assert Payment.objects.count() == 0
    assert balance(account) == Decimal("2200.00")


def test_a_payment_for_another_amount_is_not_credited(household, yookassa):
    account, *_ = household
    intent = _pay(account)
    yookassa.pay(intent.provider_payment_id)
    yookassa.payments[intent.provider_payment_id]["amount"] = {"value": "15.00", "currency": "RUB"}
    assert _notify(yookassa.notification(intent.provider_payment_id)).status_code == 200
    intent.refresh_from_db()
    assert intent.status == "failed" and "15.00" in intent.error
    assert Payment.objects.count() == 0


def test_an_unknown_payment_is_stored_and_ignored(household, yookassa):
    account, *_ = household
    intent = _pay(account)
    body = yookassa.notification(intent.provider_payment_id).replace(
        intent.provider_payment_id.encode(), b"2b3c4d5e-000f-5000-9000-1d2e3f4a5b6c"
    )
    assert _notify(body).status_code == 200
    assert ProviderEvent.objects.get().status == "ignored"


def test_malformed_notifications_are_refused(yookassa):
    provider = YooKassaProvider()
    for body in (b"not json", b'{"type": "notification"}', b'{"type": "notification", "event": "x", "object": {}}'):
        with pytest.raises(ForgedNotification):
            provider.parse_notification(body=body, headers={}, remote_ip=YOOKASSA_IP)
    with pytest.raises(ForgedNotification):
        provider.parse_notification(body=b"{}", headers={}, remote_ip="not-an-ip")


def test_the_api_down_leaves_the_order_pending_and_the_recheck_credits_it_later(household, yookassa):
    account, *_ = household
    intent = _pay(account)
    yookassa.pay(intent.provider_payment_id)
    yookassa.down = True
    assert _notify(yookassa.notification(intent.provider_payment_id)).status_code == 200
    intent.refresh_from_db()
    assert (intent.status, intent.checks) == ("pending", 1)
    assert intent.error.startswith("ЮKassa:")
    assert Payment.objects.count() == 0
    yookassa.down = False
    with time_machine.travel(INSIDE + dt.timedelta(minutes=2), tick=False):
        services.recheck_pending()
    intent.refresh_from_db()
    assert intent.status == "succeeded"
    assert Payment.objects.count() == 1


def test_create_with_the_api_down_fails_the_order(household, yookassa):
    account, *_ = household
    yookassa.down = True
    with pytest.raises(DomainError):
        _pay(account)
    assert PaymentIntent.objects.get().status == "failed"


def test_unreachable_api(household, yookassa, settings):
    account, *_ = household
    settings.SBYT_YOOKASSA_API_URL = "http://127.0.0.1:9/v3"  # discard port: nothing listens
    with pytest.raises(DomainError):
        _pay(account)


def test_autopay_saves_the_card_then_charges_it_without_confirmation(household, yookassa):
    account, *_ = household
    user = client_login(account, email="owner@example.ru")
    intent = services.request_autopay(
        account=account, actor=user, limit="5000", day=20, consent=True, return_url="https://lk.example.ru/{token}"
    )
    assert yookassa.requests[-1]["json"]["save_payment_method"] is True
    yookassa.pay(intent.provider_payment_id, save=True)
    assert _notify(yookassa.notification(intent.provider_payment_id)).status_code == 200
    mandate = AutopayMandate.objects.get()
    assert (mandate.status, mandate.payment_method_id, mandate.card_title) == (
        "active",
        intent.provider_payment_id,
        "Bank card *4444",
    )
    from tests.payments.conftest import charge

    charge(account.contracts.first(), "800.00", dt.date(2026, 11, 1))
    assert services.run_autopay()["charged"] == 1
    body = yookassa.requests[-1]["json"]
    assert body["payment_method_id"] == mandate.payment_method_id
    assert "confirmation" not in body
    assert balance(account) == Decimal("0.00")


# --- refunds ------------------------------------------------------------------------------------------------------


def _paid(account, yookassa) -> Payment:
    intent = _pay(account)
    yookassa.pay(intent.provider_payment_id)
    assert _notify(yookassa.notification(intent.provider_payment_id)).status_code == 200
    return Payment.objects.get(intent=intent)


def _refund(payment, amount="500", **kwargs):
    from tests.factories import staff_login

    kwargs.setdefault("actor", staff_login("Бухгалтер по платежам"))
    return services.refund_payment(payment=payment, amount=amount, reason="двойная оплата", **kwargs)


def test_a_refund_sends_the_documented_request_and_is_posted_on_success(household, yookassa):
    account, *_ = household
    payment = _paid(account, yookassa)
    request = _refund(payment)
    sent = yookassa.requests[-1]
    assert (sent["method"], sent["path"]) == ("POST", "/v3/refunds")
    assert sent["headers"]["idempotence-key"] == str(request.idempotence_key)
    assert sent["json"]["payment_id"] == payment.intent.provider_payment_id
    assert sent["json"]["amount"] == {"value": "500.00", "currency": "RUB"}
    assert account.number in sent["json"]["description"] and "двойная" not in sent["json"]["description"]
    assert request.status == "succeeded" and request.provider_refund_id in yookassa.refunds
    refund = request.document
    assert (refund.kind, refund.channel, refund.external_id) == (
        "refund",
        "card",
        f"yookassa:refund:{request.provider_refund_id}",
    )
    assert balance(account) == Decimal("1200.00")


def test_a_pending_refund_is_posted_once_on_refund_succeeded_after_the_api_confirms(household, yookassa):
    account, *_ = household
    payment = _paid(account, yookassa)
    yookassa.refund_status = "pending"
    request = _refund(payment)
    assert (request.status, request.document) == ("pending", None)
    refund_id = request.provider_refund_id
    early = yookassa.refund_notification(refund_id, status="succeeded", description="early")  # the API: pending
    assert _notify(early).status_code == 200
    request.refresh_from_db()
    assert request.status == "pending" and Payment.objects.filter(kind="refund").count() == 0
    gets_before = len([r for r in yookassa.requests if r["method"] == "GET"])
    forged = yookassa.refund_notification(refund_id, status="succeeded", description="forged")
    assert _notify(forged, ip="203.0.113.7").status_code == 403  # not from ЮKassa's networks: not even asked
    assert len([r for r in yookassa.requests if r["method"] == "GET"]) == gets_before
    assert ProviderEvent.objects.get(body=forged.decode()).status == "refused"
    yookassa.refunds[refund_id]["status"] = "succeeded"
    body = yookassa.refund_notification(refund_id)
    gets_before = len([r for r in yookassa.requests if r["method"] == "GET"])
    assert _notify(body).status_code == 200
    gets = [r["path"] for r in yookassa.requests if r["method"] == "GET"][gets_before:]
    assert gets == [f"/v3/refunds/{refund_id}"]
    request.refresh_from_db()
    assert request.status == "succeeded"
    for _ in range(2):  # replays
        assert _notify(body).status_code == 200
    assert Payment.objects.filter(kind="refund").count() == 1
    assert balance(account) == Decimal("1200.00")


def test_a_cancelled_refund_posts_nothing(household, yookassa):
    account, *_ = household
    payment = _paid(account, yookassa)
    yookassa.refund_status = "canceled"
    request = _refund(payment)
    assert (request.status, request.cancel_reason) == ("canceled", "rejected_by_payee")
    assert Payment.objects.filter(kind="refund").count() == 0
    assert balance(account) == Decimal("700.00")


def test_a_refund_yookassa_refuses_fails_with_nothing_posted(household, yookassa):
    account, *_ = household
    payment = _paid(account, yookassa)
    yookassa.refunds["x"] = {  # made elsewhere (ЮKassa's own cabinet): ЮKassa knows less is left than Sbyt does
        "_key": "elsewhere",
        "id": "x",
        "payment_id": payment.intent.provider_payment_id,
        "status": "succeeded",
        "amount": {"value": "1400.00", "currency": "RUB"},
    }
    request = _refund(payment)
    assert request.status == "failed" and "greater than the amount left" in request.error
    assert Payment.objects.filter(kind="refund").count() == 0
    with time_machine.travel(INSIDE + dt.timedelta(minutes=5), tick=False):
        assert services.recheck_pending_refunds() == 0  # a refused request is not sent again


def test_a_lost_answer_is_asked_again_with_the_same_key_and_posted_once(household, yookassa):
    account, *_ = household
    payment = _paid(account, yookassa)
    yookassa.lose_answer = True
    request = _refund(payment)
    assert (request.status, request.provider_refund_id) == ("created", "")
    assert len(yookassa.refunds) == 1  # ЮKassa did it; Sbyt does not know yet
    assert Payment.objects.filter(kind="refund").count() == 0
    with time_machine.travel(INSIDE + dt.timedelta(minutes=2), tick=False):
        assert services.recheck_pending_refunds() == 1
    posts = [r for r in yookassa.requests if r["path"] == "/v3/refunds"]
    assert [r["headers"]["idempotence-key"] for r in posts] == [str(request.idempotence_key)] * 2
    request.refresh_from_db()
    assert request.status == "succeeded" and len(yookassa.refunds) == 1
    assert Payment.objects.filter(kind="refund").count() == 1
    assert balance(account) == Decimal("1200.00")


def test_a_refund_the_api_reports_for_another_amount_is_not_posted(household, yookassa):
    account, *_ = household
    payment = _paid(account, yookassa)
    yookassa.refund_status = "pending"
    request = _refund(payment)
    yookassa.refunds[request.provider_refund_id].update(status="succeeded", amount={"value": "5.00", "currency": "RUB"})
    assert _notify(yookassa.refund_notification(request.provider_refund_id)).status_code == 200
    request.refresh_from_db()
    assert request.status == "failed" and "5.00" in request.error
    assert Payment.objects.filter(kind="refund").count() == 0


def test_with_receipts_on_a_refund_carries_the_refund_receipt(household, yookassa, settings):
    account, *_ = household
    payment = _paid(account, yookassa)
    settings.SBYT_YOOKASSA_RECEIPTS = True
    assert _refund(payment).status == "succeeded"
    receipt = yookassa.requests[-1]["json"]["receipt"]
    assert receipt["customer"] == {"email": "client@example.ru"}
    (item,) = receipt["items"]
    assert item["amount"] == {"value": "500.00", "currency": "RUB"}
    assert Decimal(str(item["quantity"])) == 1  # the SDK writes it its own way
    assert (item["payment_mode"], item["payment_subject"]) == ("full_payment", "service")
