"""Readings held for review: the list with the previous value and the consumption, approve, reject with reason."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sbyt.core.models import AuditEntry
from sbyt.metering.models import Reading
from sbyt.metering.services import submit_reading
from tests.factories import MeterFactory, ReadingFactory, aware

from .conftest import as_user

pytestmark = pytest.mark.django_db

LIST = "/staff/readings/held/"


def approve_url(reading):
    return f"/staff/readings/{reading.pk}/approve/"


def reject_url(reading):
    return f"/staff/readings/{reading.pk}/reject/"


def test_list_shows_what_the_specialist_needs(client, specialist, held, account, meter):
    response = as_user(client, specialist).get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="reading-{held.pk}"' in html
    assert account.number in html
    assert meter.serial in html
    assert "9000" in html
    assert "20.10.2026" in html  # date of the previous accepted value (1000)
    assert "8000 кВт·ч" in html  # consumption
    assert "20.11.2026 09:00" in html  # received, branch local time
    assert "SMS" in html  # channel
    row = response.context["rows"][0]
    assert (row["previous_values"], row["consumption"]) == ("1000", 8000)


def test_branch_administrator_may_review_too(client, branch_admin, held):
    assert as_user(client, branch_admin).get(LIST).status_code == 200


def test_empty_list(client, specialist):
    assert 'id="no-held"' in as_user(client, specialist).get(LIST).content.decode()


@pytest.mark.parametrize("role", ["operator", "no_role_staff"])
def test_staff_without_the_permission_get_403(client, request, held, role):
    user = request.getfixturevalue(role)
    as_user(client, user)
    assert client.get(LIST).status_code == 403
    assert client.post(approve_url(held)).status_code == 403
    assert client.post(reject_url(held), {"note": "нет"}).status_code == 403
    held.refresh_from_db()
    assert held.status == "held"


def test_clients_and_anonymous_are_sent_to_login(client, client_user, held):
    for c in (client, as_user(type(client)(), client_user)):
        response = c.post(approve_url(held))
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/")
    held.refresh_from_db()
    assert held.status == "held"


def test_approve(client, specialist, held):
    response = as_user(client, specialist).post(approve_url(held), {"note": "Проверено по фото"})
    assert response.status_code == 302
    assert response["Location"] == LIST
    held.refresh_from_db()
    assert (held.status, held.reviewed_by, held.review_note) == ("accepted", specialist, "Проверено по фото")
    assert AuditEntry.objects.filter(action="reading.approve", actor=specialist).count() == 1
    assert f'id="reading-{held.pk}"' not in client.get(LIST).content.decode()


def test_approve_needs_post(client, specialist, held):
    assert as_user(client, specialist).get(approve_url(held)).status_code == 405
    held.refresh_from_db()
    assert held.status == "held"


def test_approving_twice_says_why_and_changes_nothing(client, specialist, held):
    as_user(client, specialist).post(approve_url(held), follow=True)
    reviewed_at = Reading.objects.get(pk=held.pk).reviewed_at
    response = client.post(approve_url(held), follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert Reading.objects.get(pk=held.pk).reviewed_at == reviewed_at
    assert AuditEntry.objects.filter(action="reading.approve").count() == 1


def test_unknown_reading_is_404(client, specialist):
    assert as_user(client, specialist).post("/staff/readings/999999/approve/").status_code == 404


@pytest.mark.parametrize("note", ["", "   "])
def test_reject_requires_a_reason(client, specialist, held, note):
    response = as_user(client, specialist).post(reject_url(held), {"note": note})
    assert response.status_code == 400
    assert f'id="reject-error-{held.pk}"' in response.content.decode()
    held.refresh_from_db()
    assert held.status == "held"
    assert not AuditEntry.objects.filter(action="reading.reject").exists()


def test_reject_with_reason(client, specialist, held, meter):
    response = as_user(client, specialist).post(reject_url(held), {"note": "Ошибка в цифрах"})
    assert response.status_code == 302
    held.refresh_from_db()
    assert (held.status, held.review_note, held.reviewed_by) == ("rejected", "Ошибка в цифрах", specialist)
    entry = AuditEntry.objects.get(action="reading.reject")
    assert entry.actor == specialist
    assert entry.account_number == meter.contract.account.number
    # the previous accepted reading stays the live one
    assert Reading.objects.filter(meter=meter, status="accepted").order_by("-period").first().t1 == 1000


def test_list_makes_no_query_per_row(client, specialist, held):
    as_user(client, specialist)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for _n in range(3):
        other = MeterFactory()
        ReadingFactory(meter=other, t1=0, period=held.period.replace(year=2025), received_at=aware(2025, 11, 20))
        ReadingFactory(meter=other, t1=100, period=held.period.replace(month=10), received_at=aware(2026, 10, 20))
        submit_reading(meter=other, values=["9000"], channel="app", received_at=aware(2026, 11, 20))
    assert Reading.objects.filter(status="held").count() == 4
    assert count() == before
