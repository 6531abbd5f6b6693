"""What the data migrations seed (roles, queue services and priority categories, case topics and norms, key
rates and due days, registry formats), put back after a transactional test has flushed the database.

pytest-django runs transactional tests after the others; each flushes the database when it ends, so the next one
would start without the seeded rows. Every seeding function is idempotent (update_or_create / get_or_create)."""

from importlib import import_module

SEEDS = (
    ("sbyt.offices.migrations.0003_services_priorities", "seed"),
    ("sbyt.cases.migrations.0002_seed", "seed"),
    ("sbyt.billing.migrations.0002_rates_dues_roles", "seed"),
    ("sbyt.payments.migrations.0002_formats_roles", "seed"),
)


def restore_seeds() -> None:
    from django.apps import apps

    from sbyt.users.roles import ensure_roles

    for module, function in SEEDS:
        getattr(import_module(module), function)(apps, None)
    ensure_roles()
