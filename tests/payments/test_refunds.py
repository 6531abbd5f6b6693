"""Refunds: an office or registry payment's refund is recorded at once (the money goes back outside Sbyt); an online
payment's money goes back through the provider (the sandbox here, ЮKassa in ``test_yookassa.py``) and the refund is
posted only when the provider says «succeeded» — once, whether it says so at once, through a notification or to the
periodic re-check. Guards, double submits, forged and replayed notifications; the back-office page and its
permissions."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from sbyt.billing.models import LedgerEntry
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.payments import services
from sbyt.payments.models import Payment, ProviderEvent, RefundRequest, SandboxRefund
from sbyt.payments.providers import sandbox
from sbyt.payments.queries import refundable
from sbyt.payments.services import (
    CANCEL_MESSAGES,
    PayItem,
    recheck_pending_refunds,
    refund_message,
    refund_payment,
    start_online_payment,
    take_office_payment,
)
from tests.factories import ContractFactory, PremisesFactory, staff_login
from tests.payments.conftest import INSIDE, balance, charge

pytestmark = pytest.mark.django_db

RETURN = "https://lk.example.ru/pay/order/{token}/"
LATER = INSIDE + dt.timedelta(minutes=2)


@pytest.fixture(autouse=True)
def _sandbox(settings):
    settings.SBYT_PAYMENT_PROVIDER = "sandbox"
    settings.SBYT_SANDBOX_REFUND = "success"
    with time_machine.travel(INSIDE, tick=False):
        yield


@pytest.fixture
def accountant():
    return staff_login("Бухгалтер по платежам")


def _paid_online(account, amount="1500.00") -> Payment:
    intent = start_online_payment(
        items=[PayItem(account, amount)], source="public", actor="public", return_url=RETURN, email="c@example.ru"
    )
    sandbox.answer(intent.provider_payment_id, sandbox.SUCCESS)
    return Payment.objects.get(intent=intent)


def _office(account, amount="1000") -> Payment:
    return take_office_payment(account=account, amount=amount, actor=staff_login("Кассир")).payment


def _state():
    """Everything a refund could change."""
    return (
        RefundRequest.objects.count(),
        SandboxRefund.objects.count(),
        Payment.objects.filter(kind="refund").count(),
        LedgerEntry.objects.count(),
    )


# --- the office / registry path: the document at once -------------------------------------------------------------


def test_an_office_refund_is_recorded_at_once_as_a_new_document(household, accountant):
    account, *_ = household
    payment = _office(account)
    request = refund_payment(payment=payment, amount="400", reason="ошибка кассира", actor=accountant)
    assert (request.status, request.provider, request.amount) == ("succeeded", "", Decimal("400.00"))
    refund = request.document
    assert (refund.kind, refund.channel, refund.refund_of, refund.external_id) == (
        "refund",
        "office",
        payment,
        f"refund:{payment.pk}:1",
    )
    assert SandboxRefund.objects.count() == 0  # nothing asked of a provider
    payment.refresh_from_db()
    assert payment.amount == Decimal("1000.00")
    assert balance(account) == Decimal("1600.00")
    assert AuditEntry.objects.filter(action="payments.refund", target_id=str(refund.pk)).exists()
    assert refundable(payment) == Decimal("600.00")


def test_refund_guards_change_nothing(household, accountant):
    account, *_ = household
    payment = _office(account)
    before, balance_before = _state(), balance(account)
    cases = [
        {"amount": "1000,01", "reason": "x", "actor": accountant},  # more than was paid
        {"amount": "0", "reason": "x", "actor": accountant},
        {"amount": "-5", "reason": "x", "actor": accountant},
        {"amount": "сто", "reason": "x", "actor": accountant},
        {"amount": "1,001", "reason": "x", "actor": accountant},
        {"amount": "10", "reason": "  ", "actor": accountant},
        {"amount": "10", "reason": "x", "actor": accountant, "idempotence_key": "not-a-uuid"},
    ]
    for kwargs in cases:
        with pytest.raises(DomainError):
            refund_payment(payment=payment, **kwargs)
    for actor in (staff_login("Кассир"), "public", None):
        with pytest.raises(PermissionDenied):
            refund_payment(payment=payment, amount="10", reason="x", actor=actor)
    assert _state() == before and balance(account) == balance_before
    refund = refund_payment(payment=payment, amount="1000", reason="весь платёж", actor=accountant).document
    with pytest.raises(DomainError):  # a refund is not refunded
        refund_payment(payment=refund, amount="1", reason="x", actor=accountant)
    with pytest.raises(DomainError):  # nothing left
        refund_payment(payment=payment, amount="0,01", reason="x", actor=accountant)


def test_two_refunds_never_put_back_more_than_a_contract_got(accountant):
    premises = PremisesFactory()
    power = ContractFactory(premises=premises)
    water = ContractFactory(premises=premises, resource="cold_water")
    charge(power, "600.00", dt.date(2026, 9, 1))
    charge(water, "400.00", dt.date(2026, 10, 1))
    payment = _office(premises.account, "1000")
    for _ in range(2):
        refund_payment(payment=payment, amount="400", reason="x", actor=accountant)

    def moved(contract, sign):
        amounts = LedgerEntry.objects.filter(contract=contract, kind="payment").values_list("amount", flat=True)
        return sum((a for a in amounts if (a > 0) == (sign > 0)), Decimal("0.00"))

    for contract in (power, water):
        assert moved(contract, 1) <= -moved(contract, -1)  # never more back than the contract got
    assert moved(power, 1) + moved(water, 1) == Decimal("800.00")


# --- the online path through the sandbox ---------------------------------------------------------------------------


def test_an_online_refund_goes_through_the_provider_and_is_posted_on_success(household, accountant):
    account, *_ = household
    payment = _paid_online(account)
    key = uuid.uuid4()
    request = refund_payment(payment=payment, amount="500", reason="переплата", actor=accountant, idempotence_key=key)
    remote = SandboxRefund.objects.get()
    assert (remote.charge_id, remote.amount, remote.idempotence_key) == (
        payment.intent.provider_payment_id,
        Decimal("500.00"),
        str(key),
    )
    assert (request.status, request.provider, request.provider_refund_id) == ("succeeded", "sandbox", remote.id)
    refund = request.document
    assert (refund.kind, refund.channel, refund.external_id, refund.refund_of) == (
        "refund",
        "card",
        f"sandbox:refund:{remote.id}",
        payment,
    )
    assert balance(account) == Decimal("1200.00")  # 2 200 − 1 500 + 500
    actions = set(AuditEntry.objects.filter(action__startswith="payments.refund").values_list("action", flat=True))
    assert actions == {"payments.refund_request", "payments.refund"}


def test_the_same_form_submitted_twice_is_one_refund(household, accountant):
    account, *_ = household
    payment = _paid_online(account)
    key = str(uuid.uuid4())
    first = refund_payment(payment=payment, amount="500", reason="x", actor=accountant, idempotence_key=key)
    again = refund_payment(payment=payment, amount="500", reason="x", actor=accountant, idempotence_key=key)
    assert again.pk == first.pk and again.document_id == first.document_id
    assert (SandboxRefund.objects.count(), Payment.objects.filter(kind="refund").count()) == (1, 1)
    assert balance(account) == Decimal("1200.00")
    with pytest.raises(DomainError):  # the same key with other data: refused, nothing done
        refund_payment(payment=payment, amount="100", reason="x", actor=accountant, idempotence_key=key)
    assert Payment.objects.filter(kind="refund").count() == 1


def test_the_provider_refusing_more_than_is_left_changes_nothing(household, accountant, settings):
    account, *_ = household
    payment = _paid_online(account)
    settings.SBYT_SANDBOX_REFUND = "pending"
    refund_payment(payment=payment, amount="1000", reason="x", actor=accountant)
    before, balance_before = _state(), balance(account)
    with pytest.raises(DomainError):  # 1 000 is still at the provider: only 500 is left
        refund_payment(payment=payment, amount="500,01", reason="x", actor=accountant)
    assert _state() == before and balance(account) == balance_before


def test_a_pending_refund_is_posted_once_by_the_periodic_recheck(household, accountant, settings):
    account, *_ = household
    payment = _paid_online(account)
    settings.SBYT_SANDBOX_REFUND = "pending"
    request = refund_payment(payment=payment, amount="500", reason="x", actor=accountant)
    assert (request.status, request.document) == ("pending", None)
    assert Payment.objects.filter(kind="refund").count() == 0
    assert balance(account) == Decimal("700.00")
    assert recheck_pending_refunds() == 0  # asked a moment ago
    with time_machine.travel(LATER, tick=False):
        assert recheck_pending_refunds() == 1  # the bank has not answered yet
    request.refresh_from_db()
    assert (request.status, request.checks) == ("pending", 2)
    sandbox.answer_refund(request.provider_refund_id, sandbox.SUCCESS, notify=False)  # the notification is lost
    with time_machine.travel(LATER + dt.timedelta(minutes=2), tick=False):
        assert recheck_pending_refunds() == 1
        request.refresh_from_db()
        assert request.status == "succeeded"
        with time_machine.travel(LATER + dt.timedelta(minutes=4), tick=False):
            assert recheck_pending_refunds() == 0
    assert Payment.objects.filter(kind="refund").count() == 1
    assert balance(account) == Decimal("1200.00")


def test_a_pending_refund_is_posted_once_on_the_notification_and_replays_change_nothing(
    household, accountant, settings
):
    account, *_ = household
    payment = _paid_online(account)
    settings.SBYT_SANDBOX_REFUND = "pending"
    request = refund_payment(payment=payment, amount="500", reason="x", actor=accountant)
    remote = sandbox.answer_refund(request.provider_refund_id, sandbox.SUCCESS)
    request.refresh_from_db()
    assert request.status == "succeeded"
    event = ProviderEvent.objects.get(event="refund.succeeded")
    assert (event.status, event.object_id) == ("processed", remote.id)
    body = sandbox.refund_notification_body(remote)
    for _ in range(2):
        response = Client().post(
            "/payments/notify/sandbox/",
            body,
            content_type="application/json",
            HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(body),
        )
        assert response.status_code == 200
    assert Payment.objects.filter(kind="refund").count() == 1
    assert balance(account) == Decimal("1200.00")


def test_a_forged_refund_notification_does_nothing(household, accountant, settings):
    account, *_ = household
    payment = _paid_online(account)
    settings.SBYT_SANDBOX_REFUND = "pending"
    request = refund_payment(payment=payment, amount="500", reason="x", actor=accountant)
    remote = SandboxRefund.objects.get()
    remote.status = "succeeded"  # what a forger would claim; the bank's book still says pending
    body = sandbox.refund_notification_body(remote)
    client = Client()
    forged = client.post(
        "/payments/notify/sandbox/", body, content_type="application/json", HTTP_X_SANDBOX_SIGNATURE="0"
    )
    assert forged.status_code == 403
    # correctly signed (a leaked key, a replay of an old body): the API is asked and says «pending»
    signed = client.post(
        "/payments/notify/sandbox/", body, content_type="application/json", HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(body)
    )
    assert signed.status_code == 200
    request.refresh_from_db()
    assert (request.status, request.document) == ("pending", None)
    # a refund nobody asked for is stored and ignored
    stranger = body.replace(remote.id.encode(), b"sbx_r_00000000000000000000000000000000")
    assert (
        client.post(
            "/payments/notify/sandbox/",
            stranger,
            content_type="application/json",
            HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(stranger),
        ).status_code
        == 200
    )
    assert ProviderEvent.objects.get(body=stranger.decode()).status == "ignored"
    assert Payment.objects.filter(kind="refund").count() == 0
    assert balance(account) == Decimal("700.00")


def test_a_declined_refund_posts_nothing_and_tells_the_operator_why(household, accountant, settings):
    account, *_ = household
    payment = _paid_online(account)
    settings.SBYT_SANDBOX_REFUND = "decline"
    request = refund_payment(payment=payment, amount="500", reason="x", actor=accountant)
    assert (request.status, request.cancel_reason, request.document) == ("canceled", "rejected_by_payee", None)
    assert refund_message(request) == str(CANCEL_MESSAGES["rejected_by_payee"])
    assert Payment.objects.filter(kind="refund").count() == 0
    assert balance(account) == Decimal("700.00")
    assert refundable(payment) == Decimal("1500.00")  # the declined amount is free again
    assert AuditEntry.objects.filter(action="payments.refund_canceled", target_id=str(request.pk)).exists()
    with time_machine.travel(LATER, tick=False):
        assert recheck_pending_refunds() == 0  # final: never asked again


def test_a_pending_refund_the_bank_declines_later_posts_nothing(household, accountant, settings):
    account, *_ = household
    payment = _paid_online(account)
    settings.SBYT_SANDBOX_REFUND = "pending"
    request = refund_payment(payment=payment, amount="500", reason="x", actor=accountant)
    sandbox.answer_refund(request.provider_refund_id, sandbox.DECLINE)
    with time_machine.travel(LATER, tick=False):
        recheck_pending_refunds()
    request.refresh_from_db()
    assert (request.status, request.cancel_reason) == ("canceled", "rejected_by_payee")
    assert Payment.objects.filter(kind="refund").count() == 0


def test_a_refund_the_provider_never_answered_fails_after_a_day(household, accountant, monkeypatch):
    account, *_ = household
    payment = _paid_online(account)
    calls = []

    def down(self, *args, **kwargs):
        calls.append(kwargs["idempotence_key"])
        raise sandbox.ProviderError("sandbox: no answer")

    monkeypatch.setattr(sandbox.SandboxProvider, "create_refund", down)
    request = refund_payment(payment=payment, amount="500", reason="x", actor=accountant)
    assert (request.status, request.provider_refund_id) == ("created", "")
    assert refundable(payment) == Decimal("1000.00")  # the 500 may be on its way
    with time_machine.travel(LATER, tick=False):
        recheck_pending_refunds()
    assert calls == [str(request.idempotence_key)] * 2  # asked again with the same key
    with time_machine.travel(INSIDE + dt.timedelta(hours=24), tick=False):
        recheck_pending_refunds()
    request.refresh_from_db()
    assert (request.status, request.cancel_reason) == ("failed", services.NO_ANSWER)
    assert len(calls) == 2 and Payment.objects.filter(kind="refund").count() == 0
    assert refund_message(request) == str(CANCEL_MESSAGES[services.NO_ANSWER])


# --- the back-office page --------------------------------------------------------------------------------------------


def _form_key(page) -> str:
    return str(page.context["form"]["key"].value())


def test_the_refund_form_needs_the_permission(household):
    account, *_ = household
    payment = _office(account)
    url = f"/staff/payments/{payment.pk}/"
    assert Client().post(url, {"amount": "1", "reason": "x", "key": str(uuid.uuid4())}).status_code == 302  # login
    cashier = Client()
    cashier.force_login(staff_login("Кассир"))
    page = cashier.get(url)
    assert page.status_code == 200 and page.context["form"] is None
    assert cashier.post(url, {"amount": "1", "reason": "x", "key": str(uuid.uuid4())}).status_code == 403
    outsider = Client()
    outsider.force_login(staff_login())
    assert outsider.get(url).status_code == 403
    assert outsider.post(url, {"amount": "1", "reason": "x", "key": str(uuid.uuid4())}).status_code == 403
    assert RefundRequest.objects.count() == 0 and Payment.objects.filter(kind="refund").count() == 0


def test_the_refund_form_posts_once_however_often_it_is_sent(household, accountant):
    account, *_ = household
    payment = _paid_online(account)
    client = Client()
    client.force_login(accountant)
    url = f"/staff/payments/{payment.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="key"' in body and 'id="refund-left"' in body
    data = {"amount": "500", "reason": "переплата", "key": _form_key(page)}
    first = client.post(url, data)
    refund = Payment.objects.get(kind="refund")
    assert first.status_code == 302 and first["Location"] == f"/staff/payments/{refund.pk}/"
    second = client.post(url, data)
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert Payment.objects.filter(kind="refund").count() == 1 and SandboxRefund.objects.count() == 1
    shown = client.get(url).content.decode()
    assert f'href="/staff/payments/{refund.pk}/"' in shown and "refund-request-" in shown


def test_bad_refund_input_is_answered_with_nothing_changed(household, accountant):
    account, *_ = household
    payment = _office(account)
    client = Client()
    client.force_login(accountant)
    url = f"/staff/payments/{payment.pk}/"
    key = _form_key(client.get(url))
    before = _state()
    for data in (
        {"amount": "1000,01", "reason": "x", "key": key},
        {"amount": "10", "reason": "", "key": key},
        {"amount": "10", "reason": "x", "key": ""},
        {"amount": "10", "reason": "x", "key": "42"},
        {"amount": "", "reason": "x", "key": key},
    ):
        response = client.post(url, data)
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode()
    assert _state() == before


def test_a_pending_online_refund_is_shown_on_the_payment_page(household, accountant, settings):
    account, *_ = household
    payment = _paid_online(account)
    settings.SBYT_SANDBOX_REFUND = "pending"
    client = Client()
    client.force_login(accountant)
    url = f"/staff/payments/{payment.pk}/"
    response = client.post(url, {"amount": "500", "reason": "x", "key": _form_key(client.get(url))})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url)
    request = RefundRequest.objects.get()
    body = page.content.decode()
    assert f'id="refund-request-{request.pk}"' in body and "status-pending" in body
    assert page.context["left"] == Decimal("1000.00")
