"""Admin of the case engine: the configuration (topics, SLA norms, answer templates, checklists, the operators' FAQ)
is edited here; cases, calls and identifications are only looked at (audited) — they change through the services
and the staff workspace."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from sbyt.customers.admin import AuditedClientDataAdmin

from . import stages
from .models import (
    AnswerTemplate,
    Call,
    CallerIdentification,
    Case,
    ChecklistItem,
    FaqEntry,
    Kind,
    Norm,
    Topic,
)
from .models import Channel as CaseChannel
from .templating import VARIABLES, unknown_variables


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["__str__", "code", "order", "is_active", "public"]
    list_filter = ["is_active", "public", "parent"]
    search_fields = ["name", "code"]
    ordering = ["parent__order", "order", "name"]


class NormForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label="виды обращений", choices=Kind.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Ничего не отмечено — все виды.",
    )  # fmt: skip
    channels = forms.MultipleChoiceField(
        label="каналы поступления", choices=CaseChannel.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Ничего не отмечено — все каналы.",
    )  # fmt: skip

    class Meta:
        model = Norm
        fields = [
            "code", "name", "milestone", "kinds", "channels", "segment", "start_stage", "stop_stage", "amount",
            "unit", "agreed_max", "source", "is_active",
        ]  # fmt: skip

    def clean(self):
        data = super().clean()
        codes = stages.all_codes()
        for name in ("start_stage", "stop_stage"):
            if data.get(name) and data[name] not in codes:
                self.add_error(name, f"Нет такого этапа. Этапы: {', '.join(sorted(codes))}.")
        if data.get("milestone") == "stage" and not data.get("stop_stage"):
            self.add_error("stop_stage", "Для срока этапа укажите этап, на котором срок останавливается.")
        return data


@admin.register(Norm)
class NormAdmin(admin.ModelAdmin):
    form = NormForm
    list_display = ["name", "code", "milestone", "amount", "unit", "agreed_max", "segment", "is_active"]
    list_filter = ["milestone", "unit", "is_active"]
    search_fields = ["name", "code", "source"]


class AnswerTemplateForm(forms.ModelForm):
    class Meta:
        model = AnswerTemplate
        fields = ["code", "name", "purpose", "rejection", "subject", "text", "is_active"]
        help_texts = {"text": "Переменные: " + ", ".join(f"{{{{ {k} }}}} — {v}" for k, v in VARIABLES.items())}

    def clean(self):
        data = super().clean()
        unknown = unknown_variables(data.get("text", "")) + unknown_variables(data.get("subject", ""))
        if unknown:
            raise ValidationError("Неизвестные переменные: " + ", ".join(sorted(set(unknown))))
        return data


@admin.register(AnswerTemplate)
class AnswerTemplateAdmin(admin.ModelAdmin):
    form = AnswerTemplateForm
    list_display = ["name", "code", "purpose", "rejection", "is_active"]
    list_filter = ["purpose", "is_active"]
    search_fields = ["name", "code", "text"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "required", "order", "is_active"]
    list_filter = ["kind", "required", "is_active"]


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ["question", "topic", "order", "is_active"]
    list_filter = ["is_active", "topic"]
    search_fields = ["question", "answer"]


class ReadOnlyClientAdmin(AuditedClientDataAdmin):
    """Records with client data: listed and opened (each look audited), never edited here."""

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


@admin.register(Case)
class CaseAdmin(ReadOnlyClientAdmin):
    list_display = ["number", "kind", "channel", "status", "topic", "received_at", "assignee"]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["number", "account__number"]
    list_select_related = ["topic__parent", "assignee", "account"]


@admin.register(Call)
class CallAdmin(ReadOnlyClientAdmin):
    list_display = ["started_at", "operator", "topic", "outcome", "talk_seconds", "after_call_seconds", "identified"]
    list_filter = ["outcome", "identified"]
    list_select_related = ["operator", "topic__parent", "account"]


@admin.register(CallerIdentification)
class CallerIdentificationAdmin(ReadOnlyClientAdmin):
    list_display = ["at", "account", "staff", "caller_name", "method", "relation"]
    list_select_related = ["account", "staff"]
