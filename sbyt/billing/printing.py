"""The printing-house batch: the paper bills of one branch and period as one ZIP file.

Inside: ``bills/<bill number>.pdf`` for every bill, in the order given (the printing house prints and
envelopes in that order), and ``register.csv`` — one line per bill: number, account, payer, address, total due,
file name; UTF-8 with a BOM, ``;``-separated, amounts with a decimal point. Written streaming: one PDF in memory
at a time, the register spooled to a temporary file and added last; the archive is written as ``….zip.part``
and renamed when complete, so a crash never leaves a batch that looks finished. See docs/bills.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sbyt.core.errors import DomainError
from sbyt.core.money import round_half_up

from .documents import BillDocument, render_bill

REGISTER = "register.csv"
REGISTER_HEADER = ("number", "account", "payer", "address", "total_due", "file")
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


@dataclass(frozen=True, slots=True)
class PrintBatch:
    path: Path
    count: int
    total_due: Decimal  # the sum of the bills' totals (what the register adds up to)


def batch_name(branch_code: str, period: dt.date) -> str:
    return f"bills_{_UNSAFE.sub('_', branch_code)}_{period:%Y-%m}.zip"


def bill_file_name(bill: BillDocument) -> str:
    return f"bills/{_UNSAFE.sub('_', bill.number)}.pdf"


def write_print_batch(
    bills: Iterable[BillDocument], *, branch_code: str, period: dt.date, directory: Path | str
) -> PrintBatch:
    """Render ``bills`` (one branch, one period, in printing order) into ``directory/bills_<branch>_<YYYY-MM>.zip``.

    Refuses, leaving no file, a bill of another period or a bill number met twice."""
    directory = Path(directory)
    path = directory / batch_name(branch_code, period)
    part = path.with_name(path.name + ".part")
    seen: set[str] = set()
    count, total = 0, Decimal("0.00")
    try:
        with (
            zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive,
            tempfile.TemporaryFile() as spool,
        ):
            register = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
            writer = csv.writer(register, delimiter=";", lineterminator="\r\n")
            writer.writerow(REGISTER_HEADER)
            for bill in bills:
                if bill.period != period:
                    raise DomainError(
                        f"Счёт № {bill.number} выставлен за {bill.period:%m.%Y}, а пакет — за {period:%m.%Y}."
                    )
                name = bill_file_name(bill)
                if name in seen:
                    raise DomainError(f"Счёт № {bill.number} встречается в пакете дважды.")
                seen.add(name)
                # PDFs are compressed already: stored as they are; the entry dated by the bill, not by the clock
                info = zipfile.ZipInfo(name, date_time=(*bill.issue_date.timetuple()[:3], 0, 0, 0))
                archive.writestr(info, render_bill(bill), compress_type=zipfile.ZIP_STORED)
                due = round_half_up(bill.total_due)
                writer.writerow((bill.number, bill.account_number, bill.payer_name, bill.address, f"{due:f}", name))
                count += 1
                total += due
            register.flush()
            spool.seek(0)
            info = zipfile.ZipInfo(REGISTER, date_time=(*period.timetuple()[:3], 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as out:
                shutil.copyfileobj(spool, out)
            register.detach()
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return PrintBatch(path=path, count=count, total_due=total)


def read_register(path: Path | str) -> list[dict[str, str]]:
    """The register of a batch as dictionaries (for checks and tests)."""
    with zipfile.ZipFile(path) as archive:
        text = archive.read(REGISTER).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
