"""users.services.issue_token / revoke_token: happy paths and every guard."""

import pytest

from sbyt.core.errors import PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.users.models import ApiToken
from sbyt.users.services import issue_token, revoke_token, token_hash
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_issue_stores_only_the_hash_and_audits():
    user = UserFactory()
    row, raw = issue_token(user=user)
    assert row.key_hash == token_hash(raw) != raw
    assert ApiToken.objects.get().user == user
    assert AuditEntry.objects.get(action="login.token_issue").actor == user


@pytest.mark.parametrize("attrs", [{"is_staff": True}, {"is_active": False}])
def test_issue_refuses_staff_and_blocked_logins(attrs):
    with pytest.raises(PermissionDenied):
        issue_token(user=UserFactory(**attrs))
    assert not ApiToken.objects.exists()


def test_revoke_by_the_owner_once():
    user = UserFactory()
    row, _raw = issue_token(user=user)
    revoke_token(token=row, actor=user)
    first = ApiToken.objects.get().revoked_at
    assert first is not None
    revoke_token(token=row, actor=user)
    assert ApiToken.objects.get().revoked_at == first
    assert AuditEntry.objects.filter(action="login.token_revoke").count() == 1


def test_revoke_guards():
    row, _raw = issue_token(user=UserFactory())
    for actor in (None, UserFactory(), UserFactory(is_staff=True)):
        with pytest.raises(PermissionDenied):
            revoke_token(token=row, actor=actor)
    assert ApiToken.objects.get().revoked_at is None
    revoke_token(token=row, actor=UserFactory(is_staff=True, is_superuser=True))
    assert ApiToken.objects.get().revoked_at is not None
