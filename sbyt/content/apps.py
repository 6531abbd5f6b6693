from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "sbyt.content"
    verbose_name = "Новости и информация"
