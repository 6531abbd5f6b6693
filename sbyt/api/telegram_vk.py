"""Messenger webhooks for Telegram and VK (plain Django views, not API v1): the messengers call them, not people.

``POST /channels/telegram/webhook`` (Bot API ``setWebhook`` with ``secret_token``; the header
``X-Telegram-Bot-Api-Secret-Token`` is checked) and ``POST /channels/vk/callback`` (Callback API: the confirmation
handshake, then ``secret`` in every event; answered ``ok``). The adapters (``sbyt.messaging.channels``) do the
work and queue the replies; these views only speak HTTP. See docs/channels-messengers.md.
"""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sbyt.core.errors import DomainError
from sbyt.messaging.channels import telegram, vk

TEXT = "text/plain; charset=utf-8"


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _forbidden_text() -> str:
    return _("Access denied.")


@csrf_exempt  # Telegram, not a browser: no session, no CSRF token; the secret-token header guards it
@require_POST
def telegram_webhook(request):
    if not telegram.secret_ok(request.headers.get(telegram.SECRET_HEADER)):
        return _json({"code": "forbidden", "message": _forbidden_text()}, status=403)
    try:
        telegram.receive_update(request.body)
    except DomainError as exc:
        return _json({"code": exc.code, "message": exc.message}, status=400)
    return _json({"ok": True})


@csrf_exempt  # VK, not a browser: no session, no CSRF token; the secret key in the body guards it
@require_POST
def vk_callback(request):
    try:
        data = vk.parse(request.body)
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type=TEXT)
    if data["type"] == "confirmation":
        answer = vk.confirmation(data)
        if answer is None:
            return HttpResponse(_forbidden_text(), status=403, content_type=TEXT)
        return HttpResponse(answer, content_type=TEXT)
    if not vk.secret_ok(data):
        return HttpResponse(_forbidden_text(), status=403, content_type=TEXT)
    try:
        vk.handle_event(data)
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type=TEXT)
    return HttpResponse("ok", content_type=TEXT)


urlpatterns = [
    path("telegram/webhook", telegram_webhook, name="channel-telegram-webhook"),
    path("vk/callback", vk_callback, name="channel-vk-callback"),
]
