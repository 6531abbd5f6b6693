import pytest

from sbyt.core.models import AuditEntry
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_look_at_an_account_is_audited(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    account = AccountFactory()
    client.force_login(admin)
    response = client.get(f"/admin/customers/account/{account.pk}/change/")
    assert response.status_code == 200
    entry = AuditEntry.objects.get(kind="view", action="admin.view")
    assert (entry.actor, entry.account_number) == (admin, account.number)


def test_admin_configures_branch_windows_and_news(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    for url in ["/admin/customers/branch/add/", "/admin/metering/readingwindow/add/", "/admin/content/newsitem/add/"]:
        assert client.get(url).status_code == 200


def test_client_login_cannot_open_the_admin(client):
    client.force_login(UserFactory())
    response = client.get("/admin/")
    assert response.status_code == 302
