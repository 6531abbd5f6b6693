"""Staff pages of billing: the runs of each branch (start one, watch its progress bar, see what it did, continue a
stopped one) and the tariffs and norms in force (with the import of a tariff or norm table).

Who: ``billing.view_billingrun`` to see runs, ``billing.run_billing`` to start or continue one (roles:
«Администратор филиала»); ``billing.view_printbatch`` to download a run's printing-house batch (audited),
``billing.build_printbatch`` to make it again; ``billing.view_tariff`` to see tariffs, ``billing.add_tariff`` +
``change_tariff`` to import.
Every change goes through ``sbyt.billing`` services; their Russian messages come back as page messages."""

import datetime as dt
import tempfile
from pathlib import Path

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from sbyt.billing import queries
from sbyt.billing.delivery import request_print_batch
from sbyt.billing.models import BillingRun, PrintBatch
from sbyt.billing.services import local_today, resume_billing_run, start_billing_run
from sbyt.billing.tariffs import import_file, norms_in_force, tariffs_in_force
from sbyt.core.audit import audit_view
from sbyt.core.errors import DomainError
from sbyt.core.periods import add_months, month_start, period_label
from sbyt.customers.models import Branch

from .views import no_store, staff_permission

VIEW_RUNS = "billing.view_billingrun"
RUN = "billing.run_billing"
VIEW_BATCH = "billing.view_printbatch"
BUILD_BATCH = "billing.build_printbatch"
VIEW_TARIFFS = "billing.view_tariff"
IMPORT_TARIFFS = ("billing.add_tariff", "billing.change_tariff")
RUNS_SHOWN = 50
STAT_LABELS = {
    "method_reading": gettext_lazy("by readings"),
    "method_average": gettext_lazy("by the average"),
    "method_norm": gettext_lazy("by the norm"),
    "method_recalculation": gettext_lazy("recalculated by a reading"),
    "adjustments": gettext_lazy("adjustments of earlier charges"),
    "unchanged": gettext_lazy("unchanged (already charged)"),
    "skipped_no_tariff": gettext_lazy("not charged: no tariff"),
    "skipped_no_price": gettext_lazy("not charged: a price is missing in the tariff"),
    "skipped_no_basis": gettext_lazy("not charged: no readings and no norm"),
    "charges": gettext_lazy("charges written"),
    "invoices": gettext_lazy("bills issued"),
    "penalties": gettext_lazy("penalty entries"),
}
SUM_LABELS = {
    "billed": gettext_lazy("charged, ₽"),
    "adjusted": gettext_lazy("adjustments, ₽"),
    "penalty": gettext_lazy("penalties, ₽"),
}


class StartRunForm(forms.Form):
    branch = forms.ModelChoiceField(label=gettext_lazy("Branch"), queryset=Branch.objects.order_by("code"))
    period = forms.DateField(
        label=gettext_lazy("Period"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": gettext_lazy("Give the period as year and month.")},
    )


class TariffFilterForm(forms.Form):
    branch = forms.ModelChoiceField(
        label=gettext_lazy("Branch"), queryset=Branch.objects.order_by("code"), required=False
    )
    on = forms.DateField(
        label=gettext_lazy("In force on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class TariffImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Table of tariffs or norms (CSV or XLSX)"))


def _stats(run: BillingRun) -> tuple[list, list]:
    counts = [(label, run.stats[key]) for key, label in STAT_LABELS.items() if run.stats.get(key)]
    sums = [(label, run.stats[key]) for key, label in SUM_LABELS.items() if run.stats.get(key)]
    return counts, sums


def _default_period() -> dt.date:
    return add_months(month_start(timezone.localdate()), -1)


@staff_permission(VIEW_RUNS)
@require_GET
@no_store
def runs(request):
    branch_id = request.GET.get("branch", "")
    listed = queries.runs()
    if branch_id.isdigit():
        listed = listed.filter(branch_id=int(branch_id))
    form = StartRunForm(initial={"period": _default_period()}) if request.user.has_perm(RUN) else None
    return render(
        request,
        "backoffice/billing/runs.html",
        {
            "runs": listed[:RUNS_SHOWN],
            "branches": Branch.objects.order_by("code"),
            "branch_id": branch_id,
            "form": form,
        },
    )


@staff_permission(RUN)
@require_POST
def start(request):
    form = StartRunForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "backoffice/billing/runs.html",
            {"runs": queries.runs()[:RUNS_SHOWN], "branches": Branch.objects.order_by("code"), "form": form},
            status=400,
        )
    branch, period = form.cleaned_data["branch"], form.cleaned_data["period"]
    try:
        run = start_billing_run(branch=branch, period=period, actor=request.user, today=local_today(branch))
    except DomainError as error:
        messages.error(request, error.message)
        existing = queries.open_run(branch, period)
        return redirect("backoffice:billing_run", existing.pk) if existing else redirect("backoffice:billing_runs")
    messages.success(
        request,
        _("The billing of %(period)s for %(branch)s is started.")
        % {"period": period_label(run.period), "branch": branch},
    )
    return redirect("backoffice:billing_run", run.pk)


def _run_context(run: BillingRun) -> dict:
    counts, sums = _stats(run)
    lanes = run.stats.get("lanes") or []
    return {
        "run": run,
        "counts": counts,
        "sums": sums,
        "period": period_label(run.period),
        "lanes": len(lanes),
        "lanes_done": sum(1 for lane in lanes if lane.get("done")),
    }


def _delivery_context(run: BillingRun) -> dict:
    return {"batch": queries.print_batch_of_run(run), "emails": queries.bill_emails_of_run(run)}


@staff_permission(VIEW_RUNS)
@require_GET
@no_store
def run_detail(request, pk: int):
    run = get_object_or_404(BillingRun.objects.select_related("branch", "started_by"), pk=pk)
    with timezone.override(run.branch.time_zone):
        return render(request, "backoffice/billing/run.html", _run_context(run) | _delivery_context(run))


@staff_permission(VIEW_RUNS)
@require_GET
@no_store
def run_progress(request, pk: int):
    """The progress bar and counters, polled by htmx every two seconds while the run is open."""
    run = get_object_or_404(BillingRun.objects.select_related("branch"), pk=pk)
    with timezone.override(run.branch.time_zone):
        return render(request, "backoffice/billing/_progress.html", _run_context(run))


@staff_permission(RUN)
@require_POST
def run_resume(request, pk: int):
    run = get_object_or_404(BillingRun, pk=pk)
    try:
        resume_billing_run(run=run, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The billing run is handed back to the worker."))
    return redirect("backoffice:billing_run", pk)


@staff_permission(VIEW_BATCH)
@require_GET
@no_store
def print_batch_download(request, pk: int):
    """The run's printing-house batch (ZIP), as a download; every download is audited."""
    run = get_object_or_404(BillingRun, pk=pk)
    batch = queries.print_batch_of_run(run)
    if batch is None or batch.state != PrintBatch.State.READY or not batch.file:
        raise Http404("no batch")
    try:
        handle = batch.file.open("rb")
    except FileNotFoundError:
        raise Http404("no file") from None
    audit_view(request.user, "billing.print_batch_download", batch, run=run.pk, file=batch.file.name)
    return FileResponse(handle, as_attachment=True, filename=Path(batch.file.name).name, content_type="application/zip")


@staff_permission(BUILD_BATCH)
@require_POST
def print_batch_build(request, pk: int):
    run = get_object_or_404(BillingRun, pk=pk)
    try:
        request_print_batch(run=run, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The print batch is being made; refresh the page in a minute."))
    return redirect("backoffice:billing_run", pk)


@staff_permission(VIEW_TARIFFS)
@require_GET
@no_store
def tariffs(request):
    return _tariffs_page(request, TariffFilterForm(request.GET or None))


def _tariffs_page(request, filters: TariffFilterForm, *, result=None, import_form=None, status: int = 200):
    branches = Branch.objects.order_by("code")
    branch = on = None
    if filters.is_bound and filters.is_valid():
        branch, on = filters.cleaned_data["branch"], filters.cleaned_data["on"]
    branch = branch or branches.first()
    on = on or (local_today(branch) if branch else timezone.localdate())
    rows = tariffs_in_force(branch, on) if branch else []
    for tariff in rows:
        tariff.price_grid = _price_grid(tariff)
    can_import = all(request.user.has_perm(p) for p in IMPORT_TARIFFS)
    return render(
        request,
        "backoffice/billing/tariffs.html",
        {
            "filters": filters if filters.is_bound else TariffFilterForm(initial={"branch": branch, "on": on}),
            "branch": branch,
            "on": on,
            "tariffs": rows,
            "norms": norms_in_force(branch, on) if branch else [],
            "import_form": (import_form or TariffImportForm()) if can_import else None,
            "result": result,
        },
        status=status,
    )


def _price_grid(tariff) -> list[tuple[int, list]]:
    prices = {(p.zone, p.range_no): p.price for p in tariff.prices.all()}
    return [(zone, [prices.get((zone, r)) for r in range(1, tariff.ranges + 1)]) for zone in range(1, tariff.zones + 1)]


@staff_permission(*IMPORT_TARIFFS)
@require_POST
def tariff_import(request):
    form = TariffImportForm(request.POST, request.FILES)
    filters = TariffFilterForm()
    if not form.is_valid():
        return _tariffs_page(request, filters, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    suffix = Path(upload.name).suffix.lower()[:8] or ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"import{suffix}"
        with path.open("wb") as target:
            for piece in upload.chunks():
                target.write(piece)
        try:
            result = import_file(path, actor=request.user)
        except DomainError as error:
            messages.error(request, error.message)
            return _tariffs_page(request, filters, import_form=form, status=400)
    result.source = upload.name
    if result.ok:
        messages.success(
            request,
            _("Imported from %(file)s: %(created)s new, %(updated)s changed, %(unchanged)s unchanged.")
            % {
                "file": upload.name,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )
    else:
        messages.error(request, _("Nothing is imported: the table has errors (see below)."))
    return _tariffs_page(request, filters, result=result, status=200 if result.ok else 400)
