from django.db import migrations


def create_roles(apps, schema_editor):
    from sbyt.users.roles import ensure_roles

    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0001_initial"),
        ("customers", "0002_initial"),
        ("metering", "0002_initial"),
        ("content", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
