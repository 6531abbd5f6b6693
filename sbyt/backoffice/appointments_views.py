"""Appointments in the staff workspace (OFF-5, CAB-12): a contact-centre operator (or an office specialist)
books a visit or a video consultation for a client, an office's day list of bookings, and a video specialist's
day list with the room links.

Who sees which office: office staff and managers see their offices (``offices.stats.offices_for``); a login
attached to no office (the contact centre, a branch administrator) sees every office that takes bookings.
Every list of bookings a staff member opens is audited as a view of personal data."""

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sbyt.core.audit import audit_view
from sbyt.core.errors import DomainError
from sbyt.customers.queries import find_account
from sbyt.offices import appointments as booking
from sbyt.offices import slots
from sbyt.offices.models import Appointment, Office, VideoSpecialist
from sbyt.offices.stats import offices_for

from .views import staff_permission, staff_required

VIEW = "offices.view_appointment"
BOOK = "offices.book_for_client"
VIDEO = "video"


def _offices(user):
    """The offices whose bookings this login sees (see the module's docstring)."""
    own = offices_for(user)
    if user.is_superuser or own.exists():
        return own
    return Office.objects.filter(is_active=True).select_related("branch").order_by("branch__code", "town", "name")


def _bookable_offices():
    return (
        Office.objects.filter(is_active=True, accepts_appointments=True)
        .select_related("branch")
        .order_by("branch__code", "town", "name")
    )


def _day(value: str, office: Office) -> dt.date:
    try:
        return dt.date.fromisoformat((value or "")[:10])
    except ValueError:
        return timezone.now().astimezone(ZoneInfo(office.time_zone)).date()


def _rows(appointments, now) -> list[dict]:
    rows = []
    for appointment in appointments:
        rows.append(
            {
                "appointment": appointment,
                "local": booking.local_start(appointment),
                "video_link": booking.video_link(appointment),
                "changeable": appointment.status == Appointment.Status.BOOKED and appointment.starts_at > now,
                "past": appointment.starts_at <= now,
            }
        )
    return rows


# --- an office's day ------------------------------------------------------------------------------------------


@staff_permission(VIEW)
@require_GET
@never_cache
def office_day(request):
    offices = list(_offices(request.user))
    if not offices:
        return render(request, "backoffice/appointments/office_day.html", {"offices": []})
    office = next((o for o in offices if o.code == request.GET.get("office")), None)
    if office is None:
        office = next((o for o in offices if o.accepts_appointments), offices[0])
    day = _day(request.GET.get("date"), office)
    rows = _rows(booking.office_day(office, day), timezone.now())
    audit_view(request.user, "appointments.office_day", office, date=day.isoformat(), count=len(rows))
    context = {
        "offices": offices,
        "office": office,
        "day": day,
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
        "rows": rows,
        "live": sum(1 for r in rows if r["appointment"].status in Appointment.ACTIVE),
    }
    with timezone.override(office.time_zone):
        return render(request, "backoffice/appointments/office_day.html", context)


@staff_permission(BOOK)
@require_POST
def cancel(request, pk: int):
    appointment = get_object_or_404(Appointment.objects.select_related("office__branch"), pk=pk)
    if not _offices(request.user).filter(pk=appointment.office_id).exists():
        raise PermissionDenied
    try:
        booking.cancel_appointment(appointment, actor=request.user, reason="staff")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The booking %(code)s is cancelled; the client is told.") % {"code": appointment.code}
        )
    day = booking.local_start(appointment).date().isoformat()
    return redirect(
        f"{reverse('backoffice:appointments')}?{urlencode({'office': appointment.office.code, 'date': day})}"
    )


# --- booking for a client ------------------------------------------------------------------------------------


class ClientForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Client's name"), max_length=booking.MAX_NAME)
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone"),
        help_text=gettext_lazy("The confirmation with the code goes there by SMS."),
        max_length=20,
    )
    email = forms.EmailField(label=gettext_lazy("E-mail (optional)"), required=False)
    topic = forms.CharField(
        label=gettext_lazy("The question"),
        required=False,
        max_length=booking.MAX_TOPIC,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _service_options(office: Office) -> list[tuple[str, str]]:
    options = [(s.code, s.name) for s in slots.visit_services(office)]
    options += [
        (f"{VIDEO}:{s.code}", _("Video consultation: %(service)s") % {"service": s.name})
        for s in slots.video_services(office)
    ]
    return options


def _book_context(request, data) -> dict:
    """The page's state from the query (or the POST): the client, the office, the service, the date, the times."""
    number = "".join((data.get("number") or "").split())[:20]
    account = find_account(number) if number.isdigit() else None
    if account is not None:
        audit_view(request.user, "appointments.client", account, account_number=account.number)
    offices = list(_bookable_offices())
    office = next((o for o in offices if o.code == data.get("office")), None)
    context = {
        "offices": offices,
        "office": office,
        "number": number,
        "account": account,
        "not_found": bool(number) and account is None,
    }
    if office is None:
        return context
    options = _service_options(office)
    value = data.get("service") or ""
    value = value if value in dict(options) else ""
    video = value.startswith(f"{VIDEO}:")
    code = value.removeprefix(f"{VIDEO}:")
    services = slots.video_services(office) if video else slots.visit_services(office)
    service = next((s for s in services if s.code == code), None)
    days = slots.bookable_days(office)
    try:
        day = dt.date.fromisoformat((data.get("date") or "")[:10])
    except ValueError:
        day = None
    day = day if day in days else None
    context.update(service_options=options, service_value=value, days=days, day=day, service=service, video=video)
    if service is not None and day is not None:
        finder = slots.video_slots if video else slots.visit_slots
        context["times"] = finder(office, service, start=day, end=day).get(day, [])
        initial = {"name": account.customer.display_name, "phone": account.customer.phone} if account else {}
        context["form"] = ClientForm(request.POST if request.method == "POST" else None, initial=initial)
    return context


@staff_permission(BOOK)
@require_http_methods(["GET", "POST"])
@never_cache
def book_for_client(request):
    """One page: the client (by client number, optional), the office, the service, the date; then the free times
    as buttons, each of which books with the contact data typed above it."""
    context = _book_context(request, request.POST if request.method == "POST" else request.GET)
    office, form = context["office"], context.get("form")
    status = 200
    if request.method == "POST":
        status = 400
        if form is not None and form.is_valid():
            starts_at = slots.parse_slot_key(office, (request.POST.get("slot") or "")[:16])
            book = booking.book_video if context["video"] else booking.book_visit
            try:
                if starts_at is None:
                    raise DomainError(_("Choose a time from the list."))
                appointment = book(
                    office,
                    service=context["service"],
                    starts_at=starts_at,
                    account=context["account"],
                    channel=booking.CHANNEL_OPERATOR,
                    actor=request.user,
                    **form.cleaned_data,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                local = booking.local_start(appointment)
                values = {"date": local.strftime("%d.%m.%Y"), "time": local.strftime("%H:%M"), "code": appointment.code}
                messages.success(
                    request, _("Booked: %(date)s at %(time)s, code %(code)s. The client gets it by SMS.") % values
                )
                query = urlencode({"office": office.code, "date": local.date().isoformat()})
                return redirect(f"{reverse('backoffice:appointments')}?{query}")
    with timezone.override(office.time_zone if office else None):
        return render(request, "backoffice/appointments/book.html", context, status=status)


# --- a video specialist's day ---------------------------------------------------------------------------------


@staff_required
@require_GET
@never_cache
def video_day(request):
    """The signed-in specialist's consultations of a day; staff who may view bookings choose a specialist."""
    user = request.user
    own = VideoSpecialist.objects.filter(user=user).select_related("office__branch").first()
    can_view = user.has_perm(VIEW)
    if own is None and not can_view:
        raise PermissionDenied
    specialists = []
    profile = own
    if can_view:
        offices = _offices(user)
        specialists = list(
            VideoSpecialist.objects.filter(office__in=offices)
            .select_related("office__branch", "user")
            .order_by("display_name")
        )
        chosen = request.GET.get("specialist")
        if chosen and chosen.isdigit():
            profile = next((s for s in specialists if s.pk == int(chosen)), None) or own
    context = {"specialists": specialists, "profile": profile}
    if profile is None:
        return render(request, "backoffice/appointments/video_day.html", context)
    day = _day(request.GET.get("date"), profile.office)
    rows = _rows(booking.specialist_day(profile.user, day, profile.office.time_zone), timezone.now())
    audit_view(user, "appointments.video_day", profile, date=day.isoformat(), count=len(rows))
    context.update(
        day=day,
        previous=day - dt.timedelta(days=1),
        next=day + dt.timedelta(days=1),
        rows=rows,
        mine=profile.user_id == user.pk,
    )
    with timezone.override(profile.office.time_zone):
        return render(request, "backoffice/appointments/video_day.html", context)


@staff_required
@require_POST
def outcome(request, pk: int):
    """The specialist marks a consultation as held or the client as absent (their own, or with BOOK)."""
    appointment = get_object_or_404(
        Appointment.objects.select_related("office__branch"), pk=pk, kind=Appointment.Kind.VIDEO
    )
    if appointment.specialist_id != request.user.pk and not request.user.has_perm(BOOK):
        raise PermissionDenied
    status = request.POST.get("status", "")
    try:
        booking.record_outcome(appointment, status=status, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    query = {"date": booking.local_start(appointment).date().isoformat()}
    if appointment.specialist_id != request.user.pk:
        profile = VideoSpecialist.objects.filter(user_id=appointment.specialist_id).first()
        if profile:
            query["specialist"] = profile.pk
    return redirect(f"{reverse('backoffice:video_day')}?{urlencode(query)}")
