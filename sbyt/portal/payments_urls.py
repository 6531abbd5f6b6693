"""URL patterns appended to the portal namespace (see its urls.py): payments."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
