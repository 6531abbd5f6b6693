from django.contrib import admin

from sbyt.core.audit import audit_many, audit_view
from sbyt.core.models import AuditEntry
from sbyt.metering.models import ReadingWindow

from .models import Account, AccountAccess, Branch, Consent, Contract, Customer, Premises


class ReadingWindowInline(admin.TabularInline):
    model = ReadingWindow
    extra = 0


class AuditedClientDataMixin:
    """Every staff look at a client's record or at a list of clients' records in the admin is written to the
    audit log (152-ФЗ): one entry per record shown."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:
            audit_view(request.user, "admin.view", obj, account_number=self.account_number_of(obj))
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            query = request.GET.get("q", "")[:200]
            rows = [(obj, self.account_number_of(obj), {"query": query}) for obj in changelist.result_list]
            audit_many(request.user, "admin.list", rows, kind=AuditEntry.Kind.VIEW)
        return response

    def account_number_of(self, obj) -> str:
        return ""


class AuditedClientDataAdmin(AuditedClientDataMixin, admin.ModelAdmin):
    pass


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone", "contact_phones", "late_reading_policy"]
    inlines = [ReadingWindowInline]


@admin.register(Customer)
class CustomerAdmin(AuditedClientDataAdmin):
    list_display = ["__str__", "kind", "phone", "email"]
    list_filter = ["kind"]
    search_fields = ["last_name", "org_name", "inn", "phone", "accounts__number"]


class PremisesInline(admin.TabularInline):
    model = Premises
    extra = 0


class ContractInline(admin.TabularInline):
    model = Contract
    extra = 0
    fields = ["number", "resource", "premises", "start_date", "end_date", "status"]


@admin.register(Account)
class AccountAdmin(AuditedClientDataAdmin):
    list_display = ["number", "customer", "branch", "opened_on", "closed_on"]
    list_filter = ["branch"]
    search_fields = ["number", "customer__last_name", "contracts__number"]
    raw_id_fields = ["customer"]
    inlines = [PremisesInline, ContractInline]

    def account_number_of(self, obj) -> str:
        return obj.number


@admin.register(Contract)
class ContractAdmin(AuditedClientDataAdmin):
    list_display = ["number", "account", "resource", "status", "start_date"]
    list_select_related = ["account"]
    list_filter = ["resource", "status"]
    search_fields = ["number", "account__number"]
    raw_id_fields = ["account", "premises"]

    def account_number_of(self, obj) -> str:
        return obj.account.number


@admin.register(AccountAccess)
class AccountAccessAdmin(AuditedClientDataAdmin):
    list_display = ["user", "account", "proof", "granted_at"]
    list_select_related = ["user", "account"]
    search_fields = ["user__username", "account__number"]
    raw_id_fields = ["user", "account"]

    def account_number_of(self, obj) -> str:
        return obj.account.number


@admin.register(Consent)
class ConsentAdmin(AuditedClientDataAdmin):
    list_display = ["customer", "kind", "given_at", "withdrawn_at", "channel"]
    list_filter = ["kind"]
    raw_id_fields = ["customer"]
