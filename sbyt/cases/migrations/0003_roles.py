from django.db import migrations


def create_roles(apps, schema_editor):
    from sbyt.users.roles import ensure_roles

    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0002_seed"),
        ("offices", "0002_roles"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
