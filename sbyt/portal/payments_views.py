"""Paying online (CAB-7, CAB-10, PUB-3, PAY-3, PAY-5): the public payment page without login, the cabinet's payments
(several accounts at once, history, autopay), the order's page the bank returns to, the sandbox bank's page, and the
providers' notification endpoint.

Every rule lives in ``sbyt.payments.services``; a refusal is shown in its words. Without a login the debt is shown
only after the client number and a contract number (or meter serial) from the bill are given together."""

import datetime as dt
import logging
import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from sbyt.core.errors import DomainError, NotFound
from sbyt.core.periods import add_months, month_start, period_label
from sbyt.customers.queries import account_for, accounts_for, find_account
from sbyt.payments import queries
from sbyt.payments import services as payments
from sbyt.payments.models import AutopayMandate, PaymentChannel, PaymentIntent, SandboxCharge
from sbyt.payments.providers import sandbox

from . import ratelimits
from .forms import TelInput
from .views import GET_POST, _render, client_required

log = logging.getLogger(__name__)

TEMPLATES = "portal/payments/"
MAX_PUBLIC_ROWS = 5
MAX_NOTIFICATION_BYTES = 256 * 1024
REFRESH_SECONDS = 3


def _too_many(request, *identifiers) -> bool:
    rate = settings.RATELIMIT_PUBLIC_READINGS
    limited = [is_ratelimited(request, group="portal.pay.ip", key="ip", rate=rate, method="POST", increment=True)]
    for value in identifiers:
        if value:
            limited.append(
                is_ratelimited(
                    request,
                    group="portal.pay.id",
                    key=lambda _g, _r, v=value: v,
                    rate=rate,
                    method="POST",
                    increment=True,
                )
            )
    return any(limited)


def _methods():
    return [(PaymentChannel.CARD.value, _("Bank card")), (PaymentChannel.SBP.value, _("Fast payment system (SBP)"))]


def _return_url(request) -> str:
    return request.build_absolute_uri(
        reverse("portal:pay_order", args=["00000000-0000-0000-0000-000000000000"])
    ).replace("00000000-0000-0000-0000-000000000000", "{token}")


def _periods(today: dt.date) -> list[tuple[str, str]]:
    current = month_start(today)
    return [("", _("not stated (the oldest debt first)"))] + [
        (add_months(current, -i).strftime("%Y-%m"), period_label(add_months(current, -i))) for i in range(0, 6)
    ]


def _parse_period(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None


_PREFILL_AMOUNT = re.compile(r"\d{1,9}(?:[.,]\d{1,2})?")


def _prefill(query, today: dt.date) -> tuple[str, str, str]:
    """A bill's «Pay» link: ``?account=<number>&period=YYYY-MM&amount=1234.56``. A period that is not a past or
    current month, or an amount that is not a positive sum of rubles, is left out (the row keeps its own)."""
    number = "".join(query.get("account", "").split())[:20]
    period = query.get("period", "").strip()
    parsed = _parse_period(period) if len(period) == 7 else None
    if parsed is None or parsed > month_start(today):
        period = ""
    amount = query.get("amount", "").strip()
    value = payments.parse_money(amount) if _PREFILL_AMOUNT.fullmatch(amount) else None
    return number, period, _money(value) if value and value > 0 else ""  # written as the page writes every sum


def _int(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _money(value) -> str:
    return f"{value:.2f}".replace(".", ",")


# --- forms ---------------------------------------------------------------------------------------------------


class PublicRowForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Client number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    amount = forms.CharField(
        label=gettext_lazy("Amount, ₽"),
        max_length=16,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def clean_number(self):
        number = "".join(self.cleaned_data["number"].split())
        if not number.isdigit():
            raise forms.ValidationError(_("The client number consists of digits."))
        return number

    def clean_amount(self):
        try:
            return payments.parse_money(self.cleaned_data["amount"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


class ContactForm(forms.Form):
    method = forms.ChoiceField(label=gettext_lazy("How to pay"), widget=forms.RadioSelect)
    email = forms.EmailField(
        label=gettext_lazy("E-mail for the confirmation"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=gettext_lazy("or a mobile phone for an SMS"),
        required=False,
        max_length=20,
        widget=TelInput(attrs={"autocomplete": "tel"}),
    )

    def __init__(self, *args, contact_required=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = _methods()
        self.fields["method"].initial = PaymentChannel.CARD.value
        self.contact_required = contact_required

    def clean(self):
        data = super().clean()
        if self.contact_required and not data.get("email") and not (data.get("phone") or "").strip():
            raise forms.ValidationError(_("Give an e-mail or a mobile phone for the payment confirmation."))
        return data


class DebtLookupForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Client number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    reference = forms.CharField(
        label=gettext_lazy("Contract number or meter serial number"),
        help_text=gettext_lazy("Both are printed on your bill."),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


def _rows_formset(data=None, *, count=1, initial=None):
    """Rows of client number + amount. Every row is an «extra» form, so an empty one is skipped; ``initial``
    prefills the unbound rows only."""
    formset_class = forms.formset_factory(
        PublicRowForm, extra=count, max_num=MAX_PUBLIC_ROWS, absolute_max=MAX_PUBLIC_ROWS
    )
    rows = formset_class(data, prefix="row")
    for form, values in zip(rows.forms, initial or [], strict=False):
        form.initial = values
    return rows


# --- public payment (PUB-3) ----------------------------------------------------------------------------------


@never_cache
@require_http_methods(GET_POST)
def public_pay(request):
    data = request.POST if request.method == "POST" else None
    action = request.POST.get("action", "pay") if data is not None else ""
    lookup = DebtLookupForm(data if action == "debt" else None, prefix="debt")
    contact = ContactForm(data if action == "pay" else None, prefix="contact")
    rows = _rows_formset(data if action in ("pay", "add") else None)
    debt = None
    status = 200
    if action == "add":
        typed = [
            {key: data.get(f"row-{i}-{key}", "") for key in ("number", "amount")}
            for i in range(min(_int(data.get("row-TOTAL_FORMS")), MAX_PUBLIC_ROWS))
        ]
        rows = _rows_formset(count=min(len(typed) + 1, MAX_PUBLIC_ROWS), initial=typed)
        contact = ContactForm(
            initial={k: data.get(f"contact-{k}", "") for k in ("method", "email", "phone")}, prefix="contact"
        )
    elif action == "debt" and lookup.is_valid():
        number = "".join(lookup.cleaned_data["number"].split())
        if _too_many(request, number):
            lookup.add_error(None, ratelimits.too_many_message())
            status = 429
        else:
            account = queries.identify(number, lookup.cleaned_data["reference"])
            if account is None:
                lookup.add_error(
                    None, _("We could not find a client with this client number and contract or meter number.")
                )
            else:
                debt = queries.debts_of([account])[account.pk]
                rows = _rows_formset(initial=[{"number": account.number, "amount": _money(debt) if debt else ""}])
    elif action == "pay":
        valid = rows.is_valid() & contact.is_valid()
        items = []
        if valid:
            numbers = [f.cleaned_data["number"] for f in rows.forms if f.cleaned_data]
            if _too_many(request, *numbers):
                contact.add_error(None, ratelimits.too_many_message())
                status = 429
                valid = False
        if valid:
            for form in rows.forms:
                if not form.cleaned_data:
                    continue
                account = find_account(form.cleaned_data["number"])
                if account is None:
                    form.add_error("number", _("Client number not found. Check it against your bill."))
                    valid = False
                else:
                    items.append(payments.PayItem(account, form.cleaned_data["amount"]))
            if valid and not items:
                contact.add_error(None, _("Choose at least one account to pay."))
                valid = False
        if valid:
            try:
                intent = payments.start_online_payment(
                    items=items,
                    source=PaymentIntent.Source.PUBLIC,
                    actor="public",
                    return_url=_return_url(request),
                    method=contact.cleaned_data["method"],
                    email=contact.cleaned_data.get("email") or "",
                    phone=contact.cleaned_data.get("phone") or "",
                )
            except DomainError as exc:
                contact.add_error(None, exc.message)
            else:
                return redirect(intent.confirmation_url or reverse("portal:pay_order", args=[intent.token]))
    context = {
        "rows": rows,
        "contact": contact,
        "lookup": lookup,
        "debt": debt,
        "can_add": rows.total_form_count() < MAX_PUBLIC_ROWS,
        "max_rows": MAX_PUBLIC_ROWS,
    }
    return _render(request, TEMPLATES + "public.html", context, status=status)


# --- the order's page (the bank returns here) ----------------------------------------------------------------


@never_cache
@require_GET
def order_status(request, token):
    intent = queries.intent_by_token(token)
    if intent is None:
        raise Http404("order")
    if intent.status == PaymentIntent.Status.PENDING:
        stale = intent.checked_at is None or timezone.now() - intent.checked_at >= dt.timedelta(seconds=REFRESH_SECONDS)
        if stale:
            intent = payments.refresh_intent(intent=intent, actor="portal:order")
    items = list(intent.items.select_related("account").order_by("id"))
    own = request.user.is_authenticated and not request.user.is_staff
    context = {
        "intent": intent,
        "items": items,
        "own": own,
        "refresh": REFRESH_SECONDS if intent.status == PaymentIntent.Status.PENDING else None,
        "contact": _masked_contact(intent),
    }
    return _render(request, TEMPLATES + "order.html", context)


def _masked_contact(intent: PaymentIntent) -> str:
    if intent.email:
        name, _at, domain = intent.email.partition("@")
        return f"{name[:2]}***@{domain}"
    if intent.phone:
        return f"{intent.phone[:2]} *** ***-**-{intent.phone[-2:]}"
    return ""


# --- the sandbox bank ----------------------------------------------------------------------------------------


@never_cache
@require_http_methods(GET_POST)
def sandbox_bank(request, charge_id):
    if settings.SBYT_PAYMENT_PROVIDER != "sandbox":
        raise Http404("sandbox")
    charge = SandboxCharge.objects.filter(pk=charge_id).first()
    if charge is None:
        raise Http404("charge")
    if request.method == "POST" and charge.status == SandboxCharge.Status.PENDING:
        outcome = request.POST.get("outcome")
        if outcome not in (sandbox.SUCCESS, sandbox.DECLINE, sandbox.TIMEOUT):
            return HttpResponse(status=400)
        sandbox.answer(charge.pk, outcome)
        return redirect(charge.return_url or "portal:index")
    if charge.status != SandboxCharge.Status.PENDING and charge.return_url:
        return redirect(charge.return_url)
    return _render(request, TEMPLATES + "sandbox_bank.html", {"charge": charge})


# --- providers' notifications --------------------------------------------------------------------------------


def _remote_ip(request) -> str:
    key = getattr(settings, "RATELIMIT_IP_META_KEY", None)
    value = request.META.get(key) if isinstance(key, str) else None
    value = value or request.META.get("REMOTE_ADDR", "")
    return value.split(",")[0].strip()


@csrf_exempt
@never_cache
def notify(request, provider):
    """A provider's webhook: stored first, then checked and processed. 200 when it is taken (or a replay),
    403 when it cannot have come from the provider, 500 when processing failed (the provider retries)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if provider not in ("sandbox", "yookassa"):
        raise Http404("provider")
    body = request.body
    if len(body) > MAX_NOTIFICATION_BYTES:
        return HttpResponse(status=413)
    result = payments.receive_notification(
        provider=provider, body=body, headers=dict(request.headers), remote_ip=_remote_ip(request)
    )
    if result.refused:
        return HttpResponse(status=403)
    if result.failed:
        return HttpResponse(status=500)
    return HttpResponse(status=200)


# --- the cabinet -----------------------------------------------------------------------------------------------


class CabinetRowForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount, ₽"),
        max_length=16,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    period = forms.ChoiceField(label=gettext_lazy("For the period"), required=False)


@client_required
@never_cache
@require_http_methods(GET_POST)
def cabinet_payments(request):
    accounts = list(accounts_for(request.user).prefetch_related("premises"))
    debts = queries.debts_of(accounts)
    mandates = queries.mandates_of(accounts)
    today = timezone.localdate()
    periods = _periods(today)
    data = request.POST if request.method == "POST" else None
    wanted_number, wanted_period, wanted_amount = _prefill(request.GET, today)
    if wanted_period and wanted_period not in dict(periods):  # a bill older than the list: its period is added
        periods = [*periods, (wanted_period, period_label(_parse_period(wanted_period)))]
    rows = []
    for account in accounts:
        debt = debts.get(account.pk) or 0
        initial_amount = _money(debt) if debt else ""
        initial_period = ""
        if wanted_number:
            initial_amount = (wanted_amount or initial_amount) if account.number == wanted_number else ""
            initial_period = wanted_period if account.number == wanted_number else ""
        form = CabinetRowForm(
            data, prefix=f"a{account.pk}", initial={"amount": initial_amount, "period": initial_period}
        )
        form.fields["period"].choices = periods
        rows.append({"account": account, "debt": debt, "form": form, "mandate": mandates.get(account.pk)})
    contact = ContactForm(data, prefix="contact", contact_required=False, initial={"method": PaymentChannel.CARD.value})
    error = None
    if data is not None:
        checked = [row["form"].is_valid() for row in rows]  # every row gets its errors
        valid = contact.is_valid() & all(checked)
        items = []
        if valid:
            for row in rows:
                amount_text = (row["form"].cleaned_data.get("amount") or "").strip()
                if not amount_text:
                    continue
                try:
                    amount = payments.parse_money(amount_text)
                except DomainError as exc:
                    row["form"].add_error("amount", exc.message)
                    valid = False
                    continue
                if amount <= 0:
                    continue
                period = _parse_period(row["form"].cleaned_data.get("period") or "")
                items.append(payments.PayItem(row["account"], amount, period))
        if valid and not items:
            error = _("Enter the amount for at least one account.")
        elif valid:
            try:
                intent = payments.start_online_payment(
                    items=items,
                    source=PaymentIntent.Source.CABINET,
                    actor=request.user,
                    return_url=_return_url(request),
                    method=contact.cleaned_data["method"],
                    email=contact.cleaned_data.get("email") or "",
                    phone=contact.cleaned_data.get("phone") or "",
                )
            except DomainError as exc:
                error = exc.message
            else:
                return redirect(intent.confirmation_url or reverse("portal:pay_order", args=[intent.token]))
    history = list(queries.payments_of_accounts(accounts, limit=50))
    pending = PaymentIntent.objects.filter(user=request.user, status=PaymentIntent.Status.PENDING).order_by(
        "-created_at"
    )[:5]
    time_zone = accounts[0].branch.time_zone if accounts else None
    context = {
        "rows": rows,
        "contact": contact,
        "error": error,
        "history": history,
        "pending": pending,
    }
    return _render(request, TEMPLATES + "cabinet.html", context, status=400 if error else 200, time_zone=time_zone)


class AutopayForm(forms.Form):
    limit = forms.CharField(
        label=gettext_lazy("Limit of one charge, ₽"),
        help_text=gettext_lazy("A bill above the limit is not charged: you are told and pay it yourself."),
        max_length=12,
        initial="5000",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    day = forms.TypedChoiceField(
        label=gettext_lazy("Day of the month"),
        coerce=int,
        choices=[(d, str(d)) for d in range(1, 29)],
        initial=12,
        help_text=gettext_lazy("The bill's amount due is charged on this day or the first day after it."),
    )
    consent = forms.BooleanField(
        label=gettext_lazy(
            "I agree that the amount due on my bills for this account, up to the limit, is charged from the saved "
            "card every month until I switch autopay off."
        ),
    )


@client_required
@never_cache
@require_http_methods(GET_POST)
def autopay(request, number):
    try:
        account = account_for(request.user, number)
    except NotFound:
        raise Http404("account") from None
    mandate = queries.live_mandate(account)
    form = AutopayForm(request.POST if request.method == "POST" and "switch_on" in request.POST else None)
    status = 200
    if request.method == "POST" and "switch_off" in request.POST:
        if mandate is None:
            return redirect("portal:autopay", number=account.number)
        try:
            payments.cancel_autopay(mandate=mandate, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Autopay is switched off. The card will not be charged again."))
        return redirect("portal:autopay", number=account.number)
    if request.method == "POST" and "switch_on" in request.POST:
        if form.is_valid():
            try:
                intent = payments.request_autopay(
                    account=account,
                    actor=request.user,
                    limit=form.cleaned_data["limit"],
                    day=form.cleaned_data["day"],
                    consent=form.cleaned_data["consent"],
                    return_url=_return_url(request),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect(intent.confirmation_url or reverse("portal:pay_order", args=[intent.token]))
        status = 400
    debt = queries.debts_of([account])[account.pk]
    context = {
        "account": account,
        "mandate": mandate,
        "active": mandate is not None and mandate.status == AutopayMandate.Status.ACTIVE,
        "form": form,
        "debt": debt,
    }
    return _render(request, TEMPLATES + "autopay.html", context, status=status, time_zone=account.branch.time_zone)
