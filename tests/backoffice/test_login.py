"""Staff login: its own page, staff only; everyone else is sent there; a client never gets in."""

import pytest

from .conftest import as_user

pytestmark = pytest.mark.django_db

LOGIN = "/staff/login/"


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_renders_in_russian(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ru">' in html
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'for="id_username"' in html


def test_staff_logs_in_and_lands_on_home(client, operator):
    response = client.post(LOGIN, {"username": operator.username, "password": "Secret-pass-42"})
    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert logged_in(client)
    assert client.get("/staff/").status_code == 200


def test_next_is_honoured(client, operator):
    response = client.post(
        LOGIN, {"username": operator.username, "password": "Secret-pass-42", "next": "/staff/clients/"}
    )
    assert response["Location"] == "/staff/clients/"


def test_a_client_login_with_the_right_password_does_not_get_in(client, client_user, account):
    response = client.post(LOGIN, {"username": account.number, "password": "Secret-pass-42"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not logged_in(client)


def test_wrong_password(client, operator):
    response = client.post(LOGIN, {"username": operator.username, "password": "nope"})
    assert response.status_code == 200
    assert 'id="login-errors"' in response.content.decode()
    assert not logged_in(client)


@pytest.mark.parametrize("url", ["/staff/", "/staff/readings/held/", "/staff/clients/", "/staff/clients/110000000/"])
def test_anonymous_is_sent_to_the_staff_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")


@pytest.mark.parametrize("url", ["/staff/", "/staff/readings/held/", "/staff/clients/", "/staff/clients/{number}/"])
def test_a_logged_in_client_is_sent_to_the_staff_login(client, client_user, account, url):
    response = as_user(client, client_user).get(url.format(number=account.number))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_login_is_rate_limited(client, settings, operator):
    settings.RATELIMIT_LOGIN = "2/m"
    for _n in range(2):
        client.post(LOGIN, {"username": operator.username, "password": "nope"})
    response = client.post(LOGIN, {"username": operator.username, "password": "Secret-pass-42"})
    assert response.status_code == 429
    assert not logged_in(client)
    assert 'id="login-errors"' in response.content.decode()


def test_logout(client, operator):
    as_user(client, operator)
    response = client.post("/staff/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not logged_in(client)


def test_home_links_follow_the_role(client, operator, specialist, no_role_staff, held):
    html = as_user(client, operator).get("/staff/").content.decode()
    assert 'id="tile-clients"' in html
    assert 'id="tile-held"' not in html
    html = as_user(client, specialist).get("/staff/").content.decode()
    assert 'id="tile-held"' in html
    assert 'id="tile-clients"' in html
    assert "/staff/readings/held/" in html
    html = as_user(client, no_role_staff).get("/staff/").content.decode()
    assert 'id="no-role"' in html
    assert 'id="tile-held"' not in html
