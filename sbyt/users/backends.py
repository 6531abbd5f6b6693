"""Log in by client number, by a linked e-mail or phone, or by a staff username — with a password."""

from django.contrib.auth.backends import ModelBackend

from sbyt.core.phones import normalize_phone

from .models import User


def find_login(identifier: str) -> User | None:
    identifier = (identifier or "").strip()
    if not identifier or "\x00" in identifier:  # no login has a NUL; PostgreSQL refuses it in a query
        return None
    if "@" in identifier:
        return User.objects.filter(email__iexact=identifier).first()
    if identifier.isdigit():
        # A client number of an account linked to the login: the login registered with that number first,
        # else the login that was linked to it first.
        user = (
            User.objects.filter(username=identifier, account_links__account__number=identifier).first()
            or User.objects.filter(account_links__account__number=identifier)
            .order_by("account_links__granted_at")
            .first()
        )
        if user:
            return user
    phone = normalize_phone(identifier)
    if phone:
        user = User.objects.filter(phone=phone).first()
        if user:
            return user
    return User.objects.filter(username=identifier).first()


class LoginBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = find_login(username)
        if user is None:
            User().set_password(password)  # same work as a real check: no timing hint that the login is unknown
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
