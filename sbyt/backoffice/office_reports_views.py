"""Offices in the staff workspace: queue statistics against the norms (OFF-2) with the live hall, charts and an
XLSX export, and the complaints book (OFF-7): recording entries and the office head's daily review.

A staff login sees only the offices it manages or is on the staff of (a superuser: all); another office is a
404, as if it did not exist. The role's permission decides what it may do there."""

import datetime as dt
import io
import math
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sbyt.core.audit import audit_many, audit_view
from sbyt.core.errors import DomainError
from sbyt.core.models import AuditEntry
from sbyt.offices import complaints
from sbyt.offices.models import ComplaintBookEntry, Office
from sbyt.offices.stats import TOTAL_NORM_MINUTES, Figures, hall_state, local_today, offices_for, queue_report

from .views import staff_permission, staff_required

STATS = "offices.view_queue_stats"
RECORD = "offices.add_complaintbookentry"
REVIEW = "offices.review_complaints"
DEFAULT_DAYS = 7
MAX_DAYS = 366
HALL_REFRESH_SECONDS = 15


def _office(request, code: str) -> Office:
    return get_object_or_404(offices_for(request.user), code=code)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


# --- The list of offices ------------------------------------------------------------------------------------


@staff_required
@require_GET
def office_reports(request):
    user = request.user
    if not any(user.has_perm(p) for p in (STATS, RECORD, REVIEW)):
        raise PermissionDenied
    offices = list(offices_for(user))
    return render(request, "backoffice/office_reports/index.html", {"offices": offices})


# --- Statistics ---------------------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start of the period must not be after its end."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("The period may be at most a year (366 days)."))
        return data


def _period_form(request, office: Office) -> PeriodForm:
    if "start" in request.GET or "end" in request.GET:
        return PeriodForm(request.GET)
    today = local_today(office)
    return PeriodForm({"start": today - dt.timedelta(days=DEFAULT_DAYS - 1), "end": today})


def _row(figures: Figures) -> dict:
    """One table row: minutes, shares in percent and the breaches."""
    return {
        "key": figures.key,
        "label": figures.label,
        "tickets": figures.tickets,
        "no_show": figures.no_show,
        "waited": figures.waited,
        "wait_avg": _minutes(figures.wait_avg),
        "wait_p90": _minutes(figures.wait_p90),
        "wait_max": _minutes(figures.wait_max),
        "wait_norm": _minutes(figures.wait_norm),
        "wait_share": None if figures.wait_share is None else figures.wait_share * 100,
        "wait_breach": figures.wait_breach,
        "served": figures.served,
        "service_avg": _minutes(figures.service_avg),
        "service_p90": _minutes(figures.service_p90),
        "service_norm": _minutes(figures.service_norm),
        "service_share": None if figures.service_share is None else figures.service_share * 100,
        "service_breach": figures.service_breach,
        "total_avg": _minutes(figures.total_avg),
        "total_share": None if figures.total_share is None else figures.total_share * 100,
        "total_breach": figures.total_breach,
        "breach": figures.breach,
    }


def _nice_ceiling(value: float) -> tuple[float, float]:
    """An axis maximum and step (minutes) at or above ``value``: 5, 10, 15, 20, 30, 40, 60…"""
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 120):
        if value <= step * 5:
            return max(step, math.ceil(value / step) * step), step
    step = 10 ** math.ceil(math.log10(value / 5))
    return math.ceil(value / step) * step, step


def _fmt(value: float | None) -> str:
    return "—" if value is None else number_format(value, 1)


def day_chart(rows: list[dict]) -> dict | None:
    """Columns of the average wait per day with each day's norm as a dash: geometry for an inline SVG."""
    days = [r for r in rows if r["wait_avg"] is not None]
    if not days:
        return None
    top, left, plot_h, bottom = 16, 44, 180, 36
    col = max(6, min(56, 640 // len(days)))
    gap = max(2, col // 4)
    width = left + len(days) * (col + gap) + 12
    top_value, step = _nice_ceiling(max(max(r["wait_avg"], r["wait_norm"] or 0) for r in days) * 1.1)

    def y(minutes: float) -> float:
        return round(top + plot_h - minutes / top_value * plot_h, 1)

    label_every = max(1, math.ceil(len(days) / 12))
    columns = []
    for index, row in enumerate(days):
        x = left + index * (col + gap) + gap // 2
        columns.append(
            {
                "x": x,
                "y": y(row["wait_avg"]),
                "w": col,
                "h": round(top + plot_h - y(row["wait_avg"]), 1),
                "cx": x + col / 2,
                "norm_y": y(row["wait_norm"]) if row["wait_norm"] is not None else None,
                "breach": row["wait_breach"],
                "label": row["label"][:5] if index % label_every == 0 else "",
                "title": f"{row['label']}: {_fmt(row['wait_avg'])} / {_fmt(row['wait_norm'])}",
            }
        )
    ticks = [{"y": y(v), "label": number_format(v, 0)} for v in _range(0, top_value, step)]
    return {
        "width": width,
        "height": top + plot_h + bottom,
        "left": left,
        "right": width - 8,
        "base": top + plot_h,
        "label_y": top + plot_h + 18,
        "columns": columns,
        "ticks": ticks,
    }


def _range(start: float, stop: float, step: float):
    value = start
    while value <= stop + 1e-9:
        yield value
        value += step


def service_chart(rows: list[dict]) -> dict | None:
    """Horizontal bars per service: the average wait and service with their norms (vertical dashes)."""
    services = [r for r in rows if r["wait_avg"] is not None or r["service_avg"] is not None]
    if not services:
        return None
    label_w, bar_h, plot_w = 190, 18, 400
    values = [v for r in services for v in (r["wait_avg"], r["service_avg"], r["wait_norm"], r["service_norm"]) if v]
    top_value, step = _nice_ceiling(max(values or [1]) * 1.1)

    def x(minutes: float) -> float:
        return round(label_w + minutes / top_value * plot_w, 1)

    groups, y = [], 24
    for row in services:
        bars = []
        for kind, value, norm, breach in (
            ("wait", row["wait_avg"], row["wait_norm"], row["wait_breach"]),
            ("service", row["service_avg"], row["service_norm"], row["service_breach"]),
        ):
            bars.append(
                {
                    "kind": kind,
                    "y": y,
                    "w": round(x(value) - label_w, 1) if value is not None else 0,
                    "end": x(value) if value is not None else label_w,
                    "norm_x": x(norm) if norm is not None else None,
                    "breach": breach,
                    "text": _fmt(value),
                }
            )
            y += bar_h + 4
        groups.append({"label": row["label"], "label_y": y - bar_h - 4, "bars": bars})
        y += 14
    ticks = [{"x": x(v), "label": number_format(v, 0)} for v in _range(0, top_value, step)]
    return {
        "width": label_w + plot_w + 70,
        "height": y + 10,
        "label_w": label_w,
        "bar_h": bar_h,
        "groups": groups,
        "ticks": ticks,
        "axis_top": 14,
        "axis_bottom": y - 10,
    }


def _report_context(office: Office, form: PeriodForm) -> dict:
    if not form.is_valid():
        return {}
    report = queue_report(office, start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    by_day = [_row(f) for f in report.by_day]
    by_service = [_row(f) for f in report.by_service]
    return {
        "report": report,
        "overall": _row(report.overall),
        "overall_rows": [_row(report.overall)],
        "tables": [
            {"id": "by-service", "title": _("By service"), "column": _("Service"), "rows": by_service},
            {
                "id": "by-window",
                "title": _("By window"),
                "column": _("Window"),
                "rows": [_row(f) for f in report.by_window],
            },
            {
                "id": "by-specialist",
                "title": _("By specialist"),
                "column": _("Specialist"),
                "rows": [_row(f) for f in report.by_specialist],
            },
            {"id": "by-day", "title": _("By day"), "column": _("Day"), "rows": by_day},
        ],
        "day_chart": day_chart(by_day),
        "service_chart": service_chart(by_service),
        "export_query": f"start={report.start:%Y-%m-%d}&end={report.end:%Y-%m-%d}",
    }


def _hall_context(office: Office) -> dict:
    hall = hall_state(office)
    return {
        "office": office,
        "hall": hall,
        "hall_today": _row(hall.today_figures),
        "longest_minutes": _minutes(hall.longest),
        "queues": [
            {
                "service": q.service,
                "waiting": q.waiting,
                "longest": _minutes(q.longest),
                "norm": q.service.wait_norm_minutes,
                "breach": q.breach,
            }
            for q in hall.queues
        ],
        "refresh_seconds": HALL_REFRESH_SECONDS,
    }


@staff_permission(STATS)
@require_GET
@never_cache
def office_stats(request, code: str):
    office = _office(request, code)
    form = _period_form(request, office)
    context = {"office": office, "form": form, "total_norm": TOTAL_NORM_MINUTES}
    context.update(_report_context(office, form))
    context.update(_hall_context(office))
    with timezone.override(office.time_zone):
        return render(request, "backoffice/office_reports/stats.html", context, status=200 if form.is_valid() else 400)


@staff_permission(STATS)
@require_GET
@never_cache
def office_hall(request, code: str):
    """The live hall alone, for the page's periodic refresh."""
    office = _office(request, code)
    with timezone.override(office.time_zone):
        return render(request, "backoffice/office_reports/hall.html", _hall_context(office))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_columns() -> list[tuple[str, str, str]]:
    """(row key, header, number format) of every figure column."""
    minutes, share, count = "0.0", "0%", "0"
    return [
        ("tickets", _("Tickets"), count),
        ("waited", _("Called"), count),
        ("wait_avg", _("Average wait, min"), minutes),
        ("wait_p90", _("Wait, 90th percentile, min"), minutes),
        ("wait_max", _("Longest wait, min"), minutes),
        ("wait_norm", _("Wait norm, min"), minutes),
        ("wait_share", _("Within the wait norm"), share),
        ("served", _("Served"), count),
        ("service_avg", _("Average service, min"), minutes),
        ("service_p90", _("Service, 90th percentile, min"), minutes),
        ("service_norm", _("Service norm, min"), minutes),
        ("service_share", _("Within the service norm"), share),
        ("total_avg", _("Average total, min"), minutes),
        ("total_share", _("Within 30 min in total"), share),
        ("no_show", _("No-shows"), count),
    ]


def build_xlsx(office: Office, report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    breach_fill = PatternFill("solid", fgColor="F8D7DA")
    columns = _xlsx_columns()
    book = Workbook()
    summary = book.active
    summary.title = _("Summary")
    summary.append([_("Queue statistics"), office.name])
    summary.append([_("Address"), office.address])
    summary.append([_("Period"), report.start, report.end])
    summary.append([_("Norms"), _("consultation 10 + 10 min, cash 5 + 5, both 15 + 15, total at most 30 min")])
    for cell in summary[3][1:]:
        cell.number_format = "DD.MM.YYYY"
    for row in summary.iter_rows(min_col=1, max_col=1):
        row[0].font = bold
    summary.append([])
    sheets = [
        (summary, _("All services"), [_row(report.overall)], False),
        (book.create_sheet(_("By service")), _("Service"), [_row(f) for f in report.by_service], False),
        (book.create_sheet(_("By window")), _("Window"), [_row(f) for f in report.by_window], False),
        (book.create_sheet(_("By specialist")), _("Specialist"), [_row(f) for f in report.by_specialist], False),
        (book.create_sheet(_("By day")), _("Day"), [_row(f) for f in report.by_day], True),
    ]
    for sheet, first, rows, dated in sheets:
        header_row = sheet.max_row + 1 if sheet is summary else 1
        headers = [first, *[header for _key, header, _fmt in columns], _("Over the norm")]
        for index, header in enumerate(headers, start=1):
            cell = sheet.cell(row=header_row, column=index, value=header)
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for offset, row in enumerate(rows, start=1):
            r = header_row + offset
            first_cell = sheet.cell(row=r, column=1, value=row["key"] if dated else row["label"])
            if dated:
                first_cell.number_format = "DD.MM.YYYY"
            for index, (key, _header, fmt) in enumerate(columns, start=2):
                value = row[key]
                if value is not None and fmt == "0%":
                    value = value / 100
                cell = sheet.cell(row=r, column=index, value=value)
                cell.number_format = fmt
                if (key == "wait_avg" and row["wait_breach"]) or (key == "service_avg" and row["service_breach"]):
                    cell.fill = breach_fill
                if key == "total_avg" and row["total_breach"]:
                    cell.fill = breach_fill
            sheet.cell(row=r, column=len(headers), value=_("yes") if row["breach"] else _("no"))
        sheet.column_dimensions["A"].width = 28
        for index in range(2, len(headers) + 1):
            sheet.column_dimensions[get_column_letter(index)].width = 14
        if sheet is not summary:
            sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@staff_permission(STATS)
@require_GET
def office_stats_xlsx(request, code: str):
    office = _office(request, code)
    form = _period_form(request, office)
    if not form.is_valid():
        errors = "; ".join(str(e) for e in form.errors.get("__all__", [])) or _("Enter both dates of the period.")
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    report = queue_report(office, start=form.cleaned_data["start"], end=form.cleaned_data["end"])
    audit_view(request.user, "office_stats.export", office, start=str(report.start), end=str(report.end))
    response = HttpResponse(build_xlsx(office, report), content_type=XLSX)
    name = f"queue-{office.code}-{report.start:%Y%m%d}-{report.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- The complaints book ------------------------------------------------------------------------------------


class ComplaintEntryForm(forms.Form):
    source = forms.ChoiceField(
        label=gettext_lazy("Where the entry comes from"),
        choices=[
            (complaints.PAPER, gettext_lazy("Copied from the paper book")),
            (complaints.ELECTRONIC, gettext_lazy("Taken electronically at the office")),
        ],
        widget=forms.RadioSelect,
        initial=complaints.PAPER,
    )
    date = forms.DateField(
        label=gettext_lazy("Date of the entry"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    time = forms.TimeField(
        label=gettext_lazy("Time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), required=False
    )
    author_name = forms.CharField(label=gettext_lazy("Author (as written in the entry)"), max_length=200)
    contact = forms.CharField(
        label=gettext_lazy("Contact for the answer (address, phone or e-mail)"), max_length=200, required=False
    )
    account_number = forms.CharField(label=gettext_lazy("Client number (if given)"), max_length=20, required=False)
    text = forms.CharField(label=gettext_lazy("Text of the entry"), widget=forms.Textarea(attrs={"rows": 8}))


class ReviewForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Review note: what was decided and answered"), widget=forms.Textarea(attrs={"rows": 3})
    )


def _aware(office: Office, moment: dt.datetime) -> dt.datetime:
    """A wall-clock time at the office as an aware datetime."""
    return moment.replace(tzinfo=ZoneInfo(office.time_zone))


@staff_permission(RECORD)
@require_http_methods(["GET", "POST"])
def office_complaint_new(request, code: str):
    office = _office(request, code)
    now_local = timezone.localtime(timezone.now(), timezone=ZoneInfo(office.time_zone))
    status = 200
    if request.method == "POST":
        form = ComplaintEntryForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = complaints.record_complaint_entry(
                    office=office,
                    author_name=data["author_name"],
                    text=data["text"],
                    written_at=_aware(office, dt.datetime.combine(data["date"], data["time"] or now_local.time())),
                    contact=data["contact"],
                    account_number=data["account_number"],
                    source=data["source"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if entry.sent_to_head_office_at:
                    text = _("Entry No. %(number)s is recorded and sent to the head office.")
                else:
                    text = _("Entry No. %(number)s is recorded. It is not sent: the head office address is not set.")
                messages.success(request, text % {"number": entry.number})
                if request.user.has_perm(REVIEW):
                    return redirect(
                        f"{reverse('backoffice:office_complaints', args=[office.code])}#entry-{entry.number}"
                    )
                return redirect("backoffice:office_complaint_new", code=office.code)
        status = 400
    else:
        form = ComplaintEntryForm(initial={"date": now_local.date(), "time": now_local.time().replace(second=0)})
    context = {"office": office, "form": form}
    return render(request, "backoffice/office_reports/complaint_new.html", context, status=status)


@staff_permission(REVIEW)
@require_GET
@never_cache
def office_complaints(request, code: str):
    office = _office(request, code)
    entries = list(complaints.review_list(office))
    audit_many(
        request.user,
        "complaint_book.view",
        [(entry, entry.account.number if entry.account_id else "", {"number": entry.number}) for entry in entries],
        kind=AuditEntry.Kind.VIEW,
    )
    context = {
        "office": office,
        "entries": entries,
        "unreviewed": sum(1 for e in entries if e.reviewed_at is None),
        "review_form": ReviewForm(),
        "head_office_email": complaints.head_office_email(),
        "may_record": request.user.has_perm(RECORD),
    }
    with timezone.override(office.time_zone):
        return render(request, "backoffice/office_reports/complaints.html", context)


def _entry(request, code: str, number: int) -> ComplaintBookEntry:
    office = _office(request, code)
    entry = ComplaintBookEntry.objects.select_related("office__branch", "account").filter(office=office, number=number)
    found = entry.first()
    if found is None:
        raise Http404("entry")
    return found


@staff_permission(REVIEW)
@require_POST
def office_complaint_review(request, code: str, number: int):
    entry = _entry(request, code, number)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write what was decided: the review note."))
    else:
        try:
            complaints.review_complaint_entry(entry=entry, note=form.cleaned_data["note"], actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Entry No. %(number)s is reviewed.") % {"number": entry.number})
    return redirect(f"{reverse('backoffice:office_complaints', args=[code])}#entry-{number}")


@staff_permission(REVIEW)
@require_POST
def office_complaint_send(request, code: str, number: int):
    entry = _entry(request, code, number)
    try:
        complaints.send_complaint_entry(entry=entry, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Entry No. %(number)s is sent to the head office.") % {"number": entry.number})
    return redirect(f"{reverse('backoffice:office_complaints', args=[code])}#entry-{number}")
