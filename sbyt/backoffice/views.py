"""Staff workspace: login, home, readings held for review, the answering-machine queue, client search and the
client card."""

from collections import defaultdict
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required, user_passes_test
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from sbyt.core.audit import audit_many, audit_view
from sbyt.core.errors import DomainError
from sbyt.core.models import AuditEntry
from sbyt.core.timezones import local_now
from sbyt.customers.models import Account
from sbyt.customers.queries import contracts_with_meters, find_account, search_accounts
from sbyt.messaging import voice
from sbyt.messaging.models import VoiceMessage
from sbyt.metering.models import Meter, Reading
from sbyt.metering.queries import held_readings, last_accepted_by_meter
from sbyt.metering.services import approve_reading, reject_reading
from sbyt.users.services import issue_one_time_password

from .forms import (
    ApproveForm,
    ClientSearchForm,
    RejectForm,
    StaffAuthenticationForm,
    VoiceDoneForm,
    VoiceRejectForm,
)

SEARCH_LIMIT = 50
HELD_PER_PAGE = 50
VOICE_PER_PAGE = 50


def _is_staff(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def staff_required(view):
    """Anyone but an active staff login (a client included) is sent to the staff login page."""
    return user_passes_test(_is_staff, login_url="backoffice:login")(view)


def staff_permission(*perms: str):
    """Staff only, then the role's permissions: a staff member without them gets 403."""

    def decorator(view):
        return staff_required(permission_required(perms, raise_exception=True)(view))

    return decorator


def no_store(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    return wrapped


class StaffLoginView(auth_views.LoginView):
    template_name = "backoffice/login.html"
    authentication_form = StaffAuthenticationForm
    next_page = reverse_lazy("backoffice:home")

    def post(self, request, *args, **kwargs):
        rate = settings.RATELIMIT_LOGIN
        username = "".join(request.POST.get("username", "").split()).lower()[:150]
        by_ip = is_ratelimited(request, group="backoffice.login", key="ip", rate=rate, method="POST", increment=True)
        by_login = is_ratelimited(
            request,
            group="backoffice.login.username",
            key=lambda _group, _request: username,
            rate=rate,
            method="POST",
            increment=True,
        )
        if by_ip or by_login:
            # An unbound form: a bound one would check the password, which is what the limit stops.
            form = self.authentication_form(request, initial={"username": request.POST.get("username", "")[:150]})
            context = self.get_context_data(form=form, rate_limited=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


class StaffLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("backoffice:login")


@staff_required
def home(request):
    held_count = held_readings().count() if request.user.has_perm("metering.review_reading") else None
    voice_count = (
        VoiceMessage.objects.filter(status=VoiceMessage.Status.NEW).count()
        if request.user.has_perm(voice.PERMISSION)
        else None
    )
    return render(request, "backoffice/home.html", {"held_count": held_count, "voice_count": voice_count})


# --- Readings held for review -----------------------------------------------------------------------------


def _zone_consumption(new: int, old: int, digits: int, rollover: bool) -> int:
    if new >= old or not rollover:
        return new - old
    return new + 10**digits - old


def _held_rows(readings: list[Reading]) -> list[dict]:
    """Each held reading with the previous accepted one of an earlier period: one query for the whole page."""
    if not readings:
        return []
    latest = max(r.period for r in readings)
    earlier: dict[int, list[Reading]] = defaultdict(list)
    for row in (
        Reading.objects.filter(
            meter_id__in={r.meter_id for r in readings}, status=Reading.Status.ACCEPTED, period__lt=latest
        )
        .only("meter_id", "period", "t1", "t2", "t3", "received_at")
        .order_by("meter_id", "-period", "-received_at")
    ):
        earlier[row.meter_id].append(row)
    rows = []
    for reading in readings:
        meter = reading.meter
        account = meter.contract.account
        tz = account.branch.time_zone
        previous = next((p for p in earlier[reading.meter_id] if p.period < reading.period), None)
        consumption = None
        if previous is not None and len(previous.values) == len(reading.values):
            consumption = sum(
                _zone_consumption(new, old, meter.digits, reading.is_rollover)
                for new, old in zip(reading.values, previous.values, strict=True)
            )
        rows.append(
            {
                "reading": reading,
                "account": account,
                "meter": meter,
                "unit": meter.contract.unit,
                "values": " / ".join(str(v) for v in reading.values),
                "previous": previous,
                "previous_values": " / ".join(str(v) for v in previous.values) if previous else "",
                "previous_date": local_now(tz, previous.received_at).date() if previous else None,
                "consumption": consumption,
                "received": local_now(tz, reading.received_at),
            }
        )
    return rows


def _render_held(request, *, reject_for: int | None = None, reject_form: RejectForm | None = None, status=200):
    page = Paginator(held_readings().select_related("meter__contract"), HELD_PER_PAGE).get_page(request.GET.get("page"))
    rows = _held_rows(list(page.object_list))
    looks = [(row["reading"], row["account"].number, {"meter": row["meter"].pk}) for row in rows]
    audit_many(request.user, "held_readings.view", looks, kind=AuditEntry.Kind.VIEW)
    context = {
        "page": page,
        "rows": rows,
        "reject_for": reject_for,
        "reject_form": reject_form,
    }
    return render(request, "backoffice/held_readings.html", context, status=status)


@staff_permission("metering.review_reading")
def held_list(request):
    return _render_held(request)


@staff_permission("metering.review_reading")
@require_POST
def approve(request, pk: int):
    reading = get_object_or_404(Reading, pk=pk)
    form = ApproveForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        approve_reading(reading=reading, actor=request.user, note=note)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The reading is approved."))
    return redirect("backoffice:held_readings")


@staff_permission("metering.review_reading")
@require_POST
def reject(request, pk: int):
    reading = get_object_or_404(Reading, pk=pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _render_held(request, reject_for=reading.pk, reject_form=form, status=400)
    try:
        reject_reading(reading=reading, actor=request.user, note=form.cleaned_data["note"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The reading is rejected."))
    return redirect("backoffice:held_readings")


# --- The answering machine (messages left on the voice days) -------------------------------------------------


@staff_permission(voice.PERMISSION)
def voice_queue(request):
    """New and taken messages, oldest first."""
    queue = VoiceMessage.objects.filter(status__in=voice.OPEN).select_related("operator").order_by("received_at", "pk")
    page = Paginator(queue, VOICE_PER_PAGE).get_page(request.GET.get("page"))
    audit_view(request.user, "voice_queue.view", None, count=page.paginator.count, page=page.number)
    return render(request, "backoffice/voice_queue.html", {"page": page})


def _voice_meter_rows(account: Account, data=None) -> list[dict]:
    """The in-service meters of the account with the previous accepted values (RD-11) and one field a zone."""
    contracts = list(contracts_with_meters(account))
    meters = [(c, m) for c in contracts for m in c.meters.all() if m.status == Meter.Status.IN_SERVICE]
    last = last_accepted_by_meter(m.pk for _c, m in meters)
    tz = account.branch.time_zone
    rows = []
    for contract, meter in meters:
        previous = last.get(meter.pk)
        rows.append(
            {
                "contract": contract,
                "meter": meter,
                "last_values": " / ".join(str(v) for v in previous.values) if previous else "",
                "last_date": local_now(tz, previous.received_at).date() if previous else None,
                "fields": [
                    {
                        "name": f"m{meter.pk}-z{index}",
                        "label": zone,
                        "value": (data or {}).get(f"m{meter.pk}-z{index}", ""),
                    }
                    for index, zone in enumerate(meter.zone_names, start=1)
                ],
            }
        )
    return rows


def _voice_page(request, message: VoiceMessage, *, account_number: str | None = None, results=None, status=200):
    audit_view(request.user, "voice_message.view", message, account_number=message.account_number)
    number = (request.GET.get("account") if account_number is None else account_number) or message.account_number
    number = "".join(number.split())[:20]
    account = find_account(number) if number else None
    rows = _voice_meter_rows(account, request.POST if results is not None else None) if account else []
    if account is not None and account.number != message.account_number:
        audit_view(request.user, "voice_message.account", account, account_number=account.number, message=message.pk)
    context = {
        "message": message,
        "mine": message.status == VoiceMessage.Status.IN_WORK and message.operator_id == request.user.pk,
        "closed": message.status in voice.CLOSED,
        "has_recording": voice.recording_path(message) is not None,
        "number": number,
        "account": account,
        "rows": rows,
        "results": results,
        "readings": message.readings.select_related("meter").order_by("pk"),
        "reject_form": VoiceRejectForm(),
        "done_form": VoiceDoneForm(),
    }
    return render(request, "backoffice/voice_message.html", context, status=status)


@staff_permission(voice.PERMISSION)
@never_cache
def voice_message(request, pk: int):
    return _voice_page(request, get_object_or_404(VoiceMessage.objects.select_related("operator"), pk=pk))


@staff_permission(voice.PERMISSION)
@no_store
def voice_recording(request, pk: int):
    """The recording as WAV, for the page's audio player: staff only, only files inside the recordings directory."""
    message = get_object_or_404(VoiceMessage, pk=pk)
    path = voice.recording_path(message)
    if path is None:
        raise Http404("recording")
    audit_view(request.user, "voice_message.listen", message, account_number=message.account_number)
    response = FileResponse(path.open("rb"), content_type="audio/wav", filename=f"voice-{message.pk}.wav")
    response["Content-Disposition"] = f'inline; filename="voice-{message.pk}.wav"'
    return response


def _voice_action(request, pk: int, action, success: str, **kwargs):
    message = get_object_or_404(VoiceMessage, pk=pk)
    try:
        action(message=message, actor=request.user, **kwargs)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return message


@staff_permission(voice.PERMISSION)
@require_POST
def voice_take(request, pk: int):
    _voice_action(request, pk, voice.take_voice_message, _("The message is yours now."))
    return redirect("backoffice:voice_message", pk=pk)


@staff_permission(voice.PERMISSION)
@require_POST
def voice_release(request, pk: int):
    _voice_action(request, pk, voice.release_voice_message, _("The message is back in the queue."))
    return redirect("backoffice:voice_queue")


@staff_permission(voice.PERMISSION)
@require_POST
def voice_done(request, pk: int):
    form = VoiceDoneForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    _voice_action(request, pk, voice.finish_voice_message, _("The message is processed."), note=note)
    return redirect("backoffice:voice_queue")


@staff_permission(voice.PERMISSION)
@require_POST
def voice_reject(request, pk: int):
    form = VoiceRejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for rejecting the message."))
        return redirect("backoffice:voice_message", pk=pk)
    note = form.cleaned_data["note"]
    _voice_action(request, pk, voice.reject_voice_message, _("The message is rejected."), note=note)
    return redirect("backoffice:voice_queue")


@staff_permission(voice.PERMISSION)
@require_POST
@never_cache
def voice_readings(request, pk: int):
    """The values heard in the message, per zone of each meter of the account, through the readings service."""
    message = get_object_or_404(VoiceMessage.objects.select_related("operator"), pk=pk)
    number = "".join(request.POST.get("account", "").split())[:20]
    account = find_account(number)
    if account is None:
        messages.error(request, _("No client with this number."))
        return redirect("backoffice:voice_message", pk=pk)
    values = {}
    for row in _voice_meter_rows(account, request.POST):
        entered = [field["value"].strip() for field in row["fields"]]
        if any(entered):
            values[row["meter"].pk] = entered
    try:
        results = voice.enter_voice_readings(message=message, account=account, values=values, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('backoffice:voice_message', args=[pk])}?account={account.number}")
    meters = {row["meter"].pk: row["meter"] for row in _voice_meter_rows(account)}
    rows = [{"meter": meters.get(r.meter_id), "result": r} for r in results]
    message.refresh_from_db()
    return _voice_page(request, message, account_number=account.number, results=rows)


# --- Clients ----------------------------------------------------------------------------------------------


@staff_permission("customers.view_account")
def client_search(request):
    form = ClientSearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid() and form.cleaned_data["q"]:
        query = form.cleaned_data["q"]
        results = list(search_accounts(query)[: SEARCH_LIMIT + 1])
        audit_view(request.user, "client_search", None, query=query, results=min(len(results), SEARCH_LIMIT))
        if len(results) == 1 and results[0].number == query:
            return redirect("backoffice:client_card", number=query)
    context = {
        "form": form,
        "results": results[:SEARCH_LIMIT] if results is not None else None,
        "more": results is not None and len(results) > SEARCH_LIMIT,
    }
    return render(request, "backoffice/client_search.html", context)


def _card(request, account: Account, *, password: str | None = None, status: int = 200, extra: dict | None = None):
    audit_view(request.user, "client_card.view", account, account_number=account.number)
    contracts = list(contracts_with_meters(account))
    meters = [meter for contract in contracts for meter in contract.meters.all()]
    last = last_accepted_by_meter(meter.pk for meter in meters)
    tz = account.branch.time_zone
    for contract in contracts:
        contract.meter_rows = [
            {
                "meter": meter,
                "last": last.get(meter.pk),
                "last_values": " / ".join(str(v) for v in last[meter.pk].values) if meter.pk in last else "",
                "last_date": local_now(tz, last[meter.pk].received_at).date() if meter.pk in last else None,
            }
            for meter in contract.meters.all()
        ]
    context = {
        "account": account,
        "customer": account.customer,
        "premises": list(account.premises.order_by("id")),
        "contracts": contracts,
        "logins": account.logins.select_related("user").order_by("granted_at"),
        "password": password,
    }
    context.update(_money_and_messages(account))
    from .cases_views import card_extras  # appeals, calls and the caller's identification (issue 6)

    context.update(card_extras(request, account), **(extra or {}))
    return render(request, "backoffice/client_card.html", context, status=status)


CARD_ROWS = 6  # bills, payments and messages shown on the card: the latest; the full lists are one click away


def _money_and_messages(account: Account) -> dict:
    """The card's money and contact part (CC-3: everything about the client on one screen): the balance (the sum of
    the ledger), the latest bills and payments, and the latest messages sent to the client's phone and e-mail."""
    from sbyt.billing.queries import account_balance, invoices_of_account
    from sbyt.messaging.models import OutboundMessage
    from sbyt.payments.queries import payments_of_accounts

    customer = account.customer
    addresses = [value for value in (customer.phone, customer.email) if value]
    messages = OutboundMessage.objects.filter(to__in=addresses).order_by("-created_at", "-id") if addresses else []
    return {
        "balance": account_balance(account),
        "bills": list(invoices_of_account(account)[:CARD_ROWS]),
        "payments": list(payments_of_accounts([account], limit=CARD_ROWS)),
        "sent_messages": list(messages[:CARD_ROWS]),
    }


def _account_or_404(number: str) -> Account:
    if not number.isdigit():  # a client number is digits; anything else (a NUL too) is simply not found
        raise Http404("account")
    return get_object_or_404(Account.objects.select_related("customer", "branch"), number=number)


@staff_permission("customers.view_account")
@never_cache
def client_card(request, number: str):
    return _card(request, _account_or_404(number))


@staff_permission("users.issue_password", "customers.view_account")
@require_POST
@no_store
def issue_password(request, number: str):
    """CAB-1: a one-time password for the client, shown once on the card; the client must change it."""
    account = _account_or_404(number)
    from sbyt.cases.services import CALLS, identification_of, may

    if may(request.user, CALLS) and identification_of(account, request.user) is None:  # CC-5 (issue 6)
        messages.error(request, _("Identify the caller first."))
        return redirect("backoffice:client_card", number=account.number)
    try:
        password = issue_one_time_password(account=account, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("backoffice:client_card", number=account.number)
    return _card(request, account, password=password)
