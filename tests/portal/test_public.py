"""The public site: the index page and readings without login (PUB-2)."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from sbyt.content.models import NewsItem
from sbyt.metering.models import Meter, Reading
from sbyt.metering.services import unknown_client_result
from tests.factories import aware

from .conftest import ADDRESS, SURNAME, make_household

pytestmark = pytest.mark.django_db

LOOKUP = reverse("portal:public_readings")
ENTER = reverse("portal:public_readings_enter")
IN_WINDOW = aware(2026, 11, 20, 12)


def test_index_offers_login_registration_and_public_readings(client, db):
    NewsItem.objects.create(title="Приём показаний с 18 числа", body="Текст", published_at=timezone.now())
    NewsItem.objects.create(title="Ещё не опубликовано", body="Текст", published_at=None)
    response = client.get(reverse("portal:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for url in (reverse("portal:login"), reverse("portal:register"), LOOKUP):
        assert f'href="{url}"' in html
    assert "Приём показаний с 18 числа" in html
    assert "Ещё не опубликовано" not in html
    assert 'href="#main"' in html and 'id="main"' in html  # skip link
    assert "site.css" in html


def test_base_layout_has_site_name_and_contact_centre_phone(client, home):
    html = client.get(reverse("portal:index")).content.decode()
    assert '<html lang="ru">' in html
    assert "Энергосбыт" in html
    assert 'href="tel:88002008381"' in html


def test_the_stylesheet_is_found_by_staticfiles(db):
    path = finders.find("portal/site.css")
    assert path
    css = Path(path).read_text(encoding="utf-8")
    assert "min-height: 44px" in css or "min-height: 48px" in css
    assert ":focus" in css


def lookup(client, number, reference):
    return client.post(LOOKUP, {"number": number, "reference": reference})


@pytest.mark.parametrize(
    "pair",
    [
        lambda h, n: (h.account.number, n.contract.number),  # someone else's contract
        lambda h, n: (h.account.number, n.one.serial),  # someone else's meter
        lambda h, n: ("999999999", h.contract.number),  # unknown client number
        lambda h, n: (h.account.number, "123"),
    ],
)
def test_unknown_pair_gets_the_one_not_found_answer(client, home, neighbour, pair):
    number, reference = pair(home, neighbour)
    response = lookup(client, number, reference)
    assert response.status_code == 200
    html = response.content.decode()
    assert unknown_client_result().message in html
    assert "Номер клиента или договора не найден" in html
    assert SURNAME not in html and "Сидоров" not in html
    assert client.get(ENTER).status_code == 302  # no step 2 without a valid pair


def test_empty_lookup_asks_for_both_numbers(client, home):
    response = lookup(client, "", "")
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"number", "reference"}


def test_valid_pair_by_contract_shows_meters_without_anything_personal(client, home):
    response = lookup(client, home.account.number, home.contract.number)
    assert response.status_code == 302
    assert response["Location"] == ENTER
    with time_machine.travel(IN_WINDOW, tick=False):
        page = client.get(ENTER)
    assert page.status_code == 200
    html = page.content.decode()
    assert SURNAME not in html
    assert home.account.customer.first_name not in html
    assert ADDRESS not in html and "Ухта" not in html
    for meter in (home.one, home.two, home.three):
        assert meter.serial not in html  # only the last digits
        assert "…" + meter.serial[-4:] in html
    assert html.count('inputmode="numeric"') == 6
    assert "1000" in html and "20.10.2026" in html  # previous value and its date (RD-11)
    assert "Полупик" in html


def test_valid_pair_by_meter_serial_shows_only_that_meter(client, home):
    response = lookup(client, home.account.number, home.two.serial.lstrip("0"))
    assert response.status_code == 302
    html = client.get(ENTER).content.decode()
    assert "…" + home.two.serial[-4:] in html
    assert "…" + home.one.serial[-4:] not in html
    assert html.count('inputmode="numeric"') == 2


def test_public_submission_goes_through_the_service(client, home):
    lookup(client, home.account.number, home.contract.number)
    with time_machine.travel(IN_WINDOW, tick=False):
        response = client.post(ENTER, {"m1_z1": "1100", "m2_z1": "3100", "m2_z2": "1400"}, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Показания приняты. Спасибо." in html
    assert "Показание меньше предыдущего" in html  # 1400 < 1500 on the night zone
    assert SURNAME not in html and ADDRESS not in html
    reading = Reading.objects.get(meter=home.one, status="accepted", period=dt.date(2026, 11, 1))
    assert reading.channel == "public"
    assert reading.submitted_by is None
    assert reading.source == "203.0.113.7"
    assert not Reading.objects.filter(meter=home.two, status="accepted", period=dt.date(2026, 11, 1)).exists()


def test_public_form_with_nothing_typed(client, home):
    lookup(client, home.account.number, home.contract.number)
    before = Reading.objects.count()
    response = client.post(ENTER, {})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert Reading.objects.count() == before


def test_public_smart_meter_wording_does_not_reveal_the_serial(client, home):
    Meter.objects.filter(pk=home.one.pk).update(is_smart=True)
    lookup(client, home.account.number, home.contract.number)
    html = client.get(ENTER).content.decode()
    assert "передаёт показания автоматически" in html
    assert home.one.serial not in html


def test_start_again_forgets_the_pair(client, home):
    lookup(client, home.account.number, home.contract.number)
    assert client.get(ENTER).status_code == 200
    client.post(LOOKUP, {"reset": "1"})
    assert client.get(ENTER).status_code == 302


def test_public_lookups_are_rate_limited_per_ip(client, home, settings):
    settings.RATELIMIT_PUBLIC_READINGS = "3/h"
    for _ in range(3):
        assert lookup(client, home.account.number, "1").status_code == 200
    response = lookup(client, home.account.number, home.contract.number)
    assert response.status_code == 429
    assert client.get(ENTER).status_code == 302  # even a right pair is not looked up
    # another address is not limited (for another client number: each number has its own limit too)
    neighbour = make_household(surname="Сидоров")
    other = client.post(
        LOOKUP, {"number": neighbour.account.number, "reference": neighbour.contract.number}, REMOTE_ADDR="198.51.100.1"
    )
    assert other.status_code == 302


def test_public_submissions_are_rate_limited(client, home, settings):
    settings.RATELIMIT_PUBLIC_READINGS = "1/h"
    before = Reading.objects.count()
    with time_machine.travel(IN_WINDOW, tick=False):
        assert lookup(client, home.account.number, home.contract.number).status_code == 302
        response = client.post(ENTER, {"m1_z1": "1100"})
    assert response.status_code == 429
    assert Reading.objects.count() == before


def test_rate_limits_can_be_switched_off(client, home, settings):
    settings.RATELIMIT_PUBLIC_READINGS = "1/h"
    settings.RATELIMIT_ENABLE = False
    for _ in range(3):
        assert lookup(client, home.account.number, "1").status_code == 200
