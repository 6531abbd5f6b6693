"""Cabinet pages: the accounts list, main data, meters and their history; who may see what."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sbyt.content.models import NewsItem
from sbyt.customers.models import AccountAccess
from sbyt.metering.models import Meter, Reading
from tests.factories import BranchFactory, ReadingFactory, aware, staff_login

from .conftest import ADDRESS, SURNAME

pytestmark = pytest.mark.django_db


def cabinet_urls(account, meter):
    return [
        reverse("portal:home"),
        reverse("portal:settings"),
        reverse("portal:link"),
        reverse("portal:link_code"),
        reverse("portal:account", args=[account.number]),
        reverse("portal:meter", args=[account.number, meter.pk]),
        reverse("portal:readings", args=[account.number]),
    ]


def test_anonymous_visitor_is_sent_to_the_login_page(client, home):
    for url in cabinet_urls(home.account, home.one):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("portal:login") + "?next="), url


def test_staff_are_sent_to_the_back_office(client, home):
    client.force_login(staff_login())
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:home")


def test_home_lists_own_accounts_with_address_and_links(logged_in, home, neighbour):
    response = logged_in.get(reverse("portal:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert home.account.number in html
    assert ADDRESS in html
    assert reverse("portal:account", args=[home.account.number]) in html
    assert reverse("portal:readings", args=[home.account.number]) in html
    assert reverse("portal:link") in html
    assert neighbour.account.number not in html
    assert "Сидоров" not in html


def test_home_shows_several_linked_accounts(logged_in, home, neighbour):
    AccountAccess.objects.create(user=home.user, account=neighbour.account, proof=AccountAccess.Proof.SMS_CODE)
    html = logged_in.get(reverse("portal:home")).content.decode()
    assert home.account.number in html
    assert neighbour.account.number in html


def test_news_feed_shows_published_items_of_own_branch_and_general(logged_in, home):
    other_branch = BranchFactory(code="29", name="Архангельский филиал")
    now = timezone.now()
    NewsItem.objects.create(title="Общая новость", body="Для всех", published_at=now - dt.timedelta(days=1))
    NewsItem.objects.create(
        title="Новость филиала", body="Для нас", published_at=now - dt.timedelta(days=2), branch=home.account.branch
    )
    NewsItem.objects.create(title="Чужой филиал", body="-", published_at=now, branch=other_branch)
    NewsItem.objects.create(title="Будущая новость", body="-", published_at=now + dt.timedelta(days=1))
    NewsItem.objects.create(title="Черновик", body="-", published_at=None)
    html = logged_in.get(reverse("portal:home")).content.decode()
    assert "Общая новость" in html
    assert "Новость филиала" in html
    assert "Чужой филиал" not in html
    assert "Будущая новость" not in html
    assert "Черновик" not in html
    assert html.index("Общая новость") < html.index("Новость филиала")  # newest first


def test_account_page_shows_main_data_contracts_and_meters(logged_in, home):
    Meter.objects.filter(pk=home.two.pk).update(is_smart=True)
    response = logged_in.get(reverse("portal:account", args=[home.account.number]))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        SURNAME,
        home.account.number,
        home.account.branch.name,
        ADDRESS,
        home.contract.number,
        "электроэнергия",  # resource and services provided
        "действует",  # contract status
        "01.01.2020",  # contract start date
        home.one.serial,
        home.two.serial,
        home.three.serial,
        "Меркурий 200",
        "01.01.2036",  # next verification
        "1000",  # last accepted reading of the 1-zone meter
        "день: 3000; ночь: 1500",
        "пик: 500; полупик: 700; ночь: 900",
        "20.10.2026",  # its date
        reverse("portal:meter", args=[home.account.number, home.one.pk]),
    ):
        assert text in html, text
    assert "двухтарифный" in html
    assert "трёхтарифный" in html


def test_account_page_dates_are_in_the_branch_time_zone(logged_in, home):
    branch = home.account.branch
    branch.time_zone = "Asia/Vladivostok"  # UTC+10
    branch.save()
    # 20:00 in Moscow on 20.11 is already 21.11 in Vladivostok.
    ReadingFactory(meter=home.one, period=dt.date(2026, 11, 1), t1=1100, received_at=aware(2026, 11, 20, 20))
    html = logged_in.get(reverse("portal:account", args=[home.account.number])).content.decode()
    assert "1100" in html
    assert "21.11.2026" in html


def test_meter_history_lists_readings_with_zones_channel_status_and_local_time(logged_in, home):
    ReadingFactory(
        meter=home.two,
        period=dt.date(2026, 11, 1),
        t1=3100,
        t2=1550,
        received_at=aware(2026, 11, 20, 23, tz="UTC"),
        channel="sms",
        status=Reading.Status.HELD,
    )
    ReadingFactory(meter=home.two, t1=1, t2=1, status=Reading.Status.REJECTED, reason="lower_than_previous")
    response = logged_in.get(reverse("portal:meter", args=[home.account.number, home.two.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "ноябрь 2026" in html and "октябрь 2026" in html
    assert "день: 3100; ночь: 1550" in html
    assert "21.11.2026 02:00" in html  # 23:00 UTC is 02:00 next day in Moscow
    assert "SMS" in html and "личный кабинет" in html
    assert "на проверке" in html and "принято" in html
    assert "день: 1; ночь: 1" not in html  # refused submissions are not the meter's history


def test_meter_history_of_a_meter_without_readings(logged_in, home):
    Reading.objects.filter(meter=home.one).delete()
    response = logged_in.get(reverse("portal:meter", args=[home.account.number, home.one.pk]))
    assert response.status_code == 200


def test_someone_elses_account_and_meters_are_not_found(logged_in, home, neighbour):
    own, other = home.account.number, neighbour.account.number
    before = Reading.objects.count()
    urls = [
        reverse("portal:account", args=[other]),
        reverse("portal:readings", args=[other]),
        reverse("portal:account", args=["999999999"]),
        reverse("portal:readings", args=["999999999"]),
    ]
    for meter in (neighbour.one, neighbour.two, neighbour.three):
        urls.append(reverse("portal:meter", args=[other, meter.pk]))
        urls.append(reverse("portal:meter", args=[own, meter.pk]))  # own account, someone else's meter
    urls.append(reverse("portal:meter", args=[own, 999999]))
    for url in urls:
        assert logged_in.get(url).status_code == 404, url
    posted = {f"m{neighbour.one.pk}_z1": "1200"}
    assert logged_in.post(reverse("portal:readings", args=[other]), posted).status_code == 404
    # Someone else's meter smuggled into the own account's form is ignored, not submitted.
    response = logged_in.post(reverse("portal:readings", args=[own]), posted)
    assert response.status_code == 200
    assert Reading.objects.count() == before


def test_non_numeric_account_in_url_is_not_a_page(logged_in):
    assert logged_in.get("/cabinet/abc/").status_code == 404
