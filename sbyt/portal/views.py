"""The public site and the personal cabinet: server-rendered pages that call the services.

Every client object is reached through ``customers.queries.account_for`` (someone else's or a missing
account is a 404); every change goes through a service; what a client typed is answered in the service's
own words."""

import calendar
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from sbyt.content.models import NewsItem
from sbyt.core.errors import DomainError, NotFound
from sbyt.core.phones import mask_phone
from sbyt.customers.models import Account, Contract
from sbyt.customers.queries import account_for, accounts_for, contracts_with_meters, find_account
from sbyt.metering import queries as metering
from sbyt.metering.models import Channel, Meter
from sbyt.metering.services import unknown_client_result
from sbyt.users import services as users

from . import forms, ratelimits
from .meters import attach_inputs, build_rows, meters_of_account, refill, submit_rows

REGISTER = "portal.register"
LINK = "portal.link"
PHONE = "portal.phone"
EMAIL = "portal.email"
PUBLIC = "portal.public_readings"
BACKEND = "sbyt.users.backends.LoginBackend"
GET_POST = ["GET", "POST"]


def _render(request, template, context=None, *, status=200, time_zone=None):
    """Render with dates and times in a branch's time zone (the client's local time)."""
    with timezone.override(time_zone):
        return render(request, template, context or {}, status=status)


def _limited(request, template, context, form=None):
    if form is not None:
        form.add_error(None, ratelimits.too_many_message())
    else:
        context["limit_error"] = ratelimits.too_many_message()
    return _render(request, template, context, status=429)


def _published_news(branch_ids=None):
    news = NewsItem.objects.filter(published_at__lte=timezone.now()).order_by("-published_at")
    if branch_ids is not None:
        news = news.filter(Q(branch__isnull=True) | Q(branch__in=branch_ids))
    return news


def _data(request):
    """The submitted data of a POST (even an empty one, so that it gets its errors), else None."""
    return request.POST if request.method == "POST" else None


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


# --- public pages ---------------------------------------------------------------------------------------


@require_GET
def index(request):
    return render(request, "portal/index.html", {"news": _published_news()[:5]})


@require_http_methods(GET_POST)
def register(request):
    form = forms.ClientNumberForm(_data(request))
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["number"]
        if ratelimits.too_many(request, ratelimits.CODES, number):
            return _limited(request, "portal/register.html", {"form": form}, form)
        try:
            otp = users.start_registration(account_number=number, actor=Channel.CABINET)
        except DomainError as exc:
            form.add_error("number", exc.message)
        else:
            request.session[REGISTER] = {"otp": otp.pk, "number": number, "phone": mask_phone(otp.phone)}
            return redirect("portal:register_code")
    return render(request, "portal/register.html", {"form": form})


@require_http_methods(GET_POST)
def register_code(request):
    state = request.session.get(REGISTER)
    if not state:
        return redirect("portal:register")
    form = forms.RegistrationCodeForm()
    context = {"form": form, "state": state}
    if request.method == "POST" and "resend" in request.POST:
        if ratelimits.too_many(request, ratelimits.CODES, state["number"]):
            return _limited(request, "portal/register_code.html", context)
        try:
            otp = users.start_registration(account_number=state["number"], actor=Channel.CABINET)
        except DomainError as exc:
            context["resend_error"] = exc.message
        else:
            request.session[REGISTER] = {**state, "otp": otp.pk, "phone": mask_phone(otp.phone)}
            messages.info(request, _("A new code has been sent to %(phone)s.") % {"phone": mask_phone(otp.phone)})
            return redirect("portal:register_code")
    elif request.method == "POST":
        form = context["form"] = forms.RegistrationCodeForm(request.POST)
        if form.is_valid():
            try:
                user = users.complete_registration(
                    otp_id=state["otp"],
                    code=form.cleaned_data["code"],
                    password=form.cleaned_data["password1"],
                    consent=form.cleaned_data["consent"],
                    actor=Channel.CABINET,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                request.session.pop(REGISTER, None)
                login(request, user, backend=BACKEND)
                messages.success(request, _("Registration is complete. Welcome to your personal cabinet."))
                return redirect("portal:home")
    return render(request, "portal/register_code.html", context)


@require_http_methods(GET_POST)
def login_view(request):
    form = forms.LoginForm(_data(request))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    context = {"form": form, "next": next_url}
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        if ratelimits.too_many(request, ratelimits.LOGIN, identifier):
            return _limited(request, "portal/login.html", context, form)
        user = authenticate(request, username=identifier, password=form.cleaned_data["password"])
        if user is None:
            form.add_error(None, _("The client number (e-mail, phone) or the password is wrong."))
        else:
            login(request, user)
            if user.must_change_password:
                messages.warning(
                    request, _("You have logged in with a temporary password. Please set your own password now.")
                )
                return redirect(reverse("portal:settings") + "#password")
            safe = url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            return redirect(next_url if next_url and safe else settings.LOGIN_REDIRECT_URL)
    return render(request, "portal/login.html", context)


@require_http_methods(GET_POST)
def recover(request):
    form = forms.RecoveryForm(_data(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if ratelimits.too_many(request, ratelimits.RECOVERY, data["number"]):
            return _limited(request, "portal/recover.html", {"form": form}, form)
        try:
            users.recover_password(
                full_name=data["full_name"],
                birth_date=data["birth_date"],
                account_number=data["number"],
                phone=data["phone"],
                actor=Channel.CABINET,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("portal:recover_done")
    return render(request, "portal/recover.html", {"form": form})


@require_GET
def recover_done(request):
    return render(request, "portal/recover_done.html")


# --- readings without login (PUB-2) ---------------------------------------------------------------------


def _public_lookup(number: str, reference: str):
    """The meters a client number + contract number (or meter serial) pair designates. Both are printed on
    the bill, so the pair is the proof of holding it; anything else is the one «not found» answer."""
    account = find_account(number)
    if account is None or not reference:
        return None, []
    pairs = meters_of_account(account)
    by_contract = [(c, m) for c, m in pairs if c.number == reference]
    if by_contract:
        return account, by_contract
    reference_digits = reference.lstrip("0")
    by_serial = [
        (c, m)
        for c, m in pairs
        if m.serial == reference or (reference_digits and m.serial.lstrip("0") == reference_digits)
    ]
    return account, by_serial


def _window_context(branch, channel: str) -> dict:
    today = metering.today_in(branch)
    window = metering.window_for(branch, channel, today)
    last_day = min(window.last_day, calendar.monthrange(today.year, today.month)[1])
    first_day = min(window.first_day, last_day)
    return {
        "window": window,
        "window_start": today.replace(day=first_day),
        "window_end": today.replace(day=last_day),
        "window_open": first_day <= today.day <= last_day,
    }


@require_http_methods(GET_POST)
def public_readings(request):
    if request.method == "POST" and "reset" in request.POST:
        request.session.pop(PUBLIC, None)
        return redirect("portal:public_readings")
    form = forms.PublicLookupForm(_data(request))
    if request.method == "POST" and form.is_valid():
        if ratelimits.too_many(request, ratelimits.PUBLIC_READINGS, form.cleaned_data["number"]):
            return _limited(request, "portal/public_readings.html", {"form": form}, form)
        account, pairs = _public_lookup(form.cleaned_data["number"], form.cleaned_data["reference"])
        if not pairs:
            form.add_error(None, unknown_client_result().message)
        else:
            request.session[PUBLIC] = {
                "account": account.pk,
                "meters": [meter.pk for _contract, meter in pairs],
                "number": account.number,
            }
            return redirect("portal:public_readings_enter")
    return render(request, "portal/public_readings.html", {"form": form})


@require_http_methods(GET_POST)
def public_readings_enter(request):
    state = request.session.get(PUBLIC)
    account = Account.objects.select_related("branch").filter(pk=(state or {}).get("account")).first()
    pairs = [(c, m) for c, m in meters_of_account(account) if m.pk in state["meters"]] if account else []
    if not pairs:
        request.session.pop(PUBLIC, None)
        return redirect("portal:public_readings")
    branch = account.branch
    rows = build_rows(pairs, branch, public=True)
    context = {"number": state["number"], "contracts": sorted({c.number for c, _m in pairs})}
    context.update(_window_context(branch, Channel.PUBLIC))
    form = forms.ReadingsForm(_data(request), rows=rows)
    if request.method == "POST":
        if ratelimits.too_many(request, ratelimits.PUBLIC_READINGS):
            form.is_valid()
            attach_inputs(form, rows)
            context.update(form=form, rows=rows)
            return _limited(request, "portal/public_readings_enter.html", context, form)
        form, rows = _submit_readings(
            form, rows, pairs, branch, channel=Channel.PUBLIC, actor="public", source=_client_ip(request), public=True
        )
    attach_inputs(form, rows)
    context.update(form=form, rows=rows)
    return _render(request, "portal/public_readings_enter.html", context, time_zone=branch.time_zone)


def _submit_readings(form, rows, pairs, branch, *, channel, actor, source="", public=False):
    """Submit what was typed; answer each meter with the service's result, next to that meter."""
    if not form.is_valid():
        return form, rows
    results = submit_rows(form, rows, channel=channel, actor=actor, source=source)
    if not results:
        form.add_error(None, _("Enter the readings of at least one meter."))
        return form, rows
    initial = refill(form, rows, results)
    rows = build_rows(pairs, branch, public=public)  # the previous readings have changed
    for row in rows:
        row.result = results.get(row.key)
    return forms.ReadingsForm(rows=rows, initial=initial), rows


# --- personal cabinet -----------------------------------------------------------------------------------


def client_required(view):
    """Logged-in clients only: anonymous visitors go to the login page, staff to the back office."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_staff:
            return redirect("backoffice:home")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _account(request, number: str) -> Account:
    try:
        return account_for(request.user, number)
    except NotFound:
        raise Http404("account")


@client_required
@require_GET
def home(request):
    accounts = list(accounts_for(request.user).prefetch_related("premises"))
    news = _published_news({a.branch_id for a in accounts})[:10]
    time_zone = accounts[0].branch.time_zone if accounts else None
    return _render(request, "portal/cabinet/home.html", {"accounts": accounts, "news": news}, time_zone=time_zone)


@client_required
@require_GET
def account_detail(request, number):
    account = _account(request, number)
    contracts = list(contracts_with_meters(account))
    last = metering.last_accepted_by_meter(m.pk for c in contracts for m in c.meters.all())
    contract_rows = [(c, [(m, last.get(m.pk)) for m in c.meters.all()]) for c in contracts]
    services = sorted({c.get_resource_display() for c in contracts if c.status == Contract.Status.ACTIVE})
    context = {
        "account": account,
        "customer": account.customer,
        "premises": list(account.premises.all()),
        "contract_rows": contract_rows,
        "services": services,
    }
    return _render(request, "portal/cabinet/account.html", context, time_zone=account.branch.time_zone)


@client_required
@require_GET
def meter_history(request, number, meter_id):
    account = _account(request, number)
    meter = Meter.objects.select_related("contract").filter(pk=meter_id, contract__account=account).first()
    if meter is None:
        raise Http404("meter")
    context = {"account": account, "meter": meter, "history": metering.reading_history(meter.pk)}
    return _render(request, "portal/cabinet/meter.html", context, time_zone=account.branch.time_zone)


@client_required
@require_http_methods(GET_POST)
def readings(request, number):
    account = _account(request, number)
    branch = account.branch
    pairs = meters_of_account(account)
    rows = build_rows(pairs, branch)
    form = forms.ReadingsForm(_data(request), rows=rows)
    if request.method == "POST":
        form, rows = _submit_readings(form, rows, pairs, branch, channel=Channel.CABINET, actor=request.user)
    attach_inputs(form, rows)
    context = {"account": account, "form": form, "rows": rows, **_window_context(branch, Channel.CABINET)}
    return _render(request, "portal/cabinet/readings.html", context, time_zone=branch.time_zone)


def _settings_forms(user, data=None, action=None):
    def bound(name):
        return data if action == name else None

    return {
        "password_form": forms.PasswordChangeForm(bound("password"), prefix="pw"),
        "email_form": forms.EmailForm(bound("email"), prefix="em", initial={"email": user.email or ""}),
        "email_code_form": forms.EmailCodeForm(bound("email_code"), prefix="emcode"),
        "phone_form": forms.PhoneForm(bound("phone"), prefix="ph"),
        "code_form": forms.CodeForm(bound("phone_code"), prefix="code"),
    }


@client_required
@require_http_methods(GET_POST)
def settings_view(request):
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    context = _settings_forms(user, request.POST, action)
    context["phone_state"] = request.session.get(PHONE)
    context["email_state"] = request.session.get(EMAIL)
    done = reverse("portal:settings")
    if action == "password" and context["password_form"].is_valid():
        form = context["password_form"]
        try:
            users.change_password(
                user=user, old_password=form.cleaned_data["old_password"], new_password=form.cleaned_data["password1"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("The password has been changed."))
            return redirect(done)
    elif action == "email" and context["email_form"].is_valid():
        form = context["email_form"]
        email = form.cleaned_data["email"]
        if not email and user.email:  # removing needs no code
            users.remove_email(user=user)
            request.session.pop(EMAIL, None)
            messages.success(request, _("The e-mail has been removed."))
            return redirect(done)
        if not email:
            form.add_error("email", _("Enter an e-mail address, e.g. name@example.ru."))
        elif ratelimits.too_many(request, ratelimits.CODES, email, user=user):
            return _limited(request, "portal/cabinet/settings.html", context, form)
        else:
            try:
                otp = users.start_email_change(user=user, email=email)
            except DomainError as exc:
                form.add_error("email", exc.message)
            else:
                request.session[EMAIL] = {"otp": otp.pk, "email": otp.email}
                messages.info(request, _("A code has been sent to %(email)s.") % {"email": otp.email})
                return redirect(done + "#email")
    elif action == "email_code" and context["email_state"] and context["email_code_form"].is_valid():
        form = context["email_code_form"]
        try:
            users.complete_email_change(user=user, otp_id=context["email_state"]["otp"], code=form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            request.session.pop(EMAIL, None)
            messages.success(request, _("The e-mail has been saved."))
            return redirect(done)
    elif action == "email_cancel":
        request.session.pop(EMAIL, None)
        return redirect(done)
    elif action == "phone" and context["phone_form"].is_valid():
        form = context["phone_form"]
        if ratelimits.too_many(request, ratelimits.CODES, form.cleaned_data["phone"], user=user):
            return _limited(request, "portal/cabinet/settings.html", context, form)
        try:
            otp = users.start_phone_change(user=user, phone=form.cleaned_data["phone"])
        except DomainError as exc:
            form.add_error("phone", exc.message)
        else:
            request.session[PHONE] = {"otp": otp.pk, "phone": mask_phone(otp.phone)}
            messages.info(request, _("A code has been sent to %(phone)s.") % {"phone": mask_phone(otp.phone)})
            return redirect(done + "#phone")
    elif action == "phone_code" and context["phone_state"] and context["code_form"].is_valid():
        form = context["code_form"]
        try:
            users.complete_phone_change(user=user, otp_id=context["phone_state"]["otp"], code=form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            request.session.pop(PHONE, None)
            messages.success(request, _("The phone number has been changed."))
            return redirect(done)
    elif action == "phone_cancel":
        request.session.pop(PHONE, None)
        return redirect(done)
    return render(request, "portal/cabinet/settings.html", context)


@client_required
@require_http_methods(GET_POST)
def link(request):
    form = forms.ClientNumberForm(_data(request))
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["number"]
        if ratelimits.too_many(request, ratelimits.CODES, number, user=request.user):
            return _limited(request, "portal/cabinet/link.html", {"form": form}, form)
        try:
            otp = users.start_linking(user=request.user, account_number=number)
        except DomainError as exc:
            form.add_error("number", exc.message)
        else:
            request.session[LINK] = {"otp": otp.pk, "number": number, "phone": mask_phone(otp.phone)}
            return redirect("portal:link_code")
    return render(request, "portal/cabinet/link.html", {"form": form})


@client_required
@require_http_methods(GET_POST)
def link_code(request):
    state = request.session.get(LINK)
    if not state:
        return redirect("portal:link")
    form = forms.CodeForm()
    context = {"form": form, "state": state}
    if request.method == "POST" and "resend" in request.POST:
        if ratelimits.too_many(request, ratelimits.CODES, state["number"], user=request.user):
            return _limited(request, "portal/cabinet/link_code.html", context)
        try:
            otp = users.start_linking(user=request.user, account_number=state["number"])
        except DomainError as exc:
            context["resend_error"] = exc.message
        else:
            request.session[LINK] = {**state, "otp": otp.pk, "phone": mask_phone(otp.phone)}
            messages.info(request, _("A new code has been sent to %(phone)s.") % {"phone": mask_phone(otp.phone)})
            return redirect("portal:link_code")
    elif request.method == "POST":
        form = context["form"] = forms.CodeForm(request.POST)
        if form.is_valid():
            try:
                access = users.complete_linking(user=request.user, otp_id=state["otp"], code=form.cleaned_data["code"])
            except DomainError as exc:
                form.add_error("code", exc.message)
            else:
                request.session.pop(LINK, None)
                messages.success(
                    request, _("Client number %(number)s has been added to your cabinet.") % {"number": state["number"]}
                )
                return redirect("portal:account", number=access.account.number)
    return render(request, "portal/cabinet/link_code.html", context)
