"""Public pages of the office directory (/offices/, /offices/<code>/, /contacts/) and the offices admin."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils.translation import gettext as _

from sbyt.customers.models import Branch
from sbyt.metering.models import ReadingWindow
from sbyt.offices import directory
from sbyt.offices.models import Office, OfficeDay
from tests.offices.builders import make_office, make_staff

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")
# Wednesday 25 November 2026, 10:00 in Moscow.
WEDNESDAY_10 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=MOSCOW)


@pytest.fixture
def loaded():
    directory.load_directory(directory.read_directory_file(), actor="test")


def text_of(response) -> str:
    """The page's visible text with tags stripped and whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the list -----------------------------------------------------------------------------------------------


@time_machine.travel(WEDNESDAY_10, tick=False)
def test_the_list_shows_every_office_without_login(client, loaded):
    response = client.get(reverse("portal:offices"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="office-card"') == 133
    assert "Октябрьский участок Мурманского отделения" in page
    assert 'href="/offices/kola-04/"' in page
    assert 'list="towns"' in page and '<option value="Мурманск">' in page
    # Murmansk on a Wednesday: 9–17 with lunch 13–14.
    expected = _("Open until %(time)s, break %(starts)s–%(ends)s") % {
        "time": "17:00",
        "starts": "13:00",
        "ends": "14:00",
    }
    assert expected in page


@time_machine.travel(WEDNESDAY_10, tick=False)
def test_search_by_town_and_function(client, loaded):
    response = client.get(reverse("portal:offices"), {"town": "мурманск", "function": "payments"})
    page = response.content.decode()
    assert page.count('class="office-card"') == 1
    assert "Октябрьский участок" in page
    response = client.get(reverse("portal:offices"), {"town": "Кола"})
    assert response.content.decode().count('class="office-card"') == 1


def test_open_now_filter_follows_the_lunch_break(client, loaded):
    # 12:30 in Moscow: Kursk's district offices are at lunch (12–13), the Kursk city office has no break.
    with time_machine.travel(dt.datetime(2026, 11, 25, 12, 30, tzinfo=MOSCOW), tick=False):
        page = client.get(reverse("portal:offices"), {"branch": "46", "open_now": "on"}).content.decode()
    assert page.count('class="office-card"') == 2
    assert "/offices/kursk-01/" in page and "/offices/kursk-02/" in page
    with time_machine.travel(dt.datetime(2026, 11, 25, 13, 30, tzinfo=MOSCOW), tick=False):
        page = client.get(reverse("portal:offices"), {"branch": "46", "open_now": "on"}).content.decode()
    assert page.count('class="office-card"') == 29


def test_open_now_on_a_holiday_finds_nothing(client, loaded):
    with time_machine.travel(dt.datetime(2027, 1, 5, 11, 0, tzinfo=MOSCOW), tick=False):
        response = client.get(reverse("portal:offices"), {"open_now": "on"})
    assert 'class="office-card"' not in response.content.decode()
    assert response.status_code == 200


def test_a_bad_filter_is_dropped_and_the_others_still_apply(client, loaded):
    response = client.get(reverse("portal:offices"), {"function": "massage", "branch": "99", "town": "Кола"})
    assert response.status_code == 200
    assert response.content.decode().count('class="office-card"') == 1


# --- an office ----------------------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 11, 25, 13, 20, tzinfo=MOSCOW), tick=False)
def test_office_page_shows_contacts_hours_and_status(client, loaded):
    response = client.get(reverse("portal:office", args=["kola-02"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "183038, г. Мурманск, ул. Коминтерна, д. 5" in page
    assert 'href="tel:+78152692307"' in page  # договорный отдел
    assert "+7 (815 2) 69-25-57" in page and 'href="tel:+78152692557"' not in page  # a fax is not a tel: link
    assert _("Break until %(time)s") % {"time": "14:00"} in page
    assert "09:00–18:00" in page and "09:00–17:00" in page and "13:00–14:00" in page
    assert f"<li>{_('Businesses')}</li>" in page and f"<li>{_('Individuals')}</li>" not in page
    assert "/book/?office=" not in page  # no appointments here


@time_machine.travel(WEDNESDAY_10, tick=False)
def test_office_page_of_a_queue_office_offers_booking_and_lists_services(client):
    make_office(code="syk-demo", has_queue=True, accepts_appointments=True)
    page = client.get(reverse("portal:office", args=["syk-demo"])).content.decode()
    assert 'href="/book/?office=syk-demo"' in page
    assert "Консультация и оплата" in page


def test_office_page_shows_todays_special_day(client):
    office = make_office(code="syk-demo")
    OfficeDay.objects.create(office=office, date=dt.date(2026, 11, 25), closed=True, reason="Санитарный день")
    with time_machine.travel(WEDNESDAY_10, tick=False):
        text = text_of(client.get(reverse("portal:office", args=["syk-demo"])))
    assert "Санитарный день" in text
    assert _("Closed, opens tomorrow at %(time)s") % {"time": "09:00"} in text


def test_office_page_in_the_office_time_zone(client):
    make_office(code="izh-demo", branch_code="18", time_zone="Europe/Samara")
    # 08:30 in Moscow is 09:30 in Izhevsk: open there.
    with time_machine.travel(dt.datetime(2026, 11, 25, 8, 30, tzinfo=MOSCOW), tick=False):
        text = text_of(client.get(reverse("portal:office", args=["izh-demo"])))
    assert (
        _("Open until %(time)s, break %(starts)s–%(ends)s") % {"time": "18:00", "starts": "13:00", "ends": "14:00"}
        in text
    )
    assert "09:30" in text
    assert _("Moscow time %(offset)+d h") % {"offset": 1} in text


def test_unknown_or_inactive_office_is_404(client):
    make_office(code="closed-office", is_active=False)
    assert client.get(reverse("portal:office", args=["nope"])).status_code == 404
    assert client.get(reverse("portal:office", args=["closed-office"])).status_code == 404


# --- contacts -----------------------------------------------------------------------------------------------


def test_contacts_show_the_contact_centre_hours_in_the_branch_zone(client, loaded):
    ReadingWindow.objects.create(branch=Branch.objects.get(code="18"), first_day=15, last_day=25)
    # 19:30 in Moscow = 20:30 in Izhevsk: the Udmurt contact centre (8–20 local) has closed.
    with time_machine.travel(dt.datetime(2026, 11, 25, 19, 30, tzinfo=MOSCOW), tick=False):
        response = client.get(reverse("portal:contacts"), {"branch": "18"})
        moscow = text_of(client.get(reverse("portal:contacts"), {"branch": "51"}))
    assert response.status_code == 200
    text = text_of(response)
    assert 'href="tel:88007001032"' in response.content.decode()
    assert "для физических лиц" in text
    assert _("Closed, opens tomorrow at %(time)s") % {"time": "08:00"} in text
    assert "08:00–20:00" in text and "09:00–14:00" in text
    assert "udm@esplus.ru" in text and "426063, г. Ижевск" in text
    assert "ПС 102057522 11638" in text
    assert "15" in text and "25" in text  # the branch's readings window
    assert _("Open until %(time)s") % {"time": "20:00"} in moscow  # Murmansk is on Moscow time


def test_contacts_for_a_branch_not_in_the_file_use_the_standard_hours(client):
    Branch.objects.create(code="11", name="Коми", time_zone="Europe/Moscow", contact_phones="8-800-200-83-81")
    with time_machine.travel(dt.datetime(2026, 11, 28, 12, 0, tzinfo=MOSCOW), tick=False):  # a Saturday
        text = text_of(client.get(reverse("portal:contacts")))
    assert _("Open until %(time)s") % {"time": "14:00"} in text
    assert "8-800-200-83-81" in text


def test_contacts_unknown_branch_is_404(client, loaded):
    assert client.get(reverse("portal:contacts"), {"branch": "nope"}).status_code == 404


def test_contacts_with_no_branches_at_all(client):
    assert client.get(reverse("portal:contacts")).status_code == 200


def test_the_site_menu_links_to_offices(client, loaded):
    page = client.get(reverse("portal:index")).content.decode()
    assert 'href="/offices/"' in page


# --- the admin ----------------------------------------------------------------------------------------------


ADMIN_PAGES = [
    "admin:offices_office_changelist",
    "admin:offices_officehours_changelist",
    "admin:offices_officeday_changelist",
    "admin:offices_window_changelist",
    "admin:offices_service_changelist",
    "admin:offices_ticket_changelist",
    "admin:offices_appointment_changelist",
    "admin:offices_complaintbookentry_changelist",
]


def test_admin_pages_need_staff(client, loaded):
    for name in ADMIN_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert "login" in response["Location"]


def test_a_branch_administrator_edits_offices_in_the_admin(client, loaded):
    admin = make_staff("branch-admin", role="Администратор филиала")
    client.force_login(admin)
    for name in ADMIN_PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    office = Office.objects.get(code="kola-04")
    page = client.get(reverse("admin:offices_office_change", args=[office.pk])).content.decode()
    assert "Октябрьский участок" in page
    assert "hours-TOTAL_FORMS" in page and "special_days-TOTAL_FORMS" in page and "windows-TOTAL_FORMS" in page
    filtered = client.get(reverse("admin:offices_office_changelist"), {"branch__id__exact": office.branch_id})
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 24


def test_an_office_specialist_cannot_edit_the_directory(client, loaded):
    client.force_login(make_staff("specialist"))
    assert client.get(reverse("admin:offices_office_changelist")).status_code == 403
    assert client.get(reverse("admin:offices_ticket_changelist")).status_code == 200  # may look at tickets


def test_a_superuser_sees_every_offices_model_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    index = client.get(reverse("admin:app_list", args=["offices"])).content.decode()
    for model in (
        "office", "officefunction", "officehours", "officeday", "service", "prioritycategory", "window", "ticket",
        "windowevent", "appointment", "videospecialist", "videohours", "complaintbookentry",
    ):  # fmt: skip
        assert f"/admin/offices/{model}/" in index, model
