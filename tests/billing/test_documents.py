"""Printable documents: formatting, the certificate of no debt, the account statement (no database needed).

The builders here (``supplier``, ``bill``, ``certificate``, ``statement``) are shared by test_pdf*.py and
test_qr*.py."""

import dataclasses
import datetime as dt
from decimal import Decimal as D

import pypdfium2 as pdfium
import pytest

from sbyt.billing import documents
from sbyt.billing.documents import (
    BillDocument,
    CertificateDocument,
    ChargeLine,
    ReadingLine,
    StatementDocument,
    StatementLine,
    Supplier,
    render_certificate,
    render_statement,
)
from sbyt.core.errors import DomainError

NBSP = "\u00a0"


def supplier(**changes) -> Supplier:
    values = {
        "name": "АО «Энергосбытовая компания Севера»",
        "inn": "1101301856",
        "kpp": "110101001",
        "bank_account": "40702810128000001234",
        "bank_name": "ОТДЕЛЕНИЕ N8617 СБЕРБАНКА РОССИИ",
        "bic": "048702640",
        "correspondent_account": "30101810400000000640",
        "contact_phone": f"8{NBSP}800{NBSP}200-00-00",
        "channels": "Личный кабинет lk.example.ru; SMS на номер 7511; Telegram и VK; e-mail pokazania@example.ru.",
        "address": "167000, Республика Коми, г. Сыктывкар, ул. Первомайская, д. 70",
    }
    values.update(changes)
    return Supplier(**values)


def bill(**changes) -> BillDocument:
    values = {
        "number": "11-2026-11-0000001",
        "period": dt.date(2026, 11, 1),
        "issue_date": dt.date(2026, 12, 1),
        "due_date": dt.date(2026, 12, 15),
        "account_number": "100000001",
        "payer_name": "Иванов Иван Иванович",
        "address": "167000, г. Сыктывкар, ул. Коммунистическая, д. 12, кв. 34",
        "supplier": supplier(),
        "readings": (
            ReadingLine(
                "30000001",
                "день",
                D("12345"),
                dt.date(2026, 10, 24),
                D("12534"),
                dt.date(2026, 11, 23),
                D("189"),
                "по показаниям",
            ),
            ReadingLine(
                "30000001",
                "ночь",
                D("5432"),
                dt.date(2026, 10, 24),
                D("5520"),
                dt.date(2026, 11, 23),
                D("88"),
                "по показаниям",
            ),
        ),  # fmt: skip
        "charges": (
            ChargeLine("Электроснабжение", "день", "1-й (до 3 900 кВт·ч)", D("189"), "кВт·ч", D("6.43"), D("1215.27")),
            ChargeLine("Электроснабжение", "ночь", "1-й (до 3 900 кВт·ч)", D("88"), "кВт·ч", D("3.215"), D("282.92")),
        ),
        "opening_balance": D("1520.40"),
        "payments": D("1520.40"),
        "penalties": D("12.31"),
        "recalculations": D("-45.00"),
        "total_due": D("1465.50"),
        "message": "Передавайте показания с 18 по 25 число каждого месяца.",
        "branch": "Сыктывкарский филиал",
    }
    values.update(changes)
    return BillDocument(**values)


def certificate(**changes) -> CertificateDocument:
    values = {
        "number": "С-2026-000123",
        "issue_date": dt.date(2026, 12, 3),
        "as_of": dt.date(2026, 12, 3),
        "account_number": "100000001",
        "payer_name": "Иванов Иван Иванович",
        "address": "167000, г. Сыктывкар, ул. Коммунистическая, д. 12, кв. 34",
        "supplier": supplier(),
        "contract_number": "200001",
        "balance": D("0.00"),
    }
    values.update(changes)
    return CertificateDocument(**values)


def statement_lines(months: int, start=dt.date(2025, 12, 1)) -> tuple[StatementLine, ...]:
    lines, balance = [], D("100.00")
    for i in range(months):
        period = dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        charged, paid = D("1000.00") + i, D("900.00")
        closing = balance + charged - paid
        lines.append(StatementLine(period, balance, charged, D("0.00"), paid, closing, D("150") + i))
        balance = closing
    return tuple(lines)


def statement(**changes) -> StatementDocument:
    values = {
        "number": "В-2026-000045",
        "issue_date": dt.date(2026, 12, 3),
        "account_number": "100000001",
        "payer_name": "Иванов Иван Иванович",
        "address": "167000, г. Сыктывкар, ул. Коммунистическая, д. 12, кв. 34",
        "supplier": supplier(),
        "period_from": dt.date(2025, 12, 1),
        "period_to": dt.date(2026, 11, 1),
        "lines": statement_lines(12),
    }
    values.update(changes)
    return StatementDocument(**values)


def pdf_pages_text(pdf: bytes) -> list[str]:
    """The text of every page, as a PDF reader extracts it (through the fonts' ToUnicode maps)."""
    document = pdfium.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_bounded() for page in document]
    finally:
        document.close()


def flat(text: str) -> str:
    """Extracted text with line breaks and non-breaking spaces as plain spaces, for phrase checks."""
    return " ".join(text.replace(NBSP, " ").split())


# --- formatting ---


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1234.5"), f"1{NBSP}234,50"),
        (D("0.005"), "0,01"),  # half up
        (D("-45"), "−45,00"),
        (D("1234567.891"), f"1{NBSP}234{NBSP}567,89"),
        (D("0"), "0,00"),
    ],
)
def test_money(value, text):
    assert documents.money(value) == text


def test_quantity_price_and_day():
    assert documents.quantity(D("12345")) == "12345"
    assert documents.quantity(D("176.666"), 2) == "176,67"
    assert documents.quantity(None) == "—"
    assert documents.price(D("6.430000")) == "6,43"
    assert documents.price(D("3.215")) == "3,215"
    assert documents.price(D("5")) == "5,00"
    assert documents.day(dt.date(2026, 3, 1)) == "01.03.2026"


def test_wrap_keeps_non_breaking_spaces_and_cuts_to_max_lines():
    documents.register_fonts()
    phone = f"8{NBSP}800{NBSP}200-00-00"
    width = documents.text_width(phone, documents.FONT, 8) + 1  # narrower than «Позвоните 8»+«800…»
    lines = documents.wrap(f"Позвоните {phone} сегодня", width, documents.FONT, 8)
    assert lines == ["Позвоните", phone, "сегодня"]  # split at ordinary spaces only
    long = "слово " * 200
    cut = documents.wrap(long, 100, documents.FONT, 8, max_lines=3)
    assert len(cut) == 3 and cut[-1].endswith("…")
    assert all(documents.text_width(line, documents.FONT, 8) <= 100 for line in cut)


def test_abbreviations_stay_with_what_follows():
    documents.register_fonts()
    text = "г. Ухта, пер. Нагорный, д. 170, кв. 85"
    width = documents.text_width("г. Ухта, пер. Нагорный, д. 170, кв.", documents.FONT, 8) + 1
    assert documents.wrap(text, width, documents.FONT, 8) == [
        f"г.{NBSP}Ухта, пер.{NBSP}Нагорный, д.{NBSP}170,",
        f"кв.{NBSP}85",
    ]


def test_an_unbreakable_word_is_broken_to_fit():
    documents.register_fonts()
    lines = documents.wrap("Я" * 300, 80, documents.FONT, 8)
    assert len(lines) > 1 and "".join(lines) == "Я" * 300
    assert all(documents.text_width(line, documents.FONT, 8) <= 80 for line in lines)


# --- certificate of no debt ---


def test_certificate_states_date_account_address_and_no_debt():
    pdf = render_certificate(certificate())
    (text,) = pdf_pages_text(pdf)
    text = flat(text)
    assert "СПРАВКА № С-2026-000123" in text and "об отсутствии задолженности" in text and "от 03.12.2026" in text
    assert "Клиент Иванов Иван Иванович" in text
    assert "Номер клиента (лицевой счёт) 100000001" in text
    assert "Адрес 167000, г. Сыктывкар, ул. Коммунистическая, д. 12, кв. 34" in text
    assert (
        "Настоящая справка подтверждает, что по состоянию на 03.12.2026 задолженность за электрическую энергию "
        "по номеру клиента (лицевому счёту) № 100000001, договор энергоснабжения № 200001, по адресу: 167000, "
        "г. Сыктывкар, ул. Коммунистическая, д. 12, кв. 34, отсутствует."
    ) in text
    assert "Переплата" not in text
    assert "сформирована в личном кабинете" in text  # no signer: issued from the cabinet
    assert b"/FontFile2" in pdf  # the font is embedded


def test_certificate_with_overpayment_and_signer():
    text = flat(
        pdf_pages_text(render_certificate(certificate(balance=D("-250.00"), signer="Специалист Петрова А. А.")))[0]
    )
    assert "Переплата (аванс) на 03.12.2026 составляет 250,00 ₽" in text
    assert "Специалист Петрова А. А." in text and "подпись" in text
    assert "личном кабинете" not in text


def test_certificate_is_refused_when_there_is_a_debt():
    with pytest.raises(DomainError) as refused:
        render_certificate(certificate(balance=D("0.01")))
    assert refused.value.message == (
        f"Справку об отсутствии задолженности выдать нельзя: на 03.12.2026 задолженность 0,01{NBSP}₽."
    )


# --- account statement ---


def test_statement_lists_every_month_with_totals_and_the_closing_balance():
    doc = statement()
    pdf = render_statement(doc)
    pages = pdf_pages_text(pdf)
    assert len(pages) == 1
    text = flat(pages[0])
    assert "ВЫПИСКА ПО ЛИЦЕВОМУ СЧЁТУ" in text and "№ В-2026-000045 от 03.12.2026" in text
    assert "с 01.12.2025 по 30.11.2026" in text
    for month in ("декабрь 2025", "январь 2026", "ноябрь 2026"):
        assert month in text
    charged = sum(line.charged for line in doc.lines)  # 12 000 + 0 + 1 + … + 11 = 12 066
    assert f"Итого 100,00 {documents.money(charged).replace(NBSP, ' ')}" in text
    closing = doc.lines[-1].closing_balance  # 100 + 12 066 − 10 800 = 1 366
    assert closing == D("1366.00")
    assert "Задолженность на 30.11.2026: 1 366,00 ₽." in text


def test_a_long_statement_breaks_pages_and_repeats_the_table_head():
    pdf = render_statement(statement(period_from=dt.date(2021, 12, 1), lines=statement_lines(60, dt.date(2021, 12, 1))))
    pages = [flat(page) for page in pdf_pages_text(pdf)]
    assert len(pages) == 2
    assert "лист 2" in pages[1] and "Выписка № В-2026-000045 · номер клиента 100000001" in pages[1]
    assert "Период" in pages[1] and "Начислено" in pages[1]  # the head again
    assert "ноябрь 2026" in pages[1] and "Итого" in pages[1]


def test_an_empty_statement_says_so():
    text = flat(pdf_pages_text(render_statement(statement(lines=())))[0])
    assert "Начислений и оплат за период нет." in text


def test_bill_charged_is_the_sum_of_its_lines_and_documents_are_immutable():
    document = bill()
    assert document.charged == D("1498.19")
    with pytest.raises(dataclasses.FrozenInstanceError):
        document.total_due = D("0")  # type: ignore[misc]
