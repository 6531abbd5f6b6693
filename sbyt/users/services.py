"""Sign-up, recovery, account linking and contact changes of client logins; one-time codes by SMS or e-mail."""

import hashlib
import hmac
import re
import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.phones import mask_phone, normalize_phone
from sbyt.customers.models import Account, AccountAccess, Consent
from sbyt.customers.queries import find_account
from sbyt.messaging.services import send_email, send_sms

from .models import ApiToken, OneTimeCode, User

CODE_DIGITS = 6
MAX_EMAIL_LENGTH = 254  # what the e-mail columns hold
PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0OoIl1")


def _code_hash(otp_purpose: str, target: str, code: str) -> str:
    """Binds the code to its purpose and to where it was sent (a phone or an e-mail)."""
    message = f"{otp_purpose}:{target}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _no_phone_message(account: Account) -> str:
    phones = ", ".join(account.branch.phones)
    if phones:
        return _(
            "There is no mobile phone on file for this client number, so we cannot send a code. "
            "Call the contact centre (%(phones)s) or visit an office to add it."
        ) % {"phones": phones}
    return _(
        "There is no mobile phone on file for this client number, so we cannot send a code. "
        "Call the contact centre or visit an office to add it."
    )


def _new_code(*, purpose: str, phone: str = "", email: str = "", account=None, user=None) -> tuple[OneTimeCode, str]:
    """Create a code for a phone or an e-mail and void the earlier unused ones of the same purpose, target and
    login (so that nobody can void a code another login is waiting for); returns the row (which keeps only a
    hash) and the code itself, for the caller to deliver."""
    code = "".join(secrets.choice(string.digits) for _ in range(CODE_DIGITS))
    now = timezone.now()
    target = {"email": email} if email else {"phone": phone}
    OneTimeCode.objects.filter(purpose=purpose, user=user, used_at__isnull=True, **target).update(used_at=now)
    otp = OneTimeCode.objects.create(
        purpose=purpose,
        phone=phone,
        email=email,
        code_hash=_code_hash(purpose, email or phone, code),
        account=account,
        user=user,
        expires_at=now + timedelta(seconds=settings.SBYT_OTP_TTL_SECONDS),
    )
    return otp, code


def issue_code(*, purpose: str, phone: str, account=None, user=None, actor=None) -> OneTimeCode:
    """Create a code, void the earlier unused ones of the same purpose and phone, and send it by SMS."""
    otp, code = _new_code(purpose=purpose, phone=phone, account=account, user=user)
    text = _("Sbyt code: %(code)s. Do not tell it to anyone, staff never ask for it.") % {"code": code}
    send_sms(to=phone, text=text, purpose=f"otp:{purpose}", actor=actor)
    return otp


def issue_email_code(*, purpose: str, email: str, user=None, actor=None) -> OneTimeCode:
    """Create a code, void the earlier unused ones of the same purpose and e-mail, and send it by e-mail."""
    otp, code = _new_code(purpose=purpose, email=email, user=user)
    subject = _("%(site)s: your confirmation code") % {"site": settings.SBYT_SITE_NAME}
    text = _(
        "Your code to confirm this e-mail in the personal cabinet: %(code)s\n\n"
        "The code is valid for %(minutes)s minutes. Do not tell it to anyone, staff never ask for it.\n"
        "If you did not ask for it, just ignore this letter: nothing will change."
    ) % {"code": code, "minutes": max(1, settings.SBYT_OTP_TTL_SECONDS // 60)}
    send_email(to=email, subject=subject, text=text, purpose=f"otp:{purpose}", actor=actor)
    return otp


def verify_code(*, otp_id: int, code: str, purpose: str, user: User | None = None) -> OneTimeCode:
    """Check a code (issued to ``user`` when given); a wrong try is counted even though the caller fails."""
    code = re.sub(r"\D", "", code or "")
    with transaction.atomic():
        otp = OneTimeCode.objects.select_for_update().filter(pk=otp_id, purpose=purpose)
        otp = otp.filter(user=user).first() if user is not None else otp.first()
        if otp is None or otp.used_at is not None:
            raise DomainError(_("The code is no longer valid. Request a new one."))
        if otp.expires_at < timezone.now():
            raise DomainError(_("The code has expired. Request a new one."))
        if otp.attempts >= settings.SBYT_OTP_MAX_ATTEMPTS:
            raise DomainError(_("Too many wrong attempts. Request a new code."))
        if not hmac.compare_digest(otp.code_hash, _code_hash(purpose, otp.target, code)):
            otp.attempts += 1
            otp.save(update_fields=["attempts"])
            left = settings.SBYT_OTP_MAX_ATTEMPTS - otp.attempts
            return_error = _("Wrong code. Attempts left: %(left)s.") % {"left": left}
        else:
            otp.used_at = timezone.now()
            otp.save(update_fields=["used_at"])
            return otp
    raise DomainError(return_error)


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages)) from exc


def start_registration(*, account_number: str, actor=None) -> OneTimeCode:
    account = find_account(account_number)
    if account is None:
        raise DomainError(_("Client number not found. Check the number on your bill."))
    if AccountAccess.objects.filter(account=account).exists():
        raise DomainError(
            _("A personal cabinet already exists for this client number. Log in, or recover the password.")
        )
    phone = normalize_phone(account.customer.phone)
    if not phone:
        raise DomainError(_no_phone_message(account))
    with transaction.atomic():
        otp = issue_code(purpose=OneTimeCode.Purpose.REGISTER, phone=phone, account=account, actor=actor)
        audit(actor, "login.register_start", account, account_number=account.number)
    return otp


def complete_registration(*, otp_id: int, code: str, password: str, consent: bool, actor=None) -> User:
    if not consent:
        raise DomainError(_("Registration needs your consent to the processing of personal data."))
    _check_password(password)
    otp = verify_code(otp_id=otp_id, code=code, purpose=OneTimeCode.Purpose.REGISTER)
    with transaction.atomic():
        account = Account.objects.select_for_update(of=("self",)).select_related("customer").get(pk=otp.account_id)
        if AccountAccess.objects.filter(account=account).exists():
            raise DomainError(
                _("A personal cabinet already exists for this client number. Log in, or recover the password.")
            )
        user = User(username=_free_username(account))
        if not User.objects.filter(phone=otp.phone).exists():
            user.phone = otp.phone
        user.set_password(password)
        user.save()
        AccountAccess.objects.create(user=user, account=account, proof=AccountAccess.Proof.SMS_CODE)
        Consent.objects.create(
            customer=account.customer,
            kind=Consent.Kind.PERSONAL_DATA,
            channel="cabinet",
            given_at=timezone.now(),
        )
        audit(user, "login.register", user, account_number=account.number)
    return user


def _names_match(customer, full_name: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(text.lower().replace("ё", "е").split())

    return bool(customer.full_name) and norm(customer.full_name) == norm(full_name)


def generate_password(length: int = 10) -> str:
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def _revoke_app_tokens(user: User) -> int:
    """A new password logs the mobile app out everywhere."""
    if user.pk is None:
        return 0
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _free_username(account: Account) -> str:
    """The client number as the username of a new login, unless a login (e.g. a former holder's, whose access
    was removed) already has it; a username is only a label: clients log in by the client number itself."""
    for username in (account.number, f"c{account.pk}"):
        if not User.objects.filter(username=username).exists():
            return username
    return f"c{account.pk}-{secrets.token_hex(4)}"


def _login_for_account(account: Account) -> User:
    access = AccountAccess.objects.filter(account=account).select_related("user").order_by("granted_at").first()
    if access:
        return access.user
    user = User.objects.create(username=_free_username(account))
    return user


def _reset_password(account: Account, *, proof: str) -> tuple[User, str]:
    """A fresh one-time password on the account's login (created if the account had none); the client must
    change it at the next login, and the mobile app is logged out. Call inside the caller's transaction."""
    Account.objects.select_for_update().get(pk=account.pk)
    user = _login_for_account(account)
    password = generate_password()
    user.set_password(password)
    user.must_change_password = True
    user.save()
    _revoke_app_tokens(user)
    AccountAccess.objects.get_or_create(user=user, account=account, defaults={"proof": proof})
    return user, password


def recover_password(*, full_name: str, birth_date, account_number: str, phone: str, actor=None) -> None:
    """CAB-1 recovery: the data must match the client's file; a new password goes by SMS to that phone."""
    mismatch = _("The data do not match the client's file. Check them, or call the contact centre or visit an office.")
    account = find_account(account_number)
    phone = normalize_phone(phone)
    if account is None or not phone:
        raise DomainError(mismatch)
    customer = account.customer
    if (
        normalize_phone(customer.phone) != phone
        or customer.birth_date != birth_date
        or not _names_match(customer, full_name)
    ):
        audit(actor, "login.recover_mismatch", account, account_number=account.number)
        raise DomainError(mismatch)
    with transaction.atomic():
        user, password = _reset_password(account, proof=AccountAccess.Proof.RECOVERY)
        text = _("Your new password for the personal cabinet: %(password)s. Client number: %(number)s.") % {
            "password": password,
            "number": account.number,
        }
        send_sms(to=phone, text=text, purpose="password", actor=actor)
        audit(actor, "login.recover", user, account_number=account.number)


def start_linking(*, user: User, account_number: str) -> OneTimeCode:
    account = find_account(account_number)
    if account is None:
        raise DomainError(_("Client number not found. Check the number on your bill."))
    if AccountAccess.objects.filter(user=user, account=account).exists():
        raise DomainError(_("This client number is already in your cabinet."))
    phone = normalize_phone(account.customer.phone)
    if not phone:
        raise DomainError(_no_phone_message(account))
    with transaction.atomic():
        otp = issue_code(purpose=OneTimeCode.Purpose.LINK_ACCOUNT, phone=phone, account=account, user=user, actor=user)
        audit(user, "login.link_start", account, account_number=account.number)
    return otp


def complete_linking(*, user: User, otp_id: int, code: str) -> AccountAccess:
    otp = verify_code(otp_id=otp_id, code=code, purpose=OneTimeCode.Purpose.LINK_ACCOUNT, user=user)
    with transaction.atomic():
        access, _created = AccountAccess.objects.get_or_create(
            user=user, account_id=otp.account_id, defaults={"proof": AccountAccess.Proof.SMS_CODE}
        )
        audit(user, "login.link", access, account_number=access.account.number)
    return access


def change_password(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise DomainError(_("The current password is wrong."))
    _check_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        _revoke_app_tokens(user)
        audit(user, "login.password_change", user)


def normalize_email(email: str) -> str:
    """The form an e-mail is kept and compared in: trimmed, lower-case; empty when it is not a valid address."""
    email = (email or "").strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


def mask_email(email: str) -> str:
    """For the audit log: m***@example.org."""
    local, _at, domain = (email or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _email_taken(email: str, user: User) -> bool:
    return User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists()


def start_email_change(*, user: User, email: str) -> OneTimeCode:
    """Send a code to the new e-mail; the e-mail becomes the login's (and a login identifier) only when the
    code comes back through ``complete_email_change``."""
    normalized = normalize_email(email)
    if not normalized:
        raise DomainError(_("Enter an e-mail address, e.g. name@example.ru."))
    if _email_taken(normalized, user):
        raise DomainError(_("This e-mail is already used by another login."))
    if (user.email or "").lower() == normalized:
        raise DomainError(_("This e-mail is already in your cabinet."))
    with transaction.atomic():
        otp = issue_email_code(purpose=OneTimeCode.Purpose.CHANGE_EMAIL, email=normalized, user=user, actor=user)
        audit(user, "login.email_change_start", user, email=mask_email(normalized))
    return otp


def complete_email_change(*, user: User, otp_id: int, code: str) -> None:
    otp = verify_code(otp_id=otp_id, code=code, purpose=OneTimeCode.Purpose.CHANGE_EMAIL, user=user)
    taken = DomainError(_("This e-mail is already used by another login."))
    if _email_taken(otp.email, user):
        raise taken
    try:
        with transaction.atomic():
            user.email = otp.email
            user.save(update_fields=["email"])
            audit(user, "login.email_change", user, email=mask_email(otp.email))
    except IntegrityError as exc:  # another login confirmed the same address a moment ago
        user.refresh_from_db(fields=["email"])
        raise taken from exc


def remove_email(*, user: User) -> None:
    """Removing the e-mail needs no code: it only takes a way to log in away."""
    if not user.email:
        return
    with transaction.atomic():
        user.email = None
        user.save(update_fields=["email"])
        audit(user, "login.email_change", user, removed=True)


def start_phone_change(*, user: User, phone: str) -> OneTimeCode:
    normalized = normalize_phone(phone)
    if not normalized:
        raise DomainError(_("Enter a Russian mobile number, e.g. +7 912 345-67-89."))
    if User.objects.filter(phone=normalized).exclude(pk=user.pk).exists():
        raise DomainError(_("This phone is already used by another login."))
    with transaction.atomic():
        otp = issue_code(purpose=OneTimeCode.Purpose.CHANGE_PHONE, phone=normalized, user=user, actor=user)
        audit(user, "login.phone_change_start", user, phone=mask_phone(normalized))
    return otp


def complete_phone_change(*, user: User, otp_id: int, code: str) -> None:
    otp = verify_code(otp_id=otp_id, code=code, purpose=OneTimeCode.Purpose.CHANGE_PHONE, user=user)
    with transaction.atomic():
        if User.objects.filter(phone=otp.phone).exclude(pk=user.pk).exists():
            raise DomainError(_("This phone is already used by another login."))
        user.phone = otp.phone
        user.save(update_fields=["phone"])
        audit(user, "login.phone_change", user)


def issue_one_time_password(*, account: Account, actor) -> str:
    """CAB-1: a contact-centre or office operator gives the client a one-time password, read out to them."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("users.issue_password"):
        raise PermissionDenied(_("You are not allowed to issue passwords."))
    with transaction.atomic():
        user, password = _reset_password(account, proof=AccountAccess.Proof.OPERATOR)
        audit(actor, "login.issue_password", user, account_number=account.number)
    return password


# --- API tokens of the mobile app -------------------------------------------------------------------------


def token_hash(raw_token: str) -> str:
    """Only this digest of a token is stored; the token itself is shown once, when issued."""
    return hashlib.sha256((raw_token or "").encode()).hexdigest()


def issue_token(*, user: User, actor=None, channel: str = "app") -> tuple[ApiToken, str]:
    """A new bearer token for a client login: returns the row and the token, which is never shown again."""
    if not user.is_active:
        raise PermissionDenied(_("This login is blocked."))
    if user.is_staff:
        raise PermissionDenied(_("Staff logins cannot use the mobile app."))
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, key_hash=token_hash(raw), channel=channel)
        audit(actor if actor is not None else user, "login.token_issue", token, channel=channel)
    return token, raw


def revoke_token(*, token: ApiToken, actor) -> ApiToken:
    """Revoke a token (log out of the app). Its owner may do it, or a superuser; a second revoke is harmless."""
    if not getattr(actor, "is_authenticated", False) or (actor.pk != token.user_id and not actor.is_superuser):
        raise PermissionDenied(_("You are not allowed to revoke this token."))
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit(actor, "login.token_revoke", token, channel=token.channel)
    return token
