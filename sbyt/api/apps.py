from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "sbyt.api"
    verbose_name = "API"
