"""Settings: password, e-mail with a code by e-mail, phone with an SMS code."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from sbyt.users.backends import find_login
from sbyt.users.models import OneTimeCode, User
from tests.factories import UserFactory

from .conftest import code_from

pytestmark = pytest.mark.django_db

URL = reverse("portal:settings")
PASSWORD = "Secret-pass-42"


def test_settings_page_has_the_three_forms(logged_in):
    response = logged_in.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("pw-old_password", "pw-password1", "pw-password2", "em-email", "ph-phone"):
        assert f'name="{name}"' in html
        assert f'<label for="id_{name}">' in html


def test_change_password(logged_in, home):
    response = logged_in.post(
        URL,
        {
            "action": "password",
            "pw-old_password": PASSWORD,
            "pw-password1": "New-lamp-2026",
            "pw-password2": "New-lamp-2026",
        },
    )
    assert response.status_code == 302
    home.user.refresh_from_db()
    assert home.user.check_password("New-lamp-2026")
    assert logged_in.get(reverse("portal:home")).status_code == 200  # still logged in


@pytest.mark.parametrize(
    "data",
    [
        {"pw-old_password": "wrong", "pw-password1": "New-lamp-2026", "pw-password2": "New-lamp-2026"},
        {"pw-old_password": PASSWORD, "pw-password1": "New-lamp-2026", "pw-password2": "Other-lamp-2026"},
        {"pw-old_password": PASSWORD, "pw-password1": "12345678", "pw-password2": "12345678"},
        {},
    ],
)
def test_bad_password_change_changes_nothing(logged_in, home, data):
    response = logged_in.post(URL, {"action": "password", **data})
    assert response.status_code == 200
    assert response.context["password_form"].errors
    assert 'role="alert"' in response.content.decode()
    home.user.refresh_from_db()
    assert home.user.check_password(PASSWORD)


def test_password_change_clears_the_temporary_password_flag(logged_in, home):
    User.objects.filter(pk=home.user.pk).update(must_change_password=True)
    logged_in.post(
        URL,
        {
            "action": "password",
            "pw-old_password": PASSWORD,
            "pw-password1": "New-lamp-2026",
            "pw-password2": "New-lamp-2026",
        },
    )
    home.user.refresh_from_db()
    assert not home.user.must_change_password


def mail_code() -> str:
    return re.search(r"\b\d{6}\b", mail.outbox[-1].body).group(0)


def test_change_email_with_a_code(logged_in, home, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(URL, {"action": "email", "em-email": "Maria@Example.org"})
    assert response.status_code == 302
    assert response["Location"].endswith("#email")
    assert mail.outbox[-1].to == ["maria@example.org"]
    home.user.refresh_from_db()
    assert home.user.email is None  # not before the code, and no login by it either
    assert find_login("maria@example.org") is None
    page = logged_in.get(URL).content.decode()
    assert "maria@example.org" in page
    assert 'name="emcode-code"' in page
    assert '<label for="id_emcode-code">' in page
    assert 'name="em-email"' not in page
    response = logged_in.post(URL, {"action": "email_code", "emcode-code": mail_code()})
    assert response.status_code == 302
    home.user.refresh_from_db()
    assert home.user.email == "maria@example.org"
    assert 'name="em-email"' in logged_in.get(URL).content.decode()
    assert find_login("maria@example.org") == home.user


def test_wrong_email_code_changes_nothing(logged_in, home, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(URL, {"action": "email", "em-email": "maria@example.org"})
    right = mail_code()
    response = logged_in.post(URL, {"action": "email_code", "emcode-code": "000000" if right != "000000" else "111111"})
    assert response.status_code == 200
    assert "Неверный код" in response.content.decode()
    assert "code" in response.context["email_code_form"].errors
    home.user.refresh_from_db()
    assert home.user.email is None


def test_email_code_without_a_pending_change_does_nothing(logged_in, home):
    response = logged_in.post(URL, {"action": "email_code", "emcode-code": "123456"})
    assert response.status_code == 200
    home.user.refresh_from_db()
    assert home.user.email is None


def test_email_change_can_be_cancelled(logged_in, home, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(URL, {"action": "email", "em-email": "maria@example.org"})
    assert logged_in.post(URL, {"action": "email_cancel"}).status_code == 302
    assert 'name="em-email"' in logged_in.get(URL).content.decode()
    home.user.refresh_from_db()
    assert home.user.email is None


def test_remove_email_needs_no_code(logged_in, home):
    User.objects.filter(pk=home.user.pk).update(email="maria@example.org")
    assert logged_in.post(URL, {"action": "email", "em-email": ""}).status_code == 302
    home.user.refresh_from_db()
    assert home.user.email is None
    assert mail.outbox == []


def test_empty_email_without_one_on_file_is_an_error(logged_in, home):
    response = logged_in.post(URL, {"action": "email", "em-email": ""})
    assert response.status_code == 200
    assert "email" in response.context["email_form"].errors


@pytest.mark.parametrize("email", ["not-an-email", "taken@example.org"])
def test_bad_email_changes_nothing(logged_in, home, email, django_capture_on_commit_callbacks):
    UserFactory(email="taken@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(URL, {"action": "email", "em-email": email})
    assert response.status_code == 200
    assert "email" in response.context["email_form"].errors
    assert 'role="alert"' in response.content.decode()
    assert mail.outbox == []
    assert not OneTimeCode.objects.exists()
    home.user.refresh_from_db()
    assert home.user.email is None


def test_email_codes_are_rate_limited(logged_in, home, settings, django_capture_on_commit_callbacks):
    settings.RATELIMIT_CODES = "2/h"
    with django_capture_on_commit_callbacks(execute=True):
        for address in ("a1@example.org", "a2@example.org"):
            assert logged_in.post(URL, {"action": "email", "em-email": address}).status_code == 302
        response = logged_in.post(URL, {"action": "email", "em-email": "a3@example.org"}, REMOTE_ADDR="198.51.100.3")
    assert response.status_code == 429  # per login, whatever the address
    assert len(mail.outbox) == 2
    home.user.refresh_from_db()
    assert home.user.email is None


def test_settings_need_a_login(client):
    response = client.post(URL, {"action": "email", "em-email": "maria@example.org"})
    assert response.status_code == 302
    assert reverse("portal:login") in response["Location"]
    assert mail.outbox == []


def test_change_phone_with_a_code(logged_in, home, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(URL, {"action": "phone", "ph-phone": "8 912 777-88-99"})
    assert response.status_code == 302
    assert sms_outbox[-1]["to"] == "+79127778899"
    page = logged_in.get(URL).content.decode()
    assert "+7 912 ***-**-99" in page
    assert 'name="code-code"' in page
    response = logged_in.post(URL, {"action": "phone_code", "code-code": code_from(sms_outbox)})
    assert response.status_code == 302
    home.user.refresh_from_db()
    assert home.user.phone == "+79127778899"
    assert 'name="ph-phone"' in logged_in.get(URL).content.decode()


def test_wrong_phone_code_changes_nothing(logged_in, home, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(URL, {"action": "phone", "ph-phone": "+79127778899"})
    right = code_from(sms_outbox)
    response = logged_in.post(URL, {"action": "phone_code", "code-code": "000000" if right != "000000" else "111111"})
    assert response.status_code == 200
    assert "Неверный код" in response.content.decode()
    home.user.refresh_from_db()
    assert home.user.phone is None


def test_phone_change_can_be_cancelled(logged_in, home, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(URL, {"action": "phone", "ph-phone": "+79127778899"})
    logged_in.post(URL, {"action": "phone_cancel"})
    assert 'name="ph-phone"' in logged_in.get(URL).content.decode()


@pytest.mark.parametrize("phone", ["12345", "+1 202 555 0100"])
def test_bad_phone_sends_nothing(logged_in, home, sms_outbox, phone):
    response = logged_in.post(URL, {"action": "phone", "ph-phone": phone})
    assert response.status_code == 200
    assert response.context["phone_form"].errors
    assert not sms_outbox
    assert not OneTimeCode.objects.exists()


def test_phone_of_another_login_is_refused(logged_in, home, sms_outbox):
    UserFactory(phone="+79127778899")
    response = logged_in.post(URL, {"action": "phone", "ph-phone": "+79127778899"})
    assert response.status_code == 200
    assert "уже используется" in response.content.decode()
    assert not sms_outbox


def test_phone_codes_are_rate_limited(logged_in, home, sms_outbox, settings, django_capture_on_commit_callbacks):
    settings.RATELIMIT_CODES = "2/h"
    with django_capture_on_commit_callbacks(execute=True):
        for phone in ("+79127778801", "+79127778802"):
            assert logged_in.post(URL, {"action": "phone", "ph-phone": phone}).status_code == 302
        response = logged_in.post(URL, {"action": "phone", "ph-phone": "+79127778803"}, REMOTE_ADDR="198.51.100.3")
    assert response.status_code == 429  # per login, whatever the address
    assert len(sms_outbox) == 2
