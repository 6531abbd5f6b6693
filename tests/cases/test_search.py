"""The contact centre's client search (CC-3): each kind of query, and — on PostgreSQL — that every kind is answered
through its index (customers migration 0003), the expression of the index being the one the query compares."""

import pytest
from django.db import connection

from sbyt.customers.models import Customer, Premises
from sbyt.customers.queries import search_account_ids, search_accounts
from tests.factories import AccountFactory, CustomerFactory, PremisesFactory

pytestmark = pytest.mark.django_db
# SQLite's LIKE folds ASCII only: there the search tries the query as typed, lower, upper and capitalised
POSTGRES_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


def numbers(query: str) -> list[str]:
    return [a.number for a in search_accounts(query)]


@pytest.fixture
def firm(db):
    account = AccountFactory(
        number="110077777", customer=CustomerFactory(kind="organisation", org_name="ООО «Ромашка»")
    )
    PremisesFactory(account=account, address="г. Ухта, ул. Заводская, д. 7")
    return account


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("ООО «Ромашка»", True),
        pytest.param("ооо «ромашка»", True, marks=POSTGRES_ONLY),
        ("ООО «Ром", True),
        pytest.param("  ооо   «ромашка» ", True, marks=POSTGRES_ONLY),
        ("Заводская 7", True),
        ("ухта, заводская, 7", True),
        ("ООО «Лютик»", False),
        ("Заводская 8", False),
    ],
)
def test_an_organisation_by_name_prefix_or_address(firm, account, query, found):
    assert numbers(query) == ([firm.number] if found else [])


@pytest.mark.parametrize("query", ["+7 (912) 123-45-67", "8-912-123-45-67", "9121234567", "79121234567"])
def test_a_phone_written_any_way_finds_the_stored_number(account, neighbour, query):
    assert Customer.objects.get(accounts=account).phone == "+79121234567"
    assert numbers(query) == [account.number]


def test_a_surname_with_the_first_name_narrows_and_an_unknown_finds_nothing(account, neighbour):
    AccountFactory(number="110055555", customer=CustomerFactory(last_name="Петрова", first_name="Анна"))
    assert numbers("петров") == ["110055555", neighbour.number]
    assert numbers("Петров Иван") == [neighbour.number]
    assert numbers("Петров Ян") == []
    assert numbers("") == [] and numbers("   ") == []


def test_one_account_found_several_ways_is_listed_once(account):
    PremisesFactory(account=account, address="г. Сыктывкар, ул. Иванова, д. 3")
    assert search_account_ids("Иванова 3").count(account.pk) == 1


def test_an_address_needs_every_word_in_the_same_premises(account, neighbour):
    assert numbers("Ленина 2") == [neighbour.number]
    assert numbers("Ленина 5") == []  # «5» is the flat of the other address


@POSTGRES_ONLY
@pytest.mark.parametrize(
    ("model", "lookup", "value", "index"),
    [
        (Customer, "last_name__istartswith", "Иван", "cust_name_prefix"),
        (Customer, "org_name__istartswith", "ООО «Ром", "cust_org_name_prefix"),
        (Premises, "address__icontains", "Ленина", "premises_address_trgm"),
        (Customer, "phone", "+79121234567", "cust_phone_idx"),
    ],
)
def test_every_kind_of_search_is_served_by_its_index_on_postgresql(model, lookup, value, index):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny test table would be scanned otherwise
    query = model.objects.filter(**{lookup: value})
    if "org_name" in lookup:
        query = query.exclude(org_name="")  # the index is partial: organisations only
    plan = query.explain()
    assert index in plan, plan
