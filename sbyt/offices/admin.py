"""Django admin of the offices: the directory and the queue's configuration are edited here; what happened
(tickets, window events, appointments, complaint entries) is only looked at — it changes through the services.

Lists of records with client data (tickets, appointments, complaint entries) are audited like the other client
data pages of the admin (``AuditedClientDataMixin``)."""

from django.contrib import admin

from sbyt.customers.admin import AuditedClientDataAdmin
from sbyt.users.models import User

from .models import (
    Appointment,
    ComplaintBookEntry,
    Office,
    OfficeDay,
    OfficeFunction,
    OfficeHours,
    PriorityCategory,
    Service,
    Ticket,
    VideoHours,
    VideoSpecialist,
    Window,
    WindowEvent,
)


def _staff_only(db_field, kwargs: dict) -> dict:
    """Pickers of people list staff logins only (never the thousands of client logins)."""
    if db_field.related_model is User:
        kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by("username")
    return kwargs


class StaffPickersMixin:
    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(db_field, request, **_staff_only(db_field, kwargs))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(db_field, request, **_staff_only(db_field, kwargs))


class ReadOnlyAdmin(AuditedClientDataAdmin):
    """A record of what happened: listed and opened, never added, edited or deleted here."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + [f.name for f in self.model._meta.many_to_many]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- the directory ------------------------------------------------------------------------------------------


@admin.register(OfficeFunction)
class OfficeFunctionAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


class OfficeHoursInline(admin.TabularInline):
    model = OfficeHours
    extra = 0
    max_num = 7


class OfficeDayInline(admin.TabularInline):
    model = OfficeDay
    extra = 0
    ordering = ["-date"]


class WindowInline(StaffPickersMixin, admin.TabularInline):
    model = Window
    extra = 0
    fields = ["number", "label", "services", "is_duty_admin", "is_active", "state", "specialist"]
    readonly_fields = ["state", "specialist"]


@admin.register(Office)
class OfficeAdmin(StaffPickersMixin, admin.ModelAdmin):
    list_display = ["name", "town", "address", "branch", "code", "is_active", "has_queue", "accepts_appointments"]
    list_select_related = ["branch"]
    list_filter = ["branch", "is_active", "has_queue", "accepts_appointments", "serves_businesses", "functions", "town"]
    search_fields = ["code", "name", "town", "address", "phones"]
    filter_horizontal = ["functions", "staff", "managers"]
    readonly_fields = ["wait_alert_sent_at"]
    inlines = [OfficeHoursInline, OfficeDayInline, WindowInline]
    fieldsets = [
        (None, {"fields": ["branch", "code", "name", "is_active"]}),
        ("Адрес и контакты", {"fields": ["town", "postcode", "address", "phones", "email", "latitude", "longitude"]}),
        ("Кого и как обслуживает", {"fields": ["serves_households", "serves_businesses", "functions", "note"]}),
        (
            "Очередь и запись",
            {
                "fields": [
                    "has_queue",
                    "accepts_appointments",
                    "appointment_minutes",
                    "appointment_days_ahead",
                    "staff",
                    "managers",
                    "wait_alert_sent_at",
                ]
            },
        ),
    ]


@admin.register(OfficeHours)
class OfficeHoursAdmin(admin.ModelAdmin):
    list_display = ["office", "weekday", "opens", "closes", "break_starts", "break_ends"]
    list_select_related = ["office"]
    list_filter = ["office__branch", "weekday"]
    search_fields = ["office__name", "office__town", "office__code"]


@admin.register(OfficeDay)
class OfficeDayAdmin(admin.ModelAdmin):
    list_display = ["office", "date", "closed", "opens", "closes", "reason"]
    list_select_related = ["office"]
    list_filter = ["office__branch", "closed"]
    search_fields = ["office__name", "office__town", "office__code", "reason"]
    date_hierarchy = "date"


# --- the queue's configuration ------------------------------------------------------------------------------


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "letter", "wait_norm_minutes", "service_norm_minutes", "order", "is_active"]
    list_editable = ["order", "is_active"]


@admin.register(PriorityCategory)
class PriorityCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "document_hint", "order", "is_active"]


@admin.register(Window)
class WindowAdmin(StaffPickersMixin, admin.ModelAdmin):
    list_display = ["office", "number", "label", "is_duty_admin", "is_active", "state", "specialist"]
    list_select_related = ["office", "specialist"]
    list_filter = ["office__branch", "office__town", "is_active", "state", "services"]
    search_fields = ["office__name", "office__code", "label"]
    filter_horizontal = ["services"]
    readonly_fields = ["state", "state_changed_at", "specialist"]


class VideoHoursInline(admin.TabularInline):
    model = VideoHours
    extra = 0


@admin.register(VideoSpecialist)
class VideoSpecialistAdmin(StaffPickersMixin, admin.ModelAdmin):
    list_display = ["display_name", "user", "office", "is_active"]
    list_select_related = ["user", "office"]
    list_filter = ["office__branch", "is_active"]
    search_fields = ["display_name", "user__username", "office__name"]
    filter_horizontal = ["services"]
    inlines = [VideoHoursInline]


@admin.register(VideoHours)
class VideoHoursAdmin(admin.ModelAdmin):
    list_display = ["specialist", "weekday", "starts", "ends"]
    list_filter = ["specialist__office__branch", "weekday"]


# --- what happened (read only) ------------------------------------------------------------------------------


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["number", "office", "service", "day", "status", "priority", "window", "issued_at", "finished_at"]
    list_select_related = ["office", "service", "priority", "window", "account"]
    list_filter = ["office__branch", "office__town", "status", "service", "priority"]
    search_fields = ["number", "office__name", "office__code", "account__number", "client_number"]
    date_hierarchy = "issued_at"

    def account_number_of(self, obj) -> str:
        return obj.account.number if obj.account_id else ""


@admin.register(WindowEvent)
class WindowEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "window", "kind", "ticket", "actor"]
    list_select_related = ["window__office", "ticket", "actor"]
    list_filter = ["window__office__branch", "kind"]
    search_fields = ["window__office__name", "ticket__number"]
    date_hierarchy = "at"


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "office", "service", "starts_at", "status", "name", "channel"]
    list_select_related = ["office", "service", "account"]
    list_filter = ["office__branch", "office__town", "kind", "status", "channel", "service"]
    search_fields = ["code", "name", "phone", "email", "account__number", "office__name"]
    date_hierarchy = "starts_at"

    def account_number_of(self, obj) -> str:
        return obj.account.number if obj.account_id else ""


@admin.register(ComplaintBookEntry)
class ComplaintBookEntryAdmin(ReadOnlyAdmin):
    list_display = ["number", "office", "written_at", "author_name", "reviewed_at", "sent_to_head_office_at"]
    list_select_related = ["office", "account"]
    list_filter = ["office__branch", "office__town", ("reviewed_at", admin.EmptyFieldListFilter)]
    search_fields = ["author_name", "text", "office__name", "account__number"]
    date_hierarchy = "written_at"

    def account_number_of(self, obj) -> str:
        return obj.account.number if obj.account_id else ""
