"""URL patterns appended to the portal namespace (see its urls.py): billing — balances, charges, the consumption
chart, bills and their PDFs, the bill delivery choice, the cost of readings before submitting, documents on
request."""

from django.urls import path

from . import billing_views as views

urlpatterns: list = [
    path("cabinet/<str:number>/billing/", views.overview, name="billing"),
    path("cabinet/<str:number>/billing/<int:year>-<int:month>/", views.period_detail, name="billing_period"),
    path("cabinet/<str:number>/bills/<int:year>-<int:month>.pdf", views.bill_pdf, name="bill_pdf"),
    path("cabinet/<str:number>/billing/delivery/", views.delivery, name="bill_delivery"),
    path("cabinet/<str:number>/documents/no-debt.pdf", views.certificate, name="no_debt_certificate"),
    path("cabinet/<str:number>/documents/statement.pdf", views.statement, name="account_statement"),
    path("cabinet/<str:number>/readings/estimate/", views.preview, name="readings_preview"),
]
