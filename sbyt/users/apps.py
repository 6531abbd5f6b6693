from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "sbyt.users"
    verbose_name = "Учётные записи"
