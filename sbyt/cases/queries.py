"""Reads of the case engine: the client's own cases (through ``customers.queries.accounts_for``), the staff
queues, and the supervisor's clocks and reports (REP-1, APL-10)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.errors import NotFound
from sbyt.customers.models import Branch
from sbyt.customers.queries import accounts_for

from .models import OPEN_STATUSES, Case, CaseClock, Channel, Milestone, Status, Topic
from .services import local_date

CASE_RELATED = ("branch", "account__customer", "topic__parent", "assignee", "office")


def with_clocks(cases: QuerySet) -> QuerySet:
    return cases.prefetch_related(Prefetch("clocks", queryset=CaseClock.objects.order_by("due_on", "pk")))


def cases_for_client(user) -> QuerySet:
    """The cases of the login's own accounts; nothing else, ever."""
    return with_clocks(
        Case.objects.filter(account__in=accounts_for(user).values("pk")).select_related(*CASE_RELATED)
    ).order_by("-received_at", "-pk")


def case_for_client(user, number: str) -> Case:
    """One of the client's own cases, or NotFound (the same answer for someone else's and a missing one)."""
    number = (number or "").strip()
    case = cases_for_client(user).filter(number=number).first() if len(number) <= 20 else None
    if case is None:
        raise NotFound(_("Appeal not found."))
    return case


def case_by_number(number: str) -> Case | None:
    number = (number or "").strip()
    if not number or len(number) > 20:
        return None
    return with_clocks(Case.objects.select_related(*CASE_RELATED)).filter(number=number).first()


def today_by_branch(now: dt.datetime | None = None) -> dict[int, dt.date]:
    now = now or timezone.now()
    return {b.pk: local_date(b, now) for b in Branch.objects.only("pk", "time_zone")}


def _per_branch(field_name: str, lookup: str, todays: dict[int, dt.date]) -> Q:
    condition = Q(pk__in=[])
    for branch_id, today in todays.items():
        condition |= Q(**{field_name: branch_id, lookup: today})
    return condition


def open_clocks() -> QuerySet:
    return CaseClock.objects.filter(stopped_at__isnull=True, case__status__in=OPEN_STATUSES)


def due_today(now: dt.datetime | None = None) -> QuerySet:
    todays = today_by_branch(now)
    return open_clocks().filter(_per_branch("case__branch_id", "due_on", todays))


def late(now: dt.datetime | None = None) -> QuerySet:
    todays = today_by_branch(now)
    return open_clocks().filter(_per_branch("case__branch_id", "due_on__lt", todays))


def staff_queue(
    *,
    status: str = "",
    assignee=None,
    unassigned: bool = False,
    overdue: bool = False,
    topic: Topic | None = None,
    office_id: int | None = None,
    channel: str = "",
    query: str = "",
    now: dt.datetime | None = None,
) -> QuerySet:
    """Open cases (or those of ``status``) for the back office, the earliest deadline first."""
    cases = Case.objects.select_related(*CASE_RELATED)
    cases = cases.filter(status=status) if status else cases.filter(status__in=OPEN_STATUSES)
    if assignee is not None:
        cases = cases.filter(assignee=assignee)
    if unassigned:
        cases = cases.filter(assignee__isnull=True)
    if topic is not None:
        cases = cases.filter(Q(topic=topic) | Q(topic__parent=topic))
    if office_id:
        cases = cases.filter(office_id=office_id)
    if channel:
        cases = cases.filter(channel=channel)
    if overdue:
        cases = cases.filter(pk__in=late(now).values("case_id"))
    query = " ".join((query or "").split())
    if query:
        condition = Q(number=query) | Q(applicant_name__icontains=query) | Q(subject__icontains=query)
        if query.isdigit():
            condition |= Q(account__number=query)
        cases = cases.filter(condition)

    return (
        with_clocks(cases)
        .annotate(next_due=Min("clocks__due_on", filter=Q(clocks__stopped_at__isnull=True)))
        .order_by("next_due", "received_at", "pk")
    )


def routing_queue() -> QuerySet:
    """APL-8: the web-form cases the routing operator has not routed yet, oldest first."""
    return with_clocks(
        Case.objects.filter(needs_routing=True, status__in=OPEN_STATUSES).select_related(*CASE_RELATED)
    ).order_by("received_at", "pk")


# --- the supervisor's board and the report -----------------------------------------------------------------


def _topic_root(case_topic: Topic | None) -> Topic | None:
    if case_topic is None:
        return None
    return case_topic.parent if case_topic.parent_id else case_topic


@dataclass
class BoardRow:
    key: str
    label: str
    open: int = 0
    due_today: int = 0
    late: int = 0


def clock_board(now: dt.datetime | None = None) -> dict:
    """What is due today and what is late now, each clock with its case; and the counts by office and topic."""
    todays = today_by_branch(now)
    related = ("case__branch", "case__topic__parent", "case__office", "case__assignee", "case__account")
    today_rows = list(due_today(now).select_related(*related).order_by("due_on", "case__received_at"))
    late_rows = list(late(now).select_related(*related).order_by("due_on", "case__received_at"))
    open_cases = list(
        Case.objects.filter(status__in=OPEN_STATUSES)
        .select_related("topic__parent", "office")
        .only("pk", "office__name", "topic__name", "topic__parent__name", "branch_id", "office_id", "topic_id")
    )
    by_office: dict[str, BoardRow] = {}
    by_topic: dict[str, BoardRow] = {}

    def rows_for(case) -> list[BoardRow]:
        office_key = str(case.office_id or "")
        office_label = case.office.name if case.office_id else _("No office (remote channels)")
        root = _topic_root(case.topic)
        topic_key = str(root.pk) if root else ""
        topic_label = root.name if root else _("Not classified yet")
        return [
            by_office.setdefault(office_key, BoardRow(office_key, office_label)),
            by_topic.setdefault(topic_key, BoardRow(topic_key, topic_label)),
        ]

    for case in open_cases:
        for row in rows_for(case):
            row.open += 1
    today_cases = {c.case_id: c.case for c in today_rows}
    late_cases = {c.case_id: c.case for c in late_rows}
    for case in today_cases.values():
        for row in rows_for(case):
            row.due_today += 1
    for case in late_cases.values():
        for row in rows_for(case):
            row.late += 1
    return {
        "due_today": today_rows,
        "late": late_rows,
        "by_office": sorted(by_office.values(), key=lambda r: (-r.late, -r.due_today, r.label)),
        "by_topic": sorted(by_topic.values(), key=lambda r: (-r.late, -r.due_today, r.label)),
        "todays": todays,
    }


@dataclass
class ReportRow:
    key: str
    label: str
    received: int = 0
    closed: int = 0
    clocks_done: int = 0
    clocks_met: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def kept_share(self) -> float | None:
        return self.clocks_met / self.clocks_done if self.clocks_done else None


def period_report(start: dt.date, end: dt.date) -> dict:
    """REP-1 / APL-10: cases received in [start, end] by topic, channel and office; the deadlines that ended in
    the period and how many were kept. Dates are compared in each case's branch time zone (approximated by the
    UTC day boundaries of the server's zone — exact to within the hours of the zone difference)."""
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    received = Case.objects.filter(received_at__gte=since, received_at__lt=until)
    total = received.count()
    topics: dict[str, ReportRow] = {}
    for row in received.values("topic__parent_id", "topic__parent__name", "topic_id", "topic__name").annotate(
        n=Count("pk"), done=Count("pk", filter=~Q(status__in=OPEN_STATUSES))
    ):
        key = str(row["topic__parent_id"] or row["topic_id"] or "")
        label = row["topic__parent__name"] or row["topic__name"] or _("Not classified yet")
        item = topics.setdefault(key, ReportRow(key, label))
        item.received += row["n"]
        item.closed += row["done"]
    channels = []
    labels = dict(Channel.choices)
    for row in received.values("channel").annotate(n=Count("pk")).order_by("-n", "channel"):
        channels.append(ReportRow(row["channel"], labels.get(row["channel"], row["channel"]), received=row["n"]))
    offices: dict[str, ReportRow] = {}
    for row in received.values("office_id", "office__name").annotate(n=Count("pk")):
        key = str(row["office_id"] or "")
        offices[key] = ReportRow(key, row["office__name"] or _("No office (remote channels)"), received=row["n"])
    kinds = []
    kind_labels = dict(Case.Kind.choices)
    for row in received.values("kind").annotate(n=Count("pk")).order_by("-n", "kind"):
        kinds.append(ReportRow(row["kind"], kind_labels.get(row["kind"], row["kind"]), received=row["n"]))
    finished = CaseClock.objects.filter(stopped_at__gte=since, stopped_at__lt=until)
    clocks = []
    milestone_labels = dict(Milestone.choices)
    for row in finished.values("name", "milestone").annotate(n=Count("pk"), met=Count("pk", filter=Q(met=True))):
        item = ReportRow(row["name"], row["name"], clocks_done=row["n"], clocks_met=row["met"])
        item.extra["milestone"] = milestone_labels.get(row["milestone"], "")
        clocks.append(item)
    for row in finished.values("case__topic__parent_id", "case__topic_id").annotate(
        n=Count("pk"), met=Count("pk", filter=Q(met=True))
    ):
        key = str(row["case__topic__parent_id"] or row["case__topic_id"] or "")
        if key in topics:
            topics[key].clocks_done += row["n"]
            topics[key].clocks_met += row["met"]
    for row in finished.values("case__office_id").annotate(n=Count("pk"), met=Count("pk", filter=Q(met=True))):
        key = str(row["case__office_id"] or "")
        if key in offices:
            offices[key].clocks_done += row["n"]
            offices[key].clocks_met += row["met"]
    all_done = finished.count()
    all_met = finished.filter(met=True).count()
    by_status = defaultdict(int)
    for row in received.values("status").annotate(n=Count("pk")):
        by_status[row["status"]] = row["n"]
    return {
        "start": start,
        "end": end,
        "total": total,
        "open": sum(by_status[s] for s in OPEN_STATUSES),
        "answered": by_status[Status.ANSWERED],
        "clocks_done": all_done,
        "clocks_met": all_met,
        "kept_share": all_met / all_done if all_done else None,
        "by_topic": sorted(topics.values(), key=lambda r: (-r.received, r.label)),
        "by_channel": channels,
        "by_office": sorted(offices.values(), key=lambda r: (-r.received, r.label)),
        "by_kind": kinds,
        "by_clock": sorted(clocks, key=lambda r: (-r.clocks_done, r.label)),
    }


def workers():
    """Active staff who consider appeals (the executors a case can be given to)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    perm = Permission.objects.filter(content_type__app_label="cases", codename="work_case").first()
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    condition = Q(is_superuser=True)
    if perm is not None:
        condition |= Q(groups__permissions=perm) | Q(user_permissions=perm)
    return users.filter(pk__in=users.filter(condition).values("pk")).order_by("last_name", "first_name", "username")


def account_cases(account, limit: int = 20) -> list[Case]:
    return list(
        with_clocks(Case.objects.filter(account=account).select_related("topic__parent", "assignee")).order_by(
            "-received_at", "-pk"
        )[:limit]
    )
