from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "sbyt.messaging"
    verbose_name = "Сообщения"
