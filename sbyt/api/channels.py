"""Machine endpoints of the text channels (plain Django views, not API v1): gateways call them, not people.

SMS: ``GET /channels/sms/kannel`` (Kannel ``sms-service`` ``get-url``; the reply is the plain-text body) and
``POST /channels/sms/webhook`` (an aggregator's JSON; the reply is ``{"reply": …}``). Both need the shared secret
(``SBYT_SMS_INBOUND_SECRET``) as the ``secret`` query parameter or the ``X-Sbyt-Secret`` header. The adapters
(``sbyt.messaging.channels``) do the work; these views only speak HTTP. See docs/channels-sms.md.
"""

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sbyt.core.errors import DomainError
from sbyt.messaging.channels import sms

TEXT = "text/plain; charset=utf-8"


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _sms_secret(request) -> str:
    return request.headers.get(sms.SECRET_HEADER) or request.GET.get("secret") or ""


def _forbidden_text() -> str:
    return _("Access denied.")


@csrf_exempt  # a gateway, not a browser: it carries no session and no CSRF token; the shared secret guards it
@require_GET
def sms_kannel(request):
    if not sms.secret_ok(_sms_secret(request)):
        return HttpResponse(_forbidden_text(), status=403, content_type=TEXT)
    try:
        result = sms.receive_kannel(request.META.get("QUERY_STRING", ""))
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type=TEXT)
    return HttpResponse(result.reply, content_type=TEXT)


@csrf_exempt  # a gateway, not a browser: it carries no session and no CSRF token; the shared secret guards it
@require_POST
def sms_webhook(request):
    if not sms.secret_ok(_sms_secret(request)):
        return _json({"code": "forbidden", "message": _forbidden_text()}, status=403)
    try:
        result = sms.receive_webhook(request.body)
    except DomainError as exc:
        return _json({"code": exc.code, "message": exc.message}, status=400)
    return _json({"reply": result.reply})
