"""Public pages of the office directory: the list with search and «open now», an office's page, and the remote
channels with their hours (PUB-1, OFF-1). No login needed; times are the office's (branch's) local time."""

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from sbyt.core.errors import NotFound
from sbyt.customers.models import Branch
from sbyt.customers.queries import accounts_for
from sbyt.metering import queries as metering
from sbyt.metering.models import Channel
from sbyt.offices import directory
from sbyt.offices import hours as office_hours

WEEKDAY_NAMES = [
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
]
UPCOMING_DAYS = 14
MOSCOW = ZoneInfo("Europe/Moscow")


class OfficeSearchForm(forms.Form):
    town = forms.CharField(
        label=gettext_lazy("Town or address"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"list": "towns", "autocomplete": "off"}),
    )
    function = forms.ChoiceField(label=gettext_lazy("What you need"), required=False)
    branch = forms.ChoiceField(label=gettext_lazy("Branch"), required=False)
    open_now = forms.BooleanField(label=gettext_lazy("Open now"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["function"].choices = [("", _("Anything"))] + [
            (f.code, f.name) for f in directory.functions_in_use()
        ]
        self.fields["branch"].choices = [("", _("All branches"))] + [
            (b.code, b.name) for b in Branch.objects.filter(offices__is_active=True).distinct().order_by("name")
        ]


def _msk_offset(zone: str, now: dt.datetime) -> str:
    """«МСК», «МСК+1», «МСК+2»: how Russians name a zone."""
    delta = now.astimezone(ZoneInfo(zone)).utcoffset() - now.astimezone(MOSCOW).utcoffset()
    hours = int(delta.total_seconds() // 3600)
    return _("Moscow time") if hours == 0 else _("Moscow time %(offset)+d h") % {"offset": hours}


def _weekly_rows(schedule: office_hours.Schedule, today: dt.date) -> list[dict]:
    return [
        {
            "name": WEEKDAY_NAMES[weekday],
            "hours": schedule.weekly.get(weekday),
            "is_today": weekday == today.weekday(),
        }
        for weekday in range(7)
    ]


def _exceptions(schedule: office_hours.Schedule, today: dt.date) -> list[dict]:
    """Dates of the next two weeks whose hours differ from the usual ones (holidays, shortened days, OfficeDays)."""
    rows = []
    for day in office_hours.week(schedule, today, UPCOMING_DAYS):
        if day.why in (office_hours.Why.REGULAR, office_hours.Why.WEEKEND):
            continue
        rows.append({"day": day, "why": office_hours.why_text(day), "is_today": day.date == today})
    return rows


@require_GET
def offices(request):
    form = OfficeSearchForm(request.GET or None)
    # A filter with a value that does not exist (an old link) is dropped; the valid ones still apply.
    chosen = {}
    if form.is_bound:
        form.is_valid()  # fills cleaned_data with the fields whose values are valid
        chosen = form.cleaned_data
    town = chosen.get("town", "")
    function = chosen.get("function", "")
    branch_code = chosen.get("branch", "")
    open_now = chosen.get("open_now", False)
    branch = Branch.objects.filter(code=branch_code).first() if branch_code else None
    now = timezone.now()
    found = directory.search_offices(town=town, function=function, open_now=open_now, now=now, branch=branch)
    for office in found:
        office.status_line = office_hours.status_text(office.status)
    found.sort(key=lambda o: (o.branch.name, o.town, o.name))
    context = {
        "form": form,
        "offices": found,
        "towns": directory.towns(),
        "searched": bool(town or function or branch or open_now),
    }
    return render(request, "portal/offices/list.html", context)


@require_GET
def office(request, code: str):
    try:
        place = directory.office_by_code(code)
    except NotFound:
        raise Http404(_("No such office.")) from None
    now = timezone.now()
    schedule = office_hours.schedule_for(place)
    current = office_hours.status(schedule, now)
    today = current.local.date()
    context = {
        "office": place,
        "status": current,
        "status_line": office_hours.status_text(current),
        "today_why": office_hours.why_text(current.day),
        "local_time": office_hours.hhmm(current.local.time()),
        "zone_label": _msk_offset(place.time_zone, now),
        "weekly": _weekly_rows(schedule, today),
        "exceptions": _exceptions(schedule, today),
        "phones": [
            {"number": number, "label": label, "is_fax": "факс" in label.casefold()}
            for number, label in directory.phone_lines(place)
        ],
        # Whom it serves is said by the «individuals / businesses» tags; the list says what else it does.
        "functions": [f for f in place.functions.all() if f.code not in ("households", "businesses")],
        "services": list(directory.queue_services(place)),
        "book_url": f"/book/?office={place.code}" if place.accepts_appointments else "",
    }
    return render(request, "portal/offices/detail.html", context)


def _chosen_branch(request) -> Branch | None:
    code = request.GET.get("branch", "")
    if code:
        branch = Branch.objects.filter(code=code).first()
        if branch is None:
            raise Http404(_("No such branch."))
        return branch
    account = accounts_for(request.user).first()
    if account is not None:
        return account.branch
    return Branch.objects.order_by("code").first()


def _messengers(branch: Branch) -> list[dict]:
    """Messengers that take readings here (configured on this installation) and the branch's published bots."""
    configured = [
        ("Telegram", settings.SBYT_TELEGRAM_BOT_TOKEN, Channel.TELEGRAM),
        ("ВКонтакте", settings.SBYT_VK_ACCESS_TOKEN, Channel.VK),
        ("Viber", settings.SBYT_VIBER_AUTH_TOKEN, Channel.VIBER),
        ("WhatsApp", settings.SBYT_WHATSAPP_ACCESS_TOKEN, Channel.WHATSAPP),
    ]
    return [{"name": name, "channel": channel} for name, token, channel in configured if token]


def _window(branch: Branch, channel: str, today: dt.date) -> dict:
    rule = metering.window_for(branch, channel, today)
    return {"first": rule.first_day, "last": rule.last_day, "open": rule.first_day <= today.day <= rule.last_day}


@require_GET
def contacts(request):
    branch = _chosen_branch(request)
    context = {"branches": Branch.objects.order_by("name"), "branch": branch}
    if branch is not None:
        now = timezone.now()
        centre = directory.contact_centre(branch)
        current = office_hours.status(centre.schedule, now)
        today = current.local.date()
        general = _window(branch, Channel.CABINET, today)
        by_channel = {
            "sms": _window(branch, Channel.SMS, today),
            "email": _window(branch, Channel.EMAIL, today),
            "voice": _window(branch, Channel.VOICE, today),
        }
        messengers = _messengers(branch)
        for item in messengers:
            item["window"] = _window(branch, item["channel"], today)
        context.update(
            {
                "centre": centre,
                "centre_status": current,
                "centre_status_line": office_hours.status_text(current),
                "centre_weekly": _weekly_rows(centre.schedule, today),
                "centre_exceptions": _exceptions(centre.schedule, today),
                "local_time": office_hours.hhmm(current.local.time()),
                "zone_label": _msk_offset(branch.time_zone, now),
                "window": general,
                "windows": by_channel,
                "messengers": messengers,
                "mail_robot": settings.SBYT_MAIL_ROBOT_ADDRESS if settings.SBYT_MAIL_ROBOT_IMAP_HOST else "",
                "contacts": directory.branch_contacts(branch),
                "office_count": branch.offices.filter(is_active=True).count(),
            }
        )
    return render(request, "portal/offices/contacts.html", context)
