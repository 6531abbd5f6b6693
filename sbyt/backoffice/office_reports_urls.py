"""URL patterns appended to the backoffice namespace (see its urls.py): queue statistics and the complaints book."""

from django.urls import path

from . import office_reports_views as views

urlpatterns: list = [
    path("office-reports/", views.office_reports, name="office_reports"),
    path("office-reports/<slug:code>/stats/", views.office_stats, name="office_stats"),
    path("office-reports/<slug:code>/stats/hall/", views.office_hall, name="office_hall"),
    path("office-reports/<slug:code>/stats/export.xlsx", views.office_stats_xlsx, name="office_stats_xlsx"),
    path("office-reports/<slug:code>/complaints/", views.office_complaints, name="office_complaints"),
    path("office-reports/<slug:code>/complaints/new/", views.office_complaint_new, name="office_complaint_new"),
    path(
        "office-reports/<slug:code>/complaints/<int:number>/review/",
        views.office_complaint_review,
        name="office_complaint_review",
    ),
    path(
        "office-reports/<slug:code>/complaints/<int:number>/send/",
        views.office_complaint_send,
        name="office_complaint_send",
    ),
]
