"""The bill PDF: A4, the font embedded, what the bill must show, and the QR code read back from the rendered page."""

import dataclasses
import datetime as dt
import re
import sys
import threading
from decimal import Decimal as D

import pypdfium2 as pdfium
import pytest
import zxingcpp

from sbyt.billing.documents import ReadingLine, render_bill
from sbyt.billing.qr import PaymentCodeError, bill_payload, parse_payload

from .test_documents import bill, flat, pdf_pages_text, supplier

A4 = (595.28, 841.89)


def page_codes(pdf: bytes, dpi: int = 200) -> list[str | None]:
    """For every page, the payload of the QR code found on the page as rendered (None when there is none)."""
    document = pdfium.PdfDocument(pdf)
    try:
        codes = []
        for page in document:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            result = zxingcpp.read_barcode(image, formats=zxingcpp.BarcodeFormat.QRCode)
            codes.append(result.bytes.decode("utf-8") if result and result.valid else None)
        return codes
    finally:
        document.close()


def test_bill_is_one_a4_page_with_only_the_embedded_font():
    pdf = render_bill(bill())
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    width, height = document[0].get_size()
    assert (round(width, 2), round(height, 2)) == A4
    document.close()
    fonts = re.findall(rb"/BaseFont\s*/([^\s/>]+)", pdf)
    assert fonts and all(re.fullmatch(rb"[A-Z]{6}\+DejaVuSansCondensed", name) for name in fonts)  # a subset
    assert pdf.count(b"/FontFile2") == len(set(fonts))  # each font's program is in the file
    assert b"/Helvetica" not in pdf  # no base-14 font the printer would have to substitute


def test_bill_shows_readings_charges_payments_penalties_total_due_date_and_contacts():
    (text,) = pdf_pages_text(render_bill(bill()))
    text = flat(text)
    for phrase in [
        "СЧЁТ-КВИТАНЦИЯ", "за ноябрь 2026", "№ 11-2026-11-0000001", "дата формирования 01.12.2026",
        "100000001", "Иванов Иван Иванович", "ул. Коммунистическая, д. 12, кв. 34",
        # readings: previous and current values with dates, consumption and its method
        "30000001 день 12345 24.10.2026 12534 23.11.2026 189,00 по показаниям",
        "30000001 ночь 5432 24.10.2026 5520 23.11.2026 88,00 по показаниям",
        # charges: service, zone, range, volume, unit, price, amount; their total
        "Электроснабжение день 1-й (до 3 900 кВт·ч) 189,00 кВт·ч 6,43 1 215,27",
        "Электроснабжение ночь 1-й (до 3 900 кВт·ч) 88,00 кВт·ч 3,215 282,92",
        "1 498,19",
        # the calculation: opening balance, charges, recalculation, penalties, payments
        "Задолженность (+) / аванс (−) на 01.11.2026 1 520,40",
        "Начислено за ноябрь 2026 1 498,19", "Перерасчёт −45,00", "Пени 12,31", "Оплачено за ноябрь 2026 −1 520,40",
        # the contact-centre phone and the other channels (BIL-3), the message
        "Вопросы по счёту — контакт-центр", "8 800 200-00-00", "Telegram и VK", "e-mail pokazania@example.ru",
        "Передавайте показания с 18 по 25 число каждого месяца.",
        # the payment slip
        "Расчётный счёт 40702810128000001234", "048702640 / 30101810400000000640",
        "Назначение Электроэнергия за 11.2026, л/с 100000001",
    ]:  # fmt: skip
        assert phrase in text, phrase
    assert "Итого к оплате до 15.12.2026" in text and "1 465,50 ₽" in text and "до 15.12.2026" in text


def test_the_qr_code_on_the_page_decodes_to_the_payload_field_by_field():
    document = bill()
    (code,) = page_codes(render_bill(document))
    assert code == bill_payload(document)
    fields = dict(parse_payload(code))
    assert fields["Sum"] == "146550"
    assert fields["PersAcc"] == "100000001"
    assert fields["PaymPeriod"] == "112026"
    assert fields["TechCode"] == "02"
    assert fields["Name"] == "АО «Энергосбытовая компания Севера»"


def test_a_name_with_a_bar_is_printed_with_another_separator_in_the_code():
    (code,) = page_codes(render_bill(bill(supplier=supplier(name="ООО «Свет|Тепло»"))))
    assert code.startswith("ST00012#")
    assert dict(parse_payload(code))["Name"] == "ООО «Свет|Тепло»"


def test_an_overpaid_bill_asks_nothing_and_its_code_has_no_sum():
    pdf = render_bill(bill(opening_balance=D("-3000.00"), payments=D("0.00"), total_due=D("-1501.81")))
    text = flat(pdf_pages_text(pdf)[0])
    assert "переплата 1 501,81 ₽" in text and "оплата не требуется" in text
    assert "Итого: оплата не требуется −1 501,81" in text
    assert "оплата не требуется; сумму аванса укажите в приложении банка" in text
    assert "оплатить до" not in text
    (code,) = page_codes(pdf)
    assert "Sum" not in dict(parse_payload(code))


def test_many_lines_continue_on_a_second_page_with_the_slip_on_the_last():
    line = ReadingLine("30000001", "день", D("100"), dt.date(2026, 10, 24), D("200"), dt.date(2026, 11, 23),
                       D("100"), "по показаниям")  # fmt: skip
    pdf = render_bill(bill(readings=tuple(dataclasses.replace(line, meter=f"{40000000 + i}") for i in range(45))))
    pages = [flat(page) for page in pdf_pages_text(pdf)]
    assert len(pages) == 2
    assert "ИЗВЕЩЕНИЕ ОБ ОПЛАТЕ" not in pages[0] and "ИЗВЕЩЕНИЕ ОБ ОПЛАТЕ" in pages[1]
    assert "Счёт № 11-2026-11-0000001 за ноябрь 2026 · номер клиента 100000001" in pages[1]
    assert "лист 2" in pages[1] and "Прибор учёта" in pages[1]  # the running head, the table head again
    assert all(f"{40000000 + i}" in pages[0] + pages[1] for i in range(45))
    assert page_codes(pdf) == [None, bill_payload(bill())]


def test_unmetered_volumes_show_dashes_and_the_method():
    by_average = ReadingLine("30000001", "", D("12345"), dt.date(2026, 9, 24), None, None, D("176.67"), "по среднему")
    text = flat(pdf_pages_text(render_bill(bill(readings=(by_average,))))[0])
    assert "30000001 — 12345 24.09.2026 — — 176,67 по среднему" in text


def test_no_readings_is_said():
    text = flat(pdf_pages_text(render_bill(bill(readings=())))[0])
    assert "Показаний за период нет." in text


def test_long_texts_are_cut_or_wrapped_not_spilled():
    name = "Ворошиловский-Задунайский Константин Константинович, наследственное имущество " * 3
    text = flat(pdf_pages_text(render_bill(bill(payer_name=name)))[0])
    assert "Ворошиловский-Задунайский Константин" in text and "…" in text
    assert name.strip() not in text


def test_the_same_bill_gives_the_same_bytes():
    assert render_bill(bill()) == render_bill(bill())


def test_bad_requisites_refuse_the_bill():
    with pytest.raises(PaymentCodeError):
        render_bill(bill(supplier=supplier(bic="12345")))


def test_bills_rendered_in_threads_at_once_are_the_same_as_one_by_one():
    """A web process renders downloads in several threads; the shared font file must not be read by two
    documents at once (without the lock this corrupts subsets or raises)."""
    documents = [bill(number=f"T-{i}", payer_name="Плательщик " + "Ёжик" * i, total_due=D(i)) for i in range(24)]
    expected = [render_bill(document) for document in documents]
    wrong: list[int] = []

    def work(start: int) -> None:
        for i in range(start, len(documents), 4):
            try:
                if render_bill(documents[i]) != expected[i]:
                    wrong.append(i)
            except Exception:
                wrong.append(i)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []
