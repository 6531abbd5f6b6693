"""Form pieces both interfaces (the cabinet and the back office) use."""

from django import forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe): a list of files, possibly empty. ``accept``: the
    endings the browser offers (``".pdf, .jpg"``); the real checks of type and size are the service's."""

    def __init__(self, *args, accept: str = "", **kwargs):
        attrs = {"accept": accept.replace(" ", "")} if accept else {}
        kwargs.setdefault("widget", MultipleFileInput(attrs=attrs))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []
