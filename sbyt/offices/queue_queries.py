"""Reads of the electronic queue: who may work at an office's windows, the hall display's state, a window
console's state, the kiosk's services and the OFF-4 warnings. Changes live in ``queue.py``."""

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils.translation import gettext as _

from sbyt.core.timezones import local_now

from .models import Office, Service, Ticket, Window, WindowEvent

SERVE_PERMISSION = "offices.serve_window"
ACTIVE_STATUSES = (Ticket.Status.CALLED, Ticket.Status.SERVING)
DISPLAY_CALLS = 8  # how many called tickets the hall display lists
MIN_SAMPLES = 3  # served tickets of a service today before their average replaces the norm in estimates


class Kind:
    """``WindowEvent.kind`` values."""

    OPENED = "opened"
    BREAK = "break"
    CLOSED = "closed"
    CALLED = "called"
    RECALLED = "recalled"
    STARTED = "started"
    SERVED = "served"
    NO_SHOW = "no_show"
    REDIRECTED = "redirected"
    PRIORITY_OK = "priority_ok"
    PRIORITY_REFUSED = "priority_refused"

    CALLS = (CALLED, RECALLED)


# -- who may act -----------------------------------------------------------------------------------------------


def can_serve(user, office: Office) -> bool:
    """Staff with ``offices.serve_window`` who are among the office's staff, or a superuser."""
    if not (user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    return user.has_perm(SERVE_PERMISSION) and office.staff.filter(pk=user.pk).exists()


def serving_offices(user):
    """The offices with a queue whose windows ``user`` may work at."""
    offices = Office.objects.filter(is_active=True, has_queue=True).select_related("branch")
    if not (user is not None and getattr(user, "is_authenticated", False) and user.is_active and user.is_staff):
        return offices.none()
    if user.is_superuser:
        return offices
    if not user.has_perm(SERVE_PERMISSION):
        return offices.none()
    return offices.filter(staff=user)


# -- the day and the services ----------------------------------------------------------------------------------


def local_day(office: Office, now: dt.datetime | None = None) -> dt.date:
    return local_now(office.branch.time_zone, now).date()


def kiosk_services(office: Office) -> list[Service]:
    """Active services served by at least one active window of the office, in the kiosk's order."""
    return list(
        Service.objects.filter(is_active=True, windows__office=office, windows__is_active=True)
        .distinct()
        .order_by("order", "name")
    )


def is_served_in(office: Office, service: Service) -> bool:
    return Window.objects.filter(office=office, is_active=True, services=service).exists()


def current_ticket(window: Window) -> Ticket | None:
    """The ticket the window has called or is serving, if any."""
    return (
        Ticket.objects.filter(window=window, status__in=ACTIVE_STATUSES)
        .select_related("service", "priority", "account__customer", "account__branch", "appointment", "redirected_from")
        .order_by("-called_at")
        .first()
    )


# -- OFF-4 -----------------------------------------------------------------------------------------------------


def office_warnings(office: Office) -> list[str]:
    """OFF-4 as warnings, never blocks: where there are more than 2 windows breaks are never taken all at once;
    where there are more than 5 an administrator on duty works in the hall while the hall works."""
    windows = list(Window.objects.filter(office=office, is_active=True).values_list("state", "is_duty_admin"))
    states = {state for state, _duty in windows}
    warnings = []
    if len(windows) > 2 and Window.State.OPEN not in states and Window.State.BREAK in states:
        warnings.append(
            _(
                "No window is open: every working window is on a break. Where there are more than two windows, "
                "breaks must not be taken all at once."
            )
        )
    hall_works = bool(states & {Window.State.OPEN, Window.State.BREAK})
    duty_open = any(state == Window.State.OPEN and duty for state, duty in windows)
    if len(windows) > 5 and hall_works and not duty_open:
        warnings.append(
            _(
                "No administrator on duty: where there are more than five windows, a window marked "
                "«administrator on duty» must be open."
            )
        )
    return warnings


def break_would_empty_hall(window: Window) -> bool:
    """Whether a break at this open window would leave the hall with no open window (offices with > 2 windows)."""
    if window.state != Window.State.OPEN:
        return False
    active = Window.objects.filter(office_id=window.office_id, is_active=True)
    if active.count() <= 2:
        return False
    return not active.filter(state=Window.State.OPEN).exclude(pk=window.pk).exists()


# -- the hall --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A called ticket on the hall display: «К-015 → окно 3»."""

    event_id: int
    ticket_id: int
    number: str
    window_number: int
    window_label: str
    status: str
    at: dt.datetime
    was_number: str = ""  # the number before a redirect

    def as_json(self) -> dict:
        return {
            "event": self.event_id,
            "ticket": self.ticket_id,
            "number": self.number,
            "window": self.window_number,
            "label": self.window_label,
            "status": self.status,
            "at": self.at.isoformat(),
            "was": self.was_number,
        }


@dataclass(frozen=True)
class ServiceLine:
    service: Service
    waiting: int
    open_windows: int
    minutes: int | None  # estimated wait of the last in line; None while no window serving it is open

    def as_json(self) -> dict:
        return {
            "service": self.service.name,
            "letter": self.service.letter,
            "waiting": self.waiting,
            "open_windows": self.open_windows,
            "minutes": self.minutes,
        }


@dataclass
class HallState:
    office: Office
    day: dt.date
    calls: list[Call]
    lines: list[ServiceLine]
    windows: list[Window]
    latest_event_id: int

    @property
    def total_waiting(self) -> int:
        return sum(line.waiting for line in self.lines)

    @property
    def open_windows(self) -> int:
        return sum(1 for w in self.windows if w.state == Window.State.OPEN)

    def as_json(self) -> dict:
        return {
            "office": self.office.name,
            "latest": self.latest_event_id,
            "calls": [call.as_json() for call in self.calls],
            "lines": [line.as_json() for line in self.lines],
            "waiting": self.total_waiting,
            "open_windows": self.open_windows,
        }


def _average_service_minutes(office: Office, day: dt.date) -> dict[int, float]:
    """Today's average service time per service, where there are enough served tickets to trust it."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    rows = (
        Ticket.objects.filter(
            office=office,
            day=day,
            status=Ticket.Status.SERVED,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .values("service_id")
        .annotate(n=Count("pk"), avg=Avg(duration))
    )
    averages = {}
    for row in rows:
        avg = row["avg"]
        if row["n"] >= MIN_SAMPLES and avg is not None:
            seconds = avg.total_seconds() if isinstance(avg, dt.timedelta) else float(avg) / 1e6
            averages[row["service_id"]] = max(seconds / 60, 1.0)
    return averages


def estimate_minutes(*, ahead: int, service: Service, open_windows: int, average: float | None = None) -> int | None:
    """Minutes until ``ahead`` clients of a service are served by ``open_windows`` windows serving it."""
    if open_windows <= 0:
        return None
    per_client = average if average is not None else service.service_norm_minutes
    return math.ceil(ahead * per_client / open_windows)


def service_lines(office: Office, day: dt.date) -> list[ServiceLine]:
    services = kiosk_services(office)
    counts = dict(
        Ticket.objects.filter(office=office, day=day, status=Ticket.Status.WAITING)
        .values_list("service_id")
        .annotate(n=Count("pk"))
        .values_list("service_id", "n")
    )
    open_by_service = dict(
        Window.objects.filter(office=office, is_active=True, state=Window.State.OPEN)
        .values_list("services")
        .annotate(n=Count("pk"))
        .values_list("services", "n")
    )
    averages = _average_service_minutes(office, day)
    return [
        ServiceLine(
            service=service,
            waiting=counts.get(service.pk, 0),
            open_windows=open_by_service.get(service.pk, 0),
            minutes=estimate_minutes(
                ahead=counts.get(service.pk, 0),
                service=service,
                open_windows=open_by_service.get(service.pk, 0),
                average=averages.get(service.pk),
            ),
        )
        for service in services
    ]


def recent_calls(office: Office, day: dt.date, *, limit: int = DISPLAY_CALLS) -> tuple[list[Call], int]:
    """The tickets called (or called again) today and not finished yet, newest call first; and the id of the
    newest call event (the display announces every event above the one it last saw)."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(office.branch.time_zone)).astimezone(dt.UTC)
    events = (
        WindowEvent.objects.filter(window__office=office, kind__in=Kind.CALLS, at__gte=midnight)
        .select_related("ticket__redirected_from", "window")
        .order_by("-pk")[: limit * 4]
    )
    calls, seen, latest = [], set(), 0
    for event in events:
        latest = max(latest, event.pk)
        ticket = event.ticket
        if ticket is None or ticket.pk in seen:
            continue
        seen.add(ticket.pk)
        if ticket.status not in ACTIVE_STATUSES:
            continue
        calls.append(
            Call(
                event_id=event.pk,
                ticket_id=ticket.pk,
                number=ticket.number,
                window_number=event.window.number,
                window_label=event.window.label,
                status=ticket.status,
                at=event.at,
                was_number=ticket.redirected_from.number if ticket.redirected_from else "",
            )
        )
        if len(calls) >= limit:
            break
    return calls, latest


def hall_state(office: Office, *, now: dt.datetime | None = None) -> HallState:
    day = local_day(office, now)
    windows = list(Window.objects.filter(office=office, is_active=True).select_related("specialist").order_by("number"))
    calls, latest = recent_calls(office, day)
    return HallState(
        office=office,
        day=day,
        calls=calls,
        lines=service_lines(office, day),
        windows=windows,
        latest_event_id=latest,
    )


# The call order (OFF-3): confirmed-or-unchecked priority first, then checked-in appointments, then the rest;
# inside each rank by arrival (issued_at, then id). ``queue.call_next`` orders by the same ranks.
PRIORITISED = Q(priority__isnull=False) & (Q(priority_confirmed__isnull=True) | Q(priority_confirmed=True))
RANKS = (PRIORITISED, ~PRIORITISED & Q(appointment__isnull=False), ~PRIORITISED & Q(appointment__isnull=True))


def rank_of(ticket: Ticket) -> int:
    if ticket.priority_id and ticket.priority_confirmed is not False:
        return 0
    return 1 if ticket.appointment_id else 2


def tickets_ahead(ticket: Ticket) -> int:
    """Waiting tickets of the same service that will be called before this one."""
    if ticket.status != Ticket.Status.WAITING:
        return 0
    rank = rank_of(ticket)
    earlier = Q(issued_at__lt=ticket.issued_at) | Q(issued_at=ticket.issued_at, pk__lt=ticket.pk)
    before = RANKS[rank] & earlier
    for higher in RANKS[:rank]:
        before |= higher
    return (
        Ticket.objects.filter(
            office_id=ticket.office_id, day=ticket.day, service_id=ticket.service_id, status=Ticket.Status.WAITING
        )
        .filter(before)
        .count()
    )


def ticket_estimate(ticket: Ticket) -> int | None:
    """Estimated wait of a ticket just issued (minutes), from the tickets ahead and the open windows."""
    open_windows = Window.objects.filter(
        office_id=ticket.office_id, is_active=True, state=Window.State.OPEN, services=ticket.service_id
    ).count()
    average = _average_service_minutes(ticket.office, ticket.day).get(ticket.service_id)
    return estimate_minutes(
        ahead=tickets_ahead(ticket), service=ticket.service, open_windows=open_windows, average=average
    )


# -- a window console ------------------------------------------------------------------------------------------


@dataclass
class ConsoleState:
    window: Window
    ticket: Ticket | None
    waiting_for_window: int
    served_today: int
    hall: HallState
    warnings: list[str]
    break_empties_hall: bool
    redirect_services: list[Service] = field(default_factory=list)


def console_state(window: Window, *, now: dt.datetime | None = None) -> ConsoleState:
    office = window.office
    day = local_day(office, now)
    ticket = current_ticket(window)
    service_ids = list(window.services.filter(is_active=True).values_list("pk", flat=True))
    waiting = Ticket.objects.filter(
        office=office, day=day, status=Ticket.Status.WAITING, service_id__in=service_ids
    ).count()
    served = Ticket.objects.filter(window=window, day=day, status=Ticket.Status.SERVED).count()
    redirect_to = [s for s in kiosk_services(office) if ticket is None or s.pk != ticket.service_id]
    return ConsoleState(
        window=window,
        ticket=ticket,
        waiting_for_window=waiting,
        served_today=served,
        hall=hall_state(office, now=now),
        warnings=office_warnings(office),
        break_empties_hall=break_would_empty_hall(window),
        redirect_services=redirect_to,
    )
