"""Printable billing documents: the rendering inputs (plain data) and their PDF renderers.

The dataclasses below are what the billing services build from an issued bill, a balance or a ledger; they
hold only ``str``, ``Decimal``, ``date`` and tuples of other such dataclasses — no ORM objects — so a document
renders with no database. Money is in rubles (``Decimal`` with 2 places); volumes in their unit (kWh, m³).
Signs: a positive balance is a debt, a negative one an overpayment.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from sbyt.core.errors import DomainError
from sbyt.core.money import round_half_up
from sbyt.core.periods import add_months, period_label

from . import qr

__all__ = [
    "BillDocument",
    "CertificateDocument",
    "ChargeLine",
    "ReadingLine",
    "StatementDocument",
    "StatementLine",
    "Supplier",
    "register_fonts",
    "render_bill",
    "render_certificate",
    "render_statement",
]


@dataclass(frozen=True, slots=True)
class Supplier:
    """The payee as printed on a document and encoded in the payment QR code."""

    name: str  # «АО «Энергосбыт»» — the QR ``Name``
    inn: str  # 10 digits (organisation) — ``PayeeINN``
    kpp: str  # 9 digits — ``KPP``
    bank_account: str  # расчётный счёт, 20 digits — ``PersonalAcc``
    bank_name: str  # ``BankName``
    bic: str  # 9 digits — ``BIC``
    correspondent_account: str  # 20 digits — ``CorrespAcc``
    contact_phone: str  # the contact-centre phone, printed prominently (BIL-3)
    channels: str = ""  # the other channels, one free text: site, cabinet, app, bots, e-mail…
    address: str = ""  # the supplier's (or branch's) postal address


@dataclass(frozen=True, slots=True)
class ReadingLine:
    """One meter register (zone) on the bill. Values may be ``None`` when the volume was not metered
    (billed by average or norm): the bill then shows a dash."""

    meter: str  # meter serial number
    zone: str  # «» for a single-rate meter, else «день», «ночь», «пик», «полупик»…
    previous_value: Decimal | None
    previous_date: dt.date | None
    current_value: Decimal | None
    current_date: dt.date | None
    consumption: Decimal  # kWh to 2 places
    method: str  # label: «по показаниям», «по среднему», «по нормативу», «перерасчёт»


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One priced line: a service in one zone and one volume range."""

    service: str  # «Электроснабжение»
    zone: str  # «» or the zone label
    volume_range: str  # «» or «1-й диапазон (до 3 900 кВт·ч)»
    volume: Decimal
    unit: str  # «кВт·ч», «м³»
    price: Decimal  # rubles per unit, up to 6 places
    amount: Decimal  # rubles, 2 places


@dataclass(frozen=True, slots=True)
class BillDocument:
    """An issued bill (счёт-квитанция) for one account and one period, as printed and QR-encoded."""

    number: str  # the bill's unique number
    period: dt.date  # the billing period, as the date of its 1st day
    issue_date: dt.date
    due_date: dt.date  # pay by (the 10th / 15th of the next month)
    account_number: str  # the client number (лицевой счёт) — the QR ``PersAcc``
    payer_name: str
    address: str  # the premises
    supplier: Supplier
    readings: tuple[ReadingLine, ...] = ()
    charges: tuple[ChargeLine, ...] = ()
    opening_balance: Decimal = Decimal("0.00")  # at the start of the period: + debt, − overpayment
    payments: Decimal = Decimal("0.00")  # received in the period (positive number)
    penalties: Decimal = Decimal("0.00")  # пени charged in the period
    recalculations: Decimal = Decimal("0.00")  # corrections in the period: + charge, − credit
    total_due: Decimal = Decimal("0.00")  # to pay by the due date; ≤ 0 means nothing to pay
    message: str = ""  # free text printed in the bill (notices, a debt warning…)
    contract_number: str = ""  # printed when the account has several contracts
    branch: str = ""  # the branch name, printed in the header

    @property
    def charged(self) -> Decimal:
        """The sum of the charge lines (the period's charges before penalties and recalculations)."""
        return sum((line.amount for line in self.charges), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class CertificateDocument:
    """A certificate of no debt (справка об отсутствии задолженности) as of a date (BIL-6)."""

    number: str
    issue_date: dt.date
    as_of: dt.date  # the date the absence of debt is stated for
    account_number: str
    payer_name: str
    address: str
    supplier: Supplier
    contract_number: str = ""
    balance: Decimal = Decimal("0.00")  # ≤ 0 (0 or an overpayment); a debt cannot be certified
    signer: str = ""  # «Специалист офиса Иванова И. И.»; empty when issued from the cabinet


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One month of an account statement (выписка по лицевому счёту)."""

    period: dt.date  # 1st of the month
    opening_balance: Decimal
    charged: Decimal  # charges including recalculations
    penalties: Decimal
    paid: Decimal
    closing_balance: Decimal
    consumption: Decimal | None = None  # kWh, when known


@dataclass(frozen=True, slots=True)
class StatementDocument:
    """An account statement: month by month balances, charges and payments over a span of periods."""

    number: str
    issue_date: dt.date
    account_number: str
    payer_name: str
    address: str
    supplier: Supplier
    period_from: dt.date  # 1st of the first month
    period_to: dt.date  # 1st of the last month
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)
    contract_number: str = ""


# --- Rendering -------------------------------------------------------------------------------------------------
#
# Laid out directly on a ReportLab canvas (no HTML, no platypus): fixed-height rows, text cut to its cell, a page
# break that repeats the table head. The texts are Russian literals on purpose: a bill is a Russian document
# whatever language the process that renders it has active (docs/bills.md).

FONT = "SbytSans"
BOLD = "SbytSans/bold"  # not a font: the regular face filled and stroked, its letters spaced a little wider
BOLD_STROKE = 0.06  # of the font size: about the difference between the stems of DejaVu Sans Bold and Regular
BOLD_SPACING = 0.025  # of the font size, added after every character of bold text
FONTS_DIR = Path(__file__).resolve().parent / "fonts"
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 12 * mm
LEFT, RIGHT, TOP = MARGIN, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN
WIDTH = RIGHT - LEFT
NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "—"
ELLIPSIS = "…"
QUIET_ZONE = 4  # modules of white around the QR symbol (ISO/IEC 18004)


# Saving a document builds its font subset by seeking and reading in the one shared parsed font file: documents
# rendered in several threads at once (a web process) must not save at the same moment.
_SUBSETTING = threading.Lock()


@cache
def register_fonts() -> None:
    """Register the shipped fonts once per process: parsing a TTF costs more than rendering a whole bill."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONTS_DIR / "DejaVuSansCondensed.ttf")))


# Formatting ---------------------------------------------------------------------------------------------------


def money(value: Decimal) -> str:
    """«1 234,56», «−12,00»: rubles to kopecks, a non-breaking space between thousands, a decimal comma."""
    value = round_half_up(value)
    text = f"{abs(value):,.2f}".replace(",", NBSP).replace(".", ",")
    return MINUS + text if value < 0 else text


def rubles(value: Decimal) -> str:
    return f"{money(value)}{NBSP}₽"


def quantity(value: Decimal | None, places: int | None = None) -> str:
    """A meter value as held («12345»), or a volume to ``places`` decimals («176,67»); «—» when unknown."""
    if value is None:
        return DASH
    if places is not None:
        value = round_half_up(value, Decimal(1).scaleb(-places))
    return f"{value:f}".replace(".", ",").replace("-", MINUS)


def volume(value: Decimal | None) -> str:
    """A consumed or billed volume: 2 decimals, thousands apart («3\u00a0318,00»); «—» when unknown."""
    if value is None:
        return DASH
    return money(value)


def price(value: Decimal) -> str:
    """A tariff: at least 2 decimals, up to the 6 it may have, no trailing zeros beyond the 2nd."""
    whole, _, fraction = f"{value.normalize():f}".partition(".")
    return f"{whole},{fraction.ljust(2, '0')}".replace("-", MINUS)


def day(value: dt.date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else DASH


def last_day(period: dt.date) -> dt.date:
    return add_months(period, 1) - dt.timedelta(days=1)


# Text measuring -----------------------------------------------------------------------------------------------


def text_width(text: str, font: str, size: float) -> float:
    """The width in points (the fonts must be registered: ``fit`` and ``wrap`` do it)."""
    if font == BOLD:
        return pdfmetrics.stringWidth(text, FONT, size) + len(text) * size * BOLD_SPACING
    return pdfmetrics.stringWidth(text, font, size)


def fit(text: str, width: float, font: str = FONT, size: float = 8) -> str:
    """``text`` if it fits ``width``, else its longest head that fits with «…»."""
    register_fonts()
    if text_width(text, font, size) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(text[:middle].rstrip() + ELLIPSIS, font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


_WORDS = re.compile(r"[^ \t]+")  # words split at ordinary spaces only: «8 800 200-00-00» with NBSP stays whole
# a short abbreviation or «№» stays with what follows it: «кв. 85», «д. 12», «№ 200001» are never split
_GLUE = re.compile(r"(?<!\S)(№|(?:д|кв|корп|стр|г|ул|пер|пр|пгт|пос|с|п|оф)\.) ")


def wrap(text: str, width: float, font: str = FONT, size: float = 8, max_lines: int = 0) -> list[str]:
    """Greedy word wrap (a word longer than the line is broken); at most ``max_lines``, the last cut with «…»."""
    register_fonts()
    lines: list[str] = []
    text = _GLUE.sub("\\1" + NBSP, text)
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in _WORDS.findall(paragraph):
            candidate = f"{line} {word}" if line else word
            if text_width(candidate, font, size) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while text_width(word, font, size) > width:  # an unbreakable run: cut it by characters
                head = fit(word, width, font, size)[:-1] or word[:1]
                lines.append(head)
                word = word[len(head) :]
            line = word
        lines.append(line)
    if max_lines and len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], fit(" ".join(lines[max_lines - 1 :]), width, font, size)]
        if not lines[-1].endswith(ELLIPSIS):
            lines[-1] = fit(lines[-1] + " " + ELLIPSIS * 40, width, font, size)
    return lines


# Drawing ------------------------------------------------------------------------------------------------------


class Sheet:
    """A ReportLab canvas with the few helpers the documents need and a cursor ``y`` that flows down the page,
    breaking to a new page (with ``continuation`` drawing its running head) above ``bottom``."""

    def __init__(self, *, title: str, author: str, subject: str = ""):
        register_fonts()
        self.buffer = io.BytesIO()
        # invariant: no timestamp or random id in the file, so the same document gives the same bytes
        self.c = Canvas(self.buffer, pagesize=A4, pageCompression=1, invariant=1, lang="ru-RU", initialFontName=FONT)
        self.c.setTitle(title)
        self.c.setAuthor(author)
        self.c.setSubject(subject or title)
        self.c.setCreator("Sbyt")
        self.y = TOP
        self.bottom = MARGIN
        self.page = 1
        self.continuation: Callable[[Sheet], None] | None = None
        self._size = 8.0
        self._bold = False
        # the page's text, drawn over its graphics when the page ends: one text object for the regular text and
        # one per size of bold text (each with its own stroke width) instead of one object per string
        self._regular = None
        self._regular_size = 0.0
        self._bold_texts: dict[float, object] = {}

    def _flush_text(self) -> None:
        if self._regular is not None:
            self.c.drawText(self._regular)
        for size, text in self._bold_texts.items():
            self.c.setLineWidth(size * BOLD_STROKE)
            self.c.drawText(text)
        self._regular, self._regular_size, self._bold_texts = None, 0.0, {}

    def finish(self) -> bytes:
        self._flush_text()
        self.c.showPage()
        with _SUBSETTING:
            self.c.save()
        return self.buffer.getvalue()

    # cursor
    def room(self, height: float) -> bool:
        return self.y - height >= self.bottom

    def need(self, height: float) -> None:
        if not self.room(height):
            self.new_page()

    def new_page(self) -> None:
        self._flush_text()
        self.c.showPage()
        self.page += 1
        self.y = TOP
        if self.continuation:
            self.continuation(self)

    # text
    def font(self, size: float, bold: bool = False) -> str:
        """Select the font; returns its name for measuring. Bold is the regular face filled and stroked
        (see ``BOLD_STROKE``): one embedded font subset per document instead of two."""
        self._size, self._bold = size, bold
        return BOLD if bold else FONT

    def draw(self, x: float, y: float, text: str, bold: bool = False, align: str = "l") -> None:
        """One string in the current font: left from ``x``, right-aligned to it («r») or centred on it («c»)."""
        size = self._size
        if align != "l":
            width = text_width(text, BOLD if bold else FONT, size)
            x -= width if align == "r" else width / 2
        if bold:
            target = self._bold_texts.get(size)
            if target is None:
                target = self._bold_texts[size] = self.c.beginText()
                target.setFont(FONT, size)
                target.setTextRenderMode(2)  # fill and stroke
                target.setCharSpace(size * BOLD_SPACING)
        else:
            target = self._regular
            if target is None:
                target = self._regular = self.c.beginText()
            if self._regular_size != size:
                target.setFont(FONT, size)
                self._regular_size = size
        target.setTextOrigin(x, y)
        target.textOut(text)

    def text(
        self, x: float, y: float, text: str, size: float = 8, *, bold: bool = False, width: float = 0, align="l"
    ) -> None:
        """One line at baseline ``y``: left from ``x``, right-aligned to ``x`` («r») or centred on it («c»);
        cut to ``width`` when given."""
        name = self.font(size, bold)
        if width:
            text = fit(text, width, name, size)
        self.draw(x, y, text, bold, align)

    def lines_of(
        self, x: float, y: float, lines: Sequence[str], size: float = 8, *, bold=False, leading: float = 0
    ) -> float:
        """Draws lines downwards from baseline ``y``; returns the baseline below the last one."""
        self.font(size, bold)
        leading = leading or size * 1.22
        for line in lines:
            self.draw(x, y, line, bold)
            y -= leading
        return y

    def paragraph(self, text: str, size: float = 8, *, bold=False, x: float = LEFT, width: float = WIDTH,
                  leading: float = 0, max_lines: int = 0, gap: float = 0) -> None:  # fmt: skip
        """Wrapped text at the cursor, breaking pages between lines."""
        name = BOLD if bold else FONT
        leading = leading or size * 1.22
        for line in wrap(text, width, name, size, max_lines):
            self.need(leading)
            self.font(size, bold)
            self.y -= leading
            self.draw(x, self.y + leading - size, line, bold)
        self.y -= gap

    def heading(self, text: str, size: float = 9) -> None:
        """A bold heading at the cursor with room above it, never alone at the foot of a page."""
        self.need(size * 2.2 + 12 * mm)
        self.y -= size * 2.2
        self.text(LEFT, self.y + 3, text, size, bold=True)

    def rule(self, y: float, x0: float = LEFT, x1: float = RIGHT, width: float = 0.5) -> None:
        self.c.setLineWidth(width)
        self.c.line(x0, y, x1, y)

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, size: float = 7.5,
              bold_rows: frozenset[int] = frozenset(), row_height: float = 4.4 * mm) -> None:  # fmt: skip
        """A grid at the cursor: a grey head (repeated after a page break), one line per row, cells cut to fit."""
        c = self.c
        head_lines = max(column.title.count("\n") + 1 for column in columns)
        head_height = head_lines * 7 + 4
        edges = [LEFT]
        for column in columns:
            edges.append(edges[-1] + column.width)

        def head() -> float:
            top = self.y
            c.setFillGray(0.88)
            c.rect(LEFT, top - head_height, edges[-1] - LEFT, head_height, stroke=0, fill=1)
            c.setFillGray(0)
            self.font(6.5)
            for column, x0, x1 in zip(columns, edges, edges[1:], strict=False):
                titles = column.title.split("\n")
                y = top - (head_height - len(titles) * 7) / 2 - 5.6
                for title in titles:
                    self.draw((x0 + x1) / 2, y, title, align="c")
                    y -= 7
            self.y = top - head_height
            return top

        def close(top: float) -> None:
            c.setLineWidth(0.4)
            c.lines(
                [(x, top, x, self.y) for x in edges] + [(LEFT, top, edges[-1], top), (LEFT, self.y, edges[-1], self.y)]
            )

        self.need(head_height + row_height * min(len(rows), 2))
        top = head()
        c.setLineWidth(0.25)
        for index, row in enumerate(rows):
            if not self.room(row_height):
                close(top)
                self.new_page()
                top = head()
                c.setLineWidth(0.25)
            bold = index in bold_rows
            name = self.font(size, bold)
            if not bold:
                c.setLineWidth(0.25)
            baseline = self.y - row_height + (row_height - size * 0.72) / 2
            for value, column, x0, x1 in zip(row, columns, edges, edges[1:], strict=False):
                if not value:
                    continue
                value = fit(value, x1 - x0 - 4, name, size)
                if column.align == "r":
                    self.draw(x1 - 2, baseline, value, bold, "r")
                elif column.align == "c":
                    self.draw((x0 + x1) / 2, baseline, value, bold, "c")
                else:
                    self.draw(x0 + 2, baseline, value, bold)
            self.y -= row_height
            if index < len(rows) - 1:
                c.setLineWidth(0.25)
                c.line(LEFT, self.y, edges[-1], self.y)
        close(top)

    def qr(self, matrix: qr.Matrix, x: float, y: float, size: float) -> None:
        """The symbol with its quiet zone in the square ``size`` at (x, y): a 1-bit inline image of one pixel a
        module, scaled up without interpolation (crisp at print resolutions; a few hundred bytes)."""
        module = size / (matrix.size + 2 * QUIET_ZONE)
        top = y + size - QUIET_ZONE * module
        left = x + QUIET_ZONE * module
        side = matrix.size * module
        self.c.addLiteral(
            f"q {side:.4f} 0 0 {side:.4f} {left:.4f} {top - side:.4f} cm\n"
            f"BI /W {matrix.size} /H {matrix.size} /BPC 1 /CS /G /I false /F /AHx ID\n{matrix.packed.hex()}>\nEI Q"
        )


@dataclass(frozen=True, slots=True)
class Column:
    title: str  # «\n» splits a head into lines
    width: float  # points
    align: str = "l"  # «l», «r», «c»


# The bill ------------------------------------------------------------------------------------------------------

SLIP_HEIGHT = 64 * mm  # the payment slip with the QR code at the foot of the last page
QR_SIZE = 44 * mm
LABEL = 27 * mm  # label column of the label: value blocks

READING_COLUMNS = (
    Column("Прибор учёта", 26 * mm),
    Column("Зона", 16 * mm),
    Column("Предыдущие\nпоказания", 24 * mm, "r"),
    Column("Дата", 17 * mm, "c"),
    Column("Текущие\nпоказания", 24 * mm, "r"),
    Column("Дата", 17 * mm, "c"),
    Column("Расход,\nкВт·ч", 22 * mm, "r"),
    Column("Способ\nопределения", 40 * mm),
)
CHARGE_COLUMNS = (
    Column("Услуга", 44 * mm),
    Column("Зона", 16 * mm),
    Column("Диапазон объёма", 40 * mm),
    Column("Объём", 21 * mm, "r"),
    Column("Ед.", 13 * mm, "c"),
    Column("Тариф, ₽", 24 * mm, "r"),
    Column("Сумма, ₽", 28 * mm, "r"),
)


def render_bill(bill: BillDocument) -> bytes:
    """The bill as a PDF: A4, the fonts embedded, the payment slip with the ГОСТ Р 56042 QR code at the foot."""
    payload = qr.bill_payload(bill)  # first: bad requisites refuse before any drawing
    sheet = Sheet(
        title=f"Счёт № {bill.number} за {period_label(bill.period)}",
        author=bill.supplier.name,
        subject=f"Номер клиента {bill.account_number}",
    )
    sheet.bottom = MARGIN + SLIP_HEIGHT + 4 * mm
    sheet.continuation = lambda s: _bill_running_head(s, bill)
    _bill_head(sheet, bill)
    _bill_payer(sheet, bill)
    _bill_readings(sheet, bill)
    _bill_charges(sheet, bill)
    _bill_summary(sheet, bill)
    _bill_slip(sheet, bill, qr.encode(payload))
    return sheet.finish()


def _supplier_lines(supplier: Supplier) -> list[str]:
    lines = [supplier.address] if supplier.address else []
    lines.append(f"ИНН {supplier.inn}  КПП {supplier.kpp}")
    lines.append(f"р/с {supplier.bank_account} в {supplier.bank_name}")
    lines.append(f"БИК {supplier.bic}  к/с {supplier.correspondent_account}")
    return lines


def _bill_head(sheet: Sheet, bill: BillDocument) -> None:
    left_width = 116 * mm
    y = sheet.lines_of(LEFT, TOP - 9, wrap(bill.supplier.name, left_width, BOLD, 10.5, 2), 10.5, bold=True)
    lines = []
    for line in _supplier_lines(bill.supplier):
        lines.extend(wrap(line, left_width, FONT, 7, 2))
    y = sheet.lines_of(LEFT, y + 1, lines, 7, leading=8.4)
    sheet.text(RIGHT, TOP - 10, "СЧЁТ-КВИТАНЦИЯ", 13, bold=True, align="r")
    sheet.text(RIGHT, TOP - 23, f"за {period_label(bill.period)}", 10.5, bold=True, align="r")
    sheet.text(RIGHT, TOP - 34, f"№ {bill.number}", 8, align="r", width=64 * mm)
    right = [f"дата формирования {day(bill.issue_date)}"]
    if bill.branch:
        right.append(bill.branch)
    yr = TOP - 43
    for line in right:
        sheet.text(RIGHT, yr, line, 7, align="r", width=64 * mm)
        yr -= 8.4
    sheet.y = min(y + 4, yr + 4) - 2 * mm
    sheet.rule(sheet.y, width=1)


def _bill_running_head(sheet: Sheet, bill: BillDocument) -> None:
    head = f"Счёт № {bill.number} за {period_label(bill.period)} · номер клиента {bill.account_number}"
    sheet.text(LEFT, TOP - 8, head, 8, width=WIDTH - 20 * mm)
    sheet.text(RIGHT, TOP - 8, f"лист {sheet.page}", 8, align="r")
    sheet.y = TOP - 12
    sheet.rule(sheet.y)
    sheet.y -= 3 * mm


def _bill_payer(sheet: Sheet, bill: BillDocument) -> None:
    top = sheet.y - 3 * mm
    width = 114 * mm - LABEL
    y = top - 12
    sheet.text(LEFT, y, "Номер клиента", 7.5)
    sheet.text(LEFT + LABEL, y, bill.account_number, 13, bold=True, width=width)
    y -= 12
    sheet.text(LEFT, y, "Плательщик", 7.5)
    y = sheet.lines_of(LEFT + LABEL, y, wrap(bill.payer_name, width, BOLD, 9, 2), 9, bold=True, leading=10.5)
    y -= 0.5
    sheet.text(LEFT, y, "Адрес", 7.5)
    y = sheet.lines_of(LEFT + LABEL, y, wrap(bill.address, width, FONT, 8.5, 2), 8.5, leading=10) + 10
    if bill.contract_number:
        y -= 11
        sheet.text(LEFT, y, "Договор", 7.5)
        sheet.text(LEFT + LABEL, y, f"№ {bill.contract_number}", 8.5, width=width)
    # the amount box
    box_x, box_w, box_h = RIGHT - 66 * mm, 66 * mm, 23 * mm
    box_y = top - box_h
    sheet.c.setLineWidth(1.2)
    sheet.c.rect(box_x, box_y, box_w, box_h)
    centre = box_x + box_w / 2
    due = round_half_up(bill.total_due)
    sheet.text(centre, top - 15, "К ОПЛАТЕ", 8, bold=True, align="c")
    sheet.text(centre, top - 35, rubles(max(due, Decimal("0.00"))), 18, bold=True, align="c", width=box_w - 6)
    if due > 0:
        sheet.text(centre, top - 50, f"до {day(bill.due_date)}", 10, bold=True, align="c")
    else:
        note = f"переплата {rubles(-due)}" if due < 0 else "задолженности нет"
        sheet.text(centre, top - 48, note, 8, align="c", width=box_w - 6)
        sheet.text(centre, top - 57, "оплата не требуется", 8, align="c")
    sheet.y = min(y - 4, box_y) - 2 * mm


def _bill_readings(sheet: Sheet, bill: BillDocument) -> None:
    sheet.heading("Показания приборов учёта и объём потребления")
    sheet.y -= 1.5 * mm
    if not bill.readings:
        sheet.paragraph("Показаний за период нет.", 8)
        return
    rows = [
        (
            line.meter,
            line.zone or "—",
            quantity(line.previous_value),
            day(line.previous_date),
            quantity(line.current_value),
            day(line.current_date),
            volume(line.consumption),
            line.method,
        )
        for line in bill.readings
    ]
    sheet.table(READING_COLUMNS, rows)


def _bill_charges(sheet: Sheet, bill: BillDocument) -> None:
    sheet.heading(f"Начисления за {period_label(bill.period)}")
    sheet.y -= 1.5 * mm
    rows = [
        (
            line.service,
            line.zone or "—",
            line.volume_range or "—",
            volume(line.volume),
            line.unit,
            price(line.price),
            money(line.amount),
        )
        for line in bill.charges
    ]
    rows.append(("Итого начислено", "", "", "", "", "", money(bill.charged)))
    sheet.table(CHARGE_COLUMNS, rows, bold_rows=frozenset({len(rows) - 1}))


def _bill_summary(sheet: Sheet, bill: BillDocument) -> None:
    label = period_label(bill.period)
    rows = [
        (f"Задолженность (+) / аванс (−) на {day(bill.period)}", bill.opening_balance),
        (f"Начислено за {label}", bill.charged),
        ("Перерасчёт", bill.recalculations),
        ("Пени", bill.penalties),
        (f"Оплачено за {label}", -bill.payments),
    ]
    channels = wrap(bill.supplier.channels, 64 * mm, FONT, 7, 9) if bill.supplier.channels else []
    height = max(len(rows) * 11 + 20, 30 + len(channels) * 8.4) + 4 * mm
    sheet.heading("Расчёт суммы к оплате")
    sheet.need(height)
    top = sheet.y
    width = 104 * mm
    y = top - 11
    for text, amount in rows:
        sheet.text(LEFT, y, text, 8, width=width - 26 * mm)
        sheet.text(LEFT + width, y, money(amount), 8, align="r")
        y -= 11
    sheet.rule(y + 7, LEFT, LEFT + width, 0.5)
    y -= 3
    due = round_half_up(bill.total_due)
    total_label = f"Итого к оплате до {day(bill.due_date)}" if due > 0 else "Итого: оплата не требуется"
    sheet.text(LEFT, y, total_label, 9, bold=True)
    sheet.text(LEFT + width, y, money(bill.total_due), 9, bold=True, align="r")
    # contacts: the phone and the other channels (BIL-3)
    x = RIGHT - 70 * mm
    sheet.c.setLineWidth(0.5)
    sheet.c.rect(x, top - height + 4 * mm, 70 * mm, height - 4 * mm)
    x += 3 * mm
    sheet.text(x, top - 10, "Вопросы по счёту — контакт-центр", 7.5, bold=True)
    sheet.text(x, top - 23, bill.supplier.contact_phone, 11, bold=True, width=64 * mm)
    sheet.lines_of(x, top - 33, channels, 7, leading=8.4)
    sheet.y = top - height
    if bill.message:
        sheet.y -= 2 * mm
        sheet.paragraph(bill.message, 8, bold=True, max_lines=8)


def _bill_slip(sheet: Sheet, bill: BillDocument, matrix: qr.Matrix) -> None:
    """The payment slip below the cut line: the QR code on the left, the requisites it encodes on the right."""
    c = sheet.c
    top = MARGIN + SLIP_HEIGHT
    c.setLineWidth(0.5)
    c.setDash(3, 2)
    c.line(LEFT - 4 * mm, top, RIGHT + 4 * mm, top)
    c.setDash()
    c.setFillGray(1)
    c.rect(PAGE_WIDTH / 2 - 22, top - 3, 44, 6, stroke=0, fill=1)
    c.setFillGray(0)
    sheet.text(PAGE_WIDTH / 2, top - 2, "линия отреза", 6, align="c")
    sheet.text(LEFT, top - 14, "ИЗВЕЩЕНИЕ ОБ ОПЛАТЕ", 9, bold=True)
    sheet.text(RIGHT, top - 14, f"счёт № {bill.number} за {period_label(bill.period)}", 8, align="r")
    qr_top = top - 18
    sheet.qr(matrix, LEFT - 2 * mm, qr_top - QR_SIZE, QR_SIZE)
    sheet.text(LEFT - 2 * mm + QR_SIZE / 2, qr_top - QR_SIZE - 7, "Оплата по QR-коду", 7, align="c")
    sheet.text(LEFT - 2 * mm + QR_SIZE / 2, qr_top - QR_SIZE - 15, "в приложении любого банка", 7, align="c")
    x = LEFT + QR_SIZE + 2 * mm
    width = RIGHT - x - LABEL
    supplier = bill.supplier
    rows = [
        ("Получатель", supplier.name, True),
        ("ИНН / КПП", f"{supplier.inn} / {supplier.kpp}", False),
        ("Расчётный счёт", supplier.bank_account, False),
        ("Банк получателя", supplier.bank_name, False),
        ("БИК / корр. счёт", f"{supplier.bic} / {supplier.correspondent_account}", False),
        ("Плательщик", bill.payer_name, False),
        ("Номер клиента", bill.account_number, True),
        ("Адрес", bill.address, False),
        ("Назначение", qr.purpose(bill), False),
    ]
    y = qr_top - 9
    for name, value, bold in rows:
        sheet.text(x, y, name, 7)
        sheet.text(x + LABEL, y, value, 8, bold=bold, width=width)
        y -= 10.5
    due = round_half_up(bill.total_due)
    y -= 6
    sheet.text(x, y, "Сумма к оплате", 8)
    if due > 0:
        sheet.text(x + LABEL, y, rubles(due), 12, bold=True)
        sheet.text(RIGHT, y, f"оплатить до {day(bill.due_date)}", 9, bold=True, align="r")
    else:  # the code has no Sum: the banking app asks the payer
        sheet.text(x + LABEL, y, "оплата не требуется; сумму аванса укажите в приложении банка", 8, width=width)


# Certificate and statement ------------------------------------------------------------------------------------


def _letterhead(sheet: Sheet, supplier: Supplier) -> None:
    """The supplier's name, address, INN/KPP and phone across the top, then a rule."""
    y = sheet.lines_of(LEFT, TOP - 10, wrap(supplier.name, WIDTH, BOLD, 11, 2), 11, bold=True)
    lines = []
    for line in [
        supplier.address,
        f"ИНН {supplier.inn}  КПП {supplier.kpp}  ·  контакт-центр {supplier.contact_phone}",
    ]:
        if line:
            lines.extend(wrap(line, WIDTH, FONT, 7.5, 2))
    y = sheet.lines_of(LEFT, y + 1, lines, 7.5, leading=9)
    sheet.y = y + 4 - 2 * mm
    sheet.rule(sheet.y, width=1)


def _title(sheet: Sheet, title: str, subtitle: str, line: str) -> None:
    sheet.y -= 12 * mm
    sheet.text(PAGE_WIDTH / 2, sheet.y, title, 14, bold=True, align="c")
    sheet.y -= 16
    if subtitle:
        sheet.text(PAGE_WIDTH / 2, sheet.y, subtitle, 11, bold=True, align="c")
        sheet.y -= 14
    sheet.text(PAGE_WIDTH / 2, sheet.y, line, 9, align="c")
    sheet.y -= 8 * mm


def _contract(number: str) -> str:
    return f", договор энергоснабжения № {number}" if number else ""


def render_certificate(doc: CertificateDocument) -> bytes:
    """The certificate of no debt as a PDF. Refuses (DomainError) when the balance shows a debt."""
    balance = round_half_up(doc.balance)
    if balance > 0:
        raise DomainError(
            f"Справку об отсутствии задолженности выдать нельзя: на {day(doc.as_of)} задолженность {rubles(balance)}."
        )
    sheet = Sheet(
        title=f"Справка № {doc.number} об отсутствии задолженности",
        author=doc.supplier.name,
        subject=f"Номер клиента {doc.account_number}",
    )
    _letterhead(sheet, doc.supplier)
    _title(sheet, f"СПРАВКА № {doc.number}", "об отсутствии задолженности", f"от {day(doc.issue_date)}")
    width = WIDTH - 52 * mm
    for label, value in [
        ("Клиент", doc.payer_name),
        ("Номер клиента (лицевой счёт)", doc.account_number),
        ("Договор энергоснабжения", f"№ {doc.contract_number}" if doc.contract_number else ""),
        ("Адрес", doc.address),
    ]:
        if value:
            sheet.text(LEFT, sheet.y, label, 9)
            sheet.y = sheet.lines_of(LEFT + 52 * mm, sheet.y, wrap(value, width, FONT, 11, 3), 11, leading=14) - 2
    sheet.y -= 4 * mm
    body = (
        f"Настоящая справка подтверждает, что по состоянию на {day(doc.as_of)} задолженность за электрическую "
        f"энергию по номеру клиента (лицевому счёту) № {doc.account_number}{_contract(doc.contract_number)}, "
        f"по адресу: {doc.address}, отсутствует."
    )
    sheet.paragraph(body, 11, leading=16, gap=6)
    if balance < 0:
        sheet.paragraph(f"Переплата (аванс) на {day(doc.as_of)} составляет {rubles(-balance)}.", 11, leading=16, gap=6)
    sheet.paragraph("Справка выдана для предъявления по месту требования.", 11, leading=16)
    sheet.y -= 16 * mm
    if doc.signer:
        sheet.text(LEFT, sheet.y, doc.signer, 10, width=110 * mm)
        sheet.rule(sheet.y - 1, RIGHT - 50 * mm, RIGHT, 0.5)
        sheet.text(RIGHT - 25 * mm, sheet.y - 9, "подпись", 6.5, align="c")
    else:
        sheet.text(LEFT, sheet.y, f"Справка сформирована в личном кабинете клиента {day(doc.issue_date)}.", 9)
    sheet.y -= 14 * mm
    sheet.paragraph(
        f"Проверить справку и задать вопросы можно по телефону контакт-центра {doc.supplier.contact_phone}.", 8
    )
    return sheet.finish()


STATEMENT_COLUMNS = (
    Column("Период", 30 * mm),
    Column("Долг (+) / аванс (−)\nна начало", 29 * mm, "r"),
    Column("Начислено", 26 * mm, "r"),
    Column("Пени", 20 * mm, "r"),
    Column("Оплачено", 26 * mm, "r"),
    Column("Долг (+) / аванс (−)\nна конец", 29 * mm, "r"),
    Column("Расход,\nкВт·ч", 26 * mm, "r"),
)


def render_statement(doc: StatementDocument) -> bytes:
    """The account statement as a PDF: one row a month, totals, the balance at the end."""
    sheet = Sheet(
        title=f"Выписка по лицевому счёту № {doc.account_number}",
        author=doc.supplier.name,
        subject=f"Выписка № {doc.number}",
    )
    end = last_day(doc.period_to)

    def running_head(s: Sheet) -> None:
        s.text(LEFT, TOP - 8, f"Выписка № {doc.number} · номер клиента {doc.account_number}", 8)
        s.text(RIGHT, TOP - 8, f"лист {s.page}", 8, align="r")
        s.y = TOP - 12
        s.rule(s.y)
        s.y -= 2 * mm

    sheet.continuation = running_head
    _letterhead(sheet, doc.supplier)
    _title(sheet, "ВЫПИСКА ПО ЛИЦЕВОМУ СЧЁТУ", "", f"№ {doc.number} от {day(doc.issue_date)}")
    width = WIDTH - LABEL
    for label, value in [
        ("Номер клиента", doc.account_number + _contract(doc.contract_number)),
        ("Плательщик", doc.payer_name),
        ("Адрес", doc.address),
        ("Период", f"с {day(doc.period_from)} по {day(end)}"),
    ]:
        lines = wrap(value, width, FONT, 9, 2)
        sheet.text(LEFT, sheet.y, label, 8)
        sheet.y = sheet.lines_of(LEFT + LABEL, sheet.y, lines, 9, leading=11)
    sheet.y -= 2 * mm
    if not doc.lines:
        sheet.paragraph("Начислений и оплат за период нет.", 9)
        return sheet.finish()
    rows = [
        (
            period_label(line.period),
            money(line.opening_balance),
            money(line.charged),
            money(line.penalties),
            money(line.paid),
            money(line.closing_balance),
            volume(line.consumption),
        )
        for line in doc.lines
    ]
    total = sum((line.charged for line in doc.lines), Decimal(0))
    penalties = sum((line.penalties for line in doc.lines), Decimal(0))
    paid = sum((line.paid for line in doc.lines), Decimal(0))
    consumption = [line.consumption for line in doc.lines if line.consumption is not None]
    rows.append(
        (
            "Итого",
            money(doc.lines[0].opening_balance),
            money(total),
            money(penalties),
            money(paid),
            money(doc.lines[-1].closing_balance),
            volume(sum(consumption, Decimal(0))) if consumption else DASH,
        )
    )
    sheet.table(STATEMENT_COLUMNS, rows, size=8, bold_rows=frozenset({len(rows) - 1}), row_height=5 * mm)
    closing = round_half_up(doc.lines[-1].closing_balance)
    if closing > 0:
        result = f"Задолженность на {day(end)}: {rubles(closing)}."
    elif closing < 0:
        result = f"Переплата (аванс) на {day(end)}: {rubles(-closing)}."
    else:
        result = f"Задолженности на {day(end)} нет."
    sheet.y -= 4 * mm
    sheet.paragraph(result, 10, bold=True, gap=4 * mm)
    sheet.paragraph(f"Вопросы по начислениям — контакт-центр {doc.supplier.contact_phone}.", 8)
    return sheet.finish()
