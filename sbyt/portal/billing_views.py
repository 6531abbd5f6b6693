"""The cabinet's billing (CAB-5, CAB-6, CAB-8, CAB-11, BIL-6, DEBT-5): each contract's balance, the charges of each
period in detail, 12 months of consumption as a chart (inline SVG with a table alternative), the bills with their
PDFs, the choice between paper and electronic bills, the cost of entered readings before submitting them, and the
documents on request (the certificate of no debt, the account statement).

Every account is reached through ``customers.queries.account_for`` (someone else's or a missing one is a 404);
the delivery choice is changed by ``billing.services.set_bill_delivery``; PDFs are rendered on request."""

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sbyt.billing import queries
from sbyt.billing.bills import bill_document
from sbyt.billing.documents import render_bill, render_certificate, render_statement
from sbyt.billing.models import BillDelivery
from sbyt.billing.services import set_bill_delivery
from sbyt.core.audit import audit_view
from sbyt.core.errors import DomainError
from sbyt.core.periods import period_label
from sbyt.customers.models import Contract

from . import billing_reads as reads
from .forms import ReadingsForm
from .meters import attach_inputs, build_rows, meters_of_account
from .views import GET_POST, _account, _render, client_required

TEMPLATES = "portal/billing/"
CHART = {"width": 600, "height": 220, "top": 24, "bottom": 196, "slot": 50, "bar": 34}


class DeliveryForm(forms.Form):
    method = forms.ChoiceField(
        label=gettext_lazy("How to receive bills"), choices=BillDelivery.Method.choices, widget=forms.RadioSelect
    )
    email = forms.CharField(
        label=gettext_lazy("E-mail for bills"),
        required=False,
        max_length=254,
        help_text=gettext_lazy("Leave empty to use the e-mail of your profile."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def _period(year: int, month: int) -> dt.date:
    try:
        return dt.date(year, month, 1)
    except ValueError:
        raise Http404("period") from None


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _chart(contract: Contract) -> dict:
    """The bars of a contract's 12 months, with their geometry in the SVG's own units."""
    bars = []
    span = CHART["bottom"] - CHART["top"]
    for index, bar in enumerate(reads.consumption_chart(contract)):
        height = int(round(span * bar.share))
        x = index * CHART["slot"] + (CHART["slot"] - CHART["bar"]) // 2
        bars.append(
            {
                "bar": bar,
                "x": x,
                "centre": x + CHART["bar"] // 2,
                "y": CHART["bottom"] - height,
                "height": height,
                "label_y": CHART["bottom"] - height - 6,
            }
        )
    return {"contract": contract, "bars": bars, "has_data": any(b["bar"].volume is not None for b in bars)}


def pay_url(account, invoice, amount: Decimal) -> str:
    """The cabinet's payment page prefilled for a bill: this account, the bill's period, what is left to pay."""
    query = urlencode({"account": account.number, "period": f"{invoice.period:%Y-%m}", "amount": f"{amount:.2f}"})
    return f"{reverse('portal:payments')}?{query}"


def _with_payment(account, invoices: list) -> list:
    """Each bill with what is left to pay of it and, if anything is, the link of its «Pay» button."""
    left = queries.left_to_pay(account, invoices)
    for invoice in invoices:
        invoice.left_to_pay = left.get(invoice.pk, reads.ZERO)
        invoice.pay_url = pay_url(account, invoice, invoice.left_to_pay) if invoice.left_to_pay > 0 else ""
    return invoices


def _overview_context(account, delivery_form=None) -> dict:
    balances = reads.contract_balances(account)
    total = queries.account_balance(account)
    delivery = queries.bill_delivery(account)
    if delivery_form is None:
        delivery_form = DeliveryForm(initial={"method": delivery.method, "email": delivery.email})
    return {
        "account": account,
        "balances": balances,
        "total": total,
        "debt": max(total, reads.ZERO),
        "overpayment": max(-total, reads.ZERO),
        "charts": [_chart(row.contract) for row in balances],
        "chart": CHART,
        "periods": queries.charged_periods(account, months=12),
        "invoices": _with_payment(account, list(queries.invoices_of_account(account)[:24])),
        "delivery": delivery,
        "delivery_form": delivery_form,
        "certificate_refusal": reads.certificate_refusal(account),
    }


@client_required
@require_GET
def overview(request, number):
    account = _account(request, number)
    return _render(request, TEMPLATES + "overview.html", _overview_context(account), time_zone=account.branch.time_zone)


@client_required
@require_GET
def period_detail(request, number, year, month):
    account = _account(request, number)
    period = _period(year, month)
    rows = reads.charge_rows(account, period)
    if not rows:
        raise Http404("period")
    invoice = queries.invoice_of_period(account, period)
    if invoice is not None:
        _with_payment(account, [invoice])
    context = {
        "account": account,
        "period": period,
        "period_label": period_label(period),
        "rows": rows,
        "total": sum((row.charge.amount for row in rows), reads.ZERO),
        "invoice": invoice,
    }
    return _render(request, TEMPLATES + "period.html", context, time_zone=account.branch.time_zone)


@client_required
@require_GET
@never_cache
def bill_pdf(request, number, year, month):
    account = _account(request, number)
    invoice = queries.invoice_of_period(account, _period(year, month))
    if invoice is None:
        raise Http404("bill")
    try:
        content = render_bill(bill_document(invoice))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:billing", number=account.number)
    audit_view(request.user, "billing.bill_pdf", invoice, account_number=account.number, number=invoice.number)
    return _pdf(content, f"bill-{invoice.number}.pdf")


@client_required
@require_POST
def delivery(request, number):
    account = _account(request, number)
    form = DeliveryForm(request.POST)
    if form.is_valid():
        try:
            set_bill_delivery(
                account=account,
                method=form.cleaned_data["method"],
                email=form.cleaned_data["email"],
                actor=request.user,
                channel="cabinet",
            )
        except DomainError as exc:
            form.add_error("email" if "mail" in (exc.message or "").lower() else None, exc.message)
        else:
            messages.success(request, _("Your choice is saved: %(method)s.") % {"method": _method_label(form)})
            return redirect("portal:billing", number=account.number)
    context = _overview_context(account, delivery_form=form)
    return _render(request, TEMPLATES + "overview.html", context, status=400, time_zone=account.branch.time_zone)


def _method_label(form) -> str:
    return dict(BillDelivery.Method.choices).get(form.cleaned_data["method"], "")


def _document(request, number, *, build, render, action: str, filename: str):
    account = _account(request, number)
    try:
        content = render(build(account))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:billing", number=account.number)
    audit_view(request.user, action, account, account_number=account.number)
    return _pdf(content, filename.format(number=account.number))


@client_required
@require_GET
@never_cache
def certificate(request, number):
    """The certificate of no debt (BIL-6): only with no debt; otherwise the page says why."""
    return _document(
        request,
        number,
        build=reads.certificate_document,
        render=render_certificate,
        action="billing.certificate",
        filename="no-debt-{number}.pdf",
    )


@client_required
@require_GET
@never_cache
def statement(request, number):
    """The account statement for 12 months: always available."""
    return _document(
        request,
        number,
        build=reads.statement_document,
        render=render_statement,
        action="billing.statement",
        filename="statement-{number}.pdf",
    )


@client_required
@require_http_methods(GET_POST)
def preview(request, number):
    """What the typed readings will cost, before they are submitted: nothing is saved. The form on this page
    submits to the readings page as usual."""
    account = _account(request, number)
    if request.method == "GET":
        return redirect("portal:readings", number=account.number)
    branch = account.branch
    rows = build_rows(meters_of_account(account), branch)
    form = ReadingsForm(request.POST, rows=rows)
    estimates = []
    if form.is_valid():
        for row in rows:
            values = form.values_for(row) if row.accepts_input else []
            if values:
                estimates.append(_estimate(row, values))
        if not estimates:
            form.add_error(None, _("Enter the readings of at least one meter to see what they will cost."))
    attach_inputs(form, rows)
    context = {
        "account": account,
        "form": form,
        "rows": rows,
        "estimates": estimates,
        "total": sum((e["amount"] for e in estimates if e["amount"] is not None), reads.ZERO),
        "priced": sum(1 for e in estimates if e["amount"] is not None),
    }
    return _render(request, TEMPLATES + "preview.html", context, time_zone=branch.time_zone)


def _estimate(row, values: list[str]) -> dict:
    estimate = {"row": row, "amount": None, "volume": None, "message": "", "method": reads.method_label("reading")}
    if len(values) != row.zones or not all(v.isdigit() for v in values):
        estimate["message"] = _("Enter a whole number for each zone of the meter to see the cost.")
        return estimate
    result = queries.preview_charge(meter=row.meter, values=[int(v) for v in values])
    if result is None:
        if row.previous is not None and any(int(v) < old for v, old in zip(values, row.previous.values, strict=False)):
            estimate["message"] = _("The new readings are lower than the previous ones: the cost cannot be estimated.")
        else:
            estimate["message"] = _("The cost of these readings cannot be estimated; they will be priced in the bill.")
        return estimate
    estimate.update(amount=result.amount, volume=result.volume)
    return estimate
