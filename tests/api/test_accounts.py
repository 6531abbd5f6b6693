"""Reading the caller's own accounts, contracts, meters and history; nobody else's."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sbyt.customers.models import AccountAccess
from sbyt.metering.models import Reading
from tests.factories import (
    AccountFactory,
    ContractFactory,
    MeterFactory,
    PremisesFactory,
    ReadingFactory,
    aware,
)

pytestmark = pytest.mark.django_db


def test_accounts_lists_only_the_logins_own(client, owner, account, bearer, stranger_meter):
    second = AccountFactory()
    PremisesFactory(account=second, address="с. Выльгорт, ул. Домны Каликовой, д. 2")
    AccountAccess.objects.create(user=owner, account=second, proof=AccountAccess.Proof.SMS_CODE)
    response = client.get("/api/v1/accounts", headers=bearer)
    assert response.status_code == 200
    rows = response.json()
    assert [r["number"] for r in rows] == sorted([account.number, second.number])
    assert stranger_meter.contract.account.number not in {r["number"] for r in rows}
    mine = next(r for r in rows if r["number"] == account.number)
    assert mine == {
        "number": account.number,
        "customer": "Иванова Мария Петровна",
        "branch": "Сыктывкарский филиал",
        "address": "г. Сыктывкар, ул. Коммунистическая, д. 1, кв. 5",
    }


def test_account_main_data(client, account, meter, bearer):
    ContractFactory(premises=meter.contract.premises, resource="cold_water", status="suspended")
    response = client.get(f"/api/v1/accounts/{account.number}", headers=bearer)
    assert response.status_code == 200
    data = response.json()
    assert data["number"] == account.number
    assert data["customer"] == "Иванова Мария Петровна"
    assert data["branch"]["name"] == "Сыктывкарский филиал"
    assert data["branch"]["phones"] == ["8-800-200-83-81", "8-8212-28-99-99"]
    assert data["premises"] == [
        {"address": "г. Сыктывкар, ул. Коммунистическая, д. 1, кв. 5", "residents": 2, "rooms": 2}
    ]
    contracts = {c["resource"]: c for c in data["contracts"]}
    assert contracts["electricity"]["number"] == meter.contract.number
    assert contracts["electricity"]["unit"] == "кВт·ч"
    assert contracts["electricity"]["start_date"] == "2020-01-01"
    assert contracts["cold_water"]["status"] == "suspended"
    assert contracts["cold_water"]["status_label"] == "приостановлен"


def test_another_clients_account_and_an_unknown_one_give_the_same_404(client, bearer, stranger_meter):
    other = stranger_meter.contract.account.number
    for path in ("", "/meters", f"/meters/{stranger_meter.pk}/readings"):
        foreign = client.get(f"/api/v1/accounts/{other}{path}", headers=bearer)
        unknown = client.get(f"/api/v1/accounts/999999999{path}", headers=bearer)
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json() == unknown.json()
        assert foreign.json()["code"] == "not_found"
        assert other not in foreign.content.decode()


def test_anonymous_gets_401_everywhere(client, account, meter):
    for path in (
        "",
        f"/{account.number}",
        f"/{account.number}/meters",
        f"/{account.number}/meters/{meter.pk}/readings",
    ):
        assert client.get(f"/api/v1/accounts{path}").status_code == 401


def test_meters_with_zones_and_the_last_accepted_reading(client, account, meter, bearer):
    two = MeterFactory(contract=meter.contract, zones=2, digits=6, is_smart=True)
    ReadingFactory(meter=two, t1=500, t2=200, period=dt.date(2026, 9, 1), received_at=aware(2026, 9, 19))
    ReadingFactory(meter=two, t1=600, t2=250, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 19, 23))
    ReadingFactory(meter=two, t1=1, t2=1, status=Reading.Status.REJECTED, received_at=aware(2026, 11, 20))
    broken = MeterFactory(contract=meter.contract, status="faulty")
    response = client.get(f"/api/v1/accounts/{account.number}/meters", headers=bearer)
    assert response.status_code == 200
    meters = {m["id"]: m for m in response.json()}
    assert set(meters) == {meter.pk, two.pk, broken.pk}
    first = meters[meter.pk]
    assert first["serial"] == meter.serial
    assert first["contract_number"] == meter.contract.number
    assert (first["zones"], first["digits"], first["is_smart"], first["status"]) == (1, 5, False, "in_service")
    assert first["last_reading"] == {"values": [1000], "period": "2026-10-01", "received_on": "2026-10-20"}
    second = meters[two.pk]
    assert second["zone_names"] == ["день", "ночь"]
    assert second["is_smart"] is True
    # 19.10 23:00 Moscow; the rejected reading does not count
    assert second["last_reading"] == {"values": [600, 250], "period": "2026-10-01", "received_on": "2026-10-19"}
    assert meters[broken.pk]["status_label"] == "неисправен"
    assert meters[broken.pk]["last_reading"] is None


def test_meters_list_makes_no_query_per_meter(client, account, meter, bearer):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/v1/accounts/{account.number}/meters", headers=bearer).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for _n in range(4):
        extra = MeterFactory(contract=meter.contract)
        ReadingFactory(meter=extra)
    ContractFactory(premises=meter.contract.premises)
    assert count() == before


def test_reading_history(client, account, meter, bearer):
    ReadingFactory(meter=meter, t1=1100, period=dt.date(2026, 11, 1), received_at=aware(2026, 11, 19), channel="sms")
    ReadingFactory(meter=meter, t1=5, status=Reading.Status.REJECTED, received_at=aware(2026, 11, 19, 13))
    response = client.get(f"/api/v1/accounts/{account.number}/meters/{meter.pk}/readings", headers=bearer)
    assert response.status_code == 200
    rows = response.json()
    assert [r["values"] for r in rows] == [[1100], [1000]]
    assert rows[0]["channel"] == "sms"
    assert rows[0]["channel_label"] == "SMS"
    assert rows[0]["period"] == "2026-11-01"
    assert rows[0]["status"] == "accepted"
    assert rows[0]["received_at"].startswith("2026-11-19T")


def test_history_of_a_meter_of_another_account_is_404(client, owner, account, bearer, stranger_meter):
    response = client.get(f"/api/v1/accounts/{account.number}/meters/{stranger_meter.pk}/readings", headers=bearer)
    assert response.status_code == 404
    # even when the login owns both accounts, the meter must belong to the account in the path
    other = stranger_meter.contract.account
    AccountAccess.objects.create(user=owner, account=other, proof=AccountAccess.Proof.SMS_CODE)
    assert (
        client.get(f"/api/v1/accounts/{account.number}/meters/{stranger_meter.pk}/readings", headers=bearer).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/accounts/{other.number}/meters/{stranger_meter.pk}/readings", headers=bearer).status_code
        == 200
    )


@pytest.mark.parametrize(("meter_id", "status"), [("abc", 422), ("0", 404), ("-1", 404), (str(2**70), 404)])
def test_odd_meter_ids(client, account, bearer, meter_id, status):
    response = client.get(f"/api/v1/accounts/{account.number}/meters/{meter_id}/readings", headers=bearer)
    assert response.status_code == status
    assert response.json()["code"] in {"not_found", "invalid_request"}


def test_openapi_schema_is_served_with_the_paths(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/auth/token",
        "/api/v1/accounts",
        "/api/v1/accounts/{number}",
        "/api/v1/accounts/{number}/meters",
        "/api/v1/accounts/{number}/meters/{meter_id}/readings",
    } <= set(schema["paths"])
    readings = schema["paths"]["/api/v1/accounts/{number}/meters/{meter_id}/readings"]
    assert {"get", "post"} <= set(readings)
    assert {"200", "201", "404", "422"} <= set(readings["post"]["responses"])
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert set(schema["paths"]["/api/v1/auth/token"]) == {"post", "delete"}
