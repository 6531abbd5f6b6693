"""``import_accounts`` refuses a file that is too large, and an XLSX workbook that unpacks to far more data
than its size (a «zip bomb»), with a clear message and before reading it into memory."""

import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from sbyt.customers.models import Account
from sbyt.customers.services import ImportFileError, import_accounts

pytestmark = pytest.mark.django_db

HEADER = "branch_code;account_number;last_name;first_name;phone;address;contract_number;resource\n"


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path, settings):
    settings.SBYT_IMPORT_MAX_BYTES = 1000
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "11;110000001;Иванова;Мария;+79120000001;ул. Ленина, 1;200001;electricity\n" * 30)
    with pytest.raises(ImportFileError) as caught:
        import_accounts(path, actor="test")
    assert caught.value.message
    with pytest.raises(CommandError):
        call_command("import_accounts", str(path), stdout=io.StringIO())
    assert not Account.objects.exists()


def test_an_xlsx_that_unpacks_to_too_much_is_refused(tmp_path, settings):
    settings.SBYT_IMPORT_MAX_BYTES = 20_000
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(";"))
    for n in range(10):  # a cell holds at most 32 767 characters
        sheet.append(["11", f"11000000{n}", "Иванова" + "а" * 30_000, "Мария", "+79120000001", "ул. Ленина", "1", "x"])
    path = tmp_path / "bomb.xlsx"
    workbook.save(path)
    assert path.stat().st_size < 20_000
    with pytest.raises(ImportFileError) as caught:
        import_accounts(path, actor="test")
    assert caught.value.message
    assert not Account.objects.exists()


def test_a_file_within_the_limit_still_imports(tmp_path, settings):
    settings.SBYT_IMPORT_MAX_BYTES = 100_000
    path = tmp_path / "ok.csv"
    path.write_text(HEADER + "11;110000001;Иванова;Мария;+79120000001;ул. Ленина, 1;200001;electricity\n")
    from tests.factories import BranchFactory

    BranchFactory(code="11")
    report = import_accounts(path, actor="test")
    assert report.imported_rows == 1, report.errors
