from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _forget_windows(sender, instance, **kwargs) -> None:
    """A window was edited (admin, import): drop the branch's cached windows (``queries.branch_windows``)."""
    from .queries import forget_branch_windows

    forget_branch_windows(instance.branch_id)


class MeteringConfig(AppConfig):
    name = "sbyt.metering"
    verbose_name = "Учёт и показания"

    def ready(self) -> None:
        from .models import ReadingWindow

        post_save.connect(_forget_windows, sender=ReadingWindow, dispatch_uid="metering.forget_windows.save")
        post_delete.connect(_forget_windows, sender=ReadingWindow, dispatch_uid="metering.forget_windows.delete")
