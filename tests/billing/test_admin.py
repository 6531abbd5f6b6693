"""The admin of billing: configuration edited there (a tariff must have every price), records only looked at."""

import pytest
from django.urls import reverse

from sbyt.billing.models import Tariff
from tests.factories import UserFactory

from .builders import make_branch

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def tariff_form(branch, prices, **fields):
    data = {
        "branch": branch.pk, "resource": "electricity", "group": "urban_gas", "zones": 2, "valid_from": "2026-07-01",
        "range1_upto": "", "range2_upto": "", "source": "",
        "prices-TOTAL_FORMS": len(prices), "prices-INITIAL_FORMS": 0, "prices-MIN_NUM_FORMS": 0,
        "prices-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    for index, (zone, range_no, price) in enumerate(prices):
        data |= {f"prices-{index}-zone": zone, f"prices-{index}-range_no": range_no, f"prices-{index}-price": price}
    return data | fields


def test_a_tariff_needs_a_price_for_every_zone_and_range(client, superuser):
    branch = make_branch()
    url = reverse("admin:billing_tariff_add")
    missing = client.post(url, tariff_form(branch, [(1, 1, "6.00")]))
    assert missing.status_code == 200 and "Не хватает цен: зона 2, диапазон 1." in missing.content.decode()
    extra = client.post(url, tariff_form(branch, [(1, 1, "6"), (2, 1, "3"), (1, 2, "8")]))
    assert "Лишние цены" in extra.content.decode()
    assert not Tariff.objects.exists()
    done = client.post(url, tariff_form(branch, [(1, 1, "6"), (2, 1, "3")]))
    assert done.status_code == 302 and Tariff.objects.get().prices.count() == 2


@pytest.mark.parametrize(
    "model",
    ["billingrun", "charge", "ledgerentry", "invoice", "billdelivery", "keyrate", "penaltymoratorium", "dueday"],
)
def test_admin_lists_open(client, superuser, model):
    assert client.get(reverse(f"admin:billing_{model}_changelist")).status_code == 200


def test_records_cannot_be_added_in_the_admin(client, superuser):
    assert client.get(reverse("admin:billing_charge_add")).status_code == 403
    assert client.get(reverse("admin:billing_invoice_add")).status_code == 403
