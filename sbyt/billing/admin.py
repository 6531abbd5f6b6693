"""Django admin of billing: tariffs, norms, zone hours, key rates, moratoria, due days and bill settings are edited
here (configuration as data); runs, charges, ledger entries and bills are only looked at — they change through
the services. Lists and pages of client records are audited (``AuditedClientDataAdmin``)."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from sbyt.customers.admin import AuditedClientDataAdmin

from .models import (
    BillDelivery,
    BillingRun,
    BillingSettings,
    Charge,
    ConsumptionNorm,
    ContractTariffGroup,
    DueDay,
    Invoice,
    KeyRate,
    LedgerEntry,
    PenaltyMoratorium,
    Tariff,
    TariffPrice,
    ZoneHours,
)


class ReadOnlyRecordAdmin(AuditedClientDataAdmin):
    """A record of what happened: listed and opened, never added, edited or deleted here."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def account_number_of(self, obj) -> str:
        account = getattr(obj, "account", None)
        return account.number if account is not None else ""


# --- tariffs and norms ----------------------------------------------------------------------------------------


class TariffPriceFormSet(forms.BaseInlineFormSet):
    """Every zone of the tariff has a price in every volume range it defines, and nothing beyond."""

    def clean(self):
        super().clean()
        tariff = self.instance
        if any(form.errors for form in self.forms) or tariff.zones is None:
            return
        keys = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE"):
                continue
            keys.add((data.get("zone"), data.get("range_no")))
        ranges = 1 + (tariff.range1_upto is not None) + (tariff.range2_upto is not None)
        wanted = {(z, r) for z in range(1, tariff.zones + 1) for r in range(1, ranges + 1)}
        missing = sorted(wanted - keys)
        extra = sorted(keys - wanted)
        if missing:
            raise ValidationError("Не хватает цен: " + ", ".join(f"зона {z}, диапазон {r}" for z, r in missing) + ".")
        if extra:
            raise ValidationError(
                "Лишние цены (нет такой зоны или диапазона): "
                + ", ".join(f"зона {z}, диапазон {r}" for z, r in extra)
                + "."
            )


class TariffPriceInline(admin.TabularInline):
    model = TariffPrice
    formset = TariffPriceFormSet
    extra = 0


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = ["branch", "resource", "group", "zones", "valid_from", "valid_to", "range1_upto", "range2_upto"]
    list_select_related = ["branch"]
    list_filter = ["branch", "resource", "group", "zones"]
    date_hierarchy = "valid_from"
    inlines = [TariffPriceInline]


@admin.register(ZoneHours)
class ZoneHoursAdmin(admin.ModelAdmin):
    list_display = ["branch", "zones", "zone", "starts", "ends", "valid_from", "valid_to"]
    list_filter = ["branch", "zones"]


@admin.register(ConsumptionNorm)
class ConsumptionNormAdmin(admin.ModelAdmin):
    list_display = ["branch", "resource", "stove_type", "rooms", "residents", "per_person", "valid_from", "valid_to"]
    list_filter = ["branch", "resource", "stove_type"]


@admin.register(ContractTariffGroup)
class ContractTariffGroupAdmin(AuditedClientDataAdmin):
    list_display = ["contract", "group", "note"]
    list_select_related = ["contract__account"]
    list_filter = ["group"]
    search_fields = ["contract__number", "contract__account__number"]
    raw_id_fields = ["contract"]

    def account_number_of(self, obj) -> str:
        return obj.contract.account.number


@admin.register(KeyRate)
class KeyRateAdmin(admin.ModelAdmin):
    list_display = ["valid_from", "rate"]


@admin.register(PenaltyMoratorium)
class PenaltyMoratoriumAdmin(admin.ModelAdmin):
    list_display = ["starts", "ends", "kind", "cap_rate", "mode", "basis"]


@admin.register(DueDay)
class DueDayAdmin(admin.ModelAdmin):
    list_display = ["payer", "day", "valid_from", "basis"]


@admin.register(BillingSettings)
class BillingSettingsAdmin(admin.ModelAdmin):
    list_display = ["branch", "payee_name", "inn", "bic", "auto_run", "run_day"]
    fieldsets = [
        (None, {"fields": ["branch"]}),
        (
            "Получатель платежа (печатается в счёте и в QR-коде)",
            {
                "fields": [
                    "payee_name",
                    "inn",
                    "kpp",
                    "account",
                    "bank_name",
                    "bic",
                    "corr_account",
                    "purpose",
                    "address",
                ]
            },
        ),
        ("Каналы обслуживания в счёте", {"fields": ["channels"]}),
        ("Расчёт по расписанию", {"fields": ["auto_run", "run_day"]}),
    ]


# --- records --------------------------------------------------------------------------------------------------


@admin.register(BillingRun)
class BillingRunAdmin(admin.ModelAdmin):
    list_display = ["branch", "period", "state", "processed", "total", "created_at", "finished_at", "actor_label"]
    list_filter = ["branch", "state"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in BillingRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Charge)
class ChargeAdmin(ReadOnlyRecordAdmin):
    list_display = ["contract", "period", "kind", "method", "volume", "amount", "run"]
    list_select_related = ["contract", "account"]
    list_filter = ["period", "kind", "method"]
    search_fields = ["contract__number", "account__number"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyRecordAdmin):
    list_display = ["account", "contract", "kind", "amount", "period", "value_date", "due_date", "invoice"]
    list_select_related = ["account", "contract", "invoice"]
    list_filter = ["kind", "period"]
    search_fields = ["account__number", "contract__number", "document_id"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyRecordAdmin):
    list_display = ["number", "account", "period", "total_due", "due_date", "delivery", "issued_at"]
    list_select_related = ["account"]
    list_filter = ["branch", "period", "delivery"]
    search_fields = ["number", "account__number"]


@admin.register(BillDelivery)
class BillDeliveryAdmin(ReadOnlyRecordAdmin):
    """The client's choice changes through the cabinet or an operator (``set_bill_delivery``), not here."""

    list_display = ["account", "method", "email", "changed_at", "changed_by"]
    list_select_related = ["account"]
    list_filter = ["method"]
    search_fields = ["account__number", "email"]
