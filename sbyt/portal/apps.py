from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "sbyt.portal"
    verbose_name = "Сайт и личный кабинет"
