"""Submitting readings through the API: the one service, every reason code, bad input changes nothing."""

import datetime as dt

import pytest
import time_machine

from sbyt.core.models import AuditEntry
from sbyt.customers.models import AccountAccess
from sbyt.metering.models import Meter, Reading
from sbyt.metering.rules import Reason
from tests.factories import MeterFactory, ReadingFactory, aware

from .conftest import NOV_20

pytestmark = pytest.mark.django_db

# Reasons answered by the dedicated tests above the refusal table (accepting outcomes and the 404).
OWN_TESTS = {
    Reason.ACCEPTED,
    Reason.ALREADY_ACCEPTED,
    Reason.ACCEPTED_NEXT_PERIOD,
    Reason.HELD_FOR_REVIEW,
    Reason.UNKNOWN_CLIENT,
}


def url(account, meter):
    return f"/api/v1/accounts/{account.number}/meters/{meter.pk}/readings"


def post(client, path, body, headers):
    return client.post(path, body, content_type="application/json", headers=headers)


def snapshot():
    return sorted(Reading.objects.values_list("pk", "status")), AuditEntry.objects.filter(
        action="reading.submit"
    ).count()


@time_machine.travel(NOV_20, tick=False)
def test_accepted_is_201_with_previous_value_and_date(client, owner, account, meter, bearer):
    response = post(client, url(account, meter), {"values": ["1150"]}, bearer)
    assert response.status_code == 201
    assert response.json() == {
        "code": "accepted",
        "message": "Показания приняты. Спасибо.",
        "accepted": True,
        "period": "2026-11-01",
        "previous": {"values": [1000], "date": "2026-10-20"},
    }
    assert "Показания приняты. Спасибо." in response.content.decode()  # UTF-8 text, not \u escapes
    reading = Reading.objects.get(meter=meter, period=dt.date(2026, 11, 1))
    assert (reading.t1, reading.status, reading.channel, reading.submitted_by) == (1150, "accepted", "app", owner)
    entry = AuditEntry.objects.get(action="reading.submit")
    assert entry.actor == owner
    assert entry.details["channel"] == "app"


@time_machine.travel(NOV_20, tick=False)
def test_json_integers_are_accepted_too(client, account, meter, bearer):
    response = post(client, url(account, meter), {"values": [1150]}, bearer)
    assert response.status_code == 201
    assert Reading.objects.get(meter=meter, period=dt.date(2026, 11, 1)).t1 == 1150


@time_machine.travel(NOV_20, tick=False)
def test_all_zones_of_a_three_zone_meter(client, account, meter, bearer):
    three = MeterFactory(contract=meter.contract, zones=3, digits=6)
    response = post(client, url(account, three), {"values": ["110", 220, " 330 "]}, bearer)
    assert response.status_code == 201
    assert response.json()["previous"] is None
    assert Reading.objects.get(meter=three).values == (110, 220, 330)


@time_machine.travel(NOV_20, tick=False)
def test_repeat_is_200_already_accepted(client, account, meter, bearer):
    assert post(client, url(account, meter), {"values": ["1150"]}, bearer).status_code == 201
    before = Reading.objects.count()
    response = post(client, url(account, meter), {"values": ["1150"]}, bearer)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "already_accepted"
    assert body["accepted"] is True
    assert body["message"] == "Эти показания уже приняты. Спасибо."
    assert Reading.objects.count() == before


@time_machine.travel(aware(2026, 11, 27), tick=False)
def test_after_the_window_accepted_for_next_period_is_201(client, account, meter, bearer):
    response = post(client, url(account, meter), {"values": ["1150"]}, bearer)
    assert response.status_code == 201
    body = response.json()
    assert body["code"] == "accepted_next_period"
    assert body["period"] == "2026-12-01"
    assert "декабрь 2026" in body["message"]


@time_machine.travel(NOV_20, tick=False)
def test_implausible_consumption_is_held_201(client, account, meter, bearer):
    ReadingFactory(meter=meter, t1=0, period=dt.date(2025, 11, 1), received_at=aware(2025, 11, 20))
    response = post(client, url(account, meter), {"values": ["9000"]}, bearer)
    assert response.status_code == 201
    body = response.json()
    assert body["code"] == "held_for_review"
    assert body["accepted"] is True
    assert "проверит специалист" in body["message"]
    assert Reading.objects.get(meter=meter, period=dt.date(2026, 11, 1)).status == "held"


def _faulty(meter):
    Meter.objects.filter(pk=meter.pk).update(status=Meter.Status.FAULTY)


def _smart(meter):
    Meter.objects.filter(pk=meter.pk).update(is_smart=True)


def _refuse_late(meter):
    branch = meter.contract.account.branch
    branch.late_reading_policy = "refuse"
    branch.save()


REFUSALS = [
    (Reason.METER_NOT_IN_SERVICE, ["1150"], _faulty, NOV_20),
    (Reason.SMART_METER, ["1150"], _smart, NOV_20),
    (Reason.OUTSIDE_WINDOW, ["1150"], _refuse_late, aware(2026, 11, 27)),
    (Reason.WRONG_VALUE_COUNT, ["1150", "20"], None, NOV_20),
    (Reason.WRONG_VALUE_COUNT, [], None, NOV_20),
    (Reason.EMPTY_VALUE, ["  "], None, NOV_20),
    (Reason.NOT_WHOLE_NUMBER, ["1150,5"], None, NOV_20),
    (Reason.INVALID_VALUE, ["abc"], None, NOV_20),
    (Reason.INVALID_VALUE, [-5], None, NOV_20),
    (Reason.TOO_MANY_DIGITS, ["123456"], None, NOV_20),
    (Reason.TOO_MANY_DIGITS, [10**20], None, NOV_20),
    (Reason.LOWER_THAN_PREVIOUS, ["990"], None, NOV_20),
]


@pytest.mark.parametrize(("reason", "values", "prepare", "when"), REFUSALS, ids=lambda v: getattr(v, "value", None))
def test_refusals_are_422_with_the_reason_code_and_nothing_live_changes(
    client, account, meter, bearer, reason, values, prepare, when
):
    if prepare:
        prepare(meter)
    live_before = list(Reading.objects.filter(status__in=["accepted", "held"]).values_list("pk", "status"))
    with time_machine.travel(when, tick=False):
        response = post(client, url(account, meter), {"values": values}, bearer)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == reason.value
    assert body["accepted"] is False
    assert body["message"]
    assert set(body) == {"code", "message", "accepted", "period", "previous"}
    assert list(Reading.objects.filter(status__in=["accepted", "held"]).values_list("pk", "status")) == live_before


@time_machine.travel(NOV_20, tick=False)
def test_lower_than_previous_names_the_previous_value(client, account, meter, bearer):
    body = post(client, url(account, meter), {"values": ["990"]}, bearer).json()
    assert body["message"] == "Показание меньше предыдущего принятого (1000 от 20.10.2026). Проверьте цифры."
    assert body["previous"] == {"values": [1000], "date": "2026-10-20"}


@time_machine.travel(NOV_20, tick=False)
def test_another_clients_meter_is_404_unknown_client_and_nothing_stored(
    client, owner, account, meter, bearer, stranger_meter
):
    before = snapshot()
    other = stranger_meter.contract.account
    foreign = post(client, url(other, stranger_meter), {"values": ["5"]}, bearer)
    unknown = post(client, f"/api/v1/accounts/999999999/meters/{stranger_meter.pk}/readings", {"values": ["5"]}, bearer)
    mixed = post(client, url(account, stranger_meter), {"values": ["5"]}, bearer)
    missing = post(client, f"/api/v1/accounts/{account.number}/meters/99999999/readings", {"values": ["5"]}, bearer)
    for response in (foreign, unknown, mixed, missing):
        assert response.status_code == 404
        assert response.json() == foreign.json()
    assert foreign.json()["code"] == "unknown_client"
    assert foreign.json()["accepted"] is False
    assert snapshot() == before
    # with access to the other account the same meter is served
    AccountAccess.objects.create(user=owner, account=other, proof=AccountAccess.Proof.SMS_CODE)
    assert post(client, url(other, stranger_meter), {"values": ["5"]}, bearer).status_code == 201


def test_anonymous_and_revoked_tokens_cannot_submit(client, account, meter, bearer):
    before = snapshot()
    assert post(client, url(account, meter), {"values": ["1150"]}, {}).status_code == 401
    client.delete("/api/v1/auth/token", headers=bearer)
    assert post(client, url(account, meter), {"values": ["1150"]}, bearer).status_code == 401
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "values"),
        ({"value": ["1150"]}, "values"),
        ({"values": "1150"}, "values"),
        ({"values": None}, "values"),
        ({"values": [True]}, "values[0]"),
        ({"values": ["1150", 11.5]}, "values[1]"),
        ({"values": [None]}, "values[0]"),
        ({"values": [{"t1": 1}]}, "values[0]"),
        ({"values": ["1" * 41]}, "values[0]"),
        ({"values": ["1"] * 13}, "values"),
    ],
)
def test_wrong_types_and_missing_fields_are_422_and_change_nothing(client, account, meter, bearer, body, field):
    before = snapshot()
    response = post(client, url(account, meter), body, bearer)
    assert response.status_code == 422
    data = response.json()
    assert data["code"] == "invalid_request"
    assert [e["field"] for e in data["errors"]] == [field]
    assert field in data["message"]
    assert snapshot() == before


@pytest.mark.parametrize("raw", [b'{"values": ["1150"]', b"values=1150", b'{"values": [' + b"9" * 5000 + b"]}"])
def test_malformed_json_is_422_and_changes_nothing(client, account, meter, bearer, raw):
    before = snapshot()
    response = client.post(url(account, meter), raw, content_type="application/json", headers=bearer)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_json"
    assert set(response.json()) == {"code", "message"}
    assert snapshot() == before


def test_every_reason_code_of_the_service_has_an_api_test():
    assert {row[0] for row in REFUSALS} | OWN_TESTS == set(Reason)
