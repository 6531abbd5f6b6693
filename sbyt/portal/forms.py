"""Forms of the public site and the personal cabinet. They only check the shape of the input:
every rule about clients, codes and readings lives in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

DATE_INPUT_FORMATS = ["%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y-%m-%d"]


class TelInput(forms.TextInput):
    input_type = "tel"


def _text(label, *, help_text="", autocomplete="off", inputmode=None, max_length=100, widget=forms.TextInput):
    attrs = {"autocomplete": autocomplete}
    if inputmode:
        attrs["inputmode"] = inputmode
    return forms.CharField(label=label, help_text=help_text, max_length=max_length, widget=widget(attrs=attrs))


def _password(label, *, autocomplete="new-password"):
    return forms.CharField(
        label=label,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def _client_number(label=None):
    return _text(
        label or _("Client number"),
        help_text=_("It is printed on your bill."),
        inputmode="numeric",
        max_length=20,
    )


def _code():
    return _text(
        _("Code from the SMS"),
        autocomplete="one-time-code",
        inputmode="numeric",
        max_length=12,
    )


class ClientNumberForm(forms.Form):
    number = _client_number()

    def clean_number(self):
        return "".join(self.cleaned_data["number"].split())


class NewPasswordMixin:
    """Two password fields that must match; the strength rules are the services' (Django's validators)."""

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The passwords do not match."))
        return cleaned


class RegistrationCodeForm(NewPasswordMixin, forms.Form):
    code = _code()
    password1 = _password(_("New password"))
    password2 = _password(_("New password again"))
    consent = forms.BooleanField(
        label=_("I agree to the processing of my personal data"),
        error_messages={"required": _("Registration needs your consent to the processing of personal data.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = _("At least 8 characters; not only digits.")


class LoginForm(forms.Form):
    identifier = _text(
        _("Client number, e-mail or phone"),
        autocomplete="username",
        max_length=254,
    )
    password = _password(_("Password"), autocomplete="current-password")


class RecoveryForm(forms.Form):
    full_name = _text(
        _("Full name"), help_text=_("Surname, first name and patronymic, as on the bill."), autocomplete="name"
    )
    birth_date = forms.DateField(
        label=_("Date of birth"),
        help_text=_("For example 17.05.1970."),
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.TextInput(attrs={"autocomplete": "bday", "inputmode": "numeric"}),
        error_messages={"invalid": _("Enter the date as DD.MM.YYYY, for example 17.05.1970.")},
    )
    number = _client_number()
    phone = _text(
        _("Mobile phone"),
        help_text=_("The number on file with us, for example +7 912 345-67-89."),
        autocomplete="tel",
        inputmode="tel",
        max_length=30,
        widget=TelInput,
    )

    def clean_number(self):
        return "".join(self.cleaned_data["number"].split())


class CodeForm(forms.Form):
    code = _code()


class EmailCodeForm(forms.Form):
    code = _text(_("Code from the letter"), autocomplete="one-time-code", inputmode="numeric", max_length=12)


class PasswordChangeForm(NewPasswordMixin, forms.Form):
    old_password = _password(_("Current password"), autocomplete="current-password")
    password1 = _password(_("New password"))
    password2 = _password(_("New password again"))


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("We will send a code to this address. Leave the field empty to remove the e-mail."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PhoneForm(forms.Form):
    phone = _text(
        _("New mobile phone"),
        help_text=_("We will send a code to this number."),
        autocomplete="tel",
        inputmode="tel",
        max_length=30,
        widget=TelInput,
    )


class PublicLookupForm(forms.Form):
    number = _client_number()
    reference = _text(
        _("Contract number or meter serial number"),
        help_text=_("Both are printed on your bill."),
        max_length=32,
    )

    def clean_number(self):
        return "".join(self.cleaned_data["number"].split())

    def clean_reference(self):
        return "".join(self.cleaned_data["reference"].split())


def zone_field_name(key, zone: int) -> str:
    return f"m{key}_z{zone}"


class ReadingsForm(forms.Form):
    """One text input per zone of every meter that accepts readings here. Values stay strings:
    the readings service parses them, so every channel gets the same checks and the same answers."""

    def __init__(self, *args, rows=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = list(rows)
        for row in self.rows:
            for index, name in enumerate(row.zone_names, start=1):
                field_name = zone_field_name(row.key, index)
                attrs = {
                    "inputmode": "numeric",
                    "autocomplete": "off",
                    "class": "reading",
                    "aria-describedby": f"id_{field_name}_prev",
                }
                self.fields[field_name] = forms.CharField(
                    label=name.capitalize() if name else _("Reading"),
                    required=False,
                    max_length=40,
                    widget=forms.TextInput(attrs=attrs),
                )

    def values_for(self, row) -> list[str]:
        """What was typed for a meter, empty zones left out (so a half-filled meter gets the service's
        answer about the number of values)."""
        typed = [(self.cleaned_data.get(zone_field_name(row.key, i)) or "").strip() for i in range(1, row.zones + 1)]
        return [value for value in typed if value]
