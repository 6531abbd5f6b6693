"""Log in (client number, linked e-mail or phone), log out, password recovery; their rate limits."""

import re

import pytest
from django.urls import reverse

from sbyt.users.models import User
from tests.factories import staff_login

from .conftest import make_household

pytestmark = pytest.mark.django_db

LOGIN = reverse("portal:login")
RECOVER = reverse("portal:recover")
PASSWORD = "Secret-pass-42"  # tests.factories.UserFactory


def logged_in_user(client):
    return client.session.get("_auth_user_id")


@pytest.mark.parametrize("how", ["number", "email", "phone"])
def test_login_by_client_number_email_or_phone(client, home, how):
    User.objects.filter(pk=home.user.pk).update(email="maria@example.org", phone="+79125550011")
    identifier = {"number": home.account.number, "email": "Maria@Example.org", "phone": "8 (912) 555-00-11"}[how]
    assert client.get(LOGIN).status_code == 200
    response = client.post(LOGIN, {"identifier": identifier, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    assert logged_in_user(client) == str(home.user.pk)


def test_login_page_has_labelled_inputs_and_csrf(client, db):
    html = client.get(LOGIN).content.decode()
    assert '<label for="id_identifier">' in html and '<label for="id_password">' in html
    assert 'autocomplete="current-password"' in html
    assert "csrfmiddlewaretoken" in html
    assert f'href="{RECOVER}"' in html


def test_wrong_password_is_refused(client, home):
    response = client.post(LOGIN, {"identifier": home.account.number, "password": "wrong-one"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert 'role="alert"' in response.content.decode()
    assert logged_in_user(client) is None


def test_empty_login_form(client, db):
    response = client.post(LOGIN, {})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"identifier", "password"}


def test_login_goes_to_the_page_asked_for_but_never_off_site(client, home):
    target = reverse("portal:account", args=[home.account.number])
    response = client.get(target)
    assert response["Location"] == f"{LOGIN}?next={target}"
    response = client.post(f"{LOGIN}?next={target}", {"identifier": home.account.number, "password": PASSWORD})
    assert response["Location"] == target
    client.logout()
    response = client.post(
        LOGIN, {"identifier": home.account.number, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("portal:home")


def test_temporary_password_leads_to_the_password_change(client, home):
    User.objects.filter(pk=home.user.pk).update(must_change_password=True)
    response = client.post(LOGIN, {"identifier": home.account.number, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:settings") + "#password"
    page = client.get(reverse("portal:settings"))
    assert page.status_code == 200
    assert 'class="alert warning"' in page.content.decode()


def test_logout_needs_post(client, home):
    client.force_login(home.user)
    assert client.get(reverse("portal:logout")).status_code == 405
    assert logged_in_user(client) is not None
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:index")
    assert logged_in_user(client) is None


def test_logged_in_pages_offer_a_logout_form(client, home):
    client.force_login(home.user)
    html = client.get(reverse("portal:home")).content.decode()
    assert f'action="{reverse("portal:logout")}"' in html


def test_staff_login_through_the_site_ends_in_the_back_office(client, db):
    staff = staff_login(username="operator")
    response = client.post(LOGIN, {"identifier": "operator", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[0][0] == reverse("portal:home")
    assert ("/staff/", 302) in response.redirect_chain
    assert logged_in_user(client) == str(staff.pk)


def test_login_is_rate_limited_per_identifier(client, home, settings):
    settings.RATELIMIT_LOGIN = "3/m"
    for _ in range(3):
        client.post(LOGIN, {"identifier": home.account.number, "password": "wrong"})
    response = client.post(LOGIN, {"identifier": home.account.number, "password": PASSWORD})
    assert response.status_code == 429
    assert logged_in_user(client) is None
    response = client.post(LOGIN, {"identifier": home.account.number, "password": PASSWORD}, REMOTE_ADDR="198.51.100.2")
    assert response.status_code == 429  # the same login from another address


def test_login_is_rate_limited_per_ip(client, db, settings):
    settings.RATELIMIT_LOGIN = "3/m"
    households = [make_household() for _ in range(4)]
    statuses = [
        client.post(LOGIN, {"identifier": h.account.number, "password": "wrong"}).status_code for h in households
    ]
    assert statuses == [200, 200, 200, 429]


# --- recovery ---------------------------------------------------------------------------------------------


@pytest.fixture
def household(db):
    return make_household(phone="+79124445566", login=False)


def recovery_data(household, **overrides):
    customer = household.account.customer
    data = {
        "full_name": f"{customer.last_name} {customer.first_name} {customer.middle_name}",
        "birth_date": customer.birth_date.strftime("%d.%m.%Y"),
        "number": household.account.number,
        "phone": "8 912 444-55-66",
    }
    data.update(overrides)
    return data


def test_recovery_sends_a_new_password_that_works(client, household, sms_outbox, django_capture_on_commit_callbacks):
    assert client.get(RECOVER).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RECOVER, recovery_data(household))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:recover_done")
    assert client.get(response["Location"]).status_code == 200
    assert sms_outbox[-1]["to"] == "+79124445566"
    password = re.search(r":\s*(\S+?)\.\s", sms_outbox[-1]["text"]).group(1)
    response = client.post(LOGIN, {"identifier": household.account.number, "password": password})
    assert response["Location"] == reverse("portal:settings") + "#password"


@pytest.mark.parametrize(
    "overrides",
    [
        {"full_name": "Петрова Мария Петровна"},
        {"birth_date": "18.05.1970"},
        {"phone": "+7 912 000-00-00"},
        {"number": "999999999"},
    ],
)
def test_recovery_with_data_that_do_not_match(client, household, sms_outbox, overrides):
    response = client.post(RECOVER, recovery_data(household, **overrides))
    assert response.status_code == 200
    assert "не совпадают" in response.content.decode()
    assert not sms_outbox
    assert not User.objects.exists()


def test_recovery_date_must_be_a_date(client, household, sms_outbox):
    response = client.post(RECOVER, recovery_data(household, birth_date="31.02.1970"))
    assert response.status_code == 200
    assert "birth_date" in response.context["form"].errors
    assert not sms_outbox


def test_recovery_is_rate_limited(client, household, sms_outbox, settings, django_capture_on_commit_callbacks):
    settings.RATELIMIT_CODES = "2/h"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RECOVER, recovery_data(household, phone="+7 912 000-00-00"))
        client.post(RECOVER, recovery_data(household, phone="+7 912 000-00-01"))
        response = client.post(RECOVER, recovery_data(household))
    assert response.status_code == 429
    assert not sms_outbox
