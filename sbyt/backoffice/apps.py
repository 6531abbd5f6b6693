from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "sbyt.backoffice"
    verbose_name = "Рабочее место сотрудника"
