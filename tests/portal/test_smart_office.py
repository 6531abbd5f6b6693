"""The smart-office terminal (OFF-6): kiosk mode as a session flag with a short server-side life, the start
screen's tiles, ending a session, and the printable account details of the logged-in client only."""

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from sbyt.portal.smart_office_views import KIOSK, KIOSK_SESSION_SECONDS
from tests.factories import staff_login
from tests.offices.builders import make_office

from .conftest import ADDRESS, SURNAME

pytestmark = pytest.mark.django_db

PASSWORD = "Secret-pass-42"  # tests.factories.UserFactory


@pytest.fixture
def office():
    return make_office(code="syk-central", name="Центральный офис обслуживания")


def start(client, office):
    return client.get(reverse("portal:smart_office", args=[office.code]))


def session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_the_start_screen_puts_the_session_in_kiosk_mode(client, office):
    response = start(client, office)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<body class="kiosk-mode">' in html
    assert 'id="kiosk-bar"' in html and "smart_office/kiosk.js" in html
    assert 'data-idle-seconds="120"' in html and 'data-warning-seconds="30"' in html
    assert client.session[KIOSK] == office.code
    assert client.session.get_expiry_age() == KIOSK_SESSION_SECONDS
    assert timezone.now() + dt.timedelta(seconds=KIOSK_SESSION_SECONDS + 5) > session_row(client).expire_date
    for target in ("login", "register", "video", "readings"):
        assert reverse("portal:smart_office_go", args=[office.code, target]) in html
    assert 'id="kiosk-finish"' not in html  # nobody is logged in yet


def test_unknown_or_closed_office_is_404_and_no_kiosk(client, office):
    assert client.get(reverse("portal:smart_office", args=["nowhere"])).status_code == 404
    office.is_active = False
    office.save()
    assert start(client, office).status_code == 404
    assert KIOSK not in client.session


def test_normal_pages_have_no_kiosk_chrome(client, home):
    client.force_login(home.user)
    html = client.get(reverse("portal:home")).content.decode()
    assert "<body>" in html and "kiosk-mode" not in html and "kiosk.js" not in html


def test_tiles_re_enter_kiosk_mode_and_lead_to_the_cabinet_pages(client, office):
    response = client.get(reverse("portal:smart_office_go", args=[office.code, "login"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:login") + "?next=%2Fsmart-office%2Fsession%2Fcabinet%2F"
    assert client.session[KIOSK] == office.code  # even if the terminal's session had expired meanwhile
    response = client.get(reverse("portal:smart_office_go", args=[office.code, "video"]))
    assert response["Location"] == "/book/?office=syk-central&kind=video"
    assert client.get(reverse("portal:smart_office_go", args=[office.code, "register"]))["Location"] == reverse(
        "portal:register"
    )
    assert client.get(reverse("portal:smart_office_go", args=[office.code, "admin"])).status_code == 404


def test_kiosk_mode_survives_the_login_and_shows_the_kiosk_cabinet(client, office, home):
    start(client, office)
    response = client.post(
        reverse("portal:login"),
        {"identifier": home.account.number, "password": PASSWORD, "next": reverse("portal:smart_office_cabinet")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:smart_office_cabinet")
    assert client.session[KIOSK] == office.code
    assert client.session.get_expiry_age() == KIOSK_SESSION_SECONDS
    html = client.get(response["Location"]).content.decode()
    assert '<body class="kiosk-mode">' in html
    assert 'id="kiosk-finish"' in html
    assert reverse("portal:smart_office_print", args=[home.account.number]) in html
    assert "/book/?office=syk-central&amp;kind=video" in html
    # The cabinet's own pages are in kiosk mode too.
    assert (
        '<body class="kiosk-mode">'
        in client.get(reverse("portal:account", args=[home.account.number])).content.decode()
    )


def test_the_server_ends_an_idle_kiosk_session_even_without_javascript(client, office, home):
    start(client, office)
    client.post(reverse("portal:login"), {"identifier": home.account.number, "password": PASSWORD})
    cabinet = reverse("portal:smart_office_cabinet")
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=KIOSK_SESSION_SECONDS - 30)):
        assert client.get(cabinet).status_code == 200  # a kiosk page moves the expiry ahead
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=2 * KIOSK_SESSION_SECONDS - 60)):
        assert client.get(cabinet).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=3 * KIOSK_SESSION_SECONDS)):
        response = client.get(cabinet)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))


def test_keepalive_moves_the_expiry_only_in_kiosk_mode(client, office, home):
    client.force_login(home.user)
    client.post(reverse("portal:smart_office_keepalive"))
    assert client.session.get_expiry_age() != KIOSK_SESSION_SECONDS  # an ordinary session is left alone
    start(client, office)
    before = session_row(client).expire_date
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=120)):
        response = client.post(reverse("portal:smart_office_keepalive"))
    assert response.status_code == 204
    assert session_row(client).expire_date >= before + dt.timedelta(seconds=119)
    assert client.get(reverse("portal:smart_office_keepalive")).status_code == 405


def test_finishing_logs_out_and_returns_to_the_start_screen(client, office, home):
    start(client, office)
    client.post(reverse("portal:login"), {"identifier": home.account.number, "password": PASSWORD})
    response = client.post(reverse("portal:smart_office_finish"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:smart_office", args=[office.code])
    assert "_auth_user_id" not in client.session
    assert client.session[KIOSK] == office.code  # the terminal stays a terminal
    assert client.get(reverse("portal:home")).status_code == 302  # logged out
    assert client.get(reverse("portal:smart_office_finish")).status_code == 405


def test_finishing_outside_kiosk_mode_goes_to_the_public_site(client, home):
    client.force_login(home.user)
    response = client.post(reverse("portal:smart_office_finish"))
    assert response["Location"] == reverse("portal:index")


def test_print_page_shows_the_own_account_details(client, home):
    client.force_login(home.user)
    response = client.get(reverse("portal:smart_office_print", args=[home.account.number]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (home.account.number, SURNAME, ADDRESS, home.contract.number, home.one.serial, "Меркурий 200"):
        assert text in html, text
    assert "smart_office/print.css" in html and "window.print()" in html
    assert "kiosk-mode" not in html  # printing works outside the terminal too


def test_print_page_of_someone_elses_account_is_404(client, home, neighbour):
    client.force_login(home.user)
    for number in (neighbour.account.number, "000000000", "abc"):
        response = client.get(reverse("portal:smart_office_print", args=[number]))
        assert response.status_code == 404, number
        assert neighbour.account.customer.last_name not in response.content.decode()


def test_print_page_and_cabinet_need_a_client_login(client, home):
    urls = [reverse("portal:smart_office_print", args=[home.account.number]), reverse("portal:smart_office_cabinet")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("portal:login"))
    client.force_login(staff_login())
    for url in urls:
        assert client.get(url)["Location"] == reverse("backoffice:home")
