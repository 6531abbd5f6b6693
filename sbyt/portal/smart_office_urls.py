"""URL patterns appended to the portal namespace (see its urls.py): the «smart office» terminal (OFF-6)."""

from django.urls import path

from . import smart_office_views as views

urlpatterns: list = [
    path("smart-office/<slug:code>/", views.start, name="smart_office"),
    path("smart-office/<slug:code>/go/<slug:target>/", views.go, name="smart_office_go"),
    path("smart-office/session/cabinet/", views.cabinet, name="smart_office_cabinet"),
    path("smart-office/session/print/<str:number>/", views.print_details, name="smart_office_print"),
    path("smart-office/session/keepalive/", views.keepalive, name="smart_office_keepalive"),
    path("smart-office/session/finish/", views.finish, name="smart_office_finish"),
]
