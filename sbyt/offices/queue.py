"""The electronic queue (OFF-2, OFF-3, OFF-4): tickets from the kiosk, the windows' states and what a window's
specialist does with a ticket. Reads live in ``queue_queries.py``; docs/queue.md explains the rules.

Concurrency: a ticket number is allocated under a lock of the office's row (PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` transactions serialise writers anyway), so two kiosks never print one number; a window
takes its next ticket with ``SELECT … FOR UPDATE SKIP LOCKED`` where the database has it and always with a
conditional ``UPDATE … WHERE status = 'waiting'`` whose row count decides, so two windows never call one ticket.
"""

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.rows import Joined, insert
from sbyt.customers.queries import find_account

from . import hours
from .models import (
    Appointment,
    Office,
    PriorityCategory,
    Service,
    Ticket,
    Window,
    WindowEvent,
)
from .queue_queries import (
    ACTIVE_STATUSES,
    RANKS,
    Kind,
    can_serve,
    is_served_in,
    local_day,
    office_warnings,
)

CLIENT_NUMBER_MAX = 20
NUMBER_DIGITS = 3


# -- guards ----------------------------------------------------------------------------------------------------


def _require_staff(actor, office: Office) -> None:
    if not can_serve(actor, office):
        raise PermissionDenied(_("Only the staff of this office may work at its windows."))


def _require_queue(office: Office) -> None:
    if not office.is_active or not office.has_queue:
        raise DomainError(_("This office has no electronic queue."))


def _office_open_error(office: Office, now: dt.datetime) -> str | None:
    """Why the office takes no visitors at ``now`` (a message for the kiosk), or None when it is open. The rules
    (hours, breaks, special days, the production calendar, the office's zone) are the directory's: ``hours``."""
    current = hours.status(hours.schedule_for(office), now)
    if current.is_open:
        return None
    if current.state == "break":
        return _("The office has a break until %(time)s.") % {"time": hours.hhmm(current.until)}
    today = current.day.hours
    if today is None:
        return _("The office does not work today.")
    return _("The office is closed now. Today it works from %(opens)s to %(closes)s.") % {
        "opens": hours.hhmm(today.opens),
        "closes": hours.hhmm(today.closes),
    }


def _normalise_client_number(raw: str) -> tuple[str, str]:
    """(the text as typed, trimmed; its digits for the lookup)."""
    text = " ".join((raw or "").split())
    if len(text) > CLIENT_NUMBER_MAX:
        raise DomainError(
            _("A client number has at most %(max)s digits. Check the number on your bill.") % {"max": CLIENT_NUMBER_MAX}
        )
    return text, "".join(ch for ch in text if ch.isdigit())


# Statements of every press, built once (``core.rows``): the window locked with its office and branch — only the
# window's own row, and NO KEY UPDATE: the office and branch rows are read, not locked (a plain FOR UPDATE would lock
# them too and serialise every window and kiosk of the office behind each other) —, and a called ticket with what
# the console shows of it.
_locked_window = Joined(Window, "office__branch", where="t0.id = %s", lock=True, no_key=True)
_ticket_shown = Joined(Ticket, "service", "priority", "account", "office__branch", "window", where="t0.id = %s")


def _lock_window(window: Window) -> Window:
    found = _locked_window.fetch([window.pk])
    if not found:
        raise Window.DoesNotExist(window.pk)
    return found[0]


def _lock_ticket(ticket: Ticket) -> Ticket:
    # FOR UPDATE OF the ticket only: the joined rows are read, not locked (PostgreSQL refuses to lock the
    # nullable side of an outer join). Few joins: planning a wide join costs more than running it here.
    locked = Ticket.objects.select_for_update(**_of_self()).select_related("office__branch", "window", "account")
    return locked.get(pk=ticket.pk)


def _no_key() -> dict:
    return {"no_key": True} if connection.features.has_select_for_no_key_update else {}


def _of_self() -> dict:
    """Lock only the queried table's row, with a lock that does not block inserts referencing it."""
    features = connection.features
    options = {"of": ("self",)} if features.has_select_for_update_of else {}
    if features.has_select_for_no_key_update:
        options["no_key"] = True
    return options


def _ticket_at_window(ticket: Ticket, actor, statuses) -> Ticket:
    ticket = _lock_ticket(ticket)
    _require_staff(actor, ticket.office)
    if ticket.status not in statuses or ticket.window_id is None:
        raise DomainError(
            _("Ticket %(number)s is %(status)s: this cannot be done with it now.")
            % {"number": ticket.number, "status": ticket.get_status_display()}
        )
    return ticket


def _event(window: Window, kind: str, actor, at: dt.datetime, ticket: Ticket | None = None) -> WindowEvent:
    actor_user = actor if getattr(actor, "is_authenticated", False) else None
    return insert(WindowEvent(window=window, ticket=ticket, actor=actor_user, kind=kind, at=at))


def _account_number(ticket: Ticket) -> str:
    return ticket.account.number if ticket.account_id else ""


# -- tickets ---------------------------------------------------------------------------------------------------


def _allocate(office: Office, service: Service, day: dt.date) -> tuple[int, str]:
    """The next sequence and number of a service on a local day. Call inside a transaction holding the office's
    row lock (see ``issue_ticket``)."""
    last = Ticket.objects.filter(office=office, service=service, day=day).aggregate(m=Max("sequence"))["m"] or 0
    sequence = last + 1
    return sequence, f"{service.letter}-{sequence:0{NUMBER_DIGITS}d}"


def _create_numbered(office: Office, service: Service, day: dt.date, **fields) -> Ticket:
    # Serialise numbering per office: concurrent kiosks wait here for each other's commit (PostgreSQL; on SQLite
    # the IMMEDIATE transaction already holds the database's write lock).
    Office.objects.select_for_update(**_no_key()).filter(pk=office.pk).values_list("pk", flat=True).first()
    sequence, number = _allocate(office, service, day)
    try:
        with transaction.atomic():
            return Ticket.objects.create(
                office=office, service=service, day=day, sequence=sequence, number=number, **fields
            )
    except IntegrityError as exc:
        # Two services with one letter would collide on the office's number of the day: a configuration error.
        raise DomainError(
            _("Ticket number %(number)s is already taken today. Ask the office's staff for help.") % {"number": number}
        ) from exc


def issue_ticket(
    office: Office,
    *,
    service: Service,
    actor=None,
    priority: PriorityCategory | None = None,
    client_number: str = "",
    appointment: Appointment | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """A ticket for ``service`` at the office's kiosk: К-001, К-002… per office, service and local day.

    ``priority``: the category the client chose (OFF-3); staff check the document at the window.
    ``client_number``: optional, as typed; the account is attached when it exists (never shown on the kiosk).
    ``appointment``: a booked visitor checking in (its tickets go right after the priority ones)."""
    now = now or timezone.now()
    _require_queue(office)
    if not service.is_active or not is_served_in(office, service):
        raise DomainError(_("This service is not provided at this office."))
    if priority is not None and not priority.is_active:
        raise DomainError(_("This category is not served out of turn."))
    raw_number, digits = _normalise_client_number(client_number)
    account = find_account(digits) if digits else None
    if appointment is not None:
        if appointment.office_id != office.pk:
            raise DomainError(_("This booking is for another office."))
        if Ticket.objects.filter(appointment=appointment).exists():
            raise DomainError(_("A ticket has already been issued for this booking."))
        if account is None and appointment.account_id:
            account = appointment.account
    closed = _office_open_error(office, now)
    if closed:
        raise DomainError(closed)
    with transaction.atomic():
        ticket = _create_numbered(
            office,
            service,
            local_day(office, now),
            priority=priority,
            account=account,
            client_number=raw_number,
            appointment=appointment,
            issued_at=now,
        )
        audit(
            actor,
            "queue.ticket.issue",
            ticket,
            account_number=account.number if account else "",
            office=office.code,
            number=ticket.number,
            service=service.code,
            priority=priority.code if priority else "",
            appointment=appointment.code if appointment else "",
        )
    return ticket


# -- a window's state ------------------------------------------------------------------------------------------


def _set_state(window: Window, state: str, *, actor, now: dt.datetime, kind: str, specialist) -> list[str]:
    previous = window.state
    window.state = state
    window.specialist = specialist
    window.state_changed_at = now
    window.save(update_fields=["state", "specialist", "state_changed_at"])
    _event(window, kind, actor, now)
    audit(actor, f"queue.window.{kind}", window, office=window.office.code, number=window.number, previous=previous)
    return office_warnings(window.office)


def open_window(window: Window, *, actor, now: dt.datetime | None = None) -> list[str]:
    """Open a window (or take over one another specialist left open, or come back from a break); the actor
    becomes its specialist. Returns the OFF-4 warnings of the office after the change."""
    now = now or timezone.now()
    with transaction.atomic():
        window = _lock_window(window)
        _require_staff(actor, window.office)
        _require_queue(window.office)
        if not window.is_active:
            raise DomainError(_("This window is not in use."))
        if window.state == Window.State.OPEN and window.specialist_id == actor.pk:
            raise DomainError(_("The window is already open."))
        return _set_state(window, Window.State.OPEN, actor=actor, now=now, kind=Kind.OPENED, specialist=actor)


def _no_ticket_in_hand(window: Window) -> None:
    number = Ticket.objects.filter(window=window, status__in=ACTIVE_STATUSES).values_list("number", flat=True).first()
    if number is not None:
        raise DomainError(
            _("First finish ticket %(number)s: mark it served or not come, or redirect it.") % {"number": number}
        )


def start_break(window: Window, *, actor, now: dt.datetime | None = None) -> list[str]:
    """A break at an open window. OFF-4 is a warning, not a block: the warnings come back to be shown."""
    now = now or timezone.now()
    with transaction.atomic():
        window = _lock_window(window)
        _require_staff(actor, window.office)
        if window.state != Window.State.OPEN:
            raise DomainError(_("Only an open window can go on a break."))
        _no_ticket_in_hand(window)
        return _set_state(window, Window.State.BREAK, actor=actor, now=now, kind=Kind.BREAK, specialist=actor)


def close_window(window: Window, *, actor, now: dt.datetime | None = None) -> list[str]:
    """Close a window at the end of the shift; it has no specialist until opened again."""
    now = now or timezone.now()
    with transaction.atomic():
        window = _lock_window(window)
        _require_staff(actor, window.office)
        if window.state == Window.State.CLOSED:
            raise DomainError(_("The window is already closed."))
        _no_ticket_in_hand(window)
        return _set_state(window, Window.State.CLOSED, actor=actor, now=now, kind=Kind.CLOSED, specialist=None)


# -- calling ---------------------------------------------------------------------------------------------------


def _call_order(office_id: int, day: dt.date, service_ids: list[int]):
    rank = Case(
        When(RANKS[0], then=Value(0)),
        When(RANKS[1], then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Ticket.objects.filter(office_id=office_id, day=day, status=Ticket.Status.WAITING, service_id__in=service_ids)
        .annotate(rank=rank)
        .order_by("rank", "issued_at", "pk")
    )


def _take_next(window: Window, *, actor, now: dt.datetime, day: dt.date, service_ids: list[int]) -> int | None:
    """Claim the first waiting ticket for this window; returns its id, or None when nobody waits."""
    candidates = _call_order(window.office_id, day, service_ids)
    if connection.features.has_select_for_update_skip_locked:
        # Windows calling at the same moment skip each other's claimed rows instead of queueing behind them.
        candidates = candidates.select_for_update(skip_locked=True, **_no_key())
    while True:
        pk = candidates.values_list("pk", flat=True).first()
        if pk is None:
            return None
        claimed = Ticket.objects.filter(pk=pk, status=Ticket.Status.WAITING).update(
            status=Ticket.Status.CALLED,
            window=window,
            specialist=actor,
            called_at=now,
            call_count=F("call_count") + 1,
        )
        if claimed == 1:  # the row count decides: another window that got there first leaves 0 here
            return pk


def call_next(window: Window, *, actor, now: dt.datetime | None = None) -> Ticket | None:
    """Call the next client to this window (OFF-3 order: priority, then checked-in bookings, then by arrival,
    among the services the window serves). None when nobody waits. Refused while the window still has a called
    or served ticket: each ticket is finished explicitly."""
    now = now or timezone.now()
    with transaction.atomic():
        window = _lock_window(window)  # one press at a time per window
        _require_staff(actor, window.office)
        if window.state != Window.State.OPEN:
            raise DomainError(_("Open the window to call clients."))
        _no_ticket_in_hand(window)
        service_ids = list(window.services.filter(is_active=True).values_list("pk", flat=True))
        if not service_ids:
            raise DomainError(_("No services are assigned to this window. Ask the office's head."))
        pk = _take_next(window, actor=actor, now=now, day=local_day(window.office, now), service_ids=service_ids)
        if pk is None:
            return None
        ticket = _ticket_shown.fetch([pk])[0]
        _event(window, Kind.CALLED, actor, now, ticket)
        audit(
            actor,
            "queue.ticket.call",
            ticket,
            account_number=_account_number(ticket),
            number=ticket.number,
            window=window.number,
        )
    return ticket


def recall(ticket: Ticket, *, actor, now: dt.datetime | None = None) -> Ticket:
    """Call a ticket again (the client has not come yet): the display announces it once more."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _ticket_at_window(ticket, actor, (Ticket.Status.CALLED,))
        ticket.call_count += 1
        ticket.save(update_fields=["call_count"])
        _event(ticket.window, Kind.RECALLED, actor, now, ticket)
        audit(actor, "queue.ticket.recall", ticket, account_number=_account_number(ticket), calls=ticket.call_count)
    return ticket


def start_service(ticket: Ticket, *, actor, now: dt.datetime | None = None) -> Ticket:
    """The called client has come to the window."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _ticket_at_window(ticket, actor, (Ticket.Status.CALLED,))
        ticket.status = Ticket.Status.SERVING
        ticket.started_at = now
        ticket.specialist = actor
        ticket.save(update_fields=["status", "started_at", "specialist"])
        _event(ticket.window, Kind.STARTED, actor, now, ticket)
        audit(actor, "queue.ticket.start", ticket, account_number=_account_number(ticket))
    return ticket


def mark_served(ticket: Ticket, *, actor, now: dt.datetime | None = None) -> Ticket:
    """The client has been served. Served straight from «called», the service is counted from the call."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _ticket_at_window(ticket, actor, ACTIVE_STATUSES)
        ticket.status = Ticket.Status.SERVED
        ticket.started_at = ticket.started_at or ticket.called_at or now
        ticket.finished_at = now
        ticket.specialist = actor
        ticket.save(update_fields=["status", "started_at", "finished_at", "specialist"])
        _event(ticket.window, Kind.SERVED, actor, now, ticket)
        audit(actor, "queue.ticket.served", ticket, account_number=_account_number(ticket))
    return ticket


def mark_no_show(ticket: Ticket, *, actor, now: dt.datetime | None = None) -> Ticket:
    """The called client did not come."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _ticket_at_window(ticket, actor, (Ticket.Status.CALLED,))
        ticket.status = Ticket.Status.NO_SHOW
        ticket.finished_at = now
        ticket.save(update_fields=["status", "finished_at"])
        _event(ticket.window, Kind.NO_SHOW, actor, now, ticket)
        audit(actor, "queue.ticket.no_show", ticket, account_number=_account_number(ticket), calls=ticket.call_count)
    return ticket


def redirect(ticket: Ticket, *, service: Service, actor, now: dt.datetime | None = None) -> Ticket:
    """Send the client to another service: a new waiting ticket of that service that keeps the place by the
    original arrival time (and the priority, the account and the booking); the old ticket is «redirected»."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _ticket_at_window(ticket, actor, ACTIVE_STATUSES)
        office = ticket.office
        if service.pk == ticket.service_id:
            raise DomainError(_("The client is already in this service's queue."))
        if not service.is_active or not is_served_in(office, service):
            raise DomainError(_("This service is not provided at this office."))
        appointment_id = ticket.appointment_id
        ticket.status = Ticket.Status.REDIRECTED
        ticket.finished_at = now
        ticket.started_at = ticket.started_at or ticket.called_at or now
        ticket.appointment = None  # the booking follows the client (one ticket per booking)
        ticket.save(update_fields=["status", "finished_at", "started_at", "appointment"])
        new = _create_numbered(
            office,
            service,
            local_day(office, now),
            priority=ticket.priority,
            priority_confirmed=ticket.priority_confirmed,
            account=ticket.account,
            client_number=ticket.client_number,
            appointment_id=appointment_id,
            redirected_from=ticket,
            issued_at=ticket.issued_at,
        )
        _event(ticket.window, Kind.REDIRECTED, actor, now, ticket)
        audit(
            actor,
            "queue.ticket.redirect",
            ticket,
            account_number=_account_number(ticket),
            to=new.number,
            service=service.code,
        )
    return new


def confirm_priority(ticket: Ticket, *, confirmed: bool, actor, now: dt.datetime | None = None) -> Ticket:
    """Record the check of the priority document at the window (OFF-3). Not confirmed: the ticket loses its
    priority (it keeps the category the client chose, for the record; the order no longer counts it)."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = _ticket_at_window(ticket, actor, ACTIVE_STATUSES)
        if ticket.priority_id is None:
            raise DomainError(_("This ticket was issued without a priority category."))
        ticket.priority_confirmed = bool(confirmed)
        ticket.save(update_fields=["priority_confirmed"])
        _event(ticket.window, Kind.PRIORITY_OK if confirmed else Kind.PRIORITY_REFUSED, actor, now, ticket)
        audit(
            actor,
            "queue.ticket.priority",
            ticket,
            account_number=_account_number(ticket),
            category=ticket.priority.code,
            confirmed=bool(confirmed),
        )
    return ticket
