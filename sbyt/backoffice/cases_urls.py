"""URL patterns appended to the backoffice namespace (see its urls.py): appeals and applications, the
supervisor's board, the contact centre's calls, identification and FAQ."""

from django.urls import path

from . import cases_views as views

urlpatterns: list = [
    path("cases/", views.case_queue, name="cases"),
    path("cases/routing/", views.routing_queue, name="cases_routing"),
    path("cases/new/", views.case_register, name="case_new"),
    path("cases/board/", views.board, name="cases_board"),
    path("cases/board/export.xlsx", views.board_xlsx, name="cases_board_xlsx"),
    path("cases/<str:number>/", views.case_detail, name="case"),
    path("cases/<str:number>/do/<slug:action>/", views.case_action, name="case_action"),
    path("cases/<str:number>/files/<int:pk>/", views.case_file, name="case_file"),
    path("cases/<str:number>/letters/<int:pk>/", views.case_letter, name="case_letter"),
    path("calls/", views.calls, name="calls"),
    path("calls/new/", views.register_call, name="call_new"),
    path("clients/<str:number>/call/", views.register_call, name="client_call"),
    path("clients/<str:number>/identify/", views.identify, name="client_identify"),
    path("faq/", views.faq, name="faq"),
]
