"""URL patterns appended to the backoffice namespace (see its urls.py): payments."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
