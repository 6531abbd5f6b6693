from django.db import migrations


def grant_voice_permission(apps, schema_editor):
    from sbyt.users.roles import ensure_roles

    ensure_roles(apps)  # messaging.process_voice for the contact-centre operators and the readings specialists


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_voicemessage"),
        ("users", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant_voice_permission, migrations.RunPython.noop)]
