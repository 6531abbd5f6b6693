"""``manage.py import_registry FILE --format sberbank``: store and import a bank or post payment registry."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sbyt.core.errors import DomainError
from sbyt.payments.models import RegistryFormat
from sbyt.payments.registries import import_registry, receive_registry


class Command(BaseCommand):
    help = (
        "Import a payment registry file (payments, readings in CounterVal_n tags, totals trailer). "
        "The same file twice imports nothing; a trailer that does not match refuses the whole file."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the registry file as the bank or the post sent it")
        parser.add_argument(
            "--format", required=True, metavar="CODE", help="registry format code (sberbank, russian-post, …)"
        )

    def handle(self, *args, file, format, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"Файл не найден: {file}")
        registry_format = RegistryFormat.objects.filter(code=format).first()
        if registry_format is None:
            known = ", ".join(RegistryFormat.objects.values_list("code", flat=True))
            raise CommandError(f"Неизвестный формат реестра «{format}». Известные: {known}")
        try:
            registry = receive_registry(
                data=path.read_bytes(), file_name=path.name, registry_format=registry_format, actor="import_registry"
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        registry = import_registry(registry=registry, actor="import_registry")
        out = self.stdout
        out.write(f"Реестр № {registry.pk}: {registry.file_name} — {registry.get_status_display()}")
        if registry.refusal:
            out.write(self.style.ERROR(registry.refusal))
            raise CommandError("Реестр отклонён целиком: ничего не зачислено.")
        out.write(f"Строк платежей: {registry.lines}, сумма {registry.lines_amount} ₽")
        if registry.declared_count is not None:
            out.write(f"Итоговая строка: {registry.declared_count} шт., {registry.declared_amount} ₽ — сходится")
        out.write(f"Зачислено: {registry.payments_count} на {registry.payments_amount} ₽")
        out.write(f"Невыясненные (счёт не найден): {registry.suspense_count} на {registry.suspense_amount} ₽")
        if registry.duplicate_count:
            out.write(f"Уже зачислены ранее: {registry.duplicate_count}")
        out.write(f"Показаний: {registry.readings_count}, принято {registry.readings_accepted}")
        for problem in registry.problems:
            out.write(self.style.WARNING(f"  строка {problem['line']}: {problem['message']}"))
        for note in registry.reading_notes:
            meter = f" (прибор № {note['meter']})" if note.get("meter") else ""
            out.write(self.style.WARNING(f"  строка {note['line']}{meter}: {note['message']}"))
