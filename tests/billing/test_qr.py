"""The ГОСТ Р 56042-2014 payment code: the payload field by field, and the symbol read back by a real decoder."""

import datetime as dt
from decimal import Decimal as D

import pytest
import zxingcpp
from PIL import Image

from sbyt.billing import qr
from sbyt.billing.qr import PaymentCodeError, bill_payload, parse_payload

from .test_documents import bill, supplier

EXPECTED_KEYS = [
    "Name", "PersonalAcc", "BankName", "BIC", "CorrespAcc",  # mandatory, in the standard's order
    "PayeeINN", "KPP", "Sum", "Purpose", "PersAcc", "PaymPeriod", "TechCode",
]  # fmt: skip


def symbol_image(matrix: qr.Matrix, scale: int = 4) -> Image.Image:
    """The symbol as a picture with its 4-module quiet zone, drawn from the matrix the PDF gets."""
    side = (matrix.size + 8) * scale
    image = Image.new("L", (side, side), 255)
    for y in range(matrix.size):
        for x in range(matrix.size):
            if matrix.dark(x, y):
                image.paste(0, ((x + 4) * scale, (y + 4) * scale, (x + 5) * scale, (y + 5) * scale))
    return image


def decode(matrix: qr.Matrix) -> str:
    result = zxingcpp.read_barcode(symbol_image(matrix), formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None and result.valid
    return result.bytes.decode("utf-8")  # the flag says UTF-8: the raw bytes must be UTF-8


def test_payload_fields_in_order_with_kopecks():
    payload = bill_payload(bill())
    assert payload.startswith("ST00012|")  # ST0001 + 2 (UTF-8) + the separator
    assert parse_payload(payload) == [
        ("Name", "АО «Энергосбытовая компания Севера»"),
        ("PersonalAcc", "40702810128000001234"),
        ("BankName", "ОТДЕЛЕНИЕ N8617 СБЕРБАНКА РОССИИ"),
        ("BIC", "048702640"),
        ("CorrespAcc", "30101810400000000640"),
        ("PayeeINN", "1101301856"),
        ("KPP", "110101001"),
        ("Sum", "146550"),  # 1 465,50 ₽ in kopecks
        ("Purpose", "Электроэнергия за 11.2026, л/с 100000001"),
        ("PersAcc", "100000001"),
        ("PaymPeriod", "112026"),
        ("TechCode", "02"),
    ]


@pytest.mark.parametrize(
    ("total", "kopecks"),
    [(D("0.01"), "1"), (D("1000"), "100000"), (D("12.345"), "1235"), (D("99999.994"), "9999999")],
)
def test_sum_is_whole_kopecks_rounded_half_up(total, kopecks):
    assert dict(parse_payload(bill_payload(bill(total_due=total))))["Sum"] == kopecks


@pytest.mark.parametrize("total", [D("0.00"), D("-250.00"), D("0.004")])
def test_nothing_to_pay_leaves_sum_out(total):
    """An overpayment (or zero) must not become a negative or zero Sum: the field is left out and the banking
    app asks the payer for the amount; everything else stays."""
    pairs = parse_payload(bill_payload(bill(total_due=total)))
    assert [key for key, _ in pairs] == [key for key in EXPECTED_KEYS if key != "Sum"]


def test_a_value_with_the_separator_switches_the_separator():
    payload = bill_payload(bill(supplier=supplier(name="ООО «Свет|Тепло»")))
    assert payload.startswith("ST00012#")  # the 8th character declares the new separator
    assert "|" not in payload.replace("Свет|Тепло", "")
    pairs = parse_payload(payload)
    assert pairs[0] == ("Name", "ООО «Свет|Тепло»")
    assert [key for key, _ in pairs] == EXPECTED_KEYS


def test_the_next_free_separator_is_taken_when_several_are_used():
    payload = bill_payload(bill(supplier=supplier(name="А|Б#В;Г")))
    assert payload[7] == "^"
    assert parse_payload(payload)[0] == ("Name", "А|Б#В;Г")


def test_no_free_separator_is_refused():
    every = "".join(qr.SEPARATORS)
    with pytest.raises(PaymentCodeError) as refused:
        bill_payload(bill(supplier=supplier(name=f"АО {every}")))
    assert "разделител" in refused.value.message


def test_long_and_multiline_values_are_cut_to_the_standard_and_kept_on_one_line():
    long_name = "Акционерное общество «" + "Очень длинное наименование энергосбытовой компании " * 5 + "»"
    payload = bill_payload(
        bill(supplier=supplier(name=long_name, bank_name="ПАО «" + "БАНК " * 20 + "»"), account_number="1000\n01")
    )
    fields = dict(parse_payload(payload))
    assert len(fields["Name"]) == 160 and long_name.startswith(fields["Name"])
    assert len(fields["BankName"]) <= 45
    assert fields["PersAcc"] == "1000 01"
    assert "\n" not in payload
    assert decode(qr.encode(payload)) == payload  # still one readable symbol


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bank_account", "4070281012800000123", "расчётный счёт — 20 цифр"),
        ("bic", "04870264A", "БИК — 9 цифр"),
        ("correspondent_account", "", "корреспондентский счёт — 20 цифр"),
        ("inn", "11013018", "ИНН — 10 или 12 цифр"),
        ("kpp", "1101010", "КПП — 9 цифр"),
        ("name", "  ", "не заполнено поле Name"),
        ("bank_name", "", "не заполнено поле BankName"),
    ],
)
def test_bad_requisites_are_refused_with_a_clear_message(field, value, message):
    with pytest.raises(PaymentCodeError) as refused:
        bill_payload(bill(supplier=supplier(**{field: value})))
    assert message in refused.value.message
    assert refused.value.message.startswith("Неверные реквизиты для QR-кода")


def test_the_symbol_decodes_to_the_exact_payload():
    payload = bill_payload(bill())
    matrix = qr.encode(payload)
    assert decode(matrix) == payload
    assert matrix.size == len(matrix.packed) // matrix.row_bytes  # square, whole rows


def test_the_symbol_carries_utf8_bytes_without_an_eci_header():
    payload = bill_payload(bill(period=dt.date(2026, 3, 1)))
    result = zxingcpp.read_barcode(symbol_image(qr.encode(payload)))
    assert result.bytes == payload.encode("utf-8")
    assert result.symbology_identifier == "]Q1"  # no ECI: the ST0001 flag alone states the encoding
    assert result.ec_level == qr.EC_LEVEL


def test_parse_payload_rejects_what_is_not_a_payment_code():
    with pytest.raises(ValueError):
        parse_payload("https://example.ru")
