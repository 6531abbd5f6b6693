"""Payments work done by the worker: a registry uploaded in the back office is imported in the background."""

from django_tasks import task


@task()
def import_registry_task(registry_id: int) -> str:
    from .models import Registry
    from .registries import import_registry

    registry = Registry.objects.get(pk=registry_id)
    return import_registry(registry=registry, actor=registry.uploaded_by or registry.actor_label or "worker").status
