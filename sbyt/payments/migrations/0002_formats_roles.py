from django.db import migrations

FORMATS = [
    {
        "code": "sberbank",
        "name": "Сбербанк (типовой реестр платежей)",
        "channel": "bank",
        "encoding": "cp1251",
        "delimiter": ";",
        "fields": "date,time,-,-,-,account,name,address,period,amount,transfer,commission,extras",
        "date_format": "%d-%m-%Y",
        "time_format": "%H-%M-%S",
        "period_format": "%m%y",
        "trailer_prefix": "=",
        "trailer_fields": "count,amount,transfer,commission",
    },
    {
        "code": "russian-post",
        "name": "Почта России (реестр переводов)",
        "channel": "post",
        "encoding": "cp1251",
        "delimiter": "|",
        "fields": "operation,date,account,name,address,period,amount,extras",
        "date_format": "%d.%m.%Y",
        "time_format": "",
        "period_format": "%m.%Y",
        "trailer_prefix": "ИТОГО",
        "trailer_fields": "count,amount",
    },
]


def seed(apps, schema_editor):
    RegistryFormat = apps.get_model("payments", "RegistryFormat")
    for row in FORMATS:
        RegistryFormat.objects.update_or_create(code=row["code"], defaults=row)
    from sbyt.users.roles import ensure_roles

    ensure_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("users", "0002_roles"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
