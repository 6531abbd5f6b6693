"""The payment pages: the public page, the cabinet, autopay, the order page, the sandbox bank; the back office's
registries, unmatched payments, cash desk with receipt, refunds and debt registry; API v1. Each with its permission."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client

from sbyt.core.models import AuditEntry
from sbyt.metering.models import Reading
from sbyt.payments.models import AutopayMandate, Payment, PaymentIntent, Registry, SuspenseItem
from sbyt.users.services import issue_token
from tests.factories import AccountFactory, client_login, staff_login
from tests.payments.conftest import INSIDE, balance
from tests.payments.registry_support import sber_file, sber_line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.SBYT_PAYMENT_PROVIDER = "sandbox"
    with time_machine.travel(INSIDE, tick=False):
        yield


def logged(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pay_in_sandbox(client: Client, response, outcome="success"):
    assert response.status_code == 302 and response["Location"].startswith("/pay/sandbox/")
    bank = client.get(response["Location"])
    assert bank.status_code == 200
    return client.post(response["Location"], {"outcome": outcome})


# --- public page ------------------------------------------------------------------------------------------------


def test_public_page_pays_two_accounts_without_login(household, django_capture_on_commit_callbacks):
    account, *_ = household
    other = AccountFactory(branch=account.branch)
    from tests.factories import ContractFactory, PremisesFactory

    ContractFactory(premises=PremisesFactory(account=other))
    client = Client()
    page = client.get("/pay/")
    assert page.status_code == 200 and "row-0-number" in page.content.decode()
    added = client.post(
        "/pay/",
        {
            "action": "add",
            "row-TOTAL_FORMS": "1",
            "row-INITIAL_FORMS": "0",
            "row-0-number": account.number,
            "row-0-amount": "100",
        },
    )
    body = added.content.decode()
    assert "row-1-number" in body and f'value="{account.number}"' in body
    data = {
        "action": "pay",
        "row-TOTAL_FORMS": "2",
        "row-INITIAL_FORMS": "0",
        "row-0-number": account.number,
        "row-0-amount": "1 000,50",
        "row-1-number": other.number,
        "row-1-amount": "99.50",
        "contact-method": "sbp",
        "contact-email": "payer@example.ru",
    }
    response = client.post("/pay/", data)
    with django_capture_on_commit_callbacks(execute=True):
        back = _pay_in_sandbox(client, response)
    assert back.status_code == 302 and back["Location"].startswith("http://testserver/pay/order/")
    order = client.get(back["Location"].replace("http://testserver", ""))
    assert order.status_code == 200 and 'id="order-status"' in order.content.decode()
    intent = PaymentIntent.objects.get()
    assert (intent.status, intent.method, intent.source, intent.amount) == (
        "succeeded",
        "sbp",
        "public",
        Decimal("1100.00"),
    )
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [Decimal("99.50"), Decimal("1000.50")]
    assert mail.outbox[0].to == ["payer@example.ru"]


def test_public_page_refuses_bad_input_and_creates_nothing(household):
    client = Client()
    base = {"action": "pay", "row-TOTAL_FORMS": "1", "row-INITIAL_FORMS": "0", "contact-method": "card"}
    for row in (
        {"row-0-number": "999999999", "row-0-amount": "10", "contact-email": "a@example.ru"},  # unknown number
        {"row-0-number": "300000001", "row-0-amount": "10,555", "contact-email": "a@example.ru"},  # kopecks
        {"row-0-number": "300000001", "row-0-amount": "10"},  # no contact
        {"row-0-number": "30000000x", "row-0-amount": "10", "contact-email": "a@example.ru"},
    ):
        response = client.post("/pay/", {**base, **row})
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
    assert PaymentIntent.objects.count() == 0


def test_public_debt_is_shown_only_with_the_bills_details(household):
    account, contract, one, _two = household
    client = Client()
    wrong = client.post("/pay/", {"action": "debt", "debt-number": account.number, "debt-reference": "123"})
    assert "2\u00a0200,00" not in wrong.content.decode()
    right = client.post("/pay/", {"action": "debt", "debt-number": account.number, "debt-reference": contract.number})
    assert "2\u00a0200,00" in right.content.decode()
    assert 'value="2200,00"' in right.content.decode()
    by_serial = client.post("/pay/", {"action": "debt", "debt-number": account.number, "debt-reference": one.serial})
    assert "2\u00a0200,00" in by_serial.content.decode()


def test_the_public_page_is_rate_limited(household, settings):
    settings.RATELIMIT_PUBLIC_READINGS = "2/h"
    client = Client()
    data = {"action": "debt", "debt-number": "300000001", "debt-reference": "1"}
    statuses = [client.post("/pay/", data).status_code for _ in range(3)]
    assert statuses[-1] == 429


def test_sandbox_bank_decline_and_page_closed_for_a_real_provider(household, settings):
    account, *_ = household
    client = Client()
    data = {
        "action": "pay",
        "row-TOTAL_FORMS": "1",
        "row-INITIAL_FORMS": "0",
        "row-0-number": account.number,
        "row-0-amount": "10",
        "contact-method": "card",
        "contact-phone": "8 912 111-22-33",
    }
    response = client.post("/pay/", data)
    location = response["Location"]
    declined = client.post(location, {"outcome": "decline"})
    order = client.get(declined["Location"].replace("http://testserver", ""))
    assert "result refused" in order.content.decode()
    assert Payment.objects.count() == 0
    assert client.post(location, {"outcome": "nonsense"}).status_code in (302, 400)
    settings.SBYT_PAYMENT_PROVIDER = "yookassa"
    assert client.get(location).status_code == 404


def test_order_page_of_an_unknown_token_is_404():
    assert Client().get("/pay/order/6f1e7a5e-0000-4000-8000-000000000000/").status_code == 404


# --- the cabinet ----------------------------------------------------------------------------------------------------


def test_cabinet_pays_and_shows_the_history(household, django_capture_on_commit_callbacks):
    account, *_ = household
    user = client_login(account, email="me@example.ru")
    client = logged(user)
    page = client.get("/cabinet/payments/")
    body = page.content.decode()
    assert page.status_code == 200 and 'value="2200,00"' in body and 'id="no-payments"' in body
    prefix = f"a{account.pk}"
    response = client.post(
        "/cabinet/payments/", {f"{prefix}-amount": "1200", f"{prefix}-period": "2026-10", "contact-method": "card"}
    )
    with django_capture_on_commit_callbacks(execute=True):
        _pay_in_sandbox(client, response)
    assert balance(account) == Decimal("1000.00")
    assert Payment.objects.get().period == dt.date(2026, 10, 1)
    history = client.get("/cabinet/payments/").content.decode()
    assert 'id="payments-history"' in history and "1\u00a0200,00" in history
    assert mail.outbox[0].to == ["me@example.ru"]
    prefilled = client.get(f"/cabinet/payments/?account={account.number}&period=2026-09&amount=1000.00")
    assert 'value="1000,00"' in prefilled.content.decode()  # the page's own way of writing a sum


def test_cabinet_needs_a_client_login():
    response = Client().get("/cabinet/payments/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    staff = logged(staff_login("Кассир"))
    assert staff.get("/cabinet/payments/")["Location"] == "/staff/"


def test_cabinet_refuses_an_empty_payment(household):
    account, *_ = household
    client = logged(client_login(account))
    response = client.post("/cabinet/payments/", {f"a{account.pk}-amount": "", "contact-method": "card"})
    assert response.status_code == 400
    assert PaymentIntent.objects.count() == 0


def test_autopay_pages_switch_on_and_off(household, django_capture_on_commit_callbacks):
    account, *_ = household
    user = client_login(account)
    client = logged(user)
    url = f"/cabinet/payments/autopay/{account.number}/"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"switch_on": "1", "limit": "3000", "day": "12"})  # no consent
    assert refused.status_code == 400 and AutopayMandate.objects.count() == 0
    response = client.post(url, {"switch_on": "1", "limit": "3000", "day": "12", "consent": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        _pay_in_sandbox(client, response)
    mandate = AutopayMandate.objects.get()
    assert mandate.status == "active" and mandate.limit == Decimal("3000.00")
    assert 'id="autopay-status"' in client.get(url).content.decode()
    client.post(url, {"switch_off": "1"})
    mandate.refresh_from_db()
    assert mandate.status == "cancelled"
    other = AccountFactory()
    assert client.get(f"/cabinet/payments/autopay/{other.number}/").status_code == 404


# --- the notification endpoint is covered in test_online / test_yookassa -----------------------------------------


# --- back office ----------------------------------------------------------------------------------------------------


def test_registry_upload_imports_and_reports(household, django_capture_on_commit_callbacks):
    account, *_ = household
    accountant = staff_login("Бухгалтер по платежам")
    client = logged(accountant)
    home = client.get("/staff/payments/")
    assert home.status_code == 200 and 'id="no-registries"' in home.content.decode()
    assert "/staff/payments/" in client.get("/staff/").content.decode()  # the nav link
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sbyt.payments.models import RegistryFormat

    fmt = RegistryFormat.objects.get(code="sberbank")
    data = sber_file(
        [sber_line(account.number, "700,00", extras=["CounterVal_1:11250"]), sber_line("404", "5,00"), "junk;line"],
        total="705.00",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/staff/payments/registries/upload/",
            {"registry_format": fmt.pk, "file": SimpleUploadedFile("sber.txt", data)},
        )
    registry = Registry.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/staff/payments/registries/{registry.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert 'id="totals-check"' in page and 'id="registry-problems"' in page and 'id="registry-suspense"' in page
    assert registry.status == "imported" or Registry.objects.get().status == "imported"
    assert Reading.objects.filter(channel="bank").count() == 1
    again = client.post(
        "/staff/payments/registries/upload/", {"registry_format": fmt.pk, "file": SimpleUploadedFile("x.txt", data)}
    )
    assert again.status_code == 400 and Registry.objects.count() == 1
    assert client.get(f"{response['Location']}?fragment=progress").status_code == 204


def test_registry_progress_fragment_while_running(household):
    from sbyt.payments.models import RegistryFormat
    from sbyt.payments.registries import receive_registry

    registry = receive_registry(
        data=sber_file([sber_line("1", "1,00")]),
        file_name="a.txt",
        registry_format=RegistryFormat.objects.get(code="sberbank"),
        actor="t",
    )
    client = logged(staff_login("Бухгалтер по платежам"))
    fragment = client.get(f"/staff/payments/registries/{registry.pk}/?fragment=progress")
    assert fragment.status_code == 200 and "<progress" in fragment.content.decode()
    page = client.get(f"/staff/payments/registries/{registry.pk}/").content.decode()
    assert 'hx-trigger="every 1s"' in page


def test_payment_pages_need_the_roles(household):
    account, *_ = household
    cashier = logged(staff_login("Кассир"))
    operator = logged(staff_login("Оператор контакт-центра"))
    for url in ("/staff/payments/suspense/", "/staff/payments/registries/1/"):
        assert cashier.get(url).status_code == 403
    assert cashier.post("/staff/payments/debt-registry/", {}).status_code == 403
    for url in ("/staff/payments/", "/staff/payments/desk/", f"/staff/payments/desk/{account.number}/"):
        assert operator.get(url).status_code == 403
    client = logged(client_login(account))
    assert client.get("/staff/payments/")["Location"].startswith("/staff/login/")


def test_suspense_assign_from_the_list(household):
    account, *_ = household
    from sbyt.payments.models import RegistryFormat
    from sbyt.payments.registries import import_registry, receive_registry

    registry = receive_registry(
        data=sber_file([sber_line("30000001", "300,00")]),
        file_name="a.txt",
        registry_format=RegistryFormat.objects.get(code="sberbank"),
        actor="t",
    )
    import_registry(registry=registry, actor="t")
    item = SuspenseItem.objects.get()
    client = logged(staff_login("Бухгалтер по платежам"))
    page = client.get("/staff/payments/suspense/").content.decode()
    assert f'id="suspense-{item.pk}"' in page
    bad = client.post("/staff/payments/suspense/", {"item": item.pk, "assign": "1", f"s{item.pk}-number": "1"})
    assert bad.status_code == 400 and Payment.objects.count() == 0
    good = client.post(
        "/staff/payments/suspense/", {"item": item.pk, "assign": "1", f"s{item.pk}-number": account.number}
    )
    assert good.status_code == 302
    assert Payment.objects.get().account == account
    assert 'id="no-suspense"' in client.get("/staff/payments/suspense/").content.decode()


def test_cash_desk_takes_a_payment_with_readings_and_prints_the_receipt(household):
    account, contract, one, two = household
    cashier = staff_login("Кассир", username="kassir1")
    client = logged(cashier)
    found = client.get("/staff/payments/desk/", {"number": account.number})
    assert found["Location"] == f"/staff/payments/desk/{account.number}/"
    assert client.get("/staff/payments/desk/", {"number": "1"}).status_code == 400
    page = client.get(found["Location"]).content.decode()
    assert "11000" in page and 'id="desk-balance"' in page
    assert AuditEntry.objects.filter(action="payments.desk_view", account_number=account.number).exists()
    response = client.post(
        found["Location"],
        {
            "amount": "2200,00",
            "period": "",
            "payer": "",
            f"m{one.pk}_1": "11250",
            f"m{two.pk}_1": "45100",
            f"m{two.pk}_2": "",
        },
    )
    payment = Payment.objects.get()
    assert response["Location"] == f"/staff/payments/{payment.pk}/"
    assert (payment.channel, payment.amount, payment.actor_label) == ("office", Decimal("2200.00"), "kassir1")
    assert balance(account) == Decimal("0.00")
    taken = Reading.objects.filter(channel="office").order_by("meter_id")
    assert [(r.meter_id, r.status, r.source) for r in taken] == [
        (one.pk, "accepted", f"payment:{payment.pk}"),
        (two.pk, "rejected", f"payment:{payment.pk}"),
    ]
    detail = client.get(response["Location"]).content.decode()
    assert 'id="receipt-link"' in detail and "11250" in detail
    pdf = client.get(f"/staff/payments/{payment.pk}/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content).replace("\u00a0", " ")
    for expected in (account.number, "2 200,00", "11250", one.serial, "электроэнергия", "kassir1"):
        assert expected in text, expected
    bad = client.post(found["Location"], {"amount": "-5"})
    assert bad.status_code == 400 and Payment.objects.count() == 1


def _pdf_text(data: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def test_receipt_data_names_what_the_standard_requires(household):
    account, contract, one, _two = household
    from sbyt.payments.queries import receipt
    from sbyt.payments.services import take_office_payment

    result = take_office_payment(
        account=account,
        amount="500",
        actor=staff_login("Кассир"),
        period=dt.date(2026, 10, 1),
        readings={one.pk: ["11300"]},
    )
    data = receipt(result.payment)
    assert (data.account, data.period, data.amount, data.balance_after) == (
        account.number,
        dt.date(2026, 10, 1),
        Decimal("500.00"),
        Decimal("1700.00"),
    )
    assert data.services == ["электроэнергия"]
    assert [(r.serial, r.values) for r in data.readings] == [(one.serial, (11300,))]


def test_refund_is_a_new_document(household):
    account, *_ = household
    from sbyt.payments.services import take_office_payment

    payment = take_office_payment(account=account, amount="1000", actor=staff_login("Кассир")).payment
    cashier = logged(staff_login("Кассир"))
    assert cashier.post(f"/staff/payments/{payment.pk}/", {"amount": "1", "reason": "x"}).status_code == 403
    accountant = logged(staff_login("Бухгалтер по платежам"))
    key = str(accountant.get(f"/staff/payments/{payment.pk}/").context["form"]["key"].value())
    too_much = accountant.post(
        f"/staff/payments/{payment.pk}/", {"amount": "1000,01", "reason": "ошибка кассира", "key": key}
    )
    assert too_much.status_code == 400
    response = accountant.post(
        f"/staff/payments/{payment.pk}/", {"amount": "400", "reason": "ошибка кассира", "key": key}
    )
    refund = Payment.objects.get(kind="refund")
    assert response["Location"] == f"/staff/payments/{refund.pk}/"
    assert (refund.refund_of, refund.amount) == (payment, Decimal("400.00"))
    payment.refresh_from_db()
    assert payment.amount == Decimal("1000.00")  # untouched
    assert balance(account) == Decimal("1600.00")


def test_debt_registry_download(household):
    account, *_ = household
    client = logged(staff_login("Бухгалтер по платежам"))
    response = client.post("/staff/payments/debt-registry/", {"branch": account.branch.pk})
    assert response.status_code == 200 and "windows-1251" in response["Content-Type"]
    assert response.content.decode("cp1251").startswith(f"{account.number};")


# --- API v1 ---------------------------------------------------------------------------------------------------------


def test_api_pays_shows_the_order_and_the_history(household, django_capture_on_commit_callbacks):
    account, *_ = household
    user = client_login(account, email="app@example.ru")
    client, auth = _bearer(user)
    created = client.post(
        "/api/v1/payments",
        json.dumps(
            {
                "items": [{"number": account.number, "amount": "200.00"}],
                "method": "card",
                "return_url": "myapp://paid/{token}",
            }
        ),
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "pending" and body["confirmation_url"].startswith("/pay/sandbox/")
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(body["confirmation_url"], {"outcome": "success"})
    state = client.get(f"/api/v1/payments/orders/{body['token']}", **auth).json()
    assert state["status"] == "succeeded"
    history = client.get(f"/api/v1/payments/accounts/{account.number}", **auth).json()
    assert [(p["channel"], p["amount"]) for p in history] == [("card", "200.00")]
    other = AccountFactory()
    refused = client.post(
        "/api/v1/payments",
        json.dumps({"items": [{"number": other.number, "amount": "1"}], "return_url": "x"}),
        content_type="application/json",
        **auth,
    )
    assert refused.status_code == 404
    assert client.get(f"/api/v1/payments/accounts/{account.number}").status_code == 401
    stranger, stranger_auth = _bearer(client_login(AccountFactory()))
    assert stranger.get(f"/api/v1/payments/orders/{body['token']}", **stranger_auth).status_code == 404


def test_api_autopay_state_and_cancel(household):
    account, *_ = household
    user = client_login(account)
    client, auth = _bearer(user)
    url = f"/api/v1/payments/accounts/{account.number}/autopay"
    assert client.get(url, **auth).json() is None
    assert client.delete(url, **auth).status_code == 404
    AutopayMandate.objects.create(
        account=account,
        user=user,
        provider="sandbox",
        payment_method_id="sbx_pm_1",
        limit=Decimal("100"),
        day=5,
        consent_version="2026-11",
        consent_given_at=INSIDE,
        status="active",
    )
    assert client.get(url, **auth).json()["status"] == "active"
    assert client.delete(url, **auth).status_code == 204
    assert AutopayMandate.objects.get().status == "cancelled"


def _bearer(user):
    _row, token = issue_token(user=user)
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
