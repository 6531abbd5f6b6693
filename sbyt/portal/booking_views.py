"""Booking a visit to an office or a video consultation (CAB-12, OFF-5) on the public site and in the cabinet,
the client's own bookings (list, cancel, move) and cancelling by code and phone without a login.

The steps are plain links carrying the choice so far in the query string (office → service → date → time →
contact), so each step works without JavaScript and survives the back button; only booking, cancelling and
moving are POSTs. Every rule (free slots, limits, guards) is the offices services'; a refusal is shown in
their words. Dates and times are the office's local ones."""

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from sbyt.core.errors import DomainError
from sbyt.core.phones import normalize_phone
from sbyt.customers.queries import accounts_for
from sbyt.offices import appointments as booking
from sbyt.offices import slots
from sbyt.offices.models import Appointment, Office, Service

from . import ratelimits
from .forms import TelInput
from .views import GET_POST, _render, client_required

VIDEO = "video"
DONE = "portal.booking.done"
TEMPLATES = "portal/booking/"


# --- forms ---------------------------------------------------------------------------------------------------


def _clean_phone(value: str) -> str:
    phone = normalize_phone(value)
    if not phone:
        raise forms.ValidationError(_("Enter a mobile phone number, e.g. +7 912 345-67-89."))
    return phone


class ContactForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=booking.MAX_NAME,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone"),
        help_text=gettext_lazy("The confirmation with the booking code comes by SMS."),
        max_length=20,
        widget=TelInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label=gettext_lazy("E-mail (optional)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    topic = forms.CharField(
        label=gettext_lazy("Your question (optional)"),
        help_text=gettext_lazy("A few words help the specialist prepare."),
        required=False,
        max_length=booking.MAX_TOPIC,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, accounts=(), anonymous=True, **kwargs):
        super().__init__(*args, **kwargs)
        if len(accounts) > 1:
            self.fields["account"] = forms.ChoiceField(
                label=gettext_lazy("Client number"),
                choices=[(a.number, a.number) for a in accounts],
            )
        if anonymous:
            self.fields["consent"] = forms.BooleanField(
                label=gettext_lazy("I agree to the processing of my name and phone number for this booking."),
                error_messages={"required": gettext_lazy("Without this consent we cannot book a visit.")},
            )

    def clean_phone(self):
        return _clean_phone(self.cleaned_data["phone"])


class LookupForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Booking code"),
        help_text=gettext_lazy("The digits from the SMS or the letter."),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("Mobile phone given at booking"),
        max_length=20,
        widget=TelInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_code(self):
        code = "".join(ch for ch in self.cleaned_data["code"] if ch.isdigit())
        if not code:
            raise forms.ValidationError(_("Enter the booking code: digits only."))
        return code

    def clean_phone(self):
        return _clean_phone(self.cleaned_data["phone"])


# --- the choice so far -----------------------------------------------------------------------------------------


@dataclass
class Choice:
    """What the client has chosen so far, read from the query string (or the POST); anything unknown or no
    longer bookable is simply not chosen, so the client lands on that step again."""

    office: Office | None = None
    service: Service | None = None
    video: bool = False
    day: dt.date | None = None
    starts_at: dt.datetime | None = None

    def params(self, **extra) -> dict:
        params = {}
        if self.office:
            params["office"] = self.office.code
        if self.service:
            params["service"] = self.service.code
            if self.video:
                params["kind"] = VIDEO
        if self.day:
            params["date"] = self.day.isoformat()
        if self.starts_at:
            params["time"] = self.starts_at.strftime("%H:%M")
        params.update(extra)
        return params

    def url(self, **extra) -> str:
        return f"{reverse('portal:book_visit')}?{urlencode(self.params(**extra))}"

    @property
    def slot_key(self) -> str:
        return self.starts_at.strftime("%Y-%m-%dT%H:%M") if self.starts_at else ""


def bookable_offices():
    return Office.objects.filter(is_active=True, accepts_appointments=True).select_related("branch")


def _services(office: Office, video: bool) -> list[Service]:
    return slots.video_services(office) if video else slots.visit_services(office)


def _choice(data) -> Choice:
    choice = Choice()
    choice.office = bookable_offices().filter(code=(data.get("office") or "")[:64]).first()
    if choice.office is None:
        return choice
    video = data.get("kind") == VIDEO
    code = (data.get("service") or "")[:32]
    services = _services(choice.office, video)
    choice.service = next((s for s in services if s.code == code), None)
    if choice.service is None and video and not code and len(services) == 1:
        choice.service = services[0]  # «a video consultation at this office» (the smart-office terminal's link)
    if choice.service is None:
        return choice
    choice.video = video
    try:
        day = dt.date.fromisoformat((data.get("date") or "")[:10])
    except ValueError:
        return choice
    if day not in slots.bookable_days(choice.office):
        return choice
    choice.day = day
    starts_at = slots.parse_slot_key(choice.office, f"{day.isoformat()}T{(data.get('time') or '')[:5]}")
    if starts_at is not None:
        choice.starts_at = starts_at
    return choice


def _day_slots(office, service, video, **kwargs):
    finder = slots.video_slots if video else slots.visit_slots
    return finder(office, service, **kwargs)


def _days(choice: Choice) -> list[dict]:
    """Every bookable date with its number of free times (0: shown, but not a link)."""
    free = _day_slots(choice.office, choice.service, choice.video)
    return [
        {"day": day, "count": len(day_slots), "url": choice.url(date=day.isoformat())}
        for day, day_slots in free.items()
    ]


def _times(choice: Choice, url=None) -> list[dict]:
    free = _day_slots(choice.office, choice.service, choice.video, start=choice.day, end=choice.day)
    link = url or (lambda slot: choice.url(time=slot.starts_at.strftime("%H:%M")))
    return [{"slot": s, "label": s.starts_at.strftime("%H:%M"), "url": link(s)} for s in free.get(choice.day, [])]


def _offices_by_town(town: str = ""):
    offices = bookable_offices().order_by("branch__name", "town", "name")
    towns = sorted({o.town for o in offices})
    if town:
        offices = [o for o in offices if o.town == town]
    groups = [(name, list(items)) for name, items in groupby(offices, key=lambda o: o.town)]
    return towns, groups


def _too_many(request, phone: str = "", *, purpose: str, rate: str) -> bool:
    """Count this attempt per IP address (anonymous visitors), per login and per phone number typed."""
    limited = []
    if request.user.is_authenticated:
        user_key = str(request.user.pk)
        limited.append(
            is_ratelimited(
                request,
                group=f"portal.{purpose}.user",
                key=lambda _g, _r: user_key,
                rate=rate,
                method="POST",
                increment=True,
            )
        )
    else:
        limited.append(
            is_ratelimited(request, group=f"portal.{purpose}.ip", key="ip", rate=rate, method="POST", increment=True)
        )
    if phone:
        limited.append(
            is_ratelimited(
                request,
                group=f"portal.{purpose}.phone",
                key=lambda _g, _r: phone,
                rate=rate,
                method="POST",
                increment=True,
            )
        )
    return any(limited)


def _client_accounts(user) -> list:
    if not user.is_authenticated or user.is_staff:
        return []
    return list(accounts_for(user).select_related("customer"))


def _initial(user, accounts) -> dict:
    if not user.is_authenticated or user.is_staff:
        return {}
    customer = accounts[0].customer if accounts else None
    return {
        "name": (customer.display_name if customer else "") or user.get_full_name(),
        "phone": user.phone or (customer.phone if customer else ""),
        "email": user.email or "",
    }


# --- public booking ---------------------------------------------------------------------------------------


@require_http_methods(GET_POST)
def book_visit(request):
    """One URL for every step; which step shows depends on how much of the choice is made."""
    data = request.POST if request.method == "POST" else request.GET
    choice = _choice(data)
    time_zone = choice.office.time_zone if choice.office else None
    context = {"choice": choice, "steps": 5}
    if choice.office is None:
        town = (request.GET.get("town") or "")[:120]
        towns, groups = _offices_by_town(town)
        context.update(step=1, towns=towns, town=town, groups=groups)
        return _render(request, TEMPLATES + "office.html", context)
    if choice.service is None:
        only_video = data.get("kind") == VIDEO
        context.update(
            step=2,
            services=[]
            if only_video
            else [(s, choice.url(service=s.code)) for s in slots.visit_services(choice.office)],
            video_services=[(s, choice.url(service=s.code, kind=VIDEO)) for s in slots.video_services(choice.office)],
        )
        return _render(request, TEMPLATES + "service.html", context, time_zone=time_zone)
    if choice.day is None:
        context.update(step=3, days=_days(choice))
        return _render(request, TEMPLATES + "date.html", context, time_zone=time_zone)
    if choice.starts_at is None:
        context.update(step=4, times=_times(choice))
        return _render(request, TEMPLATES + "time.html", context, time_zone=time_zone)
    return _contact_step(request, choice, context)


def _contact_step(request, choice: Choice, context: dict):
    user = request.user
    accounts = _client_accounts(user)
    anonymous = not user.is_authenticated
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        accounts=accounts,
        anonymous=anonymous,
        initial=_initial(user, accounts),
    )
    context.update(step=5, form=form, accounts=accounts, zone=booking.zone_label(choice.starts_at))
    template = TEMPLATES + "contact.html"
    time_zone = choice.office.time_zone
    if request.method != "POST" or not form.is_valid():
        return _render(request, template, context, time_zone=time_zone)
    data = form.cleaned_data
    if _too_many(request, data["phone"], purpose="booking", rate=settings.RATELIMIT_CODES):
        form.add_error(None, ratelimits.too_many_message())
        return _render(request, template, context, status=429, time_zone=time_zone)
    account = None
    if accounts:
        account = next((a for a in accounts if a.number == data.get("account")), accounts[0])
    book = booking.book_video if choice.video else booking.book_visit
    try:
        appointment = book(
            choice.office,
            service=choice.service,
            starts_at=choice.starts_at,
            name=data["name"],
            phone=data["phone"],
            email=data["email"],
            topic=data["topic"],
            account=account,
            user=user if user.is_authenticated else None,
            channel=booking.CHANNEL_SITE if anonymous else booking.CHANNEL_CABINET,
            actor=user if user.is_authenticated else booking.CHANNEL_SITE,
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        context["other_time_url"] = choice.url(time="")
        return _render(request, template, context, time_zone=time_zone)
    request.session[DONE] = appointment.pk
    return redirect("portal:booking_done")


def _appointment_context(appointment: Appointment) -> dict:
    local = booking.local_start(appointment)
    return {
        "appointment": appointment,
        "local": local,
        "zone": booking.zone_label(local),
        "video_link": booking.video_link(appointment),
        "is_video": appointment.kind == Appointment.Kind.VIDEO,
        "specialist": getattr(appointment.specialist, "video_profile", None) if appointment.specialist_id else None,
    }


@require_GET
def booking_done(request):
    appointment = (
        Appointment.objects.select_related("office__branch", "service", "specialist__video_profile")
        .filter(pk=request.session.get(DONE))
        .first()
    )
    if appointment is None:
        return redirect("portal:book_visit")
    context = _appointment_context(appointment)
    return _render(request, TEMPLATES + "done.html", context, time_zone=appointment.office.time_zone)


@require_http_methods(GET_POST)
def booking_cancel(request):
    """Cancel without a login: the booking code and the phone number it was made for, then a confirmation."""
    form = LookupForm(request.POST if request.method == "POST" else None)
    context = {"form": form}
    template = TEMPLATES + "public_cancel.html"
    if request.method != "POST" or not form.is_valid():
        return _render(request, template, context)
    phone = form.cleaned_data["phone"]
    if _too_many(request, phone, purpose="booking_lookup", rate=settings.RATELIMIT_PUBLIC_READINGS):
        form.add_error(None, ratelimits.too_many_message())
        return _render(request, template, context, status=429)
    appointment = booking.find_by_code_and_phone(form.cleaned_data["code"], phone)
    if appointment is None:
        form.add_error(None, _("No booking with this code for this phone number. Check both and try again."))
        return _render(request, template, context)
    context.update(_appointment_context(appointment))
    if "confirm" not in request.POST:
        return _render(request, template, context, time_zone=appointment.office.time_zone)
    try:
        booking.cancel_appointment(appointment, actor=booking.CHANNEL_SITE, reason="public")
    except DomainError as exc:
        context["error"] = exc.message
        return _render(request, template, context, time_zone=appointment.office.time_zone)
    messages.success(request, _("The booking is cancelled. The time is free for others now."))
    return redirect("portal:booking_cancel")


# --- the cabinet: my bookings ---------------------------------------------------------------------------------


def _mine(request, pk: int) -> Appointment:
    appointment = booking.appointments_of(request.user).filter(pk=pk).first()
    if appointment is None:
        raise Http404("appointment")
    return appointment


@client_required
@require_GET
def my_appointments(request):
    now = timezone.now()
    rows = []
    for appointment in booking.appointments_of(request.user)[:100]:
        row = _appointment_context(appointment)
        row["changeable"] = appointment.status == Appointment.Status.BOOKED and appointment.starts_at > now
        row["upcoming"] = appointment.status in Appointment.ACTIVE and appointment.ends_at > now
        rows.append(row)
    upcoming = sorted((r for r in rows if r["upcoming"]), key=lambda r: r["appointment"].starts_at)
    past = [r for r in rows if not r["upcoming"]]
    return _render(request, TEMPLATES + "mine.html", {"upcoming": upcoming, "past": past})


@client_required
@require_http_methods(GET_POST)
def appointment_cancel(request, pk: int):
    appointment = _mine(request, pk)
    context = _appointment_context(appointment)
    if request.method == "POST":
        try:
            booking.cancel_appointment(appointment, actor=request.user, reason="cabinet")
        except DomainError as exc:
            context["error"] = exc.message
        else:
            messages.success(request, _("The booking is cancelled. The time is free for others now."))
            return redirect("portal:my_appointments")
    return _render(request, TEMPLATES + "cancel.html", context, time_zone=appointment.office.time_zone)


@client_required
@require_http_methods(GET_POST)
def appointment_reschedule(request, pk: int):
    """Another date and time for the same office, service and kind: dates, then times, then one POST."""
    appointment = _mine(request, pk)
    office = appointment.office
    video = appointment.kind == Appointment.Kind.VIDEO
    context = _appointment_context(appointment)
    base = reverse("portal:appointment_reschedule", args=[appointment.pk])
    if request.method == "POST":
        starts_at = slots.parse_slot_key(office, request.POST.get("slot", "")[:16])
        try:
            if starts_at is None:
                raise DomainError(_("This time cannot be booked. Choose a time from the list."))
            booking.reschedule_appointment(appointment, starts_at=starts_at, actor=request.user)
        except DomainError as exc:
            context["error"] = exc.message
        else:
            messages.success(request, _("The booking is moved. We have sent the new time to you."))
            return redirect("portal:my_appointments")
    choice = Choice(office=office, service=appointment.service, video=video)
    try:
        day = dt.date.fromisoformat((request.GET.get("date") or "")[:10])
    except ValueError:
        day = None
    if day is not None and day in slots.bookable_days(office):
        choice.day = day
        context["times"] = _times(choice, url=lambda slot: "")
        context["day"] = day
    else:
        free = _day_slots(office, appointment.service, video)
        context["days"] = [
            {"day": d, "count": len(s), "url": f"{base}?{urlencode({'date': d.isoformat()})}"} for d, s in free.items()
        ]
    context["changeable"] = appointment.status == Appointment.Status.BOOKED and appointment.starts_at > timezone.now()
    context["base"] = base
    return _render(request, TEMPLATES + "move.html", context, time_zone=office.time_zone)
