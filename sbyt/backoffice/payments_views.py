"""Payments in the staff workspace: bank and post registries (upload with a progress bar, the report), the unmatched
payments to assign by hand, the office cash desk with its receipt, refunds (an online payment's through its provider)
and the outbound debt registry.

Roles: «Бухгалтер по платежам» (registries, unmatched payments, refunds, debt registry), «Кассир» (the desk). Every
change goes through ``sbyt.payments`` services; every look at a client's data is audited."""

import datetime as dt
import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sbyt.billing.queries import account_balance
from sbyt.core.audit import audit_view
from sbyt.core.errors import DomainError
from sbyt.core.periods import add_months, month_start, period_label
from sbyt.customers.models import Branch
from sbyt.customers.queries import contracts_with_meters, find_account
from sbyt.metering.queries import last_accepted_by_meter
from sbyt.payments import queries, services
from sbyt.payments.documents import receipt_pdf
from sbyt.payments.models import ONLINE_CHANNELS, Payment, RefundRequest, Registry, SuspenseItem
from sbyt.payments.registries import debt_registry, receive_registry
from sbyt.payments.tasks import import_registry_task

from .views import no_store, staff_permission, staff_required

IMPORT = "payments.import_registry"
VIEW_REGISTRY = "payments.view_registry"
SUSPENSE = "payments.resolve_suspense"
TAKE = "payments.take_payment"
REFUND = "payments.refund_payment"
EXPORT = "payments.export_debt_registry"
VIEW_PAYMENT = "payments.view_payment"
TEMPLATES = "backoffice/payments/"
PER_PAGE = 50


def _periods(today: dt.date) -> list[tuple[str, str]]:
    current = month_start(today)
    return [("", _("not stated (the oldest debt first)"))] + [
        (add_months(current, -i).strftime("%Y-%m"), period_label(add_months(current, -i))) for i in range(0, 6)
    ]


def _period(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None


# --- forms ---------------------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    registry_format = forms.ModelChoiceField(
        label=gettext_lazy("Format"), queryset=queries.active_formats(), empty_label=None
    )
    file = forms.FileField(label=gettext_lazy("Registry file"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        common = queries.active_formats().filter(code="sberbank").first()
        if common is not None:
            self.fields["registry_format"].initial = common.pk


class AssignForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Client number"), max_length=20)
    period = forms.ChoiceField(label=gettext_lazy("Period"), required=False)
    note = forms.CharField(label=gettext_lazy("Comment"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = _periods(timezone.localdate())


class ReturnForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Reason for returning"), max_length=300)


class DeskSearchForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Client number"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )


class DeskForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount, ₽"), max_length=16, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    period = forms.ChoiceField(label=gettext_lazy("Period"), required=False)
    payer = forms.CharField(label=gettext_lazy("Payer (if not the client)"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = _periods(timezone.localdate())


class RefundForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount, ₽"), max_length=16, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    reason = forms.CharField(label=gettext_lazy("Reason for the refund"), max_length=300)
    key = forms.UUIDField(  # the form's own idempotence key: the same form submitted twice is one refund
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("The refund form is out of date; open the payment again."),
            "invalid": gettext_lazy("The refund form is out of date; open the payment again."),
        },
    )


class DebtRegistryForm(forms.Form):
    branch = forms.ModelChoiceField(label=gettext_lazy("Branch"), queryset=Branch.objects.order_by("code"))


# --- the section's home: registries -----------------------------------------------------------------------------


@staff_required
@require_GET
def payments_home(request):
    user = request.user
    if not any(user.has_perm(p) for p in (IMPORT, VIEW_REGISTRY, SUSPENSE, TAKE, EXPORT)):
        raise PermissionDenied
    context = {
        "upload": UploadForm() if user.has_perm(IMPORT) else None,
        "export": DebtRegistryForm() if user.has_perm(EXPORT) else None,
        "page": Paginator(queries.registries(), PER_PAGE).get_page(request.GET.get("page"))
        if user.has_perm(VIEW_REGISTRY) or user.has_perm(IMPORT)
        else None,
        "suspense_count": queries.open_suspense().count() if user.has_perm(SUSPENSE) else None,
    }
    return render(request, TEMPLATES + "home.html", context)


@staff_permission(IMPORT)
@require_POST
def registry_upload(request):
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        context = {"upload": form, "page": Paginator(queries.registries(), PER_PAGE).get_page(1)}
        return render(request, TEMPLATES + "home.html", context, status=400)
    upload = form.cleaned_data["file"]
    try:
        with transaction.atomic():
            registry = receive_registry(
                data=upload.read(),
                file_name=upload.name,
                registry_format=form.cleaned_data["registry_format"],
                actor=request.user,
            )
            transaction.on_commit(lambda: import_registry_task.enqueue(registry.pk))
    except DomainError as exc:
        form.add_error("file", exc.message)
        context = {"upload": form, "page": Paginator(queries.registries(), PER_PAGE).get_page(1)}
        return render(request, TEMPLATES + "home.html", context, status=400)
    return redirect("backoffice:registry", pk=registry.pk)


@staff_required
@require_GET
def registry_detail(request, pk):
    if not (request.user.has_perm(VIEW_REGISTRY) or request.user.has_perm(IMPORT)):
        raise PermissionDenied
    registry = get_object_or_404(Registry.objects.select_related("format").defer("content"), pk=pk)
    context = {"registry": registry}
    if request.GET.get("fragment") == "progress" and registry.is_running:
        return render(request, TEMPLATES + "_progress.html", context)
    if request.GET.get("fragment") == "progress":
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    items = list(queries.suspense_of(registry)[:200])
    context.update(suspense=items, can_resolve=request.user.has_perm(SUSPENSE))
    return render(request, TEMPLATES + "registry.html", context)


# --- unmatched payments ---------------------------------------------------------------------------------------------


@staff_permission(SUSPENSE)
@no_store
@require_http_methods(["GET", "POST"])
def suspense_list(request):
    errors: dict[int, str] = {}
    if request.method == "POST":
        item = get_object_or_404(SuspenseItem, pk=request.POST.get("item") or 0)
        if "assign" in request.POST:
            form = AssignForm(request.POST, prefix=f"s{item.pk}")
            if form.is_valid():
                account = find_account(form.cleaned_data["number"])
                if account is None:
                    errors[item.pk] = _("Client number not found.")
                else:
                    try:
                        payment = services.assign_suspense(
                            item=item,
                            account=account,
                            actor=request.user,
                            period=_period(form.cleaned_data["period"]),
                            note=form.cleaned_data["note"],
                        )
                    except DomainError as exc:
                        errors[item.pk] = exc.message
                    else:
                        messages.success(
                            request,
                            _("The payment of %(amount)s is credited to account %(number)s.")
                            % {"amount": services.rubles(payment.amount), "number": account.number},
                        )
                        return redirect("backoffice:suspense")
            else:
                errors[item.pk] = _("Enter the client number.")
        elif "return" in request.POST:
            form = ReturnForm(request.POST, prefix=f"r{item.pk}")
            if form.is_valid():
                try:
                    services.return_suspense(item=item, actor=request.user, note=form.cleaned_data["note"])
                except DomainError as exc:
                    errors[item.pk] = exc.message
                else:
                    messages.success(request, _("The payment is marked as returned to the payer."))
                    return redirect("backoffice:suspense")
            else:
                errors[item.pk] = _("Give the reason for returning the payment.")
    page = Paginator(queries.open_suspense(), PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "item": item,
            "assign": AssignForm(prefix=f"s{item.pk}", initial={"number": item.account_text}),
            "return": ReturnForm(prefix=f"r{item.pk}"),
            "error": errors.get(item.pk),
        }
        for item in page
    ]
    return render(request, TEMPLATES + "suspense.html", {"page": page, "rows": rows}, status=400 if errors else 200)


# --- the office cash desk ---------------------------------------------------------------------------------------------


@staff_permission(TAKE)
@require_GET
def desk(request):
    form = DeskSearchForm(request.GET or None)
    if form.is_bound and form.is_valid():
        number = "".join(form.cleaned_data["number"].split())
        if find_account(number) is not None:
            return redirect("backoffice:desk_account", number=number)
        form.add_error("number", _("Client number not found."))
    return render(request, TEMPLATES + "desk.html", {"form": form}, status=400 if form.errors else 200)


def _meter_rows(account, data=None):
    contracts = list(contracts_with_meters(account))
    meters = [(c, m) for c in contracts for m in c.meters.all() if m.status == "in_service" and not m.is_smart]
    last = last_accepted_by_meter(m.pk for _c, m in meters)
    rows = []
    for contract, meter in meters:
        reading = last.get(meter.pk)
        inputs = []
        for zone, name in enumerate(meter.zone_names, start=1):
            key = f"m{meter.pk}_{zone}"
            inputs.append({"name": key, "label": name or _("Reading"), "value": (data or {}).get(key, "")})
        rows.append(
            {
                "contract": contract,
                "meter": meter,
                "last": reading,
                "last_values": " / ".join(str(v) for v in reading.values) if reading else "",
                "inputs": inputs,
            }
        )
    return rows


@staff_permission(TAKE)
@no_store
@require_http_methods(["GET", "POST"])
def desk_account(request, number):
    account = find_account(number)
    if account is None:
        raise Http404("account")
    audit_view(request.user, "payments.desk_view", account, account_number=account.number)
    data = request.POST if request.method == "POST" else None
    form = DeskForm(data)
    rows = _meter_rows(account, data)
    error = None
    if data is not None and form.is_valid():
        readings = {}
        for row in rows:
            values = [item["value"] for item in row["inputs"]]
            if any(v.strip() for v in values):
                readings[row["meter"].pk] = values
        try:
            result = services.take_office_payment(
                account=account,
                amount=form.cleaned_data["amount"],
                actor=request.user,
                period=_period(form.cleaned_data["period"]),
                payer=form.cleaned_data["payer"],
                readings=readings,
            )
        except DomainError as exc:
            error = exc.message
        else:
            for meter, reading in result.readings:
                level = messages.SUCCESS if reading.accepted else messages.WARNING
                messages.add_message(request, level, f"№ {meter.serial}: {reading.message}")
            return redirect("backoffice:payment", pk=result.payment.pk)
    context = {
        "account": account,
        "premises": account.premises.order_by("id").first(),
        "balance": account_balance(account),
        "form": form,
        "rows": rows,
        "error": error,
    }
    status = 400 if (data is not None and (error or form.errors)) else 200
    return render(request, TEMPLATES + "desk_account.html", context, status=status)


def _payment_or_404(request, pk) -> Payment:
    payment = get_object_or_404(Payment.objects.select_related("account__customer", "account__branch"), pk=pk)
    audit_view(request.user, "payments.payment_view", payment, account_number=payment.account.number)
    return payment


REFUND_LEVELS = {
    RefundRequest.Status.SUCCEEDED: messages.SUCCESS,
    RefundRequest.Status.PENDING: messages.WARNING,
    RefundRequest.Status.CREATED: messages.WARNING,
    RefundRequest.Status.CANCELED: messages.ERROR,
    RefundRequest.Status.FAILED: messages.ERROR,
}
PROVIDER_NAMES = {"yookassa": "ЮKassa", "sandbox": gettext_lazy("the sandbox bank")}


def _refund_rows(payment: Payment) -> list[dict]:
    rows = [
        {"request": r, "document": r.document, "message": services.refund_message(r)}
        for r in queries.refund_requests_of(payment)
    ]
    linked = {row["document"].pk for row in rows if row["document"] is not None}
    rows += [
        {"request": None, "document": d, "message": ""} for d in payment.refunds.order_by("id") if d.pk not in linked
    ]
    return rows


@staff_permission(VIEW_PAYMENT)
@no_store
@require_http_methods(["GET", "POST"])
def payment_detail(request, pk):
    payment = _payment_or_404(request, pk)
    may_refund = request.user.has_perm(REFUND)
    form, status = None, 200
    if request.method == "POST":
        if not may_refund:
            raise PermissionDenied
        form = RefundForm(request.POST)
        if form.is_valid():
            try:
                refund = services.refund_payment(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    idempotence_key=form.cleaned_data["key"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.add_message(request, REFUND_LEVELS[refund.status], services.refund_message(refund))
                return redirect("backoffice:payment", pk=refund.document_id or payment.pk)
        status = 400
    left = queries.refundable(payment)
    if form is None and may_refund and left > 0:
        form = RefundForm(initial={"key": uuid.uuid4()})
    intent = payment.intent if payment.channel in ONLINE_CHANNELS and payment.intent_id else None
    context = {
        "payment": payment,
        "receipt": queries.receipt(payment),
        "refunds": _refund_rows(payment),
        "form": form if payment.kind == Payment.Kind.PAYMENT else None,
        "left": left,
        "provider": PROVIDER_NAMES.get(intent.provider, intent.provider) if intent else "",
    }
    return render(request, TEMPLATES + "payment.html", context, status=status)


@staff_permission(VIEW_PAYMENT)
@require_GET
def payment_receipt(request, pk):
    payment = _payment_or_404(request, pk)
    response = HttpResponse(receipt_pdf(queries.receipt(payment)), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# --- the debt registry for banks -----------------------------------------------------------------------------------


@staff_permission(EXPORT)
@require_POST
def debt_registry_export(request):
    form = DebtRegistryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the branch."))
        return redirect("backoffice:payments")
    branch = form.cleaned_data["branch"]
    data, _lines, _total = debt_registry(branch=branch, actor=request.user)
    stamp = timezone.localdate().strftime("%Y%m%d")
    response = HttpResponse(data, content_type="text/plain; charset=windows-1251")
    response["Content-Disposition"] = f'attachment; filename="debts-{branch.code}-{stamp}.txt"'
    response["Cache-Control"] = "no-store"
    return response
