"""JSON error bodies of API v1: always ``{code, message}`` with a Russian message."""

import json

from django.http import Http404
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from sbyt.core.errors import DomainError, NotFound, PermissionDenied


class MalformedBody(Exception):
    """The request body is not JSON."""


class JsonParser(Parser):
    def parse_body(self, request):
        try:
            return json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise MalformedBody(str(exc)) from exc


class Utf8JsonRenderer(JSONRenderer):
    """Russian text as is, not escaped (the body is UTF-8)."""

    json_dumps_params = {"ensure_ascii": False}


_WRONG_TYPE = {
    "string_type",
    "int_type",
    "list_type",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "bool_type",
    "int_from_float",
    "int_parsing",
    "date_type",
    "date_parsing",
}


def _field_name(loc) -> str:
    parts = list(loc)
    # ninja prefixes the source and the parameter name: ("body", "payload", "values", 0, "str").
    if parts and parts[0] in ("body", "path", "query"):
        parts = parts[1:]
        if parts and parts[0] == "payload":
            parts = parts[1:]
    # A union reports each member's tag after the list index ("str", "int"...): one field, one message.
    while len(parts) >= 2 and isinstance(parts[-1], str) and isinstance(parts[-2], int):
        parts.pop()
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _field_message(field: str, kind: str) -> str:
    if not field:
        return _("The request body must be a JSON object with the fields of the request.")
    if kind == "missing":
        return _("%(field)s: this field is required.") % {"field": field}
    if kind in _WRONG_TYPE:
        return _("%(field)s: wrong type of value.") % {"field": field}
    if kind in ("too_long", "string_too_long"):
        return _("%(field)s: too long.") % {"field": field}
    return _("%(field)s: wrong value.") % {"field": field}


def validation_body(errors) -> dict:
    seen: dict[str, dict] = {}
    for error in errors:
        field = _field_name(error.get("loc", ()))
        if field in seen:
            continue
        kind = error.get("type", "")
        seen[field] = {"field": field, "code": kind, "message": _field_message(field, kind)}
    details = " ".join(item["message"] for item in seen.values())
    return {
        "code": "invalid_request",
        "message": _("The request is not filled in correctly. %(details)s") % {"details": details},
        "errors": list(seen.values()),
    }


def install(api) -> None:
    """Replace ninja's default error bodies with ours."""

    def on_validation(request, exc: ValidationError):
        return api.create_response(request, validation_body(exc.errors), status=422)

    def on_authentication(request, exc: AuthenticationError):
        body = {
            "code": "unauthorized",
            "message": _("Please log in to the app again: the access token is missing, unknown or revoked."),
        }
        response = api.create_response(request, body, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response

    def on_http_error(request, exc: HttpError):
        if isinstance(exc.__cause__, MalformedBody):
            body = {"code": "invalid_json", "message": _("The request body is not valid JSON.")}
            return api.create_response(request, body, status=422)
        return api.create_response(request, {"code": "error", "message": str(exc)}, status=exc.status_code)

    def on_domain_error(request, exc: DomainError):
        status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, PermissionDenied) else 400
        return api.create_response(request, {"code": exc.code, "message": exc.message}, status=status)

    def on_404(request, exc):
        return api.create_response(request, {"code": "not_found", "message": _("Not found.")}, status=404)

    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(AuthenticationError, on_authentication)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(DomainError, on_domain_error)
    api.add_exception_handler(Http404, on_404)
