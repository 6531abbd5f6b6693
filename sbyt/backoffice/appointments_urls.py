"""URL patterns appended to the backoffice namespace (see its urls.py): booking for a client, an office's day of
bookings, a video specialist's day."""

from django.urls import path

from . import appointments_views as views

urlpatterns: list = [
    path("appointments/", views.office_day, name="appointments"),
    path("appointments/book/", views.book_for_client, name="appointment_book"),
    path("appointments/video/", views.video_day, name="video_day"),
    path("appointments/<int:pk>/cancel/", views.cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/outcome/", views.outcome, name="appointment_outcome"),
]
