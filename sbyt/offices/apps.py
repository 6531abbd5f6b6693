from django.apps import AppConfig


class OfficesConfig(AppConfig):
    name = "sbyt.offices"
    verbose_name = "Офисы и электронная очередь"
