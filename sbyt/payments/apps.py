from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "sbyt.payments"
    verbose_name = "Платежи"
