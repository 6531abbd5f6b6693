"""Bearer-token authentication of the mobile app, and issuing / revoking tokens."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited
from ninja import Router, Status
from ninja.security import HttpBearer

from sbyt.core.errors import DomainError
from sbyt.core.phones import normalize_phone
from sbyt.users.models import ApiToken
from sbyt.users.services import issue_token, revoke_token, token_hash

from .schemas import ErrorOut, TokenIn, TokenOut

MAX_TOKEN_LENGTH = 200


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``: an active token of an active client login."""

    def authenticate(self, request, token):
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        row = (
            ApiToken.objects.select_related("user").filter(key_hash=token_hash(token), revoked_at__isnull=True).first()
        )
        if row is None or not row.user.is_active or row.user.is_staff:
            return None
        request.user = row.user
        return row


router = Router(tags=["auth"])


def _login_key(login: str) -> str:
    login = (login or "").strip().lower()
    return normalize_phone(login) or "".join(login.split())


def too_many_attempts() -> dict:
    return {"code": "too_many_requests", "message": _("Too many attempts. Please try again in a few minutes.")}


@router.post(
    "/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut},
    summary="Log in: get a bearer token",
)
def obtain_token(request, payload: TokenIn):
    """Exchange the login (client number, linked e-mail or phone) and password for a token, shown once."""
    rate = settings.RATELIMIT_LOGIN
    by_ip = is_ratelimited(request, group="api.token:ip", key="ip", rate=rate, increment=True)
    login_key = _login_key(payload.login)
    by_login = is_ratelimited(
        request, group="api.token:login", key=lambda _group, _request: login_key, rate=rate, increment=True
    )
    if by_ip or by_login:
        return Status(429, too_many_attempts())
    user = authenticate(request, username=payload.login.strip(), password=payload.password)
    if user is None:
        return Status(401, {"code": "invalid_credentials", "message": _("Wrong login or password.")})
    try:
        _token, raw = issue_token(user=user, actor=user, channel="app")
    except DomainError as exc:
        return Status(403, {"code": exc.code, "message": exc.message})
    return Status(200, {"token": raw, "must_change_password": user.must_change_password})


@router.delete("/token", response={204: None, 401: ErrorOut}, summary="Log out: revoke the current token")
def delete_token(request):
    revoke_token(token=request.auth, actor=request.user)
    return Status(204, None)
