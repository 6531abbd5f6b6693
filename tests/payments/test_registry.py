"""Bank and post registries: the Sberbank layout in cp1251 with readings, the trailer check, duplicates, unknown
accounts, broken lines, allocation on the ledger, the readings service's rules, fixed queries per chunk."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sbyt.billing.models import LedgerEntry
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.metering.models import Reading
from sbyt.payments import reader
from sbyt.payments.models import Payment, Registry, RegistryFormat, SuspenseItem
from sbyt.payments.registries import debt_registry, import_registry, receive_registry
from sbyt.payments.services import assign_suspense, return_suspense
from tests.factories import ContractFactory, MeterFactory, ReadingFactory, aware, staff_login
from tests.payments.conftest import INSIDE, balance, charge, payment_entries
from tests.payments.registry_support import sber_file, sber_line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inside_the_window():
    with time_machine.travel(INSIDE, tick=False):
        yield


def run(data: bytes, fmt: RegistryFormat, *, name="sber_20112026.txt", actor="import_registry") -> Registry:
    registry = receive_registry(data=data, file_name=name, registry_format=fmt, actor=actor)
    return import_registry(registry=registry, actor=actor)


# --- the reader ---------------------------------------------------------------------------------------------


def test_reader_reads_the_sberbank_layout_in_cp1251_with_readings():
    data = sber_file(
        [
            sber_line("300000001", "1500,00", extras=["CounterVal_1:11250", "CounterVal_2:45100"]),
            sber_line("300000002", "99,50", period="", time="23-59-59"),
        ]
    )
    assert "ИВАНОВА".encode("cp1251") in data  # the bytes really are Windows-1251
    parsed = reader.read(data, reader.SBERBANK)
    first, second = parsed.lines
    assert (first.no, first.account, first.amount, first.period) == (
        1,
        "300000001",
        Decimal("1500.00"),
        dt.date(2026, 11, 1),
    )
    assert first.readings == {1: "11250", 2: "45100"}
    assert first.name == "ИВАНОВА МАРИЯ ПЕТРОВНА"
    assert first.paid_at == aware(2026, 11, 20, 10).replace(minute=15)
    assert (second.period, second.readings) == (None, {})
    assert parsed.trailer == reader.Trailer(2, Decimal("1599.50"), Decimal("1599.50"))
    assert parsed.problems == []


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("20-11-2026;10-15-00;8617;0001", "12"),  # 4 fields instead of 12
        (sber_line("", "10,00"), ""),  # no client number
        (sber_line("300000001", "10,00", date="31-02-2026"), ""),  # no such day
        (sber_line("300000001", "10,00", period="1326"), "1326"),  # no 13th month
        (sber_line("300000001", "10,00", extras=["CounterVal_x:5"]), "CounterVal_x"),
    ],
)
def test_reader_reports_a_broken_line_with_its_number(line, fragment):
    parsed = reader.read(sber_file([sber_line("300000001", "10,00"), line]), reader.SBERBANK)
    assert [p.line for p in parsed.problems] == [2]
    assert fragment in parsed.problems[0].message
    assert [line.no for line in parsed.lines] == [1]


@pytest.mark.parametrize(
    ("count", "total", "fragment"),
    [(3, None, "3"), (None, "1600.00", "1\u00a0600,00"), (None, None, None)],
)
def test_reader_refuses_a_file_whose_trailer_does_not_match(count, total, fragment):
    lines = [sber_line("300000001", "1500,00"), sber_line("300000002", "99,50")]
    data = sber_file(lines, count=count, total=total)
    if fragment is None:
        data = data.replace(b"=2;", b"")  # no totals line at all
    with pytest.raises(reader.RegistryRefused) as refused:
        reader.read(data, reader.SBERBANK)
    assert fragment is None or fragment in refused.value.message


def test_reader_refuses_bytes_that_are_not_the_layouts_encoding():
    data = sber_file([sber_line("300000001", "10,00")]) + b"\x98\r\n"
    with pytest.raises(reader.RegistryRefused, match="cp1251"):
        reader.read(data, reader.SBERBANK)


def test_layout_checks_its_configuration():
    with pytest.raises(ValueError, match="unknown"):
        reader.Layout(fields=("date", "account", "amount", "colour"))
    with pytest.raises(ValueError, match="account"):
        reader.Layout(fields=("date", "amount"))
    with pytest.raises(LookupError):
        reader.Layout(fields=("date", "account", "amount"), encoding="no-such-codec")


# --- import -------------------------------------------------------------------------------------------------


def test_import_credits_payments_takes_readings_and_keeps_unknown_accounts_aside(household, sberbank):
    account, contract, one, two = household
    data = sber_file(
        [
            sber_line(
                "300000001", "1500,00", extras=["CounterVal_1:11250", "CounterVal_2:45100", "CounterVal_3:23050"]
            ),
            sber_line("999999999", "300,00", name="ПЕТРОВ П П"),
            sber_line("300000001", "abc", period="1326"),
        ],
        total="1800.00",
    )
    data = data.replace(b"abc", b"0,00")  # a zero amount: a broken line whose sum still reconciles
    registry = run(data, sberbank)

    assert registry.status == Registry.Status.IMPORTED
    assert (registry.lines, registry.payments_count, registry.payments_amount) == (3, 1, Decimal("1500.00"))
    assert (registry.suspense_count, registry.suspense_amount, registry.broken_count) == (1, Decimal("300.00"), 1)
    assert [p["line"] for p in registry.problems] == [3]
    assert (registry.readings_count, registry.readings_accepted) == (2, 2)

    payment = Payment.objects.get()
    assert (payment.channel, payment.account, payment.line_no, payment.period) == (
        "bank",
        account,
        1,
        dt.date(2026, 11, 1),
    )
    assert payment.paid_on == dt.date(2026, 11, 20)
    # ГК РФ ст. 319.1: November is named but has no charge yet, so the oldest debt goes first, then October, then
    # the rest is an advance.
    assert payment_entries(account) == [
        (contract.pk, Decimal("-1500.00"), dt.date(2026, 11, 1), "payment", str(payment.pk))
    ]
    assert balance(account) == Decimal("700.00")

    readings = Reading.objects.filter(channel="bank").order_by("meter_id")
    assert [(r.meter_id, r.values, r.status, r.period) for r in readings] == [
        (one.pk, (11250,), "accepted", dt.date(2026, 11, 1)),
        (two.pk, (45100, 23050), "accepted", dt.date(2026, 11, 1)),
    ]
    assert readings[0].source == "sber_20112026.txt:1"

    item = SuspenseItem.objects.get()
    assert (item.line_no, item.account_text, item.amount, item.payer) == (
        2,
        "999999999",
        Decimal("300.00"),
        "ПЕТРОВ П П",
    )
    assert AuditEntry.objects.filter(action="payments.registry_import").count() == 1


def test_a_stated_period_is_paid_first_else_the_oldest_debt(household, sberbank):
    account, contract, _one, _two = household
    registry = run(
        sber_file([sber_line("300000001", "1200,00", period="1026"), sber_line("300000001", "500,00", period="")]),
        sberbank,
    )
    assert registry.payments_count == 2
    from sbyt.billing.queries import unpaid_by_period

    # the first line named October and paid it; the second named nothing and went to September, the oldest
    assert unpaid_by_period(account) == {dt.date(2026, 9, 1): Decimal("500.00")}


def test_the_same_file_twice_credits_nothing(household, sberbank):
    account, *_ = household
    data = sber_file([sber_line("300000001", "1500,00")])
    run(data, sberbank)
    with pytest.raises(DomainError) as again:
        receive_registry(data=data, file_name="copy.txt", registry_format=sberbank, actor="import_registry")
    assert again.value.code == "duplicate"
    assert Payment.objects.count() == 1
    assert balance(account) == Decimal("700.00")
    assert Registry.objects.count() == 1


def test_a_trailer_that_does_not_match_refuses_the_whole_file(household, sberbank):
    account, *_ = household
    data = sber_file([sber_line("300000001", "1500,00", extras=["CounterVal_1:11250"])], total="1499.00")
    registry = run(data, sberbank)
    assert registry.status == Registry.Status.REFUSED
    assert "1\u00a0499,00" in registry.refusal and "1\u00a0500,00" in registry.refusal
    assert Payment.objects.count() == 0
    assert Reading.objects.filter(channel="bank").count() == 0
    assert SuspenseItem.objects.count() == 0
    assert balance(account) == Decimal("2200.00")
    assert bytes(registry.content) == data  # kept as received


def test_readings_follow_the_readings_rules_and_are_reported_with_line_numbers(household, sberbank):
    _account, _contract, one, _two = household
    data = sber_file(
        [
            sber_line("300000001", "100,00", extras=["CounterVal_1:10900"]),  # lower than October's 11 000
            sber_line("300000001", "100,00", extras=["CounterVal_2:45100"]),  # night value missing
            sber_line("300000001", "100,00", extras=["CounterVal_9:1"]),  # no such counter
        ]
    )
    registry = run(data, sberbank)
    assert registry.payments_count == 3
    assert (registry.readings_count, registry.readings_accepted) == (2, 0)
    notes = {note["line"]: note for note in registry.reading_notes}
    assert set(notes) == {1, 2, 3}
    assert notes[1]["meter"] == one.serial
    assert "11000" in notes[1]["message"].replace("\u00a0", "").replace(" ", "")
    rejected = Reading.objects.filter(channel="bank", status="rejected").values_list("reason", flat=True)
    assert sorted(rejected) == ["empty_value", "lower_than_previous"]


def test_a_reading_after_the_window_goes_to_the_next_period(household, sberbank):
    _account, _contract, one, _two = household
    data = sber_file([sber_line("300000001", "100,00", date="27-11-2026", extras=["CounterVal_1:11300"])])
    with time_machine.travel(aware(2026, 11, 28), tick=False):
        registry = run(data, sberbank)
    assert registry.readings_accepted == 1
    assert Reading.objects.get(meter=one, channel="bank").period == dt.date(2026, 12, 1)


def test_assign_and_return_suspense_lines(household, sberbank):
    account, contract, _one, _two = household
    run(sber_file([sber_line("30000001", "700,00"), sber_line("777", "50,00")]), sberbank)
    first, second = SuspenseItem.objects.order_by("line_no")
    accountant = staff_login("Бухгалтер по платежам")
    clerk = staff_login("Кассир")
    with pytest.raises(PermissionDenied):
        assign_suspense(item=first, account=account, actor=clerk)
    payment = assign_suspense(item=first, account=account, actor=accountant, note="опечатка в номере")
    assert (payment.channel, payment.amount, payment.line_no, payment.account) == (
        "bank",
        Decimal("700.00"),
        1,
        account,
    )
    assert balance(account) == Decimal("1500.00")
    first.refresh_from_db()
    assert (first.status, first.payment, first.resolved_by) == ("assigned", payment, accountant)
    with pytest.raises(DomainError):
        assign_suspense(item=first, account=account, actor=accountant)
    with pytest.raises(DomainError):
        return_suspense(item=second, actor=accountant, note=" ")
    return_suspense(item=second, actor=accountant, note="Возвращён в банк: счёт не существует")
    second.refresh_from_db()
    assert second.status == "returned"
    assert Payment.objects.count() == 1
    assert contract  # the payment went to the account's only contract
    assert LedgerEntry.objects.filter(document_id=str(payment.pk), contract=contract).exists()


def test_a_person_needs_the_permission_to_import(sberbank):
    with pytest.raises(PermissionDenied):
        receive_registry(data=b"x", file_name="x", registry_format=sberbank, actor=staff_login("Кассир"))
    assert Registry.objects.count() == 0


def test_queries_per_chunk_do_not_grow_with_its_size(household, sberbank):
    account, contract, _one, _two = household

    def lines(n, day):
        return [
            sber_line(
                "300000001", "10,00", date=day, time=f"10-{i // 60:02d}-{i % 60:02d}", extras=["CounterVal_1:11250"]
            )
            for i in range(n)
        ]

    counts = []
    for n, day in ((3, "18-11-2026"), (5, "19-11-2026"), (40, "20-11-2026")):  # the first warms the caches
        registry = receive_registry(
            data=sber_file(lines(n, day)), file_name=f"{n}.txt", registry_format=sberbank, actor="t"
        )
        with CaptureQueriesContext(connection) as captured:
            registry = import_registry(registry=registry, actor="t")
        assert registry.payments_count == n
        counts.append(len(captured.captured_queries))
    assert counts[1] == counts[2], counts


def test_the_post_layout_with_operation_ids_catches_an_operation_sent_twice(household):
    account, *_ = household
    post = RegistryFormat.objects.get(code="russian-post")
    first = "ИТОГО|1|250.00"
    data = "\r\n".join(["77001|20.11.2026|300000001|Иванова М.П.|Сыктывкар|11.2026|250.00|CounterVal_1:11300", first])
    registry = run(data.encode("cp1251"), post, name="post1.txt")
    assert (registry.status, registry.payments_count, registry.readings_accepted) == ("imported", 1, 1)
    assert Payment.objects.get().channel == "post"
    assert Reading.objects.get(channel="post").t1 == 11300
    again = "\r\n".join(
        [
            "77001|20.11.2026|300000001|Иванова М.П.|Сыктывкар|11.2026|250.00",
            "77002|20.11.2026|300000001|Иванова М.П.|Сыктывкар||50.00",
            "ИТОГО|2|300.00",
        ]
    )
    registry = run(again.encode("cp1251"), post, name="post2.txt")
    assert (registry.payments_count, registry.duplicate_count) == (1, 1)
    assert registry.problems[0]["line"] == 1
    assert balance(account) == Decimal("1900.00")


def test_import_registry_command(household, sberbank, tmp_path, capsys):
    path = tmp_path / "sber.txt"
    path.write_bytes(sber_file([sber_line("300000001", "1500,00", extras=["CounterVal_1:11250"])]))
    call_command("import_registry", str(path), "--format", "sberbank")
    out = capsys.readouterr().out
    assert "Зачислено: 1" in out and "принято 1" in out
    with pytest.raises(CommandError):
        call_command("import_registry", str(path), "--format", "sberbank")
    assert Payment.objects.count() == 1
    bad = tmp_path / "bad.txt"
    bad.write_bytes(sber_file([sber_line("300000001", "1,00")], count=5))
    with pytest.raises(CommandError, match="отклонён"):
        call_command("import_registry", str(bad), "--format", "sberbank")
    with pytest.raises(CommandError, match="формат"):
        call_command("import_registry", str(bad), "--format", "nope")


def test_debt_registry_lists_debts_and_counters_with_previous_readings(household):
    account, contract, one, two = household
    other = ContractFactory(premises__account__branch=account.branch)
    charge(other, "10.00", dt.date(2026, 10, 1))
    MeterFactory(contract=other, status="removed")
    data, count, total = debt_registry(branch=account.branch, actor=staff_login("Бухгалтер по платежам"))
    lines = data.decode("cp1251").split("\r\n")
    assert count == 2 and total == Decimal("2210.00")
    mine = next(line for line in lines if line.startswith("300000001;"))
    fields = mine.split(";")
    assert fields[3:5] == ["1126", "2200,00"]
    assert fields[5:9] == [
        f"CounterId_1:{one.serial}",
        "CounterName_1:общий",
        "CounterPrev_1:11000",
        "CounterPrevDate_1:20.10.2026",
    ]
    assert fields[9:11] == [f"CounterId_2:{two.serial}", "CounterName_2:день"]
    assert "CounterPrev_3:23000" in fields
    assert lines[-2] == "=2;2210,00"
    with pytest.raises(PermissionDenied):
        debt_registry(branch=account.branch, actor=staff_login("Кассир"))


def test_reading_slots_skip_nothing_between_contracts(household, sberbank):
    """The counters of a second (water) contract follow the electricity ones: slot 4 is its meter."""
    account, _contract, _one, _two = household
    water = ContractFactory(premises=account.premises.first(), resource="cold_water", number="555")
    meter = MeterFactory(contract=water)
    ReadingFactory(meter=meter, t1=40, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    registry = run(sber_file([sber_line("300000001", "10,00", extras=["CounterVal_4:45"])]), sberbank)
    assert registry.readings_accepted == 1
    assert Reading.objects.get(channel="bank").meter == meter
