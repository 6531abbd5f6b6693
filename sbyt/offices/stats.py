"""Queue statistics (OFF-2): waiting and service times against the standard's norms, the live hall, alerts.

The standard's norms are averages per service and live in the ``Service`` rows (consultation 10 + 10 min,
cash 5 + 5, both 15 + 15); a visit as a whole (wait + service) is held to 30 min.

* waiting time = ``called_at − issued_at`` of every ticket that was called (served, no-show and redirected ones
  too: they waited until the call). A ticket made by a redirect keeps the original ``issued_at`` (its place in
  the queue), so its wait starts when the first ticket was finished (``redirected_from.finished_at``);
* service time = ``finished_at − started_at`` (``− called_at`` when the specialist never pressed «start») of the
  tickets served or redirected onwards;
* total time = ``finished_at −`` the start of the wait, of the same tickets.

Everything is computed in the database: one GROUP BY query per dimension for counts, averages, maxima and the
shares within the norm, and one window-function query per dimension and measure for the 90th percentile
(nearest rank: the ⌈0.9·n⌉-th smallest value, the same on SQLite and PostgreSQL). No ticket is loaded into
Python. A ticket's norm is its own service's, so a window or a specialist serving several services is held to
the mean of the norms of the tickets it handled.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import (
    Avg,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.messaging.services import send_email
from sbyt.users.models import User

from .models import Office, Service, Ticket
from .models import Window as HallWindow

log = logging.getLogger(__name__)

TOTAL_NORM_MINUTES = 30  # wait + service of one visit (A ch.3 §2 6)
ALERT_REPEAT = dt.timedelta(minutes=30)  # a hall still behind is reported again after this long
SERVICE_DONE = (Ticket.Status.SERVED, Ticket.Status.REDIRECTED)
CURRENT = (Ticket.Status.CALLED, Ticket.Status.SERVING)
DIMENSIONS = ("service", "window", "specialist", "day")
# When a ticket's wait began: its issue, or for a ticket made by a redirect, the end of the ticket it came from.
WAIT_START = Coalesce(F("redirected_from__finished_at"), F("issued_at"))


class Seconds(Func):
    """The seconds from the second datetime expression to the first (``end − start``) as a float, in SQL."""

    arity = 2
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        return super().as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        # julianday() is a day count as a double: good to ~20 µs today, rounded to the millisecond.
        return super().as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra,
        )


# --- Figures over a date range ----------------------------------------------------------------------------


@dataclass
class Figures:
    """The figures of one group of tickets (a service, a window, a specialist, a day, or all of them).

    Durations are in seconds; ``*_norm`` is the norm the average is held to (the mean of the tickets' own
    service norms), ``*_ok`` the number of tickets within their own service's norm."""

    key: object
    label: str = ""
    tickets: int = 0
    no_show: int = 0
    waited: int = 0
    wait_avg: float | None = None
    wait_p90: float | None = None
    wait_max: float | None = None
    wait_ok: int = 0
    wait_norm: float | None = None
    served: int = 0
    service_avg: float | None = None
    service_p90: float | None = None
    service_max: float | None = None
    service_ok: int = 0
    service_norm: float | None = None
    total_avg: float | None = None
    total_ok: int = 0

    @property
    def wait_share(self) -> float | None:
        return self.wait_ok / self.waited if self.waited else None

    @property
    def service_share(self) -> float | None:
        return self.service_ok / self.served if self.served else None

    @property
    def total_share(self) -> float | None:
        return self.total_ok / self.served if self.served else None

    @property
    def wait_breach(self) -> bool:
        return self.wait_avg is not None and self.wait_norm is not None and self.wait_avg > self.wait_norm

    @property
    def service_breach(self) -> bool:
        return self.service_avg is not None and self.service_norm is not None and self.service_avg > self.service_norm

    @property
    def total_breach(self) -> bool:
        return self.total_avg is not None and self.total_avg > TOTAL_NORM_MINUTES * 60

    @property
    def breach(self) -> bool:
        return self.wait_breach or self.service_breach or self.total_breach


@dataclass
class QueueReport:
    office: Office
    start: dt.date
    end: dt.date
    overall: Figures
    by_service: list[Figures] = field(default_factory=list)
    by_window: list[Figures] = field(default_factory=list)
    by_specialist: list[Figures] = field(default_factory=list)
    by_day: list[Figures] = field(default_factory=list)


def _measured(tickets: QuerySet) -> QuerySet:
    """The tickets with their durations and norms as SQL expressions (NULL where a duration does not apply)."""
    done = Q(status__in=SERVICE_DONE, finished_at__isnull=False)
    return tickets.annotate(
        wait_s=Seconds(F("called_at"), WAIT_START),
        service_s=Case(
            When(done, then=Seconds(F("finished_at"), Coalesce(F("started_at"), F("called_at")))),
            default=Value(None),
            output_field=FloatField(),
        ),
        total_s=Case(
            When(done, then=Seconds(F("finished_at"), WAIT_START)),
            default=Value(None),
            output_field=FloatField(),
        ),
        wait_norm_s=ExpressionWrapper(F("service__wait_norm_minutes") * 60, output_field=IntegerField()),
        service_norm_s=ExpressionWrapper(F("service__service_norm_minutes") * 60, output_field=IntegerField()),
    )


def _aggregates() -> dict:
    return {
        "tickets": Count("pk"),
        "no_show": Count("pk", filter=Q(status=Ticket.Status.NO_SHOW)),
        "waited": Count("wait_s"),
        "wait_avg": Avg("wait_s"),
        "wait_max": Max("wait_s"),
        "wait_ok": Count("pk", filter=Q(wait_s__lte=F("wait_norm_s"))),
        "wait_norm": Avg("wait_norm_s", filter=Q(wait_s__isnull=False), output_field=FloatField()),
        "served": Count("service_s"),
        "service_avg": Avg("service_s"),
        "service_max": Max("service_s"),
        "service_ok": Count("pk", filter=Q(service_s__lte=F("service_norm_s"))),
        "service_norm": Avg("service_norm_s", filter=Q(service_s__isnull=False), output_field=FloatField()),
        "total_avg": Avg("total_s"),
        "total_ok": Count("pk", filter=Q(total_s__lte=TOTAL_NORM_MINUTES * 60)),
    }


def _p90(measured: QuerySet, measure: str, group: str | None) -> dict:
    """The 90th percentile (nearest rank) of ``measure`` per group: {group key: seconds}, in one query.

    Rank k of n is the percentile when ⌈0.9·n⌉ = k, i.e. 0 ≤ 10·k − 9·n < 10 (integers only)."""
    partition = [F(group)] if group else None
    ranked = (
        measured.filter(**{f"{measure}__isnull": False})
        .annotate(
            _rank=Window(RowNumber(), partition_by=partition, order_by=[F(measure).asc(), F("pk").asc()]),
            _count=Window(Count("pk"), partition_by=partition),
        )
        .annotate(_d=ExpressionWrapper(F("_rank") * 10 - F("_count") * 9, output_field=IntegerField()))
        .annotate(_value=F(measure))
        .filter(_d__gte=0, _d__lt=10)
    )
    if group:
        return {row[group]: row["_value"] for row in ranked.values(group, "_value")}
    values = list(ranked.values_list("_value", flat=True))  # one row: the ⌈0.9·n⌉-th
    return {None: values[0]} if values else {}


def _figures(measured: QuerySet, group: str | None) -> dict:
    """{group key: Figures} for one dimension (``group`` a Ticket field) or the whole set (``None``)."""
    if group:
        rows = {row.pop(group): row for row in measured.values(group).annotate(**_aggregates()).order_by()}
    else:
        rows = {None: measured.aggregate(**_aggregates())}
    wait_p90 = _p90(measured, "wait_s", group)
    service_p90 = _p90(measured, "service_s", group)
    return {
        key: Figures(key=key, wait_p90=wait_p90.get(key), service_p90=service_p90.get(key), **values)
        for key, values in rows.items()
    }


def _person(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def office_tickets(office: Office, start: dt.date, end: dt.date) -> QuerySet:
    """The office's tickets of the local days ``start``…``end`` (inclusive)."""
    return Ticket.objects.filter(office=office, day__gte=start, day__lte=end)


def queue_report(office: Office, *, start: dt.date, end: dt.date) -> QueueReport:
    """Waiting and service times of an office's tickets over local days, overall and per service, window,
    specialist and day, against the norms."""
    measured = _measured(office_tickets(office, start, end))
    overall = _figures(measured, None)[None]
    overall.label = _("All services")
    report = QueueReport(office=office, start=start, end=end, overall=overall)

    by_service = _figures(measured, "service")
    services = Service.objects.in_bulk(by_service.keys())
    for key, figures in by_service.items():
        figures.label = services[key].name
    report.by_service = sorted(by_service.values(), key=lambda f: (services[f.key].order, f.label))

    called = measured.filter(window__isnull=False)  # tickets that reached a window
    by_window = _figures(called, "window")
    windows = HallWindow.objects.in_bulk(by_window.keys())
    for key, figures in by_window.items():
        figures.label = str(windows[key])
    report.by_window = sorted(by_window.values(), key=lambda f: windows[f.key].number)

    by_specialist = _figures(measured.filter(specialist__isnull=False), "specialist")
    people = User.objects.in_bulk(by_specialist.keys())
    for key, figures in by_specialist.items():
        figures.label = _person(people[key])
    report.by_specialist = sorted(by_specialist.values(), key=lambda f: f.label.lower())

    by_day = _figures(measured, "day")
    for key, figures in by_day.items():
        figures.label = f"{key:%d.%m.%Y}"
    report.by_day = sorted(by_day.values(), key=lambda f: f.key)
    return report


# --- The hall now ---------------------------------------------------------------------------------------------


@dataclass
class ServiceQueue:
    service: Service
    waiting: int
    longest: float | None  # seconds the oldest waiting ticket has waited
    norm: int  # the service's wait norm, seconds

    @property
    def breach(self) -> bool:
        return self.longest is not None and self.longest > self.norm


@dataclass
class WindowNow:
    window: HallWindow
    specialist: str
    current: Ticket | None


@dataclass
class HallState:
    office: Office
    now: dt.datetime
    today: dt.date
    queues: list[ServiceQueue]
    windows: list[WindowNow]
    waiting: int
    longest_ticket: Ticket | None
    longest: float | None
    today_figures: Figures

    @property
    def breach(self) -> bool:
        return any(queue.breach for queue in self.queues)

    @property
    def longest_breach(self) -> bool:
        ticket = self.longest_ticket
        return ticket is not None and self.longest > ticket.service.wait_norm_minutes * 60

    def count(self, state: str) -> int:
        return sum(1 for row in self.windows if row.window.state == state)

    @property
    def open(self) -> int:
        return self.count(HallWindow.State.OPEN)

    @property
    def on_break(self) -> int:
        return self.count(HallWindow.State.BREAK)

    @property
    def closed(self) -> int:
        return self.count(HallWindow.State.CLOSED)


def local_today(office: Office, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(ZoneInfo(office.branch.time_zone)).date()


def hall_state(office: Office, now: dt.datetime | None = None) -> HallState:
    """Who waits now per service and for how long, the windows and who they serve, and today's figures."""
    now = now or timezone.now()
    today = local_today(office, now)
    waiting = Ticket.objects.filter(office=office, day=today, status=Ticket.Status.WAITING)
    per_service = {
        row["service"]: row for row in waiting.values("service").annotate(n=Count("pk"), oldest=Min(WAIT_START))
    }
    services = Service.objects.filter(Q(windows__office=office, is_active=True) | Q(pk__in=per_service.keys()))
    queues = []
    for service in services.distinct().order_by("order", "name"):
        row = per_service.get(service.pk)
        queues.append(
            ServiceQueue(
                service=service,
                waiting=row["n"] if row else 0,
                longest=(now - row["oldest"]).total_seconds() if row else None,
                norm=service.wait_norm_minutes * 60,
            )
        )
    longest_ticket = (
        waiting.select_related("service").annotate(wait_start=WAIT_START).order_by("wait_start", "pk").first()
    )
    windows = list(
        HallWindow.objects.filter(office=office, is_active=True).select_related("specialist").order_by("number")
    )
    current = {
        ticket.window_id: ticket
        for ticket in Ticket.objects.filter(office=office, day=today, status__in=CURRENT, window__in=windows)
        .select_related("service")
        .order_by("called_at")
    }
    return HallState(
        office=office,
        now=now,
        today=today,
        queues=queues,
        windows=[WindowNow(w, _person(w.specialist), current.get(w.pk)) for w in windows],
        waiting=sum(q.waiting for q in queues),
        longest_ticket=longest_ticket,
        longest=(now - longest_ticket.wait_start).total_seconds() if longest_ticket else None,
        today_figures=_figures(_measured(office_tickets(office, today, today)), None)[None],
    )


# --- Alerts to the office head ----------------------------------------------------------------------------------


def _queue_offices():
    return Office.objects.filter(has_queue=True, is_active=True)


def _today_condition(now: dt.datetime) -> Q:
    """Tickets of the local «today» of each queue office's branch (a few branches: a few OR-ed conditions)."""
    condition = Q(pk__in=[])
    zones = _queue_offices().values_list("branch_id", "branch__time_zone").distinct()
    for branch_id, zone in zones:
        condition |= Q(office__branch_id=branch_id, day=now.astimezone(ZoneInfo(zone)).date())
    return condition


def longest_waits(now: dt.datetime) -> dict[int, list[dict]]:
    """Per queue office, per service with waiting tickets: the oldest issue time, the count and the wait norm."""
    rows = (
        Ticket.objects.filter(_today_condition(now), status=Ticket.Status.WAITING, office__in=_queue_offices())
        .values("office", "service", "service__wait_norm_minutes")
        .annotate(oldest=Min(WAIT_START), waiting=Count("pk"))
        .order_by()
    )
    result: dict[int, list[dict]] = {}
    for row in rows:
        row["waited"] = (now - row["oldest"]).total_seconds()
        row["norm"] = row["service__wait_norm_minutes"] * 60
        result.setdefault(row["office"], []).append(row)
    return result


def check_hall_alerts(now: dt.datetime | None = None) -> list[Office]:
    """Warn the managers of every queue office whose longest current wait exceeds its service's norm.

    Once per episode: ``Office.wait_alert_sent_at`` is set when the warning goes out; it is cleared (re-armed)
    as soon as no waiting ticket of the office is over its norm; while the hall stays behind, the warning is
    repeated every ``ALERT_REPEAT``. The claim is one conditional UPDATE, so two loops never both send.
    Returns the offices warned now. Called every 60 s by the periodic loop (``offices.jobs``)."""
    now = now or timezone.now()
    behind = {
        office_id: [row for row in rows if row["waited"] > row["norm"]]
        for office_id, rows in longest_waits(now).items()
    }
    behind = {office_id: rows for office_id, rows in behind.items() if rows}
    Office.objects.filter(wait_alert_sent_at__isnull=False).exclude(pk__in=behind.keys()).update(
        wait_alert_sent_at=None
    )
    warned = []
    for office_id, rows in behind.items():
        with transaction.atomic():
            claimed = (
                Office.objects.filter(pk=office_id)
                .filter(Q(wait_alert_sent_at__isnull=True) | Q(wait_alert_sent_at__lte=now - ALERT_REPEAT))
                .update(wait_alert_sent_at=now)
            )
            if not claimed:
                continue
            office = Office.objects.select_related("branch").get(pk=office_id)
            _send_alert(office, rows, now)
        warned.append(office)
    return warned


def _send_alert(office: Office, rows: list[dict], now: dt.datetime) -> None:
    services = Service.objects.in_bulk(row["service"] for row in rows)
    zone = ZoneInfo(office.branch.time_zone)
    lines = []
    for row in sorted(rows, key=lambda r: -r["waited"]):
        oldest = (
            Ticket.objects.filter(office=office, service_id=row["service"], status=Ticket.Status.WAITING)
            .annotate(wait_start=WAIT_START)
            .filter(wait_start=row["oldest"])
            .values_list("number", flat=True)
            .first()
        )
        lines.append(
            _(
                "%(service)s: ticket %(number)s has been waiting %(minutes)s min (norm %(norm)s min); "
                "waiting now: %(count)s."
            )
            % {
                "service": services[row["service"]].name,
                "number": oldest or "—",
                "minutes": int(row["waited"] // 60),
                "norm": row["service__wait_norm_minutes"],
                "count": row["waiting"],
            }
        )
    states = dict(
        HallWindow.objects.filter(office=office, is_active=True)
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    text = "\n".join(
        [
            _("The waiting time in the hall of %(office)s exceeds the norm (%(time)s).")
            % {"office": office.name, "time": f"{now.astimezone(zone):%d.%m.%Y %H:%M}"},
            "",
            *lines,
            "",
            _("Windows open: %(open)s, on a break: %(break)s, closed: %(closed)s.")
            % {
                "open": states.get(HallWindow.State.OPEN, 0),
                "break": states.get(HallWindow.State.BREAK, 0),
                "closed": states.get(HallWindow.State.CLOSED, 0),
            },
            _(
                "The next warning comes in 30 minutes if the hall is still behind, or at once when it falls "
                "behind again after catching up."
            ),
        ]
    )
    subject = _("Queue: the waiting time exceeds the norm — %(office)s") % {"office": office.name}
    recipients = list(
        office.managers.filter(is_active=True)
        .exclude(email__isnull=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .order_by("email")
    )
    for email in recipients:
        send_email(to=email, subject=subject, text=text, purpose="office_wait_alert")
    if not recipients:
        log.warning("Office %s is behind the waiting norm but has no manager with an e-mail", office.code)
    audit(
        None,
        "office.wait_alert",
        office,
        services=[services[row["service"]].code for row in rows],
        longest_minutes=int(max(row["waited"] for row in rows) // 60),
        recipients=len(recipients),
    )


# --- Who sees which office ------------------------------------------------------------------------------------


def offices_for(user) -> QuerySet:
    """The offices a staff login works with: those it manages or is on the staff of (a superuser: all)."""
    offices = Office.objects.select_related("branch").order_by("branch__code", "town", "name")
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return offices.none()
    if user.is_superuser:
        return offices
    return offices.filter(pk__in=Office.objects.filter(Q(managers=user) | Q(staff=user)).values("pk"))


def works_at(user, office: Office) -> bool:
    return offices_for(user).filter(pk=office.pk).exists()
