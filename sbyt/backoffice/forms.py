from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class StaffAuthenticationForm(AuthenticationForm):
    """Django's login form that lets in staff only; a client's login gets the same answer as a wrong password."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Login")
        self.fields["password"].label = _("Password")

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ClientSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Client number, contract, phone, surname or address"),
        max_length=100,
        required=False,
        strip=True,
    )


class ApproveForm(forms.Form):
    note = forms.CharField(label=_("Comment (optional)"), max_length=300, required=False, strip=True)


class RejectForm(forms.Form):
    note = forms.CharField(
        label=_("Reason for rejecting"),
        max_length=300,
        strip=True,
        error_messages={"required": _("Give the reason for rejecting the reading.")},
    )


class VoiceRejectForm(forms.Form):
    note = forms.CharField(
        label=_("Why the message cannot be processed"),
        max_length=300,
        strip=True,
        error_messages={"required": _("Give the reason for rejecting the message.")},
    )


class VoiceDoneForm(forms.Form):
    note = forms.CharField(label=_("Comment (optional)"), max_length=300, required=False, strip=True)
