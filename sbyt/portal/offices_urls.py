"""URL patterns appended to the portal namespace (see its urls.py)."""

from django.urls import path

from . import offices_views

urlpatterns: list = [
    path("offices/", offices_views.offices, name="offices"),
    path("offices/<slug:code>/", offices_views.office, name="office"),
    path("contacts/", offices_views.contacts, name="contacts"),
]
