from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sbyt.core"
    verbose_name = "Ядро"
