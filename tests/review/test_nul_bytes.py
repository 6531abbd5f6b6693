"""A NUL character typed anywhere never reaches the database: PostgreSQL refuses such text with an error,
which was a 500 for the API (token, account number, reading values) and the client card of the back office.
The tests look at the SQL sent, so they fail on SQLite too."""

import json
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

from sbyt.metering.models import Reading
from sbyt.users.backends import find_login
from tests.backoffice.conftest import OPERATOR
from tests.factories import staff_login

pytestmark = pytest.mark.django_db

NUL = "\x00"


@pytest.fixture
def lenient_client():
    return Client(raise_request_exception=False)


@contextmanager
def sent_queries(conn):
    """The parameters of every query as the driver gets them (on every backend)."""
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with conn.execute_wrapper(record):
        yield sent


def _flatten(params):
    if isinstance(params, (list, tuple)):
        for item in params:
            yield from _flatten(item)
    elif isinstance(params, dict):
        yield from _flatten(list(params.values()))
    else:
        yield params


def _no_nul_sent(queries) -> bool:
    return all(
        not (isinstance(value, str) and NUL in value) for sql, params in queries for value in _flatten(params or ())
    )


@pytest.mark.parametrize("login", [f"110000001{NUL}", f"a{NUL}@example.org", f"ivanov{NUL}", NUL])
def test_find_login_sends_no_nul_to_the_database(login):
    with sent_queries(connection) as queries:
        assert find_login(login) is None
    assert _no_nul_sent(queries)


def test_api_token_with_nul_in_the_login_is_a_clear_401(lenient_client):
    body = json.dumps({"login": f"maria{NUL}@example.org", "password": "x"})
    with sent_queries(connection) as queries:
        response = lenient_client.post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert _no_nul_sent(queries)


def test_api_account_number_with_nul_is_404(lenient_client, bearer):
    with sent_queries(connection) as queries:
        response = lenient_client.get(f"/api/v1/accounts/1100{NUL}/meters", headers=bearer)
    assert response.status_code == 404
    assert _no_nul_sent(queries)


def test_api_reading_with_nul_is_refused_and_stored_without_it(lenient_client, bearer, account, meter):
    url = f"/api/v1/accounts/{account.number}/meters/{meter.pk}/readings"
    with sent_queries(connection) as queries:
        response = lenient_client.post(
            url, json.dumps({"values": [f"12{NUL}34"]}), content_type="application/json", headers=bearer
        )
    assert response.status_code == 422
    assert response.json()["message"]
    assert _no_nul_sent(queries)
    assert all(NUL not in raw for raw in Reading.objects.values_list("raw", flat=True))


def test_client_card_with_nul_in_the_number_is_404(lenient_client, account):
    lenient_client.force_login(staff_login(OPERATOR))
    with sent_queries(connection) as queries:
        response = lenient_client.get(f"/staff/clients/{account.number}%00/")
    assert response.status_code == 404
    assert _no_nul_sent(queries)
