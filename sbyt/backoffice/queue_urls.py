"""URL patterns appended to the backoffice namespace (see its urls.py): the queue's window console."""

from django.urls import path

from . import queue_views

urlpatterns: list = [
    path("queue/", queue_views.queue_home, name="queue_home"),
    path("queue/window/<int:pk>/", queue_views.console, name="queue_console"),
    path("queue/window/<int:pk>/hall/", queue_views.hall_fragment, name="queue_hall"),
    path("queue/window/<int:pk>/state/", queue_views.window_state, name="queue_window_state"),
    path("queue/window/<int:pk>/call/", queue_views.call_next, name="queue_call_next"),
    path("queue/ticket/<int:pk>/<slug:action>/", queue_views.ticket_action, name="queue_ticket"),
]
