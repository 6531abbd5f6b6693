"""The complaints book (OFF-7): numbered entries, the copy to the head office, the daily review and its guards."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection

from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.messaging.models import OutboundMessage
from sbyt.offices.complaints import (
    ELECTRONIC,
    record_complaint_entry,
    review_complaint_entry,
    review_list,
    send_complaint_entry,
)
from sbyt.offices.models import ComplaintBookEntry
from tests.factories import AccountFactory
from tests.offices.builders import make_office, make_staff

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=MSK)
HEAD_OFFICE = "kanc@energosbyt.example.ru"


@pytest.fixture(autouse=True)
def _head_office(settings):
    settings.SBYT_HEAD_OFFICE_EMAIL = HEAD_OFFICE


@pytest.fixture
def office():
    return make_office(name="Центральный офис обслуживания")


@pytest.fixture
def clerk(office):
    user = make_staff("clerk", email="clerk@example.ru", first_name="Ольга", last_name="Смирнова")
    office.staff.add(user)
    return user


@pytest.fixture
def head(office):
    user = make_staff("head", role="Руководитель офиса", email="head@example.ru")
    office.managers.add(user)
    return user


def record(office, actor, **fields):
    values = {"author_name": "Иванов Пётр Сергеевич", "text": "Долго ждал в очереди.", "now": NOW} | fields
    return record_complaint_entry(office=office, actor=actor, **values)


def test_entries_are_numbered_per_office_and_sent_to_the_head_office(office, clerk, django_capture_on_commit_callbacks):
    account = AccountFactory(number="110200300")
    with django_capture_on_commit_callbacks(execute=True):
        first = record(
            office,
            clerk,
            written_at=dt.datetime(2026, 3, 2, 11, 30, tzinfo=MSK),
            contact="+7 912 000-11-22",
            account_number=" 110 200 300 ",
            text="Прошу поставить второй терминал.\nСпасибо.",
            source=ELECTRONIC,
        )
    second = record(office, clerk, author_name="  Петрова   Анна ")
    other = make_office(code="ukhta")
    other.staff.add(clerk)
    elsewhere = record(other, clerk)
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert first.account == account and first.recorded_by == clerk and first.contact == "+7 912 000-11-22"
    assert second.author_name == "Петрова Анна"
    assert second.written_at == NOW  # no date given: recorded now
    assert first.sent_to_head_office_at == NOW
    message = mail.outbox[0]
    assert message.to == [HEAD_OFFICE]
    assert "№ 1" in message.subject or "1" in message.subject
    assert "Центральный офис обслуживания" in message.subject
    body = message.body
    for part in ("Иванов Пётр Сергеевич", "+7 912 000-11-22", "110200300", "02.03.2026 11:30", "второй терминал"):
        assert part in body
    assert OutboundMessage.objects.filter(purpose="complaint_book").count() == 3
    entry = AuditEntry.objects.get(action="complaint_book.record", target_id=str(first.pk))
    assert entry.actor == clerk and entry.account_number == "110200300"
    assert entry.details["source"] == "electronic" and entry.details["number"] == 1


def test_without_a_head_office_address_the_entry_waits_and_is_sent_later(office, clerk, head, settings):
    settings.SBYT_HEAD_OFFICE_EMAIL = ""
    entry = record(office, clerk)
    assert entry.sent_to_head_office_at is None
    assert not OutboundMessage.objects.filter(purpose="complaint_book").exists()
    with pytest.raises(DomainError, match="SBYT_HEAD_OFFICE_EMAIL"):
        send_complaint_entry(entry=entry, actor=head, now=NOW)
    settings.SBYT_HEAD_OFFICE_EMAIL = HEAD_OFFICE
    sent = send_complaint_entry(entry=entry, actor=head, now=NOW)
    assert sent.sent_to_head_office_at == NOW
    assert list(OutboundMessage.objects.filter(purpose="complaint_book").values_list("to", flat=True)) == [HEAD_OFFICE]
    with pytest.raises(DomainError, match="уже|already"):
        send_complaint_entry(entry=entry, actor=head, now=NOW)
    assert OutboundMessage.objects.filter(purpose="complaint_book").count() == 1


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"author_name": "   "}, ("автор", "author")),
        ({"text": " \n "}, ("текст", "text")),
        ({"written_at": NOW + dt.timedelta(hours=1)}, ("будущ", "future")),
        ({"account_number": "999999999"}, ("номер", "number")),
        ({"source": "fax"}, ("бумажн", "paper")),
        ({"author_name": "Я" * 201}, ("200",)),
        ({"text": "Я" * 10_001}, ("10",)),
    ],
)
def test_bad_input_is_refused_and_nothing_is_recorded(office, clerk, fields, words):
    with pytest.raises(DomainError) as error:
        record(office, clerk, **fields)
    assert any(word in error.value.message.lower() for word in words), error.value.message
    assert not ComplaintBookEntry.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_only_the_offices_staff_with_the_permission_may_record(office, clerk):
    stranger = make_staff("stranger", email="stranger@example.ru")  # a specialist, but of no office here
    make_office(code="other").staff.add(stranger)
    operator = make_staff("operator", role="Оператор контакт-центра", email="operator@example.ru")
    office.staff.add(operator)  # on the staff list but without the permission
    for actor in (stranger, operator, None):
        with pytest.raises(PermissionDenied):
            record(office, actor)
    assert not ComplaintBookEntry.objects.exists()


def test_the_head_reviews_once_with_a_note(office, clerk, head):
    entry = record(office, clerk)
    with pytest.raises(DomainError):
        review_complaint_entry(entry=entry, note="  ", actor=head, now=NOW)
    reviewed = review_complaint_entry(entry=entry, note="Открыто второе окно кассы.", actor=head, now=NOW)
    assert (reviewed.reviewed_at, reviewed.reviewed_by, reviewed.review_note) == (
        NOW,
        head,
        "Открыто второе окно кассы.",
    )
    assert AuditEntry.objects.filter(action="complaint_book.review", actor=head).count() == 1
    with pytest.raises(DomainError):
        review_complaint_entry(entry=entry, note="Ещё раз", actor=head, now=NOW)
    entry.refresh_from_db()
    assert entry.review_note == "Открыто второе окно кассы."


def test_review_needs_the_permission_and_the_office(office, clerk):
    entry = record(office, clerk)
    other_head = make_staff("other-head", role="Руководитель офиса", email="oh@example.ru")
    make_office(code="other").managers.add(other_head)
    for actor in (clerk, other_head):  # the clerk may record but not review; the other head is of another office
        with pytest.raises(PermissionDenied):
            review_complaint_entry(entry=entry, note="Рассмотрено", actor=actor, now=NOW)
    entry.refresh_from_db()
    assert entry.reviewed_at is None


def test_the_daily_list_has_every_unreviewed_entry_and_todays(office, clerk, head):
    yesterday = NOW - dt.timedelta(days=1)
    old_open = record(office, clerk, written_at=NOW - dt.timedelta(days=5))
    old_done = record(office, clerk, written_at=yesterday, now=yesterday)
    review_complaint_entry(entry=old_done, note="Ответ дан", actor=head, now=yesterday)
    today_done = record(office, clerk, written_at=NOW - dt.timedelta(hours=2))
    review_complaint_entry(entry=today_done, note="Ответ дан", actor=head, now=NOW)
    today_open = record(office, clerk)
    assert list(review_list(office, now=NOW)) == [old_open, today_open, today_done]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks: PostgreSQL")
def test_concurrent_entries_get_distinct_numbers(office, clerk):
    errors = []

    def one():
        try:
            record(office, clerk)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(ComplaintBookEntry.objects.values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]
