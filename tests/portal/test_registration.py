"""Registration in two steps: client number → SMS code, password and consent → logged in."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from sbyt.customers.models import AccountAccess, Consent
from sbyt.users.models import OneTimeCode
from tests.factories import AccountFactory

from .conftest import code_from, make_household

pytestmark = pytest.mark.django_db

STEP1 = reverse("portal:register")
STEP2 = reverse("portal:register_code")
PASSWORD = "Lamp-Meter-2026"
User = get_user_model()


@pytest.fixture
def household(db):
    return make_household(phone="+79121112233", login=False)


def step2_data(code, **overrides):
    data = {"code": code, "password1": PASSWORD, "password2": PASSWORD, "consent": "on"}
    data.update(overrides)
    return data


def test_full_registration(client, household, sms_outbox, django_capture_on_commit_callbacks):
    assert client.get(STEP1).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(STEP1, {"number": f" {household.account.number} "})
    assert response.status_code == 302
    assert response["Location"] == STEP2
    assert sms_outbox[-1]["to"] == "+79121112233"
    page = client.get(STEP2).content.decode()
    assert "+7 912 ***-**-33" in page  # the masked phone
    assert "+79121112233" not in page
    assert 'name="consent"' in page and 'type="checkbox"' in page
    response = client.post(STEP2, step2_data(code_from(sms_outbox)))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")
    user = User.objects.get()
    assert user.username == household.account.number
    assert AccountAccess.objects.filter(user=user, account=household.account).exists()
    assert Consent.objects.filter(customer=household.account.customer, kind="personal_data").exists()
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200  # logged in
    assert household.account.number in home.content.decode()
    assert client.get(STEP2).status_code == 302  # the state is gone


def test_unknown_client_number(client, db, sms_outbox):
    response = client.post(STEP1, {"number": "999999999"})
    assert response.status_code == 200
    assert "Номер клиента не найден" in response.content.decode()
    assert not sms_outbox and not OneTimeCode.objects.exists()


def test_no_phone_on_file_says_how_to_get_access(client, db, sms_outbox):
    account = AccountFactory(customer__phone="")
    response = client.post(STEP1, {"number": account.number})
    assert response.status_code == 200
    html = response.content.decode()
    assert "8-800-200-83-81" in html
    assert "контакт-центр" in html
    assert not sms_outbox


def test_existing_cabinet_is_not_registered_twice(client, home, sms_outbox):
    response = client.post(STEP1, {"number": home.account.number})
    assert response.status_code == 200
    assert "уже создан" in response.content.decode()
    assert not sms_outbox


def test_step2_without_step1_goes_back(client, db):
    assert client.get(STEP2)["Location"] == STEP1
    assert client.post(STEP2, step2_data("123456"))["Location"] == STEP1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"consent": ""}, "consent"),
        ({"password2": "Other-pass-2026"}, "password2"),
        ({"code": ""}, "code"),
    ],
)
def test_step2_bad_input_creates_nothing(
    client, household, sms_outbox, django_capture_on_commit_callbacks, overrides, field
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(STEP1, {"number": household.account.number})
    data = {k: v for k, v in step2_data(code_from(sms_outbox)).items() if overrides.get(k, v) != ""}
    data.update({k: v for k, v in overrides.items() if v != ""})
    response = client.post(STEP2, data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not User.objects.exists()


def test_wrong_code_and_weak_password_are_answered_by_the_service(
    client, household, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(STEP1, {"number": household.account.number})
    right = code_from(sms_outbox)
    wrong = "000000" if right != "000000" else "111111"
    response = client.post(STEP2, step2_data(wrong))
    assert "Неверный код" in response.content.decode()
    response = client.post(STEP2, step2_data(right, password1="12345678", password2="12345678"))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not User.objects.exists()


def test_send_the_code_again(client, household, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(STEP1, {"number": household.account.number})
    first = code_from(sms_outbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(STEP2, {"resend": "1"})
    assert response.status_code == 302
    assert len(sms_outbox) == 2
    second = code_from(sms_outbox)
    if first != second:  # the first code no longer works
        assert "Неверный код" in client.post(STEP2, step2_data(first)).content.decode()
    response = client.post(STEP2, step2_data(second))
    assert response["Location"] == reverse("portal:home")
    assert User.objects.count() == 1


def test_code_requests_are_rate_limited_per_client_number(
    client, household, sms_outbox, settings, django_capture_on_commit_callbacks
):
    settings.RATELIMIT_CODES = "2/h"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(STEP1, {"number": household.account.number})
        client.post(STEP2, {"resend": "1"})
        response = client.post(STEP2, {"resend": "1"})
    assert response.status_code == 429
    assert len(sms_outbox) == 2
    assert 'role="alert"' in response.content.decode()
    # the limit follows the client number to other addresses too
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(STEP1, {"number": household.account.number}, REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 429
    assert len(sms_outbox) == 2


def test_code_requests_are_rate_limited_per_ip(client, db, sms_outbox, settings, django_capture_on_commit_callbacks):
    settings.RATELIMIT_CODES = "2/h"
    accounts = [AccountFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [client.post(STEP1, {"number": a.number}).status_code for a in accounts]
    assert statuses == [302, 302, 429]
    assert len(sms_outbox) == 2
    assert OneTimeCode.objects.count() == 2
