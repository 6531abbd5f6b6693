from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from sbyt.customers.admin import AuditedClientDataMixin

from .models import User


@admin.register(User)
class UserAdmin(AuditedClientDataMixin, BaseUserAdmin):
    list_display = ["username", "email", "phone", "is_staff", "is_active", "last_login"]
    search_fields = ["username", "email", "phone"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Клиент", {"fields": ("phone", "must_change_password")}))
