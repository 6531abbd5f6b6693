"""Every service write has an audit entry, findable by the client number where there is one; registration
never fails with a 500 when the client number is already taken as a login's username."""

import datetime as dt

import pytest

from sbyt.core.models import AuditEntry
from sbyt.customers.models import AccountAccess
from sbyt.metering.services import approve_reading, submit_reading
from sbyt.users import services as users
from sbyt.users.models import User
from tests.factories import (
    AccountFactory,
    MeterFactory,
    ReadingFactory,
    UserFactory,
    WindowFactory,
    aware,
    staff_login,
)

pytestmark = pytest.mark.django_db


def test_starting_a_phone_change_is_audited(sms_outbox):
    user = UserFactory()
    users.start_phone_change(user=user, phone="+7 912 000-33-44")
    entry = AuditEntry.objects.get(kind=AuditEntry.Kind.WRITE, action__startswith="login.phone", actor=user)
    assert entry.target_id == str(user.pk)


def test_approving_a_held_reading_is_audited_with_the_client_number():
    meter = MeterFactory()
    WindowFactory(branch=meter.contract.account.branch)
    ReadingFactory(meter=meter, t1=0, period=dt.date(2025, 11, 1), received_at=aware(2025, 11, 20))
    ReadingFactory(meter=meter, t1=1000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    held = submit_reading(meter=meter, values=["9000"], channel="sms", received_at=aware(2026, 11, 20, 9)).reading
    assert held.status == "held"
    specialist = staff_login("Специалист по показаниям")
    approve_reading(reading=held, actor=specialist)
    entry = AuditEntry.objects.get(action="reading.approve")
    assert entry.account_number == meter.contract.account.number


def test_registration_completes_when_the_number_is_already_a_username(sms_outbox):
    """E.g. the former holder's login, whose access an operator removed when the flat changed hands."""
    account = AccountFactory(customer__phone="+79127770011")
    former = UserFactory(username=account.number)
    otp = users.start_registration(account_number=account.number)
    code = "123456"
    type(otp).objects.filter(pk=otp.pk).update(code_hash=users._code_hash(otp.purpose, otp.phone, code))
    user = users.complete_registration(otp_id=otp.pk, code=code, password="Very-secret-42", consent=True)
    assert user.pk != former.pk
    assert AccountAccess.objects.filter(user=user, account=account).exists()
    assert not AccountAccess.objects.filter(user=former).exists()
    assert User.objects.filter(username=account.number).count() == 1
