"""URL patterns appended to the backoffice namespace (see its urls.py): billing runs (with their printing-house batch)
and tariffs."""

from django.urls import path

from . import billing_views

urlpatterns: list = [
    path("billing/runs/", billing_views.runs, name="billing_runs"),
    path("billing/runs/start/", billing_views.start, name="billing_run_start"),
    path("billing/runs/<int:pk>/", billing_views.run_detail, name="billing_run"),
    path("billing/runs/<int:pk>/progress/", billing_views.run_progress, name="billing_run_progress"),
    path("billing/runs/<int:pk>/resume/", billing_views.run_resume, name="billing_run_resume"),
    path("billing/runs/<int:pk>/print-batch/", billing_views.print_batch_download, name="billing_print_batch"),
    path("billing/runs/<int:pk>/print-batch/build/", billing_views.print_batch_build, name="billing_print_batch_build"),
    path("billing/tariffs/", billing_views.tariffs, name="billing_tariffs"),
    path("billing/tariffs/import/", billing_views.tariff_import, name="billing_tariff_import"),
]
