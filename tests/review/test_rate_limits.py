"""Rate limits count per IP address AND per identifier, and the identifier cannot be dodged by writing it
another way; every staff login form is limited."""

import pytest
from django.urls import reverse

from sbyt.users.models import OneTimeCode, User
from tests.factories import staff_login
from tests.portal.conftest import make_household

pytestmark = pytest.mark.django_db

LOGIN = reverse("portal:login")
LOOKUP = reverse("portal:public_readings")
STAFF_LOGIN = reverse("backoffice:login")
PASSWORD = "Secret-pass-42"  # tests.factories.UserFactory


def _ip(n: int) -> str:
    return f"198.51.100.{n}"


def test_portal_login_limit_per_phone_holds_whatever_way_the_phone_is_written(client, settings):
    settings.RATELIMIT_LOGIN = "3/m"
    home = make_household()
    User.objects.filter(pk=home.user.pk).update(phone="+79125550011")
    spellings = ["+7 912 555-00-11", "89125550011", "9125550011", "+7(912)5550011"]
    for n, spelling in enumerate(spellings[:3], start=1):
        client.post(LOGIN, {"identifier": spelling, "password": "wrong"}, REMOTE_ADDR=_ip(n))
    response = client.post(LOGIN, {"identifier": spellings[3], "password": PASSWORD}, REMOTE_ADDR=_ip(9))
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_phone_change_codes_limit_per_phone_holds_whatever_way_the_phone_is_written(client, settings):
    settings.RATELIMIT_CODES = "2/h"
    spellings = ["+7 912 000-11-22", "89120001122", "9120001122"]
    statuses = []
    for n, spelling in enumerate(spellings, start=1):
        user = make_household().user
        client.force_login(user)
        response = client.post(
            reverse("portal:settings"), {"action": "phone", "ph-phone": spelling}, REMOTE_ADDR=_ip(n)
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert OneTimeCode.objects.filter(phone="+79120001122").count() == 2


def test_public_lookup_is_limited_per_client_number_across_addresses(client, settings):
    """Guessing the contract or meter number of one client from many addresses is stopped."""
    settings.RATELIMIT_PUBLIC_READINGS = "3/h"
    home = make_household()
    for n in range(1, 4):
        client.post(LOOKUP, {"number": home.account.number, "reference": f"99{n}"}, REMOTE_ADDR=_ip(n))
    response = client.post(
        LOOKUP, {"number": home.account.number, "reference": home.contract.number}, REMOTE_ADDR=_ip(9)
    )
    assert response.status_code == 429
    assert client.get(reverse("portal:public_readings_enter")).status_code == 302
    other = make_household()
    response = client.post(
        LOOKUP, {"number": other.account.number, "reference": other.contract.number}, REMOTE_ADDR=_ip(10)
    )
    assert response.status_code == 302  # another client number is not limited


def test_staff_login_is_limited_per_username_across_addresses(client, settings):
    settings.RATELIMIT_LOGIN = "2/m"
    staff = staff_login(username="operator")
    for n in range(1, 3):
        client.post(STAFF_LOGIN, {"username": "operator", "password": "nope"}, REMOTE_ADDR=_ip(n))
    response = client.post(STAFF_LOGIN, {"username": "Operator ", "password": PASSWORD}, REMOTE_ADDR=_ip(9))
    assert response.status_code == 429
    assert client.session.get("_auth_user_id") != str(staff.pk)


def test_the_admin_has_no_second_unlimited_staff_login(client, settings):
    settings.RATELIMIT_LOGIN = "2/m"
    staff = staff_login(username="operator")
    statuses = [
        client.post("/admin/login/", {"username": "operator", "password": "nope"}).status_code for _ in range(3)
    ]
    response = client.post("/admin/login/?next=/admin/", {"username": "operator", "password": PASSWORD})
    assert client.session.get("_auth_user_id") != str(staff.pk), statuses
    # the admin sends people to the one staff login, keeping where they were going
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{STAFF_LOGIN}?next=/admin/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_staff_login_page_still_leads_to_the_admin(client):
    staff_login(username="boss", is_superuser=True)
    response = client.post(f"{STAFF_LOGIN}?next=/admin/", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_typed_number_cannot_use_up_another_logins_code_limit(rf, settings):
    from sbyt.portal import ratelimits

    settings.RATELIMIT_CODES = "2/h"
    user = type("U", (), {"pk": 5})()
    for _ in range(3):
        request = rf.post("/", REMOTE_ADDR="10.0.0.1")
        ratelimits.too_many(request, ratelimits.CODES, "user:5")
    assert not ratelimits.too_many(rf.post("/", REMOTE_ADDR="10.0.0.2"), ratelimits.CODES, user=user)
