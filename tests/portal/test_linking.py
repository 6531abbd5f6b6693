"""Linking another client number to the login: proof by a code sent to that account's phone."""

import pytest
from django.urls import reverse

from sbyt.customers.models import AccountAccess
from tests.factories import AccountFactory, UserFactory

from .conftest import code_from

pytestmark = pytest.mark.django_db

STEP1 = reverse("portal:link")
STEP2 = reverse("portal:link_code")


def wrong(code):
    return "000000" if code != "000000" else "111111"


def test_link_another_account(logged_in, home, neighbour, sms_outbox, django_capture_on_commit_callbacks):
    assert logged_in.get(STEP1).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(STEP1, {"number": neighbour.account.number})
    assert response["Location"] == STEP2
    assert sms_outbox[-1]["to"] == neighbour.account.customer.phone  # the phone on file of that account
    page = logged_in.get(STEP2).content.decode()
    assert neighbour.account.customer.phone not in page
    assert neighbour.account.customer.phone[-2:] in page
    response = logged_in.post(STEP2, {"code": code_from(sms_outbox)})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:account", args=[neighbour.account.number])
    assert AccountAccess.objects.filter(user=home.user, account=neighbour.account).exists()
    assert logged_in.get(response["Location"]).status_code == 200
    assert logged_in.get(STEP2)["Location"] == STEP1


def test_wrong_code_links_nothing(logged_in, home, neighbour, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(STEP1, {"number": neighbour.account.number})
    response = logged_in.post(STEP2, {"code": wrong(code_from(sms_outbox))})
    assert response.status_code == 200
    assert "Неверный код" in response.content.decode()
    assert not AccountAccess.objects.filter(user=home.user, account=neighbour.account).exists()
    assert logged_in.get(reverse("portal:account", args=[neighbour.account.number])).status_code == 404


@pytest.mark.parametrize("which", ["unknown", "own", "no_phone", "empty"])
def test_bad_client_numbers(logged_in, home, sms_outbox, which):
    number = {
        "unknown": "999999999",
        "own": home.account.number,
        "no_phone": AccountFactory(customer__phone="").number,
        "empty": "",
    }[which]
    before = AccountAccess.objects.count()
    response = logged_in.post(STEP1, {"number": number})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not sms_outbox
    assert AccountAccess.objects.count() == before


def test_resend_the_linking_code(logged_in, home, neighbour, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(STEP1, {"number": neighbour.account.number})
        assert logged_in.post(STEP2, {"resend": "1"})["Location"] == STEP2
    assert len(sms_outbox) == 2
    logged_in.post(STEP2, {"code": code_from(sms_outbox)})
    assert AccountAccess.objects.filter(user=home.user, account=neighbour.account).exists()


def test_linking_codes_are_rate_limited(
    logged_in, home, neighbour, sms_outbox, settings, django_capture_on_commit_callbacks
):
    settings.RATELIMIT_CODES = "2/h"
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(STEP1, {"number": neighbour.account.number})
        logged_in.post(STEP2, {"resend": "1"})
        response = logged_in.post(STEP2, {"resend": "1"})
    assert response.status_code == 429
    assert len(sms_outbox) == 2


def test_a_code_issued_to_one_login_does_not_link_for_another(
    client, home, neighbour, sms_outbox, django_capture_on_commit_callbacks
):
    client.force_login(home.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(STEP1, {"number": neighbour.account.number})
    state = client.session["portal.link"]
    stranger = UserFactory()
    client.force_login(stranger)
    session = client.session
    session["portal.link"] = state
    session.save()
    response = client.post(STEP2, {"code": code_from(sms_outbox)})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not AccountAccess.objects.filter(user=stranger).exists()
