"""``manage.py load_offices [FILE] [--prune]``: load the office directory (the bundled file by default)."""

from django.core.management.base import BaseCommand, CommandError

from sbyt.core.errors import DomainError
from sbyt.offices.directory import BUNDLED_FILE, load_directory, read_directory_file

ACTOR = "load_offices"


def _codes(codes: list[str], limit: int = 12) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" и ещё {len(codes) - limit}" if len(codes) > limit else "")


class Command(BaseCommand):
    help = (
        "Load branches, offices, their hours and functions from a directory file (JSON, see docs/offices.md); "
        "by default the bundled sbyt/offices/data/offices.json. Safe to run again: rows are matched by code."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(BUNDLED_FILE), help="Directory file (JSON)")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Remove offices of the file's branches that the file no longer lists "
            "(offices with tickets, appointments or complaint entries are deactivated instead)",
        )

    def handle(self, *args, file, prune=False, **options):
        try:
            result = load_directory(read_directory_file(file), actor=ACTOR, prune=prune)
        except DomainError as error:
            raise CommandError(str(error)) from error
        out = self.stdout
        out.write(f"Справочник офисов: {file}")
        if result.branches_created:
            out.write(f"Филиалы созданы: {len(result.branches_created)} ({_codes(result.branches_created)})")
        if result.branches_existing:
            out.write(f"Филиалы уже были (не изменялись): {_codes(result.branches_existing)}")
        if result.functions_created:
            out.write(f"Функции офисов созданы: {_codes(result.functions_created)}")
        out.write(f"Офисы созданы: {len(result.offices_created)}" + _list(result.offices_created))
        out.write(f"Офисы обновлены: {len(result.offices_updated)}" + _list(result.offices_updated))
        out.write(f"Офисы без изменений: {len(result.offices_unchanged)}")
        if prune:
            out.write(f"Офисы удалены: {len(result.offices_deleted)}" + _list(result.offices_deleted))
            out.write(
                f"Офисы отключены (есть талоны, записи или жалобы): {len(result.offices_deactivated)}"
                + _list(result.offices_deactivated)
            )
        if not result.changed:
            out.write(self.style.SUCCESS("Изменений нет: база уже совпадает с файлом."))
        else:
            out.write(self.style.SUCCESS("Готово."))


def _list(codes: list[str]) -> str:
    return f" ({_codes(codes)})" if codes else ""
