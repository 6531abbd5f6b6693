"""The back office's billing run page: the bills' delivery (e-mails sent, the printing-house batch), the batch's
download (audited) and «make again» — each with its permission test."""

import datetime as dt
import io
import zipfile

import pytest
import time_machine
from django.urls import reverse

from sbyt.billing import delivery
from sbyt.billing.models import PrintBatch
from sbyt.core.models import AuditEntry
from tests.factories import client_login, staff_login

from .builders import make_branch
from .test_delivery import ADMIN, NOW, bill, household, priced

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    branch = priced(make_branch())
    household(branch)
    household(branch, method="email", customer_email="own@example.ru")
    run = bill(branch)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.run_delivery_job()
    with django_capture_on_commit_callbacks(execute=True):
        delivery.run_delivery_job()
    return run


def urls(run):
    return (
        reverse("backoffice:billing_run", args=[run.pk]),
        reverse("backoffice:billing_print_batch", args=[run.pk]),
        reverse("backoffice:billing_print_batch_build", args=[run.pk]),
    )


def test_the_run_page_shows_the_delivery_and_the_batch_downloads_audited(client, run):
    page_url, download_url, build_url = urls(run)
    admin = staff_login(ADMIN)
    client.force_login(admin)
    page = client.get(page_url).content.decode()
    assert 'id="bill-delivery"' in page and 'id="print-batch-download"' in page and 'id="print-batch-build"' in page
    assert 'id="bill-emails"' in page
    response = client.get(download_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'attachment; filename="bills_11_2026-10.zip"' in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert "register.csv" in archive.namelist()
    entry = AuditEntry.objects.get(action="billing.print_batch_download")
    assert (entry.kind, entry.actor, entry.target_id) == ("view", admin, str(PrintBatch.objects.get().pk))


def test_make_again_from_the_page(client, run, clock, django_capture_on_commit_callbacks):
    _page, _download, build_url = urls(run)
    admin = staff_login(ADMIN)
    client.force_login(admin)
    built = PrintBatch.objects.get().built_at
    clock.shift(dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(build_url)
    assert response.status_code == 302 and response["Location"] == urls(run)[0]
    assert PrintBatch.objects.get().built_at > built
    assert AuditEntry.objects.filter(action="billing.print_batch_request", actor=admin).exists()


def test_a_client_is_sent_to_the_staff_login_and_gets_nothing(client, run):
    _page, download_url, build_url = urls(run)
    client.force_login(client_login(run.invoices.first().account))
    for response in (client.get(download_url), client.post(build_url)):
        assert response.status_code == 302 and reverse("backoffice:login") in response["Location"]
    assert not AuditEntry.objects.filter(action__startswith="billing.print_batch_").exists()


def test_staff_without_the_permission_get_403(client, run):
    page_url, download_url, build_url = urls(run)
    viewer = staff_login()
    viewer.user_permissions.add(*_perms("view_billingrun"))
    client.force_login(viewer)
    page = client.get(page_url).content.decode()
    assert 'id="bill-delivery"' in page and 'id="print-batch"' not in page and 'id="print-batch-build"' not in page
    state = PrintBatch.objects.values().get()
    assert client.get(download_url).status_code == 403
    assert client.post(build_url).status_code == 403
    assert PrintBatch.objects.values().get() == state
    assert not AuditEntry.objects.filter(action__startswith="billing.print_batch_").exists()
    downloader = staff_login()
    downloader.user_permissions.add(*_perms("view_billingrun", "view_printbatch"))
    client.force_login(downloader)
    page = client.get(page_url).content.decode()
    assert 'id="print-batch-download"' in page and 'id="print-batch-build"' not in page
    assert client.post(build_url).status_code == 403


def test_no_batch_is_404(client, run):
    _page, download_url, _build = urls(run)
    PrintBatch.objects.update(state="building")
    client.force_login(staff_login(ADMIN))
    assert client.get(download_url).status_code == 404
    PrintBatch.objects.all().delete()
    assert client.get(download_url).status_code == 404
    assert client.get(reverse("backoffice:billing_print_batch", args=[run.pk + 100])).status_code == 404


def _perms(*codenames):
    from django.contrib.auth.models import Permission

    return list(Permission.objects.filter(content_type__app_label="billing", codename__in=codenames))
