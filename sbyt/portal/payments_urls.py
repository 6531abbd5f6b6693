"""URL patterns appended to the portal namespace (see its urls.py): payments — the public payment page, the order's
page the bank returns to, the sandbox bank, the providers' notifications, the cabinet's payments and autopay."""

from django.urls import path

from . import payments_views as views

urlpatterns: list = [
    path("pay/", views.public_pay, name="pay"),
    path("pay/order/<uuid:token>/", views.order_status, name="pay_order"),
    path("pay/sandbox/<str:charge_id>/", views.sandbox_bank, name="sandbox_bank"),
    path("payments/notify/<slug:provider>/", views.notify, name="payment_notify"),
    path("cabinet/payments/", views.cabinet_payments, name="payments"),
    path("cabinet/payments/autopay/<str:number>/", views.autopay, name="autopay"),
]
