"""``manage.py import_accounts FILE [--branch CODE] [--dry-run]``: load the client base from CSV or XLSX."""

from django.core.management.base import BaseCommand, CommandError

from sbyt.customers.services import ENTITIES, ImportFileError, import_accounts

ENTITY_LABELS = {
    "customer": "клиенты",
    "account": "лицевые счета",
    "premises": "помещения",
    "contract": "договоры",
    "meter": "приборы учёта",
    "reading": "показания",
}


class Command(BaseCommand):
    help = (
        "Import customers, accounts, premises, contracts, meters and last readings from a CSV or XLSX file "
        "(columns: docs/import-format.md). Idempotent; bad rows are reported and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8 or Windows-1251; ; , or tab) or XLSX file")
        parser.add_argument("--branch", metavar="CODE", help="Branch of rows without a branch_code; limits the import")
        parser.add_argument("--dry-run", action="store_true", help="Check and count everything, write nothing")

    def handle(self, *args, file, branch=None, dry_run=False, **options):
        try:
            report = import_accounts(file, actor="import_accounts", branch_code=branch, dry_run=dry_run)
        except ImportFileError as exc:
            raise CommandError(f"Файл не загружен: {exc.message}")

        out = self.stdout
        title = "Проверка без записи (--dry-run)" if dry_run else "Загрузка"
        out.write(f"{title}: {report.source}")
        out.write(
            f"Строк данных: {report.rows}, загружено: {report.imported_rows}, с ошибками: {len(report.bad_lines)}"
        )
        if report.ignored_columns:
            out.write("Неизвестные столбцы пропущены: " + ", ".join(report.ignored_columns))
        out.write(f"{'':<16}{'создано':>10}{'изменено':>10}{'без изменений':>16}")
        for entity in ENTITIES:
            out.write(
                f"{ENTITY_LABELS[entity]:<16}{report.created[entity]:>10}{report.updated[entity]:>10}"
                f"{report.unchanged[entity]:>16}"
            )
        if report.errors:
            out.write(f"Ошибки ({len(report.errors)}):")
            for error in report.errors:
                number = f" [{error.account_number}]" if error.account_number else ""
                out.write(self.style.WARNING(f"  строка {error.line}{number}: {error.message}"))
        if dry_run:
            out.write("Ничего не записано: это была проверка.")
