"""URL patterns appended to the portal namespace (see its urls.py): the public appeal form and the cabinet's
appeals and applications."""

from django.urls import path

from . import cases_views as views

urlpatterns: list = [
    path("appeal/", views.public_appeal, name="appeal"),
    path("appeal/sent/", views.appeal_sent, name="appeal_sent"),
    path("cabinet/cases/", views.my_cases, name="my_cases"),
    path("cabinet/cases/new/", views.case_new, name="case_new"),
    path("cabinet/cases/<str:number>/", views.case_detail, name="my_case"),
    path("cabinet/cases/<str:number>/files/<int:pk>/", views.case_file, name="my_case_file"),
    path("cabinet/cases/<str:number>/letters/<int:pk>/", views.case_letter, name="my_case_letter"),
]
