"""Staff pages of the offices: queue statistics (tables, charts, live hall, XLSX) and the complaints book; who may
see which office."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from sbyt.core.models import AuditEntry
from sbyt.messaging.models import OutboundMessage
from sbyt.offices.complaints import record_complaint_entry
from sbyt.offices.models import ComplaintBookEntry, Service, Ticket
from tests.offices.builders import make_office, make_staff

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
DAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=MSK)
HEAD = "Руководитель офиса"
SPECIALIST = "Специалист офиса"


def at(hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=MSK)


def ticket(office, code, issued, called=None, finished=None, *, status=None, window=None):
    service = Service.objects.get(code=code)
    sequence = Ticket.objects.filter(office=office, service=service, day=DAY).count() + 1
    return Ticket.objects.create(
        office=office,
        service=service,
        day=DAY,
        sequence=sequence,
        number=f"{service.letter}-{sequence:03d}",
        status=status or ("served" if finished else "called" if called else "waiting"),
        issued_at=at(issued),
        called_at=at(called) if called else None,
        started_at=at(called) if called and finished else None,
        finished_at=at(finished) if finished else None,
        window=window,
    )


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def office():
    office = make_office(name="Центральный офис обслуживания")
    window = office.windows.get(number=1)
    ticket(office, "consultation", "09:00", "09:04", "09:12", window=window)  # 4 + 8
    ticket(office, "consultation", "09:02", "09:18", "09:40", window=window)  # 16 + 22: over both norms
    ticket(office, "cash", "09:10", "09:12", "09:15", window=window)  # 2 + 3
    ticket(office, "consultation", "09:45")  # waiting for 15 min at 10:00: over the 10-min norm
    return office


@pytest.fixture
def head(office):
    user = make_staff("head", role=HEAD, email="head@example.ru")
    office.managers.add(user)
    return user


@pytest.fixture
def clerk(office):
    user = make_staff("clerk", role=SPECIALIST, email="clerk@example.ru")
    office.staff.add(user)
    return user


@pytest.fixture
def other_head():
    """The head of another office: the same role, but this office is not theirs."""
    user = make_staff("other-head", role=HEAD, email="other@example.ru")
    make_office(code="ukhta", name="Офис в Ухте").managers.add(user)
    return user


def stats_url(office, **query):
    url = reverse("backoffice:office_stats", args=[office.code])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


# --- statistics -------------------------------------------------------------------------------------------------


def test_statistics_page_shows_the_figures_against_the_norms(client, office, head):
    client.force_login(head)
    response = client.get(stats_url(office, start="2026-03-02", end="2026-03-02"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Центральный офис обслуживания" in html
    # Consultation: waits 4 and 16 → 10,0 (at the norm); service 8 and 22 → 15,0 (over 10).
    table = html.split('id="by-service"')[1].split("</table>")[0]
    consultation = table.split("Консультация</th>")[1].split("</tr>")[0]
    assert "10,0" in consultation and "15,0" in consultation
    assert consultation.count("▲") == 1  # only the service average is over its norm
    assert 'class="num breach"' in consultation
    assert "<svg" in html and 'id="day-chart"' in html and 'id="service-chart"' in html
    assert reverse("backoffice:office_stats_xlsx", args=[office.code]) + "?start=2026-03-02&amp;end=2026-03-02" in html
    # The hall now: 1 waiting for 15 min, over the 10-min norm.
    hall = html.split('id="hall"')[1].split("</section>")[0]
    assert "К-003" in hall and "15" in hall and "▲" in hall


def test_default_period_is_the_last_seven_local_days(client, office, head):
    client.force_login(head)
    response = client.get(stats_url(office))
    assert response.status_code == 200
    assert response.context["report"].start == dt.date(2026, 2, 24)
    assert response.context["report"].end == DAY


def test_a_bad_period_is_answered_without_figures(client, office, head):
    client.force_login(head)
    response = client.get(stats_url(office, start="2026-03-05", end="2026-03-01"))
    assert response.status_code == 400
    assert "report" not in response.context
    assert response.context["form"].non_field_errors()
    assert client.get(stats_url(office, start="2025-01-01", end="2026-03-01")).status_code == 400
    assert client.get(stats_url(office, start="вчера", end="2026-03-01")).status_code == 400


def test_hall_fragment_for_the_refresh(client, office, head):
    client.force_login(head)
    response = client.get(reverse("backoffice:office_hall", args=[office.code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="hall-queues"' in html and "К-003" in html


def test_statistics_permissions(client, office, head, clerk, other_head):
    urls = [
        stats_url(office),
        reverse("backoffice:office_hall", args=[office.code]),
        reverse("backoffice:office_stats_xlsx", args=[office.code]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous → login
    client.force_login(clerk)  # a specialist: no statistics permission
    for url in urls:
        assert client.get(url).status_code == 403, url
    client.force_login(other_head)  # the right role, another office
    for url in urls:
        assert client.get(url).status_code == 404, url
    staff_head = make_staff("staff-head", role=HEAD, email="sh@example.ru")
    office.staff.add(staff_head)  # on the office's staff list, not a manager: still this office
    client.force_login(staff_head)
    assert client.get(urls[0]).status_code == 200
    client.force_login(make_staff("root", email="root@example.ru", is_superuser=True))
    assert client.get(urls[0]).status_code == 200
    assert client.get(reverse("backoffice:office_stats", args=["no-such-office"])).status_code == 404


def test_xlsx_export_opens_and_has_the_numbers(client, office, head):
    client.force_login(head)
    response = client.get(
        reverse("backoffice:office_stats_xlsx", args=[office.code]), {"start": "2026-03-02", "end": "2026-03-02"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="queue-syk-central-20260302-20260302.xlsx"' in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 5
    services = book.worksheets[1]
    assert len([c.value for c in services[1]]) == 17  # the group, 15 figures, «over the norm»
    rows = {row[0].value: row for row in services.iter_rows(min_row=2)}
    consultation = rows["Консультация"]
    wait_avg = consultation[3]
    assert wait_avg.value == pytest.approx(10.0) and wait_avg.number_format == "0.0"
    assert not wait_avg.fill.fgColor.rgb.endswith("F8D7DA")  # at the norm, not over it
    service_avg = consultation[9]
    assert service_avg.value == pytest.approx(15.0) and service_avg.fill.fgColor.rgb.endswith("F8D7DA")
    share = consultation[7]
    assert share.value == pytest.approx(0.5) and share.number_format == "0%"  # 4 ≤ 10, 16 > 10
    assert consultation[1].value == 3 and consultation[2].value == 2  # tickets, called
    assert rows["Оплата в кассе"][3].value == pytest.approx(2.0)
    days = book.worksheets[4]
    assert days["A2"].value.date() == DAY and days["A2"].number_format == "DD.MM.YYYY"
    assert AuditEntry.objects.filter(action="office_stats.export", actor=head).exists()


def test_xlsx_with_a_bad_period_is_a_clear_400(client, office, head):
    client.force_login(head)
    response = client.get(
        reverse("backoffice:office_stats_xlsx", args=[office.code]), {"start": "2026-03-05", "end": "2026-03-01"}
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


# --- the list of offices and the home tile ---------------------------------------------------------------------


def test_offices_list_and_home_tile(client, office, head, other_head):
    client.force_login(head)
    home = client.get(reverse("backoffice:home")).content.decode()
    assert reverse("backoffice:office_reports") in home
    response = client.get(reverse("backoffice:office_reports"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Центральный офис обслуживания" in html and "Офис в Ухте" not in html
    assert reverse("backoffice:office_stats", args=[office.code]) in html
    operator = make_staff("operator", role="Оператор контакт-центра", email="op@example.ru")
    client.force_login(operator)
    assert reverse("backoffice:office_reports") not in client.get(reverse("backoffice:home")).content.decode()
    assert client.get(reverse("backoffice:office_reports")).status_code == 403


# --- complaints book ----------------------------------------------------------------------------------------------


ENTRY = {
    "source": "paper",
    "date": "2026-03-02",
    "time": "09:30",
    "author_name": "Иванов Пётр",
    "contact": "ivanov@example.ru",
    "account_number": "",
    "text": "Не работал терминал оплаты.",
}


def test_a_specialist_records_an_entry_and_it_goes_to_the_head_office(client, office, clerk, settings):
    settings.SBYT_HEAD_OFFICE_EMAIL = "head-office@example.ru"
    client.force_login(clerk)
    url = reverse("backoffice:office_complaint_new", args=[office.code])
    assert client.get(url).status_code == 200
    response = client.post(url, ENTRY)
    assert response.status_code == 302
    entry = ComplaintBookEntry.objects.get()
    assert (entry.number, entry.author_name, entry.recorded_by) == (1, "Иванов Пётр", clerk)
    assert entry.written_at == at("09:30")
    assert entry.sent_to_head_office_at == NOW
    assert OutboundMessage.objects.get(purpose="complaint_book").to == "head-office@example.ru"


def test_bad_entries_are_refused_and_nothing_is_recorded(client, office, clerk):
    client.force_login(clerk)
    url = reverse("backoffice:office_complaint_new", args=[office.code])
    for change in ({"text": ""}, {"author_name": " "}, {"date": "2026-03-03"}, {"account_number": "12345"}):
        response = client.post(url, ENTRY | change)
        assert response.status_code == 400, change
    assert not ComplaintBookEntry.objects.exists()


def test_recording_permissions(client, office, clerk):
    url = reverse("backoffice:office_complaint_new", args=[office.code])
    stranger = make_staff("stranger", role=SPECIALIST, email="s@example.ru")
    make_office(code="ukhta").staff.add(stranger)
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    assert client.post(url, ENTRY).status_code == 404
    operator = make_staff("operator", role="Оператор контакт-центра", email="op@example.ru")
    office.staff.add(operator)
    client.force_login(operator)
    assert client.post(url, ENTRY).status_code == 403
    assert not ComplaintBookEntry.objects.exists()


@pytest.fixture
def entries(office, clerk):
    old = record_complaint_entry(
        office=office,
        author_name="Сидорова Анна",
        text="Прошу открыть второе окно кассы.",
        written_at=NOW - dt.timedelta(days=3),
        account_number="",
        actor=clerk,
    )
    today = record_complaint_entry(office=office, author_name="Петров Илья", text="Спасибо Анне!", actor=clerk)
    return old, today


def test_the_head_reviews_the_daily_list(client, office, head, entries):
    old, today = entries
    client.force_login(head)
    url = reverse("backoffice:office_complaints", args=[office.code])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Сидорова Анна" in html and "Петров Илья" in html
    assert html.index('id="entry-1"') < html.index('id="entry-2"')
    assert AuditEntry.objects.filter(action="complaint_book.view", actor=head).count() == 2
    review = reverse("backoffice:office_complaint_review", args=[office.code, old.number])
    response = client.post(review, {"note": ""})
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.reviewed_at is None
    response = client.post(review, {"note": "Второе окно открыто с 03.03."})
    assert response.status_code == 302 and response["Location"].endswith("#entry-1")
    old.refresh_from_db()
    assert old.reviewed_by == head and old.review_note == "Второе окно открыто с 03.03."
    html = client.get(url).content.decode()
    assert "Второе окно открыто с 03.03." in html  # reviewed today: still on today's list, with the note
    assert review not in html
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        html = client.get(url).content.decode()
    assert "Сидорова Анна" not in html  # reviewed, and not of that day: off the list
    assert "Петров Илья" in html  # never reviewed: stays until it is


def test_sending_an_entry_kept_while_no_address_was_set(client, office, head, entries, settings):
    old, _today = entries
    assert old.sent_to_head_office_at is None
    settings.SBYT_HEAD_OFFICE_EMAIL = "head-office@example.ru"
    client.force_login(head)
    response = client.post(reverse("backoffice:office_complaint_send", args=[office.code, old.number]))
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.sent_to_head_office_at == NOW


def test_complaints_review_permissions(client, office, clerk, other_head, entries):
    old, _today = entries
    list_url = reverse("backoffice:office_complaints", args=[office.code])
    review = reverse("backoffice:office_complaint_review", args=[office.code, old.number])
    client.force_login(clerk)  # records, but does not review
    assert client.get(list_url).status_code == 403
    assert client.post(review, {"note": "Рассмотрено"}).status_code == 403
    client.force_login(other_head)
    assert client.get(list_url).status_code == 404
    assert client.post(review, {"note": "Рассмотрено"}).status_code == 404
    old.refresh_from_db()
    assert old.reviewed_at is None
    assert not AuditEntry.objects.filter(action="complaint_book.view").exists()
