"""Machine endpoints of the Viber and WhatsApp bots (plain Django views, no CSRF: the platforms carry no session;
the request signature guards them). The adapters (``sbyt.messaging.channels.viber`` / ``.whatsapp``) do the
work; these views only speak HTTP. See docs/channels-viber-whatsapp.md.

``POST /channels/viber/webhook`` (Viber REST bot callbacks, ``X-Viber-Content-Signature``);
``GET|POST /channels/whatsapp/webhook`` (WhatsApp Cloud API: the verify-token handshake, then notifications
signed with ``X-Hub-Signature-256``). Forged or unsigned → 403, malformed → 400, nothing stored either way.
"""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sbyt.core.errors import DomainError
from sbyt.messaging.channels import viber, whatsapp

TEXT = "text/plain; charset=utf-8"


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _forbidden() -> JsonResponse:
    return _json({"code": "forbidden", "message": _("Access denied.")}, status=403)


@csrf_exempt  # a platform, not a browser: no session, no CSRF token; the body's signature guards it
@require_POST
def viber_webhook(request):
    if not viber.signature_ok(request.body, request.headers.get(viber.SIGNATURE_HEADER)):
        return _forbidden()
    try:
        callback = viber.receive_callback(request.body)
    except DomainError as exc:
        return _json({"code": exc.code, "message": exc.message}, status=400)
    if callback.response is not None:  # conversation_started: the welcome message is the response body
        return _json(callback.response)
    return HttpResponse(status=200)


@csrf_exempt  # a platform, not a browser: no session, no CSRF token; the verify token / signature guards it
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request):
    if request.method == "GET":
        challenge = whatsapp.verify(request.GET)
        if challenge is None:
            return HttpResponse(_("Access denied."), status=403, content_type=TEXT)
        return HttpResponse(challenge, content_type=TEXT)
    if not whatsapp.signature_ok(request.body, request.headers.get(whatsapp.SIGNATURE_HEADER)):
        return _forbidden()
    try:
        whatsapp.receive_webhook(request.body)
    except DomainError as exc:
        return _json({"code": exc.code, "message": exc.message}, status=400)
    return HttpResponse(status=200)


urlpatterns = [
    path("viber/webhook", viber_webhook, name="channel-viber-webhook"),
    path("whatsapp/webhook", whatsapp_webhook, name="channel-whatsapp-webhook"),
]
