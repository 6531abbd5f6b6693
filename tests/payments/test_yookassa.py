"""The ЮKassa adapter through its official SDK against a local fake of API v3: the create request's wire format,
notifications in ЮKassa's real format, the sender check, the re-check by API before crediting, a cancelled payment,
an amount that does not match, the API being down, autopay with a saved card."""

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
                payment = fake.payments.get(self.path.rsplit("/", 1)[-1])
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
