"""Online payments through the sandbox provider: one or several accounts, success, decline, timeout and the
periodic re-check, replayed and forged notifications, the confirmation to the client, autopay."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client

from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.payments import services
from sbyt.payments.models import AutopayMandate, Payment, PaymentIntent, ProviderEvent, SandboxCharge
from sbyt.payments.providers import sandbox
from sbyt.payments.services import PayItem, receive_notification, recheck_pending, start_online_payment
from tests.factories import AccountFactory, ContractFactory, client_login
from tests.payments.conftest import INSIDE, balance, charge, payment_entries

pytestmark = pytest.mark.django_db

RETURN = "https://lk.example.ru/pay/order/{token}/"


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.SBYT_PAYMENT_PROVIDER = "sandbox"
    with time_machine.travel(INSIDE, tick=False):
        yield


def _pay(items, **kwargs):
    kwargs.setdefault("source", PaymentIntent.Source.PUBLIC)
    kwargs.setdefault("actor", "public")
    kwargs.setdefault("email", "client@example.ru")
    return start_online_payment(items=items, return_url=RETURN, **kwargs)


def test_a_payment_is_credited_once_the_bank_says_yes_and_the_client_is_told(
    household, django_capture_on_commit_callbacks
):
    account, contract, _one, _two = household
    intent = _pay([PayItem(account, "1500,00", dt.date(2026, 10, 1))])
    assert intent.status == "pending"
    assert intent.confirmation_url == f"/pay/sandbox/{intent.provider_payment_id}/"
    assert Payment.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.answer(intent.provider_payment_id, sandbox.SUCCESS)
    intent.refresh_from_db()
    assert intent.status == "succeeded"
    payment = Payment.objects.get()
    assert (payment.channel, payment.amount, payment.period, payment.intent) == (
        "card",
        Decimal("1500.00"),
        dt.date(2026, 10, 1),
        intent,
    )
    # the stated period (October, 1 200) first, the rest to the oldest debt (September)
    from sbyt.billing.queries import unpaid_by_period

    assert unpaid_by_period(account) == {dt.date(2026, 9, 1): Decimal("700.00")}
    assert balance(account) == Decimal("700.00")
    assert [m.to for m in mail.outbox] == [["client@example.ru"]]
    assert "1\u00a0500,00" in mail.outbox[0].body and account.number in mail.outbox[0].body
    event = ProviderEvent.objects.get()
    assert (event.status, event.intent, event.event) == ("processed", intent, "payment.succeeded")


def test_several_accounts_in_one_payment(household, django_capture_on_commit_callbacks):
    account, *_ = household
    other = ContractFactory(premises__account__branch=account.branch).account
    intent = _pay([PayItem(account, "100"), PayItem(other, "50,50")], email="", phone="+7 912 000-11-22")
    assert intent.amount == Decimal("150.50")
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.answer(intent.provider_payment_id, sandbox.SUCCESS)
    assert sorted(Payment.objects.values_list("account__number", "amount")) == sorted(
        [(account.number, Decimal("100.00")), (other.number, Decimal("50.50"))]
    )
    from sbyt.messaging.backends import locmem

    assert [m["to"] for m in locmem.outbox] == ["+79120001122"]
    assert other.number in locmem.outbox[0]["text"]


def test_a_replayed_notification_credits_nothing_more(household):
    account, *_ = household
    intent = _pay([PayItem(account, "300")])
    sandbox.answer(intent.provider_payment_id, sandbox.SUCCESS)
    charge_row = SandboxCharge.objects.get()
    body = sandbox.notification_body(charge_row)
    for _ in range(3):
        result = receive_notification(
            provider="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)}, remote_ip="127.0.0.1"
        )
        assert result.duplicate
    assert Payment.objects.count() == 1
    assert ProviderEvent.objects.get().repeats == 3
    assert len(payment_entries(account)) == 1


def test_a_forged_notification_is_refused_and_credits_nothing(household):
    account, *_ = household
    intent = _pay([PayItem(account, "300")])
    body = json.dumps(
        {"type": "notification", "event": "payment.succeeded", "object": {"id": intent.provider_payment_id}}
    ).encode()
    result = receive_notification(
        provider="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: "0" * 64}, remote_ip="203.0.113.9"
    )
    assert result.refused
    assert ProviderEvent.objects.get().body == body.decode()  # stored before it was judged
    intent.refresh_from_db()
    assert intent.status == "pending"
    assert Payment.objects.count() == 0


def test_a_genuine_notification_is_not_believed_over_the_api(household):
    """Signed and well-formed, but the bank has not confirmed: the API says pending, nothing is credited."""
    account, *_ = household
    intent = _pay([PayItem(account, "300")])
    body = json.dumps(
        {"type": "notification", "event": "payment.succeeded", "object": {"id": intent.provider_payment_id}}
    ).encode()
    result = receive_notification(
        provider="sandbox", body=body, headers={sandbox.SIGNATURE_HEADER: sandbox.sign(body)}, remote_ip="127.0.0.1"
    )
    assert result.event.status == "processed"
    intent.refresh_from_db()
    assert (intent.status, intent.checks) == ("pending", 1)
    assert Payment.objects.count() == 0


def test_a_declined_payment_is_never_credited(household):
    account, *_ = household
    intent = _pay([PayItem(account, "300")])
    sandbox.answer(intent.provider_payment_id, sandbox.DECLINE)
    intent.refresh_from_db()
    assert (intent.status, intent.cancel_reason) == ("canceled", "insufficient_funds")
    assert Payment.objects.count() == 0
    assert balance(account) == Decimal("2200.00")
    # a late, replayed or repeated success for it changes nothing
    services.refresh_intent(intent=intent, actor="test")
    assert Payment.objects.count() == 0


def test_a_bank_that_never_answers_is_rechecked_and_cancelled_after_the_expiry(household, settings):
    account, *_ = household
    settings.SBYT_SANDBOX_EXPIRY_SECONDS = 900
    intent = _pay([PayItem(account, "300")])
    sandbox.answer(intent.provider_payment_id, sandbox.TIMEOUT)
    assert ProviderEvent.objects.count() == 0
    with time_machine.travel(INSIDE + dt.timedelta(minutes=2), tick=False):
        assert recheck_pending() == 1
    intent.refresh_from_db()
    assert (intent.status, intent.checks) == ("pending", 1)
    with time_machine.travel(INSIDE + dt.timedelta(minutes=2, seconds=30), tick=False):
        assert recheck_pending() == 0  # asked a minute ago: not yet again
    with time_machine.travel(INSIDE + dt.timedelta(minutes=20), tick=False):
        recheck_pending()
    intent.refresh_from_db()
    assert (intent.status, intent.cancel_reason) == ("canceled", "expired_on_confirmation")
    assert Payment.objects.count() == 0


def test_a_lost_notification_is_made_good_by_the_periodic_recheck(household):
    account, *_ = household
    intent = _pay([PayItem(account, "300")])
    SandboxCharge.objects.filter(pk=intent.provider_payment_id).update(status="succeeded")  # the bank said yes
    with time_machine.travel(INSIDE + dt.timedelta(minutes=2), tick=False):
        recheck_pending()
    intent.refresh_from_db()
    assert intent.status == "succeeded"
    assert Payment.objects.get().amount == Decimal("300.00")


@pytest.mark.parametrize(
    ("items", "kwargs"),
    [
        ("none", {}),
        ("zero", {}),
        ("too much", {}),
        ("twice", {}),
        ("one", {"email": "", "phone": ""}),
        ("one", {"email": "not-an-address"}),
        ("one", {"method": "cash"}),
        ("one", {"save_method": True}),
    ],
)
def test_guards_refuse_and_create_nothing(household, items, kwargs, settings):
    account, *_ = household
    settings.SBYT_PAYMENT_MAX_AMOUNT = 1000
    items = {
        "zero": [PayItem(account, "0")],
        "too much": [PayItem(account, "1000,01")],
        "twice": [PayItem(account, "1"), PayItem(account, "2")],
        "one": [PayItem(account, "10")],
        "none": [],
    }[items]
    with pytest.raises(DomainError):
        _pay(items, **kwargs)
    assert PaymentIntent.objects.count() == 0


def test_the_cabinet_pays_only_the_logins_own_accounts(household):
    account, *_ = household
    stranger = client_login(AccountFactory())
    with pytest.raises(PermissionDenied):
        _pay([PayItem(account, "10")], source=PaymentIntent.Source.CABINET, actor=stranger)
    assert PaymentIntent.objects.count() == 0


def test_the_provider_down_fails_the_order_and_says_so(household, monkeypatch):
    account, *_ = household
    from sbyt.payments.providers import ProviderError
    from sbyt.payments.providers.sandbox import SandboxProvider

    def down(self, **kwargs):
        raise ProviderError("connection refused")

    monkeypatch.setattr(SandboxProvider, "create_payment", down)  # the outbound edge only
    with pytest.raises(DomainError):
        _pay([PayItem(account, "10")])
    assert PaymentIntent.objects.get().status == "failed"


# --- the notification endpoint ---------------------------------------------------------------------------------


def test_the_webhook_endpoint_stores_checks_and_answers(household):
    account, *_ = household
    intent = _pay([PayItem(account, "300")])
    SandboxCharge.objects.filter(pk=intent.provider_payment_id).update(status="succeeded")
    charge_row = SandboxCharge.objects.get()
    body = sandbox.notification_body(charge_row)
    client = Client()
    url = "/payments/notify/sandbox/"
    forged = client.post(url, body, content_type="application/json", HTTP_X_SANDBOX_SIGNATURE="bad")
    assert forged.status_code == 403
    assert Payment.objects.count() == 0
    good = client.post(url, body, content_type="application/json", HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(body))
    assert good.status_code == 200
    again = client.post(url, body, content_type="application/json", HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(body))
    assert again.status_code == 200
    assert Payment.objects.count() == 1
    assert client.get(url).status_code == 405
    assert client.post("/payments/notify/paypal/", body, content_type="application/json").status_code == 404


# --- autopay -------------------------------------------------------------------------------------------------------


def test_autopay_consent_card_charges_and_cancellation(household, django_capture_on_commit_callbacks):
    account, contract, *_ = household
    user = client_login(account, email="owner@example.ru")
    with pytest.raises(DomainError):
        services.request_autopay(account=account, actor=user, limit="5000", day=12, consent=False, return_url=RETURN)
    intent = services.request_autopay(
        account=account, actor=user, limit="5000", day=12, consent=True, return_url=RETURN
    )
    mandate = AutopayMandate.objects.get()
    assert (mandate.status, mandate.limit, mandate.consent_version) == ("awaiting", Decimal("5000.00"), "2026-11")
    assert intent.save_method and intent.amount == Decimal("2200.00")
    with django_capture_on_commit_callbacks(execute=True):
        sandbox.answer(intent.provider_payment_id, sandbox.SUCCESS)
    mandate.refresh_from_db()
    assert mandate.status == "active" and mandate.payment_method_id.startswith("sbx_pm_")
    assert balance(account) == Decimal("0.00")

    charge(contract, "900.00", dt.date(2026, 11, 1))
    with time_machine.travel(dt.datetime(2026, 12, 11, 12, tzinfo=dt.UTC), tick=False):
        assert services.run_autopay()["charged"] == 0  # before the day
    with time_machine.travel(dt.datetime(2026, 12, 12, 12, tzinfo=dt.UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert services.run_autopay()["charged"] == 1
        assert services.run_autopay()["charged"] == 0  # once a month
    assert balance(account) == Decimal("0.00")
    autopaid = PaymentIntent.objects.get(source="autopay")
    assert (autopaid.status, autopaid.mandate, autopaid.autopay_period) == ("succeeded", mandate, dt.date(2026, 12, 1))

    charge(contract, "9000.00", dt.date(2026, 12, 1))
    with time_machine.travel(dt.datetime(2027, 1, 12, 12, tzinfo=dt.UTC), tick=False):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.run_autopay()["over_limit"] == 1
    assert balance(account) == Decimal("9000.00")
    assert mail.outbox and "9\u00a0000,00" in mail.outbox[0].body

    stranger = client_login(AccountFactory())
    with pytest.raises(PermissionDenied):
        services.cancel_autopay(mandate=mandate, actor=stranger)
    services.cancel_autopay(mandate=mandate, actor=user)
    mandate.refresh_from_db()
    assert mandate.status == "cancelled"
    with pytest.raises(DomainError):
        services.cancel_autopay(mandate=mandate, actor=user)
    with time_machine.travel(dt.datetime(2027, 2, 12, 12, tzinfo=dt.UTC), tick=False):
        assert services.run_autopay() == {"charged": 0, "over_limit": 0, "nothing_due": 0, "failed": 0}


def test_a_declined_autopay_charge_is_not_credited_and_the_client_is_told(
    household, django_capture_on_commit_callbacks
):
    account, contract, *_ = household
    user = client_login(account, email="owner@example.ru")
    mandate = AutopayMandate.objects.create(
        account=account,
        user=user,
        provider="sandbox",
        payment_method_id="sbx_pm_card-decline",
        limit=Decimal("5000"),
        day=1,
        consent_version="2026-11",
        consent_given_at=INSIDE,
        status="active",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.run_autopay()
    intent = PaymentIntent.objects.get(mandate=mandate)
    assert intent.status == "canceled"
    assert Payment.objects.count() == 0
    mandate.refresh_from_db()
    assert mandate.last_period == dt.date(2026, 11, 1)
    assert mail.outbox and account.number in mail.outbox[0].body


@pytest.mark.parametrize("token", ["not-a-uuid", "", "12345"])
def test_an_intent_token_that_is_not_a_uuid_finds_nothing(token):
    from sbyt.payments.queries import intent_by_token

    assert intent_by_token(token) is None
