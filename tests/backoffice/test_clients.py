"""Client search and the client card: permissions, contents, every look audited, one-time password (CAB-1)."""

import pytest

from sbyt.core.models import AuditEntry
from sbyt.customers.models import AccountAccess
from tests.factories import AccountFactory, ContractFactory, CustomerFactory, PremisesFactory

from .conftest import as_user

pytestmark = pytest.mark.django_db


def card_url(account):
    return f"/staff/clients/{account.number}/"


def password_url(account):
    return f"/staff/clients/{account.number}/password/"


def views_of(account):
    return AuditEntry.objects.filter(
        kind=AuditEntry.Kind.VIEW, action="client_card.view", account_number=account.number
    )


def identify(operator, account):
    """CC-5: the phone operator sees the confidential part of the card after identifying the caller (issue 6)."""
    from sbyt.cases.services import identify_caller

    identify_caller(
        account=account,
        actor=operator,
        caller_name=account.customer.full_name,
        method="name_number",
        relation="owner",
        number=account.number,
    )


def test_card_shows_main_data_contracts_meters_and_last_readings(client, operator, account, meter):
    identify(operator, account)
    response = as_user(client, operator).get(card_url(account))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Иванова Мария Петровна" in html
    assert "17.05.1970" in html
    assert "г. Сыктывкар, ул. Коммунистическая, д. 1, кв. 5" in html
    assert f'id="contract-{meter.contract.number}"' in html
    assert f'id="meter-{meter.pk}"' in html
    assert meter.serial in html
    assert "1000 кВт·ч" in html
    assert "20.10.2026" in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_every_look_at_the_card_is_audited(client, operator, account):
    as_user(client, operator)
    client.get(card_url(account))
    client.get(card_url(account))
    entries = list(views_of(account))
    assert len(entries) == 2
    entry = entries[0]
    assert entry.actor == operator
    assert (entry.target_type, entry.target_id) == ("customers.account", str(account.pk))


def test_unknown_client_number_is_404(client, operator):
    assert as_user(client, operator).get("/staff/clients/999999999/").status_code == 404


@pytest.mark.parametrize("role", ["specialist", "branch_admin"])
def test_other_roles_with_view_account_see_the_card(client, request, account, role):
    assert as_user(client, request.getfixturevalue(role)).get(card_url(account)).status_code == 200


def test_staff_without_the_permission_get_403_and_nothing_is_audited(client, no_role_staff, account):
    as_user(client, no_role_staff)
    assert client.get(card_url(account)).status_code == 403
    assert client.get("/staff/clients/?q=1").status_code == 403
    assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.VIEW).exists()


def test_client_login_is_sent_to_staff_login(client, client_user, account):
    response = as_user(client, client_user).get(card_url(account))
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")
    assert not views_of(account).exists()


def test_search_by_client_number_opens_the_card(client, operator, account):
    response = as_user(client, operator).get("/staff/clients/", {"q": f" {account.number} "})
    assert response.status_code == 302
    assert response["Location"] == card_url(account)
    entry = AuditEntry.objects.get(action="client_search")
    assert (entry.kind, entry.actor, entry.details["query"], entry.details["results"]) == (
        AuditEntry.Kind.VIEW,
        operator,
        account.number,
        1,
    )


def test_search_by_contract_number(client, operator, account, meter):
    response = as_user(client, operator).get("/staff/clients/", {"q": meter.contract.number})
    assert response.status_code == 200
    assert [a.number for a in response.context["results"]] == [account.number]


def test_search_by_surname_in_any_case(client, operator, account):
    other = AccountFactory(customer=CustomerFactory(last_name="Петров", first_name="Иван"))
    PremisesFactory(account=other)
    as_user(client, operator)
    for query in ("иванова", "ИВАНОВА", "Иван", "иванова мария"):
        response = client.get("/staff/clients/", {"q": query})
        assert response.status_code == 200, query
        assert [a.number for a in response.context["results"]] == [account.number], query
    assert [a.number for a in client.get("/staff/clients/", {"q": "петров"}).context["results"]] == [other.number]
    assert AuditEntry.objects.filter(action="client_search").count() == 5


def test_search_lists_several_accounts(client, operator, account):
    second = AccountFactory(customer=account.customer)
    ContractFactory(premises=PremisesFactory(account=second))
    response = as_user(client, operator).get("/staff/clients/", {"q": "Иванова"})
    assert [a.number for a in response.context["results"]] == sorted([account.number, second.number])
    assert 'id="search-results"' in response.content.decode()


def test_search_without_result(client, operator, account):
    response = as_user(client, operator).get("/staff/clients/", {"q": "Сидоров"})
    assert 'id="no-results"' in response.content.decode()
    assert AuditEntry.objects.get(action="client_search").details["results"] == 0


def test_empty_search_shows_the_form_and_audits_nothing(client, operator):
    response = as_user(client, operator).get("/staff/clients/")
    assert response.status_code == 200
    assert 'name="q"' in response.content.decode()
    assert not AuditEntry.objects.filter(action="client_search").exists()


def test_operator_issues_a_one_time_password_shown_once(client, operator, account, client_user):
    identify(operator, account)
    as_user(client, operator)
    assert 'id="issue-password"' in client.get(card_url(account)).content.decode()
    response = client.post(password_url(account))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    password = response.context["password"]
    assert password
    html = response.content.decode()
    assert 'id="one-time-password"' in html
    assert password in html
    client_user.refresh_from_db()
    assert client_user.check_password(password)
    assert client_user.must_change_password
    assert AuditEntry.objects.filter(
        action="login.issue_password", actor=operator, account_number=account.number
    ).exists()
    assert views_of(account).count() == 2  # the card before, and the card that showed the password
    # shown once: the card does not show it again
    assert password not in client.get(card_url(account)).content.decode()


def test_password_for_a_client_without_a_cabinet_creates_the_login(client, branch_admin, account):
    response = as_user(client, branch_admin).post(password_url(account))
    assert response.status_code == 200
    access = AccountAccess.objects.get(account=account)
    assert access.proof == "operator"
    assert access.user.check_password(response.context["password"])


def test_specialist_may_not_issue_passwords(client, specialist, account, client_user):
    as_user(client, specialist)
    assert 'id="issue-password"' not in client.get(card_url(account)).content.decode()
    assert client.post(password_url(account)).status_code == 403
    client_user.refresh_from_db()
    assert client_user.check_password("Secret-pass-42")
    assert not AuditEntry.objects.filter(action="login.issue_password").exists()


def test_issue_password_needs_post_and_staff(client, operator, client_user, account):
    assert client.post(password_url(account)).status_code == 302
    assert as_user(client, client_user).post(password_url(account)).status_code == 302
    assert as_user(client, operator).get(password_url(account)).status_code == 405
    client_user.refresh_from_db()
    assert client_user.check_password("Secret-pass-42")


def test_unknown_account_password_is_404(client, operator):
    assert as_user(client, operator).post("/staff/clients/999999999/password/").status_code == 404


def test_card_shows_the_balance_bills_payments_and_messages_sent(client, operator, account):
    """CC-3: everything about the client on one screen — the balance is the ledger's sum, the latest payments and the
    messages sent to the client's phone or e-mail (and not other clients' messages)."""
    import datetime as dt

    from sbyt.billing.services import post_payment
    from sbyt.messaging.services import send_sms

    identify(operator, account)
    post_payment(
        account=account,
        amount="150.00",
        paid_on=dt.date(2026, 11, 2),
        actor=None,
        document_type="payment",
        document_id="card-test-1",
    )
    send_sms(to=account.customer.phone, text="Показания приняты. Спасибо.", purpose="test")
    send_sms(to="+79990000000", text="Чужое сообщение", purpose="test")
    html = as_user(client, operator).get(card_url(account)).content.decode()
    balance = html[html.index('id="card-balance"') :]
    assert "Переплата: 150,00 ₽" in balance[:300]
    assert 'id="card-bills"' in html and 'id="card-payments"' in html
    assert "Показания приняты. Спасибо." in html and "Чужое сообщение" not in html


def test_card_money_part_stays_hidden_until_the_caller_is_identified(client, operator, account):
    html = as_user(client, operator).get(card_url(account)).content.decode()
    assert 'id="card-balance"' not in html and 'id="card-messages"' not in html
