from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "sbyt.metering"
    verbose_name = "Учёт и показания"
