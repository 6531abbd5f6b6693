"""The client base import: CSV (UTF-8, BOM, Windows-1251; ; , tab) and XLSX files, idempotency, bad rows."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection
from openpyxl import Workbook

from sbyt.core.models import AuditEntry
from sbyt.customers.models import Account, Branch, Contract, Customer, Premises
from sbyt.customers.services import ImportFileError, import_accounts
from sbyt.metering.models import Meter, Reading
from tests.factories import BranchFactory, ContractFactory, MeterFactory, ReadingFactory, UserFactory

pytestmark = pytest.mark.django_db

COLUMNS = [
    "branch_code",
    "account_number",
    "customer_kind",
    "last_name",
    "first_name",
    "middle_name",
    "org_name",
    "inn",
    "birth_date",
    "phone",
    "email",
    "address",
    "residents",
    "rooms",
    "stove_type",
    "settlement",
    "contract_number",
    "resource",
    "contract_start",
    "meter_serial",
    "meter_model",
    "zones",
    "digits",
    "installed_on",
    "verification_due",
    "smart",
    "last_reading_date",
    "last_t1",
    "last_t2",
    "last_t3",
]
RUSSIAN = {
    "account_number": "Номер клиента",
    "last_name": "Фамилия",
    "first_name": "Имя",
    "middle_name": "Отчество",
    "phone": "Телефон",
    "address": "Адрес",
    "residents": "Проживающих",
    "stove_type": "Плита",
    "contract_number": "Номер договора",
    "resource": "Ресурс",
    "meter_serial": "Заводской номер",
    "zones": "Зон",
    "digits": "Разрядность",
    "smart": "ИСУ",
    "last_reading_date": "Дата показаний",
    "last_t1": "Т1",
    "last_t2": "Т2",
}
READING_DAY = dt.date(2025, 10, 20)


def row(**values) -> dict:
    base = {
        "branch_code": "11",
        "account_number": "1100000001",
        "customer_kind": "person",
        "last_name": "Иванова",
        "first_name": "Мария",
        "middle_name": "Петровна",
        "birth_date": "17.05.1970",
        "phone": "8 912 967-15-20",
        "address": "г. Сыктывкар, ул. Ленина, д. 1, кв. 5",
        "residents": "2",
        "rooms": "2",
        "stove_type": "gas",
        "settlement": "urban",
        "contract_number": "500001",
        "resource": "electricity",
        "contract_start": "01.01.2020",
        "meter_serial": "0123456",
        "meter_model": "Меркурий 201",
        "zones": "1",
        "digits": "5",
        "installed_on": "2020-01-15",
        "verification_due": "15.01.2036",
        "smart": "0",
        "last_reading_date": "20.10.2025",
        "last_t1": "1234",
    }
    base.update(values)
    return base


def sample_rows() -> list[dict]:
    """Two accounts: a person with a 2-zone meter and a cold-water contract; an organisation with a 3-zone meter."""
    return [
        row(zones="2", digits="6", last_t1="12345", last_t2="6789"),
        row(contract_number="500002", resource="cold_water", meter_serial="W-77", meter_model="ВСХ-15", last_t1="321"),
        row(
            account_number="1100000002",
            customer_kind="organisation",
            last_name="",
            first_name="",
            middle_name="",
            birth_date="",
            org_name="ООО «Югыд»",
            inn="1101234567",
            phone="",
            address="г. Сыктывкар, ул. Мира, д. 10",
            residents="0",
            stove_type="none",
            contract_number="500003",
            meter_serial="9988776",
            zones="3",
            digits="6",
            last_t1="100",
            last_t2="200",
            last_t3="300",
        ),
    ]


def write_csv(path: Path, rows: list[dict], *, delimiter=";", encoding="utf-8", header=None) -> Path:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(header or COLUMNS)
    for item in rows:
        writer.writerow([item.get(c, "") for c in COLUMNS])
    path.write_bytes(text.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[dict]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    for item in rows:
        cells = []
        for column in COLUMNS:
            value = item.get(column, "")
            if column in ("birth_date", "contract_start", "installed_on", "verification_due", "last_reading_date"):
                value = dt.datetime.strptime(value, "%d.%m.%Y") if "." in value else value  # a real date cell
            elif column in ("zones", "digits", "residents", "rooms", "last_t1", "last_t2", "last_t3") and value:
                value = int(value)  # a number cell
            cells.append(value if value != "" else None)
        sheet.append(cells)
    workbook.save(path)
    return path


def run(path, *args) -> str:
    out = io.StringIO()
    call_command("import_accounts", str(path), *args, stdout=out)
    return out.getvalue()


def db_counts() -> dict:
    return {model.__name__: model.objects.count() for model in (Customer, Account, Premises, Contract, Meter, Reading)}


@pytest.fixture
def branch():
    return BranchFactory(code="11")


def assert_sample_imported():
    person = Account.objects.select_related("customer", "branch").get(number="1100000001")
    assert person.branch.code == "11"
    assert person.customer.full_name == "Иванова Мария Петровна"
    assert person.customer.kind == Customer.Kind.PERSON
    assert person.customer.birth_date == dt.date(1970, 5, 17)
    assert person.customer.phone == "+79129671520"
    assert person.premises.count() == 1
    electricity = Contract.objects.get(number="500001")
    assert electricity.resource == Contract.Resource.ELECTRICITY
    assert electricity.start_date == dt.date(2020, 1, 1)
    meter = Meter.objects.get(contract=electricity)
    assert (meter.serial, meter.zones, meter.digits) == ("0123456", 2, 6)
    assert (meter.installed_on, meter.verification_due) == (dt.date(2020, 1, 15), dt.date(2036, 1, 15))
    reading = meter.readings.get()
    assert reading.values == (12345, 6789)
    assert reading.status == Reading.Status.ACCEPTED
    assert reading.channel == "import"
    assert reading.period == dt.date(2025, 10, 1)
    assert reading.received_at.date() == READING_DAY
    water = Contract.objects.get(number="500002")
    assert water.resource == Contract.Resource.COLD_WATER
    assert water.premises_id == electricity.premises_id
    assert water.meters.get().readings.get().values == (321,)
    org = Account.objects.select_related("customer").get(number="1100000002").customer
    assert (org.kind, org.display_name, org.inn) == (Customer.Kind.ORGANISATION, "ООО «Югыд»", "1101234567")
    assert Meter.objects.get(serial="9988776").readings.get().values == (100, 200, 300)


def test_csv_happy_path(branch, tmp_path):
    path = write_csv(tmp_path / "clients.csv", sample_rows())
    out = run(path)
    assert db_counts() == {"Customer": 2, "Account": 2, "Premises": 2, "Contract": 3, "Meter": 3, "Reading": 3}
    assert_sample_imported()
    assert "Строк данных: 3, загружено: 3, с ошибками: 0" in out
    entry = AuditEntry.objects.get(action="customers.import_accounts")
    assert entry.actor_label == "import_accounts"
    assert entry.details["created"] == {
        "customer": 2, "account": 2, "premises": 2, "contract": 3, "meter": 3, "reading": 3,
    }  # fmt: skip


def test_xlsx_happy_path(branch, tmp_path):
    path = write_xlsx(tmp_path / "clients.xlsx", sample_rows())
    report = import_accounts(path, actor="test")
    assert report.errors == []
    assert report.created["reading"] == 3
    assert_sample_imported()


def test_service_accepts_rows_and_russian_aliases(branch):
    rows = [{RUSSIAN.get(k, k): v for k, v in item.items()} for item in sample_rows()]
    rows[0]["Ресурс"] = "электроэнергия"
    rows[1]["Ресурс"] = "ХВС"
    report = import_accounts(rows, actor="test")
    assert report.errors == []
    assert_sample_imported()


def test_cp1251_semicolon_russian_header(branch, tmp_path):
    rows = sample_rows()
    for item in rows[:2]:
        item.update(stove_type="электроплита", smart="нет", settlement="город")
    rows[0].update(resource="Электроэнергия")
    rows[1].update(resource="ХВС")
    header = [RUSSIAN.get(c, c) for c in COLUMNS]
    path = write_csv(tmp_path / "clients.csv", rows, encoding="cp1251", header=header)
    assert b"\xd4\xe0\xec\xe8\xeb\xe8\xff" in path.read_bytes()  # «Фамилия» in Windows-1251
    report = import_accounts(path, actor="test")
    assert report.errors == []
    assert_sample_imported()
    assert Premises.objects.get(account__number="1100000001").stove_type == Premises.StoveType.ELECTRIC


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_utf8_bom_and_other_delimiters(branch, tmp_path, delimiter):
    rows = sample_rows()
    path = write_csv(tmp_path / "clients.csv", rows, delimiter=delimiter, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_accounts(path, actor="test")
    assert report.errors == []
    assert Account.objects.count() == 2
    assert Reading.objects.count() == 3


def test_second_run_updates_and_never_duplicates(branch, tmp_path):
    path = write_csv(tmp_path / "clients.csv", sample_rows())
    import_accounts(path, actor="test")
    before = db_counts()

    again = import_accounts(path, actor="test")
    assert db_counts() == before
    assert sum(again.created.values()) == 0
    assert sum(again.updated.values()) == 0
    assert again.unchanged == {"customer": 2, "account": 2, "premises": 2, "contract": 3, "meter": 3, "reading": 3}

    rows = sample_rows()
    rows[0].update(phone="+7 900 111-22-33", residents="4", meter_model="Меркурий 206", last_t1="12400")
    rows[1].update(phone="+7 900 111-22-33", residents="4")
    write_csv(path, rows)
    changed = import_accounts(path, actor="test")
    assert changed.errors == []
    assert db_counts() == {**before, "Reading": before["Reading"] + 1}
    assert changed.updated["customer"] == 1
    assert changed.updated["premises"] == 1
    assert changed.updated["meter"] == 1
    assert changed.updated["reading"] == 1  # the period's reading replaced, history kept
    assert changed.created["reading"] == 1
    assert Customer.objects.get(accounts__number="1100000001").phone == "+79001112233"
    assert Premises.objects.get(account__number="1100000001").residents == 4
    meter = Meter.objects.get(serial="0123456")
    assert meter.model_name == "Меркурий 206"
    assert list(meter.readings.order_by("pk").values_list("status", "t1")) == [
        ("superseded", 12345),
        ("accepted", 12400),
    ]


def test_empty_cells_leave_stored_values(branch, tmp_path):
    import_accounts(sample_rows(), actor="test")
    rows = [row(phone="", birth_date="", residents="", meter_model="", zones="2", digits="6", last_t1="12345",
                last_t2="6789")]  # fmt: skip
    report = import_accounts(rows, actor="test")
    assert report.errors == []
    customer = Customer.objects.get(accounts__number="1100000001")
    assert (customer.phone, customer.birth_date) == ("+79129671520", dt.date(1970, 5, 17))
    assert Premises.objects.get(account__number="1100000001").residents == 2
    assert Meter.objects.get(serial="0123456").model_name == "Меркурий 201"


def test_existing_live_reading_with_same_values_is_not_repeated(branch):
    contract = ContractFactory(
        number="500001", premises__account__number="1100000001", premises__account__branch=branch
    )
    meter = MeterFactory(contract=contract, serial="0123456", digits=5)
    ReadingFactory(meter=meter, period=dt.date(2025, 10, 1), t1=1234, channel="cabinet")
    report = import_accounts([row()], actor="test")
    assert report.errors == []
    assert report.unchanged["reading"] == 1
    assert meter.readings.count() == 1
    assert report.unchanged["contract"] == 0  # the contract's premises moved to the imported address
    assert Account.objects.count() == 1


BAD_ROWS = [
    # (row overrides, error code)
    ({"account_number": ""}, "missing_account_number"),
    ({"account_number": "12-34"}, "bad_account_number"),
    ({"branch_code": "99"}, "unknown_branch"),
    ({"birth_date": "31.02.1970"}, "bad_date"),
    ({"last_reading_date": "вчера"}, "bad_date"),
    ({"zones": "4"}, "bad_zones"),
    ({"digits": "2"}, "bad_digits"),
    ({"digits": "4", "last_t1": "12345"}, "too_many_digits"),
    ({"zones": "2", "last_t1": "100"}, "wrong_value_count"),
    ({"last_t1": "12,5"}, "bad_reading"),
    ({"last_reading_date": ""}, "missing_reading_date"),
    ({"last_reading_date": "20.10.2099"}, "future_reading"),
    ({"phone": "12345"}, "bad_phone"),
    ({"email": "not-an-email"}, "bad_email"),
    ({"inn": "123"}, "bad_inn"),
    ({"resource": "газ"}, "bad_resource"),
    ({"customer_kind": "инопланетянин"}, "bad_customer_kind"),
    ({"stove_type": "дровяная"}, "bad_stove_type"),
    ({"smart": "может быть"}, "bad_smart"),
    ({"last_name": ""}, "missing_last_name"),
    ({"address": ""}, "missing_address"),
    ({"contract_number": ""}, "missing_contract_number"),
    ({"meter_serial": ""}, "missing_serial"),
]


@pytest.mark.parametrize(("overrides", "code"), BAD_ROWS, ids=[code for _o, code in BAD_ROWS])
def test_bad_row_is_reported_and_good_rows_still_imported(branch, tmp_path, overrides, code):
    rows = [
        row(account_number="1100000010", contract_number="600010", meter_serial="A10"),
        row(**{"account_number": "1100000011", "contract_number": "600011", "meter_serial": "A11", **overrides}),
        row(account_number="1100000012", contract_number="600012", meter_serial="A12"),
    ]
    path = write_csv(tmp_path / "clients.csv", rows)
    report = import_accounts(path, actor="test")
    assert [(e.line, e.code) for e in report.errors] == [(3, code)]
    assert report.errors[0].message
    assert report.imported_rows == 2
    assert set(Account.objects.values_list("number", flat=True)) == {"1100000010", "1100000012"}
    assert not Contract.objects.filter(number="600011").exists()
    assert Reading.objects.count() == 2


def test_command_prints_errors_with_line_numbers(branch, tmp_path):
    rows = [row(), row(account_number="1100000002", contract_number="500009", zones="5")]
    out = run(write_csv(tmp_path / "clients.csv", rows))
    assert "с ошибками: 1" in out
    assert "строка 3 [1100000002]:" in out
    assert Account.objects.count() == 1


def test_rows_of_one_account_must_agree(branch):
    rows = [
        row(),
        row(last_name="Петрова", contract_number="500002", meter_serial="X2"),
        row(contract_number="500003", meter_serial="X3"),
    ]
    report = import_accounts(rows, actor="test")
    assert [(e.line, e.code) for e in report.errors] == [(3, "conflict")]
    assert Customer.objects.get().last_name == "Иванова"
    assert set(Contract.objects.values_list("number", flat=True)) == {"500001", "500003"}


def test_contract_of_another_account_is_refused(branch):
    ContractFactory(number="500001", premises__account__number="1100000099", premises__account__branch=branch)
    report = import_accounts([row()], actor="test")
    assert [e.code for e in report.errors] == ["contract_of_other_account"]
    assert not Account.objects.filter(number="1100000001").exists()


def test_reading_digits_checked_against_the_stored_meter(branch):
    contract = ContractFactory(
        number="500001", premises__account__number="1100000001", premises__account__branch=branch
    )
    MeterFactory(contract=contract, serial="0123456", digits=4, zones=1)
    report = import_accounts([row(digits="", last_t1="12345")], actor="test")
    assert [e.code for e in report.errors] == ["too_many_digits"]


def test_a_failing_account_is_rolled_back_alone(branch):
    """The database refuses one account's customer row: that account is skipped whole, the others are written."""

    def refuse(execute, sql, params, many, context):
        if "INSERT INTO" in sql and "customers_customer" in sql and any("Сбойная" in str(p) for p in params or ()):
            raise IntegrityError("refused by the database")
        return execute(sql, params, many, context)

    rows = [
        row(account_number="1100000001", contract_number="500001", meter_serial="M1"),
        row(account_number="1100000002", contract_number="500002", meter_serial="M2", last_name="Сбойная"),
        row(account_number="1100000003", contract_number="500003", meter_serial="M3"),
    ]
    with connection.execute_wrapper(refuse):
        report = import_accounts(rows, actor="test")
    assert [(e.line, e.code) for e in report.errors] == [(3, "database")]
    assert set(Account.objects.values_list("number", flat=True)) == {"1100000001", "1100000003"}
    assert Customer.objects.count() == 2
    assert not Contract.objects.filter(number="500002").exists()
    assert not Meter.objects.filter(serial="M2").exists()
    assert report.created["account"] == 2


def test_branch_option(tmp_path):
    BranchFactory(code="11")
    BranchFactory(code="18", name="Удмуртский филиал", time_zone="Europe/Samara")
    rows = [row(branch_code=""), row(branch_code="11", account_number="1100000002", contract_number="500002")]
    report = import_accounts(rows, actor="test", branch_code="18")
    assert [(e.line, e.code) for e in report.errors] == [(3, "other_branch")]
    assert Account.objects.get().branch.code == "18"
    with pytest.raises(ImportFileError):
        import_accounts(rows, actor="test", branch_code="77")


def test_without_branch_column_the_only_branch_is_used_else_refused(tmp_path):
    rows = [{k: v for k, v in row().items() if k != "branch_code"}]
    BranchFactory(code="11")
    assert import_accounts(rows, actor="test").errors == []
    assert Account.objects.get().branch.code == "11"
    BranchFactory(code="18", name="Удмуртский филиал")
    with pytest.raises(ImportFileError):
        import_accounts(rows, actor="test")


def test_dry_run_writes_nothing(branch, tmp_path):
    path = write_csv(tmp_path / "clients.csv", sample_rows())
    out = run(path, "--dry-run")
    assert "Ничего не записано" in out
    assert re.search(r"лицевые счета\s+2\s+0\s+0", out)
    assert db_counts() == dict.fromkeys(db_counts(), 0)
    assert not AuditEntry.objects.exists()


def broken_xlsx(path: Path) -> Path:
    write_xlsx(path, sample_rows())
    path.write_bytes(path.read_bytes()[:300])
    return path


UNREADABLE = {
    "missing": lambda p: p / "nothing.csv",
    "empty": lambda p: _write(p / "empty.csv", b""),
    "binary": lambda p: _write(p / "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"),
    "xls": lambda p: _write(p / "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
    "broken_xlsx": lambda p: broken_xlsx(p / "broken.xlsx"),
    "not_a_workbook": lambda p: _write(p / "text.xlsx", "номер_клиента;договор\n1;2\n".encode()),
    "no_required_header": lambda p: _write(p / "other.csv", "фамилия;имя\nИванова;Мария\n".encode()),
    "bad_encoding": lambda p: _write(p / "mixed.csv", b"account_number;contract_number\n\x98\x98;1\n"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", UNREADABLE)
def test_unreadable_file_is_refused_and_nothing_written(branch, tmp_path, kind):
    path = UNREADABLE[kind](tmp_path)
    with pytest.raises(CommandError, match="Файл не загружен: .+"):
        run(path)
    assert db_counts() == dict.fromkeys(db_counts(), 0)
    assert not AuditEntry.objects.exists()


def test_imported_reading_names_the_user_and_file_line(branch, tmp_path):
    user = UserFactory(is_staff=True)
    path = write_csv(tmp_path / "base.csv", [row()])
    import_accounts(path, actor=user)
    reading = Reading.objects.get()
    assert reading.submitted_by == user
    assert reading.source == "base.csv:2"
    assert AuditEntry.objects.get(action="customers.import_accounts").actor == user


def test_set_based_query_count(branch, django_assert_max_num_queries):
    rows = []
    for n in range(1000):
        for k in range(2):
            rows.append(
                row(
                    account_number=f"{1100100000 + n}",
                    contract_number=f"{7000000 + 2 * n + k}",
                    meter_serial=f"S{n}-{k}",
                    address=f"г. Сыктывкар, ул. Ленина, д. {n}",
                    phone=f"+7912{n:07d}",
                )
            )
    # A fixed handful of queries per entity and chunk (Django splits SQLite inserts at 999 parameters).
    with django_assert_max_num_queries(150):
        report = import_accounts(rows, actor="test")
    assert report.errors == []
    assert report.created == {"customer": 1000, "account": 1000, "premises": 1000, "contract": 2000, "meter": 2000,
                              "reading": 2000}  # fmt: skip
    with django_assert_max_num_queries(30):
        again = import_accounts(rows, actor="test")
    assert sum(again.created.values()) == 0
    assert Branch.objects.count() == 1


def test_every_column_is_documented():
    from sbyt.customers.services import COLUMNS as SERVICE_COLUMNS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "import-format.md").read_text(encoding="utf-8")
    for column in SERVICE_COLUMNS:
        assert f"| `{column}` |" in doc, column
