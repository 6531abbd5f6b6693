"""Sign-up, recovery, linking and contact changes through the services, with their guards."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.customers.models import AccountAccess, Consent
from sbyt.users import services
from sbyt.users.backends import find_login
from sbyt.users.models import OneTimeCode, User
from tests.factories import AccountFactory, client_login, staff_login

pytestmark = pytest.mark.django_db


def code_from(outbox) -> str:
    text = outbox[-1]["text"]
    return "".join(ch for ch in text.split(":")[1] if ch.isdigit())[:6]


def code_from_mail() -> str:
    """The one-time code of the last e-mail (Django's locmem mail backend)."""
    return re.search(r"\b\d{6}\b", mail.outbox[-1].body).group(0)


def test_registration_full_path(sms_outbox, django_capture_on_commit_callbacks):
    account = AccountFactory(customer__phone="+79121112233")
    with django_capture_on_commit_callbacks(execute=True):
        otp = services.start_registration(account_number=account.number, actor="cabinet")
    assert sms_outbox[-1]["to"] == "+79121112233"
    assert len(sms_outbox[-1]["text"]) <= 70  # one UCS-2 SMS
    user = services.complete_registration(
        otp_id=otp.pk, code=code_from(sms_outbox), password="Lamp-Meter-2026", consent=True
    )
    assert user.username == account.number
    assert user.check_password("Lamp-Meter-2026")
    assert AccountAccess.objects.get(user=user).account == account
    assert Consent.objects.filter(customer=account.customer, kind="personal_data").exists()
    assert find_login(account.number) == user
    with pytest.raises(DomainError, match="уже создан"):
        services.start_registration(account_number=account.number)


def test_registration_guards(sms_outbox, django_capture_on_commit_callbacks):
    with pytest.raises(DomainError, match="не найден"):
        services.start_registration(account_number="999999999")
    no_phone = AccountFactory(customer__phone="")
    with pytest.raises(DomainError, match="8-800-200-83-81"):
        services.start_registration(account_number=no_phone.number)
    assert OneTimeCode.objects.count() == 0
    account = AccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        otp = services.start_registration(account_number=account.number)
    with pytest.raises(DomainError, match="согласие"):
        services.complete_registration(otp_id=otp.pk, code="000000", password="Lamp-Meter-2026", consent=False)
    with pytest.raises(DomainError):
        services.complete_registration(otp_id=otp.pk, code=code_from(sms_outbox), password="123", consent=True)
    assert not User.objects.exists()


def test_wrong_codes_are_counted_and_exhaust_the_code(sms_outbox, django_capture_on_commit_callbacks, settings):
    account = AccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        otp = services.start_registration(account_number=account.number)
    right = code_from(sms_outbox)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(settings.SBYT_OTP_MAX_ATTEMPTS):
        with pytest.raises(DomainError, match="Неверный код"):
            services.complete_registration(otp_id=otp.pk, code=wrong, password="Lamp-Meter-2026", consent=True)
    with pytest.raises(DomainError, match="Слишком много"):
        services.complete_registration(otp_id=otp.pk, code=right, password="Lamp-Meter-2026", consent=True)
    assert not User.objects.exists()


def test_code_expires(sms_outbox, django_capture_on_commit_callbacks):
    account = AccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        otp = services.start_registration(account_number=account.number)
    with (
        time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)),
        pytest.raises(DomainError, match="истёк"),
    ):
        services.complete_registration(
            otp_id=otp.pk, code=code_from(sms_outbox), password="Lamp-Meter-2026", consent=True
        )


def test_a_new_code_voids_the_old_one(sms_outbox, django_capture_on_commit_callbacks):
    account = AccountFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = services.start_registration(account_number=account.number)
    first_code = code_from(sms_outbox)
    with django_capture_on_commit_callbacks(execute=True):
        services.start_registration(account_number=account.number)
    with pytest.raises(DomainError, match="больше не действует"):
        services.complete_registration(otp_id=first.pk, code=first_code, password="Lamp-Meter-2026", consent=True)


def test_recovery_sends_a_new_password_when_the_data_match(sms_outbox, django_capture_on_commit_callbacks):
    account = AccountFactory(customer__phone="+79125556677")
    user = client_login(account)
    with django_capture_on_commit_callbacks(execute=True):
        services.recover_password(
            full_name="иванова  мария петровна",
            birth_date=dt.date(1970, 5, 17),
            account_number=account.number,
            phone="8 (912) 555-66-77",
        )
    text = sms_outbox[-1]["text"]
    assert sms_outbox[-1]["to"] == "+79125556677"
    assert len(text) <= 70
    password = text.split(":")[1].split(".")[0].strip()
    user.refresh_from_db()
    assert user.check_password(password)
    assert user.must_change_password


@pytest.mark.parametrize(
    "field",
    [
        {"full_name": "Петрова Мария Петровна"},
        {"birth_date": dt.date(1971, 5, 17)},
        {"phone": "+79120000000"},
        {"account_number": "000"},
    ],
)
def test_recovery_refuses_when_any_field_differs(field, sms_outbox, django_capture_on_commit_callbacks):
    account = AccountFactory(customer__phone="+79125556677")
    data = {
        "full_name": "Иванова Мария Петровна",
        "birth_date": dt.date(1970, 5, 17),
        "account_number": account.number,
        "phone": "+79125556677",
    }
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DomainError, match="не совпадают"):
        services.recover_password(**{**data, **field})
    assert sms_outbox == []
    assert not User.objects.exists()


def test_recovery_creates_the_login_of_an_account_without_one(sms_outbox, django_capture_on_commit_callbacks):
    account = AccountFactory(customer__phone="+79125556677")
    with django_capture_on_commit_callbacks(execute=True):
        services.recover_password(
            full_name="Иванова Мария Петровна",
            birth_date=dt.date(1970, 5, 17),
            account_number=account.number,
            phone="+79125556677",
        )
    assert AccountAccess.objects.get(account=account).proof == "recovery"


def test_linking_a_second_account_needs_the_code_sent_to_its_phone(sms_outbox, django_capture_on_commit_callbacks):
    user = client_login(AccountFactory())
    other = AccountFactory(customer__phone="+79127778899")
    with django_capture_on_commit_callbacks(execute=True):
        otp = services.start_linking(user=user, account_number=other.number)
    assert sms_outbox[-1]["to"] == "+79127778899"
    intruder = client_login(AccountFactory())
    with pytest.raises(DomainError):
        services.complete_linking(user=intruder, otp_id=otp.pk, code=code_from(sms_outbox))
    services.complete_linking(user=user, otp_id=otp.pk, code=code_from(sms_outbox))
    assert set(user.account_links.values_list("account__number", flat=True)) == {user.username, other.number}
    assert find_login(other.number) == user
    with pytest.raises(DomainError, match="уже есть"):
        services.start_linking(user=user, account_number=other.number)


def test_change_password_email_and_phone(sms_outbox, django_capture_on_commit_callbacks):
    user = client_login(AccountFactory())
    with pytest.raises(DomainError, match="неверно"):
        services.change_password(user=user, old_password="nope", new_password="Lamp-Meter-2027")
    services.change_password(user=user, old_password="Secret-pass-42", new_password="Lamp-Meter-2027")
    assert user.check_password("Lamp-Meter-2027")

    with django_capture_on_commit_callbacks(execute=True):
        otp = services.start_email_change(user=user, email="Client@Example.ru")
    services.complete_email_change(user=user, otp_id=otp.pk, code=code_from_mail())
    assert find_login("client@example.ru") == user
    other = client_login(AccountFactory())
    with pytest.raises(DomainError, match="e-mail уже"):
        services.start_email_change(user=other, email="client@example.ru")

    with pytest.raises(DomainError, match="мобильного"):
        services.start_phone_change(user=user, phone="12345")
    with django_capture_on_commit_callbacks(execute=True):
        otp = services.start_phone_change(user=user, phone="8 912 000 11 22")
    services.complete_phone_change(user=user, otp_id=otp.pk, code=code_from(sms_outbox))
    user.refresh_from_db()
    assert user.phone == "+79120001122"
    assert find_login("+7 912 000-11-22") == user
    actions = set(AuditEntry.objects.filter(actor=user).values_list("action", flat=True))
    assert {"login.password_change", "login.email_change", "login.phone_change"} <= actions


def test_operator_issues_a_one_time_password():
    account = AccountFactory()
    with pytest.raises(PermissionDenied):
        services.issue_one_time_password(account=account, actor=staff_login("Специалист по показаниям"))
    operator = staff_login("Оператор контакт-центра")
    password = services.issue_one_time_password(account=account, actor=operator)
    user = find_login(account.number)
    assert user.check_password(password)
    assert user.must_change_password
    assert AuditEntry.objects.filter(action="login.issue_password", actor=operator).exists()


def test_a_new_password_revokes_the_app_tokens(sms_outbox, django_capture_on_commit_callbacks):
    from sbyt.users.models import ApiToken

    user = client_login(AccountFactory(customer__phone="+79125556677"))
    token, _raw = services.issue_token(user=user)
    services.change_password(user=user, old_password="Secret-pass-42", new_password="Lamp-Meter-2027")
    token.refresh_from_db()
    assert token.revoked_at is not None
    services.issue_token(user=user)
    services.issue_one_time_password(
        account=user.account_links.get().account, actor=staff_login("Оператор контакт-центра")
    )
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_login_by_client_number_prefers_the_login_registered_with_it():
    account = AccountFactory()
    owner = client_login(account)
    relative = client_login(AccountFactory())
    AccountAccess.objects.create(user=relative, account=account, proof="sms_code")
    assert find_login(account.number) == owner
