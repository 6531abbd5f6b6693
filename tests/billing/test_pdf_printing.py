"""The printing-house batch: the bills' PDFs of one branch and period in a ZIP with the CSV register."""

import datetime as dt
import zipfile
from decimal import Decimal as D

import pytest

from sbyt.billing.printing import REGISTER, read_register, write_print_batch
from sbyt.core.errors import DomainError

from .test_documents import bill, pdf_pages_text

PERIOD = dt.date(2026, 11, 1)


def bills(n: int):
    for i in range(n):
        yield bill(
            number=f"11-2026-11-{i:07d}",
            account_number=f"{100000000 + i}",
            payer_name=f"Клиент № {i}; «кавычки»",  # the delimiter and quotes inside a value
            total_due=D("100.505") + i if i != 2 else D("-40.00"),
        )


def test_the_batch_holds_every_pdf_and_a_register_in_printing_order(tmp_path):
    batch = write_print_batch(bills(4), branch_code="11", period=PERIOD, directory=tmp_path)
    assert batch.path == tmp_path / "bills_11_2026-11.zip"
    assert batch.count == 4
    assert batch.total_due == D("100.51") + D("101.51") - D("40.00") + D("103.51")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bills_11_2026-11.zip"]  # no .part left
    with zipfile.ZipFile(batch.path) as archive:
        names = archive.namelist()
        assert names == [f"bills/11-2026-11-{i:07d}.pdf" for i in range(4)] + [REGISTER]
        assert archive.getinfo(names[0]).compress_type == zipfile.ZIP_STORED  # PDFs are compressed already
        assert archive.getinfo(REGISTER).compress_type == zipfile.ZIP_DEFLATED
        raw = archive.read(REGISTER)
        first = archive.read(names[0])
    assert raw.startswith(b"\xef\xbb\xbfnumber;account;payer;address;total_due;file\r\n")  # UTF-8 with BOM
    assert "11-2026-11-0000000" in pdf_pages_text(first)[0]
    rows = read_register(batch.path)
    assert [row["file"] for row in rows] == names[:4]
    assert rows[0] == {
        "number": "11-2026-11-0000000",
        "account": "100000000",
        "payer": "Клиент № 0; «кавычки»",
        "address": "167000, г. Сыктывкар, ул. Коммунистическая, д. 12, кв. 34",
        "total_due": "100.51",
        "file": "bills/11-2026-11-0000000.pdf",
    }
    assert rows[2]["total_due"] == "-40.00"


def test_the_batch_is_written_while_the_bills_come(tmp_path):
    """Streaming: each PDF is in the archive file before the next bill is even asked for."""
    part = tmp_path / "bills_11_2026-11.zip.part"
    sizes = []

    def watched():
        for document in bills(3):
            sizes.append(part.stat().st_size if part.exists() else 0)
            yield document

    write_print_batch(watched(), branch_code="11", period=PERIOD, directory=tmp_path)
    assert sizes[0] < 1000 < sizes[1] < sizes[2]  # grows by a PDF (~20 KiB) per bill


def test_a_bill_of_another_period_refuses_the_batch_and_leaves_no_file(tmp_path):
    documents = [*bills(2), bill(number="x-1", period=dt.date(2026, 10, 1))]
    with pytest.raises(DomainError) as refused:
        write_print_batch(documents, branch_code="11", period=PERIOD, directory=tmp_path)
    assert refused.value.message == "Счёт № x-1 выставлен за 10.2026, а пакет — за 11.2026."
    assert list(tmp_path.iterdir()) == []


def test_a_bill_met_twice_refuses_the_batch(tmp_path):
    with pytest.raises(DomainError) as refused:
        write_print_batch([bill(), bill()], branch_code="11", period=PERIOD, directory=tmp_path)
    assert refused.value.message == "Счёт № 11-2026-11-0000001 встречается в пакете дважды."
    assert list(tmp_path.iterdir()) == []


def test_names_are_safe_file_names(tmp_path):
    batch = write_print_batch(
        [bill(number="11/2026/ 0001")], branch_code="Сыктывкар/11", period=PERIOD, directory=tmp_path
    )
    assert batch.path.name == "bills_" + "_" * 10 + "11_2026-11.zip"  # 9 letters and the slash replaced
    with zipfile.ZipFile(batch.path) as archive:
        assert archive.namelist() == ["bills/11_2026__0001.pdf", REGISTER]


def test_an_empty_batch_has_only_the_register(tmp_path):
    batch = write_print_batch([], branch_code="11", period=PERIOD, directory=tmp_path)
    assert batch.count == 0 and batch.total_due == D("0.00")
    assert read_register(batch.path) == []
