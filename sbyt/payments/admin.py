"""Payments in the admin: the records are read-only (they change only through the services); registry formats are
configuration an administrator edits."""

from django.contrib import admin

from sbyt.customers.admin import AuditedClientDataMixin

from .models import (
    AutopayMandate,
    Payment,
    PaymentIntent,
    ProviderEvent,
    RefundRequest,
    Registry,
    RegistryFormat,
    SuspenseItem,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegistryFormat)
class RegistryFormatAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "channel", "encoding", "delimiter", "active"]
    list_filter = ["channel", "active"]


@admin.register(Payment)
class PaymentAdmin(AuditedClientDataMixin, ReadOnlyAdmin):
    list_display = ["pk", "kind", "channel", "account", "amount", "period", "paid_at", "actor_label"]
    list_filter = ["kind", "channel"]
    list_select_related = ["account"]
    search_fields = ["account__number", "external_id", "payer"]
    date_hierarchy = "paid_at"

    def account_number_of(self, obj) -> str:
        return obj.account.number


@admin.register(PaymentIntent)
class PaymentIntentAdmin(ReadOnlyAdmin):
    list_display = ["token", "provider", "status", "amount", "source", "created_at", "checks"]
    list_filter = ["status", "provider", "source"]
    search_fields = ["token", "provider_payment_id"]


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "payment", "provider", "status", "amount", "actor_label", "created_at", "checks"]
    list_filter = ["status", "provider"]
    search_fields = ["provider_refund_id", "idempotence_key"]
    list_select_related = ["payment__account"]


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "event", "object_id", "status", "remote_ip", "repeats"]
    list_filter = ["provider", "status"]
    search_fields = ["object_id"]


@admin.register(Registry)
class RegistryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "file_name", "format", "status", "lines", "payments_count", "suspense_count", "received_at"]
    list_filter = ["status", "format"]
    exclude = ["content"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "content"]


@admin.register(SuspenseItem)
class SuspenseItemAdmin(ReadOnlyAdmin):
    list_display = ["registry", "line_no", "account_text", "payer", "amount", "status"]
    list_filter = ["status"]


@admin.register(AutopayMandate)
class AutopayMandateAdmin(AuditedClientDataMixin, ReadOnlyAdmin):
    list_display = ["account", "status", "limit", "day", "card_title", "created_at", "cancelled_at"]
    list_filter = ["status"]

    def account_number_of(self, obj) -> str:
        return obj.account.number
