"""A new e-mail becomes the login's, and a login identifier, only after the code sent to it comes back."""

import pytest
from django.core import mail

from sbyt.core.errors import DomainError
from sbyt.core.models import AuditEntry
from sbyt.messaging.models import OutboundMessage
from sbyt.users import services
from sbyt.users.backends import find_login
from sbyt.users.models import OneTimeCode
from tests.factories import AccountFactory, UserFactory, client_login

from .test_services import code_from_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return client_login(AccountFactory())


def start(user, email, capture):
    with capture(execute=True):
        return services.start_email_change(user=user, email=email)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_email_is_set_and_logs_in_only_after_the_code(user, django_capture_on_commit_callbacks):
    otp = start(user, "  Maria@Example.ORG ", django_capture_on_commit_callbacks)
    assert (otp.purpose, otp.email, otp.phone) == (OneTimeCode.Purpose.CHANGE_EMAIL, "maria@example.org", "")
    [letter] = mail.outbox
    assert letter.to == ["maria@example.org"]
    assert letter.subject
    code = code_from_mail()
    assert code not in otp.code_hash
    message = OutboundMessage.objects.get(channel=OutboundMessage.Channel.EMAIL)
    assert (message.to, message.subject, message.purpose) == ("maria@example.org", letter.subject, "otp:email")

    user.refresh_from_db()
    assert user.email is None  # not confirmed yet: no login by it
    assert find_login("maria@example.org") is None

    services.complete_email_change(user=user, otp_id=otp.pk, code=code)
    user.refresh_from_db()
    assert user.email == "maria@example.org"
    assert find_login("MARIA@example.org") == user
    entries = AuditEntry.objects.filter(actor=user, action__startswith="login.email_change")
    assert set(entries.values_list("action", flat=True)) == {"login.email_change_start", "login.email_change"}
    logged = str(list(AuditEntry.objects.values_list("details", flat=True)))
    assert code not in logged
    assert "maria@example.org" not in str(list(entries.values_list("details", flat=True)))  # masked
    with pytest.raises(DomainError):  # a code works once
        services.complete_email_change(user=user, otp_id=otp.pk, code=code)


def test_wrong_code_changes_nothing_and_is_counted(user, django_capture_on_commit_callbacks):
    otp = start(user, "maria@example.org", django_capture_on_commit_callbacks)
    with pytest.raises(DomainError, match="Неверный код"):
        services.complete_email_change(user=user, otp_id=otp.pk, code=wrong(code_from_mail()))
    otp.refresh_from_db()
    assert otp.attempts == 1
    user.refresh_from_db()
    assert user.email is None
    assert find_login("maria@example.org") is None


def test_a_code_sent_for_another_login_does_not_work(user, django_capture_on_commit_callbacks):
    otp = start(user, "maria@example.org", django_capture_on_commit_callbacks)
    intruder = client_login(AccountFactory())
    with pytest.raises(DomainError):
        services.complete_email_change(user=intruder, otp_id=otp.pk, code=code_from_mail())
    intruder.refresh_from_db()
    assert intruder.email is None
    services.complete_email_change(user=user, otp_id=otp.pk, code=code_from_mail())  # still good for its owner


def test_a_phone_code_does_not_confirm_an_email(user, sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        phone_otp = services.start_phone_change(user=user, phone="+79120001122")
    sms_code = "".join(ch for ch in sms_outbox[-1]["text"] if ch.isdigit())[:6]
    with pytest.raises(DomainError):
        services.complete_email_change(user=user, otp_id=phone_otp.pk, code=sms_code)
    user.refresh_from_db()
    assert user.email is None


def test_a_new_code_voids_the_earlier_one(user, django_capture_on_commit_callbacks):
    first = start(user, "maria@example.org", django_capture_on_commit_callbacks)
    first_code = code_from_mail()
    start(user, "maria@example.org", django_capture_on_commit_callbacks)
    with pytest.raises(DomainError):
        services.complete_email_change(user=user, otp_id=first.pk, code=first_code)


def test_an_address_of_another_login_is_refused(user, django_capture_on_commit_callbacks):
    UserFactory(email="taken@example.org")
    with pytest.raises(DomainError, match="e-mail уже"):
        start(user, "Taken@Example.org", django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert not OneTimeCode.objects.exists()


def test_an_address_taken_before_the_code_comes_back_is_refused(user, django_capture_on_commit_callbacks):
    otp = start(user, "maria@example.org", django_capture_on_commit_callbacks)
    code = code_from_mail()
    other = client_login(AccountFactory())
    other_otp = start(other, "maria@example.org", django_capture_on_commit_callbacks)
    services.complete_email_change(user=other, otp_id=other_otp.pk, code=code_from_mail())
    with pytest.raises(DomainError, match="e-mail уже"):
        services.complete_email_change(user=user, otp_id=otp.pk, code=code)
    user.refresh_from_db()
    assert user.email is None
    assert find_login("maria@example.org") == other


@pytest.mark.parametrize(
    "email", ["", "   ", "not-an-email", "maria@example", "a b@example.org", "x" * 250 + "@example.org"]
)
def test_an_invalid_address_sends_nothing(user, email, django_capture_on_commit_callbacks):
    with pytest.raises(DomainError):
        start(user, email, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert not OneTimeCode.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_the_own_address_again_sends_nothing(user, django_capture_on_commit_callbacks):
    user.email = "maria@example.org"
    user.save()
    with pytest.raises(DomainError):
        start(user, "Maria@example.org", django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_removing_the_email_needs_no_code(user):
    user.email = "maria@example.org"
    user.save()
    services.remove_email(user=user)
    user.refresh_from_db()
    assert user.email is None
    assert find_login("maria@example.org") is None
    entry = AuditEntry.objects.get(actor=user, action="login.email_change")
    assert entry.details.get("removed") is True
    services.remove_email(user=user)  # nothing to remove: harmless, no second entry
    assert AuditEntry.objects.filter(actor=user, action="login.email_change").count() == 1
    assert mail.outbox == []


def test_there_is_no_direct_way_to_set_an_email():
    assert not hasattr(services, "change_email")
