"""The client hall's public devices (OFF-2, OFF-3): the ticket kiosk and the hall display.

A device is authorised, not a person. A staff member who may work at the office's windows
(``offices.serve_window`` and one of the office's staff) logs in on the device's browser, opens /hall/ and
activates it as the kiosk or the display of that office: the browser gets a long-lived cookie signed with the
site's key (office, role, who activated it) and is logged out again. Every kiosk and display request checks the
signature, and (at most once a minute, cached) that the office still has a queue and the person who activated
the device still may work there — so removing someone from the office's staff retires the devices they set up,
and a stranger on the internet gets a 403 page. Kiosk forms keep Django's CSRF protection. docs/queue.md."""

import datetime as dt
import re
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core import signing
from django.core.cache import cache
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError
from sbyt.offices import queue
from sbyt.offices.models import Office, PriorityCategory, Service, Ticket
from sbyt.offices.queue_queries import (
    can_serve,
    hall_state,
    kiosk_services,
    serving_offices,
    ticket_estimate,
    tickets_ahead,
)
from sbyt.users.models import User

KIOSK, DISPLAY = "kiosk", "display"
ROLES = (KIOSK, DISPLAY)
COOKIES = {KIOSK: "sbyt_hall_kiosk", DISPLAY: "sbyt_hall_display"}
SALT = "sbyt.portal.hall.device"
MAX_AGE = dt.timedelta(days=400)  # browsers keep a cookie at most 400 days: re-activate once a year
RECHECK_SECONDS = 60
TICKET_PAGE_MINUTES = 15  # how long after printing a kiosk may show a ticket again
POLL_SECONDS = 2
CODE_MAX = 8
GET_POST = ["GET", "POST"]


@dataclass(frozen=True)
class Device:
    role: str
    office: Office
    activated_by: int


def _token(office: Office, role: str, user) -> str:
    return signing.dumps({"o": office.pk, "r": role, "u": user.pk}, salt=SALT)


def device_for(request, role: str) -> Device | None:
    """The office this browser is the kiosk (or display) of, or None."""
    raw = request.COOKIES.get(COOKIES[role])
    if not raw:
        return None
    try:
        data = signing.loads(raw, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("r") != role:
        return None
    office = Office.objects.select_related("branch").filter(pk=data.get("o"), is_active=True, has_queue=True).first()
    if office is None:
        return None
    key = f"portal:hall-device:{office.pk}:{data.get('u')}"
    allowed = cache.get(key)
    if allowed is None:
        user = User.objects.filter(pk=data.get("u")).first()
        allowed = can_serve(user, office)
        cache.set(key, allowed, RECHECK_SECONDS)
    return Device(role, office, data["u"]) if allowed else None


def device_required(role: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            device = device_for(request, role)
            if device is None:
                if role == DISPLAY and request.path.endswith("/state/"):
                    return JsonResponse({"error": "not activated"}, status=403)
                return render(request, "portal/hall/not_activated.html", {"role": role}, status=403)
            request.hall_device = device
            with timezone.override(device.office.branch.time_zone):
                response = view(request, *args, **kwargs)
            response["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorator


def _kiosk_actor(office: Office) -> str:
    return f"kiosk:{office.code}"


# -- activating a device -----------------------------------------------------------------------------------------


@never_cache
@require_http_methods(GET_POST)
def setup(request):
    """What this browser is (kiosk / display of which office) and, for office staff, activation."""
    user = request.user
    offices = list(serving_offices(user)) if user.is_authenticated else []
    if request.method == "POST":
        if not offices:
            return render(request, "portal/hall/setup.html", _setup_context(request, offices), status=403)
        action = request.POST.get("action")
        role = request.POST.get("role")
        if action == "deactivate" and role in ROLES:
            response = redirect("portal:hall_setup")
            response.delete_cookie(COOKIES[role])
            audit(user, "hall.device.deactivate", None, role=role)
            messages.success(request, _("This device is no longer a kiosk or display."))
            return response
        office = next((o for o in offices if str(o.pk) == request.POST.get("office")), None)
        if action != "activate" or role not in ROLES or office is None:
            context = _setup_context(request, offices, error=_("Choose the office and what this device is."))
            return render(request, "portal/hall/setup.html", context, status=400)
        response = redirect("portal:hall_kiosk" if role == KIOSK else "portal:hall_display")
        response.set_cookie(
            COOKIES[role],
            _token(office, role, user),
            max_age=int(MAX_AGE.total_seconds()),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        audit(user, "hall.device.activate", office, role=role)
        if request.POST.get("logout"):
            logout(request)  # a public device must not keep a staff session
        return response
    return render(request, "portal/hall/setup.html", _setup_context(request, offices))


def _setup_context(request, offices, *, error: str = "") -> dict:
    return {
        "offices": offices,
        "kiosk": device_for(request, KIOSK),
        "display": device_for(request, DISPLAY),
        "error": error,
        "login_url": f"{reverse('backoffice:login')}?next={reverse('portal:hall_setup')}",
    }


# -- the kiosk ---------------------------------------------------------------------------------------------------


def _kiosk_render(request, template, context=None, *, status=200):
    office = request.hall_device.office
    base = {"office": office, "role": KIOSK, "home_url": reverse("portal:hall_kiosk")}
    return render(request, template, {**base, **(context or {})}, status=status)


def _booking_available(office: Office) -> bool:
    return office.accepts_appointments


@require_GET
@device_required(KIOSK)
def kiosk(request):
    office = request.hall_device.office
    return _kiosk_render(
        request,
        "portal/hall/kiosk.html",
        {"services": kiosk_services(office), "booking": _booking_available(office)},
    )


@require_http_methods(GET_POST)
@device_required(KIOSK)
def kiosk_service(request, pk: int):
    office = request.hall_device.office
    service = get_object_or_404(Service, pk=pk, is_active=True)
    if service not in kiosk_services(office):
        raise Http404
    categories = list(PriorityCategory.objects.filter(is_active=True))
    context = {"service": service, "categories": categories, "chosen": "", "client_number": "", "error": ""}
    if request.method == "POST":
        chosen = request.POST.get("priority", "")
        number = request.POST.get("client_number", "")
        priority = next((c for c in categories if c.code == chosen), None)
        context.update(chosen=chosen, client_number=number[:40])
        if chosen and priority is None:
            context["error"] = _("Choose a category from the list.")
            return _kiosk_render(request, "portal/hall/kiosk_service.html", context, status=400)
        try:
            ticket = queue.issue_ticket(
                office, service=service, actor=_kiosk_actor(office), priority=priority, client_number=number
            )
        except DomainError as exc:
            context["error"] = exc.message
            return _kiosk_render(request, "portal/hall/kiosk_service.html", context, status=400)
        return redirect("portal:hall_ticket", pk=ticket.pk)
    return _kiosk_render(request, "portal/hall/kiosk_service.html", context)


@require_http_methods(GET_POST)
@device_required(KIOSK)
def kiosk_booking(request):
    """A booked visitor types the booking code and gets the ticket (``appointments.check_in``)."""
    office = request.hall_device.office
    if not _booking_available(office):
        raise Http404
    context = {"code": "", "error": ""}
    if request.method == "POST":
        code = re.sub(r"\s+", "", request.POST.get("code", ""))[: CODE_MAX * 2]
        context["code"] = code
        if not code:
            context["error"] = _("Type the booking code from the SMS or e-mail.")
            return _kiosk_render(request, "portal/hall/kiosk_booking.html", context, status=400)
        from sbyt.offices.appointments import check_in

        try:
            ticket = check_in(office, code=code)
        except DomainError as exc:
            context["error"] = exc.message
            return _kiosk_render(request, "portal/hall/kiosk_booking.html", context, status=400)
        return redirect("portal:hall_ticket", pk=ticket.pk)
    return _kiosk_render(request, "portal/hall/kiosk_booking.html", context)


@require_GET
@device_required(KIOSK)
def kiosk_ticket(request, pk: int):
    """The ticket, printed by the browser on an 80 mm receipt printer; then back to the start."""
    office = request.hall_device.office
    since = timezone.now() - dt.timedelta(minutes=TICKET_PAGE_MINUTES)
    ticket = get_object_or_404(
        Ticket.objects.select_related("service", "priority", "appointment", "office__branch"),
        pk=pk,
        office=office,
        issued_at__gte=since,
    )
    return _kiosk_render(
        request,
        "portal/hall/kiosk_ticket.html",
        {"ticket": ticket, "ahead": tickets_ahead(ticket), "minutes": ticket_estimate(ticket)},
    )


# -- the hall display --------------------------------------------------------------------------------------------


@require_GET
@device_required(DISPLAY)
def display(request):
    office = request.hall_device.office
    return render(
        request,
        "portal/hall/display.html",
        {
            "office": office,
            "role": DISPLAY,
            "state": hall_state(office),
            "state_url": reverse("portal:hall_display_state"),
            "poll_ms": POLL_SECONDS * 1000,
        },
    )


@require_GET
@device_required(DISPLAY)
def display_state(request):
    """The display's JSON, polled every couple of seconds: calls, waiting per service, the newest call's id."""
    office = request.hall_device.office
    payload = hall_state(office).as_json()
    payload["clock"] = timezone.localtime().strftime("%H:%M")
    return JsonResponse(payload)
