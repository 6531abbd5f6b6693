from django.contrib import admin

from sbyt.customers.admin import AuditedClientDataAdmin

from .models import Meter, Reading, ReadingWindow


@admin.register(ReadingWindow)
class ReadingWindowAdmin(admin.ModelAdmin):
    list_display = ["branch", "channel", "first_day", "last_day", "valid_from", "valid_to"]
    list_filter = ["branch", "channel"]


@admin.register(Meter)
class MeterAdmin(AuditedClientDataAdmin):
    list_display = ["serial", "contract", "zones", "digits", "status", "verification_due", "is_smart"]
    list_select_related = ["contract__account"]
    list_filter = ["zones", "status", "is_smart"]
    search_fields = ["serial", "contract__number", "contract__account__number"]
    raw_id_fields = ["contract"]

    def account_number_of(self, obj) -> str:
        return obj.contract.account.number


@admin.register(Reading)
class ReadingAdmin(AuditedClientDataAdmin):
    """Readings are read-only here: they change only through the readings service and its review."""

    list_display = ["meter", "period", "t1", "t2", "t3", "status", "reason", "channel", "received_at"]
    list_select_related = ["meter__contract__account"]
    list_filter = ["status", "channel", "reason"]
    search_fields = ["meter__serial", "meter__contract__number", "meter__contract__account__number"]
    date_hierarchy = "received_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Reading._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def account_number_of(self, obj) -> str:
        return obj.meter.contract.account.number
