"""``manage.py import_tariffs FILE [--dry-run]``: tariffs or consumption norms from a CSV / XLSX table
(the format is in docs/billing.md); a table with any bad row changes nothing."""

from django.core.management.base import BaseCommand, CommandError

from sbyt.billing.tariffs import import_file
from sbyt.core.errors import DomainError

ACTOR = "import_tariffs"


class Command(BaseCommand):
    help = "Import tariffs (one row per zone) or consumption norms from a CSV or XLSX table; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV or XLSX file")
        parser.add_argument("--dry-run", action="store_true", help="Check and report, change nothing")

    def handle(self, *args, file, dry_run=False, **options):
        try:
            result = import_file(file, actor=ACTOR, dry_run=dry_run)
        except DomainError as error:
            raise CommandError(error.message) from error
        kind = "тарифы" if result.kind == "tariffs" else "нормативы"
        if not result.ok:
            for line, message in result.errors:
                self.stderr.write(f"строка {line}: {message}")
            raise CommandError(f"{file}: {len(result.errors)} ошибок, ничего не загружено.")
        out = self.stdout
        out.write(f"{file}: {kind}, строк {result.rows}.")
        out.write(f"Создано: {result.created}, изменено: {result.updated}, без изменений: {result.unchanged}.")
        for closed in result.closed:
            out.write(f"Закрыт предыдущий тариф: {closed}")
        out.write(self.style.SUCCESS("Проверено, ничего не изменено (--dry-run)." if dry_run else "Готово."))
