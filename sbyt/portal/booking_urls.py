"""URL patterns appended to the portal namespace (see its urls.py): booking a visit or a video consultation,
cancelling by code, and the cabinet's «Мои записи»."""

from django.urls import path

from . import booking_views

urlpatterns: list = [
    path("book/", booking_views.book_visit, name="book_visit"),
    path("book/done/", booking_views.booking_done, name="booking_done"),
    path("book/cancel/", booking_views.booking_cancel, name="booking_cancel"),
    path("cabinet/appointments/", booking_views.my_appointments, name="my_appointments"),
    path("cabinet/appointments/<int:pk>/cancel/", booking_views.appointment_cancel, name="appointment_cancel"),
    path("cabinet/appointments/<int:pk>/move/", booking_views.appointment_reschedule, name="appointment_reschedule"),
]
