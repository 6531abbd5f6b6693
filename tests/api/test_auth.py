"""Tokens of the mobile app: issue (shown once, only the hash stored), bearer check, revoke, rate limits."""

import hashlib

import pytest
from django.test import Client

from sbyt.core.models import AuditEntry
from sbyt.users.models import ApiToken
from sbyt.users.services import issue_token
from tests.factories import UserFactory, client_login, staff_login

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"
ACCOUNTS_URL = "/api/v1/accounts"


def post_json(client, url, body, **kwargs):
    return client.post(url, body, content_type="application/json", **kwargs)


def test_login_with_client_number_gives_a_token_stored_only_as_its_hash(client, owner, account):
    response = post_json(client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"})
    assert response.status_code == 200
    body = response.json()
    token = body["token"]
    assert len(token) >= 40
    assert body["must_change_password"] is False
    row = ApiToken.objects.get(user=owner)
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.key_hash, row.channel}
    assert AuditEntry.objects.filter(action="login.token_issue", actor=owner).exists()
    # the token works
    assert client.get(ACCOUNTS_URL, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_each_login_gets_a_new_token(client, owner, account):
    first = post_json(client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"}).json()["token"]
    second = post_json(client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"}).json()["token"]
    assert first != second
    assert ApiToken.objects.filter(user=owner).count() == 2


def test_must_change_password_is_reported(client, account):
    client_login(account, must_change_password=True)
    body = post_json(client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"}).json()
    assert body["must_change_password"] is True


def test_wrong_password_is_refused_and_no_token_made(client, owner, account):
    response = post_json(client, TOKEN_URL, {"login": account.number, "password": "wrong-one"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert set(response.json()) == {"code", "message"}
    assert not ApiToken.objects.exists()


def test_unknown_login_gets_the_same_answer(client, owner):
    response = post_json(client, TOKEN_URL, {"login": "999999999", "password": "Secret-pass-42"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_blocked_login_is_refused(client, account):
    client_login(account, is_active=False)
    response = post_json(client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"})
    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_staff_login_gets_no_token(client):
    staff = staff_login("Оператор контакт-центра", username="operator")
    response = post_json(client, TOKEN_URL, {"login": "operator", "password": "Secret-pass-42"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert not ApiToken.objects.filter(user=staff).exists()


def test_a_staff_token_made_anyhow_does_not_authenticate(client):
    staff = UserFactory()
    _row, raw = issue_token(user=staff)
    staff.is_staff = True
    staff.save()
    assert client.get(ACCOUNTS_URL, headers={"Authorization": f"Bearer {raw}"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"login", "password"}),
        ({"login": "110000000"}, {"password"}),
        ({"login": 110000000, "password": ["x"]}, {"login", "password"}),
        ({"login": "x" * 151, "password": "p"}, {"login"}),
    ],
)
def test_bad_token_request_is_422_with_the_fields_named(client, owner, body, fields):
    response = post_json(client, TOKEN_URL, body)
    assert response.status_code == 422
    data = response.json()
    assert data["code"] == "invalid_request"
    assert data["message"]
    assert {e["field"] for e in data["errors"]} == fields
    for field in fields:
        assert field in data["message"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[" * 100000])
def test_malformed_json_is_422(client, owner, raw):
    response = client.post(TOKEN_URL, raw, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_json"
    assert not ApiToken.objects.exists()


def test_json_that_is_not_an_object_is_422(client, owner):
    response = post_json(client, TOKEN_URL, ["login", "password"])
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


def test_rate_limit_per_login_even_from_other_addresses(client, settings, owner, account):
    settings.RATELIMIT_LOGIN = "3/m"
    for n in range(3):
        response = post_json(client, TOKEN_URL, {"login": account.number, "password": "bad"}, REMOTE_ADDR=f"10.0.0.{n}")
        assert response.status_code == 401
    response = post_json(
        client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"}, REMOTE_ADDR="10.0.1.1"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"
    assert response.json()["message"]
    assert not ApiToken.objects.exists()


def test_rate_limit_per_address_across_logins(client, settings, owner, account):
    settings.RATELIMIT_LOGIN = "3/m"
    for n in range(3):
        post_json(client, TOKEN_URL, {"login": f"55500000{n}", "password": "bad"}, REMOTE_ADDR="10.9.9.9")
    response = post_json(
        client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"}, REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code == 429
    # another address is still served
    response = post_json(
        client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"}, REMOTE_ADDR="10.9.9.8"
    )
    assert response.status_code == 200


def test_phone_formats_share_one_login_limit(client, settings, owner):
    settings.RATELIMIT_LOGIN = "2/m"
    for login in ("+7 912 000-00-01", "89120000001"):
        post_json(client, TOKEN_URL, {"login": login, "password": "bad"}, REMOTE_ADDR=f"10.1.{len(login)}.1")
    response = post_json(client, TOKEN_URL, {"login": "8 (912) 000 00 01", "password": "bad"}, REMOTE_ADDR="10.2.0.1")
    assert response.status_code == 429


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer unknown-token", "Token {token}", "Basic {token}", "Bearer " + "x" * 500],
)
def test_requests_without_a_valid_bearer_token_are_401(client, token, header):
    headers = {"Authorization": header.format(token=token)} if header else {}
    response = client.get(ACCOUNTS_URL, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.json()["message"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_of_a_login_blocked_later_stops_working(client, owner, bearer):
    assert client.get(ACCOUNTS_URL, headers=bearer).status_code == 200
    owner.is_active = False
    owner.save()
    assert client.get(ACCOUNTS_URL, headers=bearer).status_code == 401


def test_a_cabinet_session_is_not_enough(client, owner):
    client.force_login(owner)
    assert client.get(ACCOUNTS_URL).status_code == 401


def test_revoke_current_token(client, owner, token, bearer):
    _other_row, other = issue_token(user=owner)
    response = client.delete(TOKEN_URL, headers=bearer)
    assert response.status_code == 204
    row = ApiToken.objects.get(key_hash=hashlib.sha256(token.encode()).hexdigest())
    assert row.revoked_at is not None
    assert AuditEntry.objects.filter(action="login.token_revoke", actor=owner).count() == 1
    # the revoked token no longer works, nor can it be revoked again; other tokens still work
    assert client.get(ACCOUNTS_URL, headers=bearer).status_code == 401
    assert client.delete(TOKEN_URL, headers=bearer).status_code == 401
    assert client.get(ACCOUNTS_URL, headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_revoke_needs_a_token(client):
    assert client.delete(TOKEN_URL).status_code == 401


def test_bearer_endpoints_need_no_csrf_token(owner, account, token):
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, TOKEN_URL, {"login": account.number, "password": "Secret-pass-42"})
    assert response.status_code == 200
    assert client.delete(TOKEN_URL, headers={"Authorization": f"Bearer {token}"}).status_code == 204
