"""Staff pages of billing: runs (start, progress bar polled by htmx, result, continue) and tariffs (with import);
every page with its permission test."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from sbyt.billing.models import BillingRun, Charge, Invoice, Tariff
from sbyt.core.models import AuditEntry
from sbyt.core.periods import add_months, month_start
from tests.factories import client_login, staff_login

from .builders import make_branch, make_household, make_norm, make_tariff

pytestmark = pytest.mark.django_db
ADMIN = "Администратор филиала"
OPERATOR = "Оператор контакт-центра"
LAST_MONTH = add_months(month_start(dt.date.today()), -1)  # its readings window is over, whatever today is


@pytest.fixture
def branch():
    branch = make_branch()
    make_tariff(branch)
    make_norm(branch, "69")
    return branch


@pytest.fixture
def admin(client):
    user = staff_login(ADMIN)
    client.force_login(user)
    return user


def test_start_a_run_and_watch_it_finish(client, admin, branch, django_capture_on_commit_callbacks):
    make_household(branch, zones=None)
    make_household(branch, zones=None)
    page = client.get(reverse("backoffice:billing_runs"))
    assert page.status_code == 200 and 'id="start-run"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the worker's task runs as the commit happens
        response = client.post(
            reverse("backoffice:billing_run_start"), {"branch": branch.pk, "period": LAST_MONTH.strftime("%Y-%m")}
        )
    run = BillingRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("backoffice:billing_run", args=[run.pk])
    assert (run.state, run.started_by, run.processed) == ("done", admin, 2)
    assert Charge.objects.count() == 2 and Invoice.objects.count() == 2
    detail = client.get(response["Location"]).content.decode()
    assert "100 %" in detail and 'id="run-stats"' in detail
    assert 'hx-trigger="every 2s"' not in detail  # finished: no more polling
    assert AuditEntry.objects.filter(action="billing.run_start", actor=admin).exists()


def test_an_open_run_polls_its_progress(client, admin, branch):
    run = BillingRun.objects.create(branch=branch, period=LAST_MONTH, state="running", total=10, processed=4)
    page = client.get(reverse("backoffice:billing_run", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page and 'value="40"' in page
    fragment = client.get(reverse("backoffice:billing_run_progress", args=[run.pk]))
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    assert 'value="40"' in fragment.content.decode()
    assert 'id="run-lanes"' not in page  # one part: nothing to say
    run.stats = {"lanes": [{"done": True}, {"done": False}]}
    run.save()
    fragment = client.get(reverse("backoffice:billing_run_progress", args=[run.pk])).content.decode()
    assert "Лицевые счета обрабатываются 2 частями одновременно; завершено частей: 1." in fragment
    BillingRun.objects.filter(pk=run.pk).update(processed=431200, total=1000000)
    fragment = client.get(reverse("backoffice:billing_run_progress", args=[run.pk])).content.decode()
    assert re.search(r"Лицевых счетов: 431\s200 из 1\s000\s000", fragment)  # a million-account branch, readable


def test_a_refused_start_says_why_and_starts_nothing(client, admin, branch):
    this_month = month_start(dt.date.today())
    future = add_months(this_month, 1)
    response = client.post(
        reverse("backoffice:billing_run_start"), {"branch": branch.pk, "period": future.strftime("%Y-%m")}, follow=True
    )
    assert "Будущий период рассчитать нельзя." in response.content.decode()
    assert not BillingRun.objects.exists()
    bad = client.post(reverse("backoffice:billing_run_start"), {"branch": branch.pk, "period": "2026-13"})
    assert bad.status_code == 400 and not BillingRun.objects.exists()


def test_a_failed_run_can_be_continued(client, admin, branch, django_capture_on_commit_callbacks):
    make_household(branch, zones=None)
    run = BillingRun.objects.create(branch=branch, period=LAST_MONTH, state="failed", total=1, error="boom")
    page = client.get(reverse("backoffice:billing_run", args=[run.pk])).content.decode()
    assert 'id="resume-run"' in page and "boom" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("backoffice:billing_run_resume", args=[run.pk]))
    run.refresh_from_db()
    assert run.state == "done" and Charge.objects.count() == 1
    again = client.post(reverse("backoffice:billing_run_resume", args=[run.pk]), follow=True)
    assert "Этот расчёт уже завершён." in again.content.decode()


def test_tariffs_page_and_import(client, admin, branch, tmp_path):
    page = client.get(reverse("backoffice:billing_tariffs"), {"branch": branch.pk, "on": "2026-10-01"})
    assert page.status_code == 200 and "5,000000" in page.content.decode()  # prices as the Russian locale prints
    table = tmp_path / "tariffs.csv"
    table.write_text(
        "branch;resource;group;zones;zone;valid_from;price1\n11;электроэнергия;город;1;1;01.07.2027;7,10\n",
        encoding="utf-8",
    )
    with table.open("rb") as upload:
        done = client.post(reverse("backoffice:billing_tariff_import"), {"file": upload})
    assert done.status_code == 200 and Tariff.objects.filter(valid_from=dt.date(2027, 7, 1)).exists()
    table.write_text("branch;resource;group;zones;zone;valid_from;price1\n99;электроэнергия;город;1;1;x;7\n")
    with table.open("rb") as upload:
        refused = client.post(reverse("backoffice:billing_tariff_import"), {"file": upload})
    text = refused.content.decode()
    assert refused.status_code == 400 and 'id="import-errors"' in text and "«99»" in text
    assert Tariff.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "args", "method"),
    [
        ("billing_runs", [], "get"),
        ("billing_run", [1], "get"),
        ("billing_run_progress", [1], "get"),
        ("billing_run_start", [], "post"),
        ("billing_run_resume", [1], "post"),
        ("billing_tariffs", [], "get"),
        ("billing_tariff_import", [], "post"),
    ],
)
def test_permissions(client, branch, name, args, method):
    BillingRun.objects.create(pk=1, branch=branch, period=LAST_MONTH, state="failed")
    url = reverse(f"backoffice:{name}", args=args)
    call = getattr(client, method)
    anonymous = call(url)
    assert anonymous.status_code == 302 and reverse("backoffice:login") in anonymous["Location"]
    account = make_household(branch, zones=None).account
    client.force_login(client_login(account))
    assert call(url).status_code == 302  # a client is not staff
    client.force_login(staff_login())
    assert call(url).status_code == 403  # staff without the role
    client.force_login(staff_login(OPERATOR))
    assert call(url).status_code == 403  # an operator sees bills, not runs or tariffs
    assert BillingRun.objects.count() == 1 and Tariff.objects.count() == 1


def test_the_home_page_shows_billing_to_those_who_may_see_it(client, branch):
    client.force_login(staff_login(ADMIN))
    assert 'id="tile-billing"' in client.get(reverse("backoffice:home")).content.decode()
    client.force_login(staff_login(OPERATOR))
    assert 'id="tile-billing"' not in client.get(reverse("backoffice:home")).content.decode()
