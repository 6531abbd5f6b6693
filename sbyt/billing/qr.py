"""The payment QR code of ГОСТ Р 56042-2014: the payload and its QR symbol (zxing-cpp, a native encoder).

Payload: ``ST0001`` + the encoding flag ``2`` (UTF-8; the bytes in the symbol are UTF-8) + the separator, then
``Key=Value`` pairs joined by the separator: the five mandatory ones first, in the standard's order (``Name``,
``PersonalAcc``, ``BankName``, ``BIC``, ``CorrespAcc``), then the utility-bill ones (``PayeeINN``, ``KPP``,
``Sum``, ``Purpose``, ``PersAcc``, ``PaymPeriod``, ``TechCode=02``). The separator is ``|`` unless a value
contains it; then the first candidate found in no value is used (the 8th character of the payload declares it).
See docs/bills.md for the choices (``Sum`` of a bill with nothing to pay, the optional fields left out).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import zxingcpp

from sbyt.core.errors import DomainError
from sbyt.core.money import round_half_up

if TYPE_CHECKING:
    from .documents import BillDocument, Supplier

HEADER = "ST0001"
UTF8_FLAG = "2"
# ``|`` first (the usual one), then characters that the rare value holding a ``|`` is unlikely to hold too.
SEPARATORS = "|#;^~_!$%&*+/@:{}"
TECH_CODE_UTILITIES = "02"
# Value lengths of the standard (characters); longer free texts are cut, fixed-format ones are checked.
MAX_LENGTH = {"Name": 160, "BankName": 45, "Purpose": 210}
EC_LEVEL = "M"  # 15 % of the symbol may be damaged (a folded or smudged paper bill still pays)

_SPACES = re.compile(r"\s+")
_FORMATS = {
    "PersonalAcc": (re.compile(r"\d{20}"), "расчётный счёт — 20 цифр"),
    "BIC": (re.compile(r"\d{9}"), "БИК — 9 цифр"),
    "CorrespAcc": (re.compile(r"\d{20}"), "корреспондентский счёт — 20 цифр"),
    "PayeeINN": (re.compile(r"\d{10}|\d{12}"), "ИНН — 10 или 12 цифр"),
    "KPP": (re.compile(r"\d{9}"), "КПП — 9 цифр"),
}


class PaymentCodeError(DomainError):
    """The payee's requisites cannot make a valid payment code (a configuration error, shown to staff)."""

    code = "bad_payment_requisites"


def clean(value: str, key: str = "") -> str:
    """A value as it goes into the payload: one line, spaces collapsed, cut to the standard's length."""
    text = _SPACES.sub(" ", value).strip()
    limit = MAX_LENGTH.get(key)
    return text[:limit].rstrip() if limit else text


def kopecks(amount: Decimal) -> int:
    """Rubles → whole kopecks, rounded half up."""
    return int(round_half_up(amount) * 100)


def build_payload(fields: Sequence[tuple[str, str]]) -> str:
    """``ST0001`` + ``2`` + separator + ``Key=Value`` joined by the separator, in the given order.

    Empty values are left out (the standard allows omitting an optional requisite); the mandatory five are
    checked by :func:`supplier_fields`."""
    pairs = [(key, clean(value, key)) for key, value in fields]
    pairs = [(key, value) for key, value in pairs if value]
    separator = next((s for s in SEPARATORS if not any(s in value for _, value in pairs)), None)
    if separator is None:
        raise PaymentCodeError("Реквизиты платежа содержат все допустимые разделители QR-кода.")
    return HEADER + UTF8_FLAG + separator + separator.join(f"{key}={value}" for key, value in pairs)


def parse_payload(payload: str) -> list[tuple[str, str]]:
    """The pairs of a payload, in order (for tests and for checking a printed code)."""
    if not payload.startswith(HEADER) or len(payload) < 8:
        raise ValueError("not a ГОСТ Р 56042 payload")
    separator = payload[7]
    pairs = []
    for item in payload[8:].split(separator):
        key, _, value = item.partition("=")
        pairs.append((key, value))
    return pairs


def supplier_fields(supplier: Supplier) -> list[tuple[str, str]]:
    """The five mandatory requisites plus the payee's INN and KPP, checked for format."""
    fields = [
        ("Name", supplier.name),
        ("PersonalAcc", supplier.bank_account),
        ("BankName", supplier.bank_name),
        ("BIC", supplier.bic),
        ("CorrespAcc", supplier.correspondent_account),
        ("PayeeINN", supplier.inn),
        ("KPP", supplier.kpp),
    ]
    for key, value in fields:
        rule = _FORMATS.get(key)
        if rule and not rule[0].fullmatch(value.strip()):
            raise PaymentCodeError(f"Неверные реквизиты для QR-кода: {rule[1]} (указано «{value}»).")
        if not rule and not clean(value):
            raise PaymentCodeError(f"Неверные реквизиты для QR-кода: не заполнено поле {key}.")
    return [(key, value.strip()) for key, value in fields]


def purpose(bill: BillDocument) -> str:
    """Short on purpose: the account and the period have their own fields, and every byte enlarges the symbol."""
    return f"Электроэнергия за {bill.period:%m.%Y}, л/с {bill.account_number}"


def bill_fields(bill: BillDocument) -> list[tuple[str, str]]:
    """The requisites of a bill's payment code, in order. ``Sum`` only when there is something to pay:
    a zero or negative total (an overpayment) leaves it out, and the banking app asks the payer for the sum."""
    due = kopecks(bill.total_due)
    return [
        *supplier_fields(bill.supplier),
        ("Sum", str(due) if due > 0 else ""),
        ("Purpose", purpose(bill)),
        ("PersAcc", bill.account_number),
        ("PaymPeriod", f"{bill.period:%m%Y}"),
        ("TechCode", TECH_CODE_UTILITIES),
    ]


def bill_payload(bill: BillDocument) -> str:
    return build_payload(bill_fields(bill))


@dataclass(frozen=True, slots=True)
class Matrix:
    """A QR symbol without its quiet zone: ``size`` modules a side, packed as a 1-bit grey image — row after row
    from the top, each row padded to whole bytes, the most significant bit first, 0 = dark, 1 = light."""

    size: int
    packed: bytes

    @property
    def row_bytes(self) -> int:
        return (self.size + 7) // 8

    def dark(self, x: int, y: int) -> bool:
        byte = self.packed[y * self.row_bytes + x // 8]
        return not byte >> (7 - x % 8) & 1


_TO_BITS = bytes.maketrans(b"\x00\xff", b"01")  # the encoder's bitmap: 0 = dark, 255 = light


def encode(payload: str) -> Matrix:
    """The QR symbol of ``payload``: byte mode, the UTF-8 bytes, no ECI header (banking apps read the flag), the
    mask chosen by the encoder's penalty rule (ISO/IEC 18004)."""
    symbol = zxingcpp.create_barcode(payload.encode("utf-8"), zxingcpp.BarcodeFormat.QRCode, ec_level=EC_LEVEL)
    image = symbol.to_image(scale=1, add_quiet_zones=False)
    size = image.shape[1]
    bits = bytes(memoryview(image)).translate(_TO_BITS)
    row_bytes = (size + 7) // 8
    pad = b"1" * (row_bytes * 8 - size)
    packed = b"".join(
        int(bits[start : start + size] + pad, 2).to_bytes(row_bytes, "big") for start in range(0, size * size, size)
    )
    return Matrix(size=size, packed=packed)
