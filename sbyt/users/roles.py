"""Staff roles (SEC-3): Django groups with the permissions each role needs. Seeded by a migration."""

ROLES: dict[str, list[str]] = {
    "Оператор контакт-центра": [
        "customers.view_customer",
        "customers.view_account",
        "customers.view_contract",
        "customers.view_premises",
        "metering.view_meter",
        "metering.view_reading",
        "users.issue_password",
        "messaging.process_voice",
        "offices.view_appointment",
        "offices.book_for_client",
    ],
    "Специалист по показаниям": [
        "customers.view_customer",
        "customers.view_account",
        "customers.view_contract",
        "metering.view_meter",
        "metering.view_reading",
        "metering.review_reading",
        "messaging.process_voice",
    ],
    "Администратор филиала": [
        "customers.view_customer",
        "customers.change_customer",
        "customers.view_account",
        "customers.view_contract",
        "customers.view_branch",
        "customers.change_branch",
        "metering.view_meter",
        "metering.view_reading",
        "metering.review_reading",
        "metering.view_readingwindow",
        "metering.add_readingwindow",
        "metering.change_readingwindow",
        "metering.delete_readingwindow",
        "content.view_newsitem",
        "content.add_newsitem",
        "content.change_newsitem",
        "content.delete_newsitem",
        "users.issue_password",
        "offices.view_office",
        "offices.add_office",
        "offices.change_office",
        "offices.view_officehours",
        "offices.add_officehours",
        "offices.change_officehours",
        "offices.delete_officehours",
        "offices.view_officeday",
        "offices.add_officeday",
        "offices.change_officeday",
        "offices.delete_officeday",
        "offices.view_window",
        "offices.add_window",
        "offices.change_window",
        "offices.view_service",
        "offices.change_service",
        "offices.view_prioritycategory",
        "offices.view_ticket",
        "offices.view_queue_stats",
        "offices.view_appointment",
        "offices.book_for_client",
        "offices.view_complaintbookentry",
        "offices.review_complaints",
    ],
    "Специалист офиса": [
        "customers.view_customer",
        "customers.view_account",
        "customers.view_contract",
        "metering.view_meter",
        "metering.view_reading",
        "offices.serve_window",
        "offices.view_ticket",
        "offices.view_appointment",
        "offices.book_for_client",
        "offices.add_complaintbookentry",
        "offices.view_complaintbookentry",
    ],
    "Руководитель офиса": [
        "customers.view_customer",
        "customers.view_account",
        "offices.serve_window",
        "offices.view_ticket",
        "offices.view_queue_stats",
        "offices.view_window",
        "offices.change_window",
        "offices.view_appointment",
        "offices.book_for_client",
        "offices.add_complaintbookentry",
        "offices.view_complaintbookentry",
        "offices.review_complaints",
    ],
}


def ensure_roles(apps=None) -> None:
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    for config in global_apps.get_app_configs():
        # create_permissions skips an app whose models_module is unset (as it is while migrating): set it for the
        # call and restore it after, so that the real registry is left as it was.
        saved = config.models_module
        config.models_module = saved or True
        try:
            create_permissions(config, verbosity=0, apps=apps)
        finally:
            config.models_module = saved
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is None:  # its model comes in a later migration, which calls ensure_roles again
                continue
            perms.append(perm)
        group.permissions.set(perms)
