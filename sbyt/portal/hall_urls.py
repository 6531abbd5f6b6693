"""URL patterns appended to the portal namespace (see its urls.py): the hall's kiosk and display."""

from django.urls import path

from . import hall_views

urlpatterns: list = [
    path("hall/", hall_views.setup, name="hall_setup"),
    path("hall/kiosk/", hall_views.kiosk, name="hall_kiosk"),
    path("hall/kiosk/service/<int:pk>/", hall_views.kiosk_service, name="hall_kiosk_service"),
    path("hall/kiosk/booking/", hall_views.kiosk_booking, name="hall_kiosk_booking"),
    path("hall/kiosk/ticket/<int:pk>/", hall_views.kiosk_ticket, name="hall_ticket"),
    path("hall/display/", hall_views.display, name="hall_display"),
    path("hall/display/state/", hall_views.display_state, name="hall_display_state"),
]
