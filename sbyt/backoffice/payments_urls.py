"""URL patterns appended to the backoffice namespace (see its urls.py): payments — registries, unmatched payments,
the office cash desk with receipts and refunds, the debt registry for banks."""

from django.urls import path

from . import payments_views as views

urlpatterns: list = [
    path("payments/", views.payments_home, name="payments"),
    path("payments/registries/upload/", views.registry_upload, name="registry_upload"),
    path("payments/registries/<int:pk>/", views.registry_detail, name="registry"),
    path("payments/suspense/", views.suspense_list, name="suspense"),
    path("payments/desk/", views.desk, name="desk"),
    path("payments/desk/<str:number>/", views.desk_account, name="desk_account"),
    path("payments/debt-registry/", views.debt_registry_export, name="debt_registry"),
    path("payments/<int:pk>/", views.payment_detail, name="payment"),
    path("payments/<int:pk>/receipt.pdf", views.payment_receipt, name="payment_receipt"),
]
