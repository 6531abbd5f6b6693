from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "sbyt.cases"
    verbose_name = "Обращения и заявки"
