"""The queue services with the standard's norms (OFF-2) and the categories served out of turn (OFF-3)."""

from django.db import migrations

SERVICES = [
    # code, name, ticket letter, wait norm, service norm, order
    ("consultation", "Консультация", "К", 10, 10, 1),
    ("cash", "Оплата в кассе", "О", 5, 5, 2),
    ("consultation_cash", "Консультация и оплата", "КО", 15, 15, 3),
]

PRIORITIES = [
    ("war_veteran", "Ветераны Великой Отечественной войны и боевых действий", "удостоверение ветерана", 1),
    ("disabled", "Инвалиды I и II групп", "справка МСЭ об инвалидности", 2),
    ("parent_under_3", "Родители с детьми до 3 лет", "свидетельство о рождении ребёнка", 3),
    ("social_worker", "Социальные работники", "служебное удостоверение", 4),
]


def seed(apps, schema_editor):
    Service = apps.get_model("offices", "Service")
    PriorityCategory = apps.get_model("offices", "PriorityCategory")
    for code, name, letter, wait, serve, order in SERVICES:
        Service.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "letter": letter,
                "wait_norm_minutes": wait,
                "service_norm_minutes": serve,
                "order": order,
            },
        )
    for code, name, document, order in PRIORITIES:
        PriorityCategory.objects.update_or_create(
            code=code, defaults={"name": name, "document_hint": document, "order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("offices", "0002_roles")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
