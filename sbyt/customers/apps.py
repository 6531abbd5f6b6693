from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "sbyt.customers"
    verbose_name = "Клиенты"
