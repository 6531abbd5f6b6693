"""The window console of the electronic queue (OFF-2…OFF-4): choose the office and window, open / break / close
it, call the next client with one press, recall, start, served, no-show, redirect, check the priority document.

Who: staff with ``offices.serve_window`` who are among the office's staff (or superusers); anyone else gets 403.
Every change goes through ``sbyt.offices.queue``; its Russian messages (and the OFF-4 warnings, which never
block) come back as messages on the console."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied as Forbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sbyt.core.errors import DomainError
from sbyt.offices import queue
from sbyt.offices.models import Service, Ticket, Window
from sbyt.offices.queue_queries import can_serve, console_state, hall_state, serving_offices

from .views import no_store, staff_permission

SERVE = "offices.serve_window"


def _window_or_403(request, pk: int) -> Window:
    window = get_object_or_404(Window.objects.select_related("office__branch", "specialist"), pk=pk)
    if not can_serve(request.user, window.office):
        raise Forbidden
    return window


def _report(request, warnings: list[str]) -> None:
    for warning in warnings:
        messages.warning(request, warning)


@staff_permission(SERVE)
@require_GET
@no_store
def queue_home(request):
    """The offices the user works at, with their windows and the hall's summary."""
    offices = []
    for office in serving_offices(request.user).prefetch_related("windows__specialist"):
        offices.append({"office": office, "hall": hall_state(office)})
    return render(request, "backoffice/queue/home.html", {"offices": offices})


@staff_permission(SERVE)
@require_GET
@no_store
def console(request, pk: int):
    window = _window_or_403(request, pk)
    with timezone.override(window.office.branch.time_zone):
        return render(
            request,
            "backoffice/queue/console.html",
            {"state": console_state(window), "window": window, "office": window.office},
        )


@staff_permission(SERVE)
@require_GET
@no_store
def hall_fragment(request, pk: int):
    """The hall's summary on the console, refreshed by htmx every few seconds."""
    window = _window_or_403(request, pk)
    with timezone.override(window.office.branch.time_zone):
        return render(
            request,
            "backoffice/queue/_hall.html",
            {"hall": hall_state(window.office), "window": window, "office": window.office},
        )


WINDOW_ACTIONS = {"open": queue.open_window, "break": queue.start_break, "close": queue.close_window}


@staff_permission(SERVE)
@require_POST
def window_state(request, pk: int):
    window = _window_or_403(request, pk)
    action = WINDOW_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Unknown action."))
        return redirect("backoffice:queue_console", pk=window.pk)
    try:
        warnings = action(window, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        window.refresh_from_db()
        messages.success(
            request, _("Window %(number)s: %(state)s.") % {"number": window.number, "state": window.get_state_display()}
        )
        _report(request, warnings)
    return redirect("backoffice:queue_console", pk=window.pk)


@staff_permission(SERVE)
@require_POST
def call_next(request, pk: int):
    window = _window_or_403(request, pk)
    try:
        ticket = queue.call_next(window, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if ticket is None:
            messages.info(request, _("Nobody is waiting for this window's services."))
        else:
            messages.success(request, _("Ticket %(number)s is called.") % {"number": ticket.number})
    return redirect("backoffice:queue_console", pk=window.pk)


def _do(action: str, ticket: Ticket, request) -> str:
    """Run one action on a ticket at a window; returns what to tell the specialist."""
    user = request.user
    if action == "recall":
        queue.recall(ticket, actor=user)
        return _("Ticket %(number)s is called again.") % {"number": ticket.number}
    if action == "start":
        queue.start_service(ticket, actor=user)
        return _("Serving ticket %(number)s.") % {"number": ticket.number}
    if action == "served":
        queue.mark_served(ticket, actor=user)
        return _("Ticket %(number)s is served.") % {"number": ticket.number}
    if action == "no_show":
        queue.mark_no_show(ticket, actor=user)
        return _("Ticket %(number)s: the client did not come.") % {"number": ticket.number}
    if action == "priority":
        confirmed = request.POST.get("confirmed") == "yes"
        queue.confirm_priority(ticket, confirmed=confirmed, actor=user)
        if confirmed:
            return _("Ticket %(number)s: the priority document is confirmed.") % {"number": ticket.number}
        return _("Ticket %(number)s: no document, the ticket is no longer served out of turn.") % {
            "number": ticket.number
        }
    # redirect
    service = Service.objects.filter(pk=_int(request.POST.get("service")), is_active=True).first()
    if service is None:
        raise DomainError(_("Choose the service to send the client to."))
    new = queue.redirect(ticket, service=service, actor=user)
    return _("The client is sent to «%(service)s» with the new ticket %(number)s: tell them the number.") % {
        "service": service.name,
        "number": new.number,
    }


def _int(value) -> int:
    return int(value) if str(value or "").isdigit() else 0


TICKET_ACTIONS = ("recall", "start", "served", "no_show", "priority", "redirect")


@staff_permission(SERVE)
@require_POST
def ticket_action(request, pk: int, action: str):
    ticket = get_object_or_404(Ticket.objects.select_related("office", "window"), pk=pk)
    if not can_serve(request.user, ticket.office):
        raise Forbidden
    back = ticket.window_id
    if action not in TICKET_ACTIONS:
        messages.error(request, _("Unknown action."))
    else:
        try:
            text = _do(action, ticket, request)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, text)
    if back is None:
        return redirect("backoffice:queue_home")
    return redirect("backoffice:queue_console", pk=back)
