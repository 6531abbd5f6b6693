from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "sbyt.billing"
    verbose_name = "Начисления и счета"
