"""The «smart office» terminal (OFF-6): the personal cabinet in kiosk mode on an office's touch terminal.

The terminal's browser opens ``/smart-office/<office code>/``: that puts its session in kiosk mode (the session
key ``smart_office`` holds the office's code; ``portal/base.html`` then adds the ``kiosk-mode`` body class and
the kiosk bar with the inactivity countdown) and gives the session a short life on the server
(``KIOSK_SESSION_SECONDS`` after its last save), so a forgotten session ends even with JavaScript off. With
JavaScript, the page warns after ``KIOSK_IDLE_SECONDS`` without a touch or a key, and ends the session after
``KIOSK_WARNING_SECONDS`` more; while the client is active it pings ``keepalive`` to extend the server's expiry.
Ending a session (button, countdown) logs out and returns to the terminal's start screen, still in kiosk mode.

Login and first-time registration are the cabinet's own pages; the video call books a video consultation
(``/book/?office=<code>&kind=video``); the account details print from a print-friendly page. The certificate of
no debt and the account statement are the cabinet's PDFs (``billing_views``: refused in words while there is a debt).
"""

from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth import logout
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from sbyt.core.errors import NotFound
from sbyt.customers.queries import account_for, accounts_for, contracts_with_meters
from sbyt.metering import queries as metering
from sbyt.offices.models import Office

from .views import client_required

KIOSK = "smart_office"  # session key: the code of the terminal's office
KIOSK_SESSION_SECONDS = 300  # the server ends a kiosk session this long after its last activity ping or page
KIOSK_IDLE_SECONDS = 120  # the page asks «are you still here?» after this long without a touch
KIOSK_WARNING_SECONDS = 30  # … and ends the session this long after asking
KEEPALIVE_SECONDS = 60  # at most one ping a minute, and only after a touch
BOOKING_PATH = "/book/"  # the booking pages (another part of the offices work)


def kiosk_office_code(request) -> str:
    return request.session.get(KIOSK, "") if hasattr(request, "session") else ""


def _enter_kiosk(request, office: Office) -> None:
    request.session[KIOSK] = office.code
    request.session.set_expiry(KIOSK_SESSION_SECONDS)


def _touch(request) -> None:
    """Save the kiosk session, which moves its server-side expiry ``KIOSK_SESSION_SECONDS`` ahead."""
    if kiosk_office_code(request):
        request.session.modified = True


def video_call_url(office_code: str) -> str:
    query = {"office": office_code, "kind": "video"} if office_code else {"kind": "video"}
    return f"{BOOKING_PATH}?{urlencode(query)}"


@require_GET
@never_cache
def start(request, code: str):
    """The terminal's start screen; opening it puts the session in kiosk mode."""
    office = get_object_or_404(Office.objects.select_related("branch"), code=code, is_active=True)
    _enter_kiosk(request, office)
    context = {
        "office": office,
        "tiles": {target: reverse("portal:smart_office_go", args=[office.code, target]) for target in _targets(office)},
        "client": request.user.is_authenticated and not request.user.is_staff,
        "idle_minutes": max(1, round(KIOSK_IDLE_SECONDS / 60)),
    }
    return render(request, "portal/smart_office/start.html", context)


def _targets(office: Office) -> dict:
    cabinet = reverse("portal:smart_office_cabinet")
    return {
        "login": f"{reverse('portal:login')}?{urlencode({'next': cabinet})}",
        "register": reverse("portal:register"),
        "readings": reverse("portal:public_readings"),
        "video": video_call_url(office.code),
        "cabinet": cabinet,
    }


@require_GET
def go(request, code: str, target: str):
    """A tile of the start screen: re-enter kiosk mode (an idle terminal's session may have expired meanwhile),
    then go to the cabinet page it names."""
    office = get_object_or_404(Office, code=code, is_active=True)
    url = _targets(office).get(target)
    if url is None:
        raise Http404("target")
    _enter_kiosk(request, office)
    return redirect(url)


@client_required
@require_GET
@never_cache
def cabinet(request):
    """The client's accounts with large buttons: details, readings, printing, a video call."""
    _touch(request)
    accounts = list(accounts_for(request.user).prefetch_related("premises"))
    context = {"accounts": accounts, "video_url": video_call_url(kiosk_office_code(request))}
    return render(request, "portal/smart_office/cabinet.html", context)


@client_required
@require_GET
@never_cache
def print_details(request, number: str):
    """The account details (реквизиты) as a print-friendly page: only the logged-in client's own account."""
    try:
        account = account_for(request.user, number)
    except NotFound:
        raise Http404("account")
    _touch(request)
    contracts = list(contracts_with_meters(account))
    last = metering.last_accepted_by_meter(m.pk for c in contracts for m in c.meters.all())
    zone = ZoneInfo(account.branch.time_zone)
    office = Office.objects.filter(code=kiosk_office_code(request)).first() if kiosk_office_code(request) else None
    context = {
        "account": account,
        "customer": account.customer,
        "premises": list(account.premises.order_by("id")),
        "contracts": contracts,
        "meters": [(c, m, last.get(m.pk)) for c in contracts for m in c.meters.all()],
        "printed_at": timezone.now().astimezone(zone),
        "office": office,
    }
    with timezone.override(zone):
        return render(request, "portal/smart_office/print.html", context)


@require_POST
def keepalive(request):
    """The page's sign of life while the client is active: the kiosk session's expiry moves ahead."""
    _touch(request)
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def finish(request):
    """End the client's session (the button or the countdown) and return to the terminal's start screen."""
    code = kiosk_office_code(request)
    logout(request)
    office = Office.objects.filter(code=code, is_active=True).first() if code else None
    if office is None:
        return redirect("portal:index")
    _enter_kiosk(request, office)
    return redirect("portal:smart_office", code=office.code)
