"""One configurable reader of bank and post payment registries (DOMAIN: bank and post registries).

There is no national format: each agreement brings its own layout, kept as a ``RegistryFormat`` row and read here
as a ``Layout``: the encoding (cp1251 usually), the delimiter, the names of the fields in order, the date, time and
period formats, the tagged extras (``CounterVal_1:12345`` carries a reading typed at the bank's terminal or told to
the post office's clerk) and the totals trailer. ``SBERBANK`` is the preset for the common Sberbank layout::

    20-11-2026;10-15-00;8617;0001;12345;110000001;ИВАНОВА МАРИЯ ПЕТРОВНА;СЫКТЫВКАР, ЛЕНИНА 1-5;1126;1500,00;1500,00;\
    0,00;CounterVal_1:11250
    =1;1500,00;1500,00;0,00

(date; time; branch; outlet; cashier; account; name; address; period MMYY; amount; amount to transfer; commission;
extras…), the trailer: ``=`` count; sum; sum to transfer; commission.

Rules: a file that cannot be decoded, has no trailer, or whose trailer does not match the lines (count of payment
lines, sum of their amounts, sum to transfer when the layout has it) is refused whole (``RegistryRefused``). A line
that cannot be read (too few fields, no account, a bad amount, date or period) is a ``Problem`` with its line number;
the other lines are still imported when the trailer matches. A line with an unreadable amount leaves the sum short,
so its file is refused: money that cannot be reconciled is never half-imported.

Pure functions, no database: ``read(data, layout)``."""

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

FIELD_NAMES = frozenset(
    {
        "date",
        "time",
        "datetime",
        "account",
        "name",
        "address",
        "period",
        "amount",
        "transfer",
        "commission",
        "operation",
        "-",
        "extras",
    }
)
TRAILER_NAMES = frozenset({"count", "amount", "transfer", "commission", "-"})
MAX_PROBLEMS = 1000  # kept in the report; the count is exact
MAX_SLOT = 30


class RegistryRefused(Exception):
    """The whole file is refused; ``message`` says why, in Russian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Layout:
    fields: tuple[str, ...]
    encoding: str = "cp1251"
    delimiter: str = ";"
    date_format: str = "%d-%m-%Y"
    time_format: str = "%H-%M-%S"
    period_format: str = "%m%y"
    time_zone: str = "Europe/Moscow"
    header_lines: int = 0
    trailer_prefix: str = "="
    trailer_fields: tuple[str, ...] = ("count", "amount", "transfer", "commission")
    reading_tag: str = "CounterVal"

    def __post_init__(self):
        unknown = set(self.fields) - FIELD_NAMES
        if unknown:
            raise ValueError(f"unknown registry fields: {', '.join(sorted(unknown))}")
        if "account" not in self.fields or "amount" not in self.fields:
            raise ValueError("a registry layout needs the fields account and amount")
        if not ({"date", "datetime"} & set(self.fields)):
            raise ValueError("a registry layout needs a date or datetime field")
        if "extras" in self.fields and self.fields.index("extras") != len(self.fields) - 1:
            raise ValueError("extras must be the last field")
        if set(self.trailer_fields) - TRAILER_NAMES:
            raise ValueError("unknown trailer fields")
        if len(self.delimiter) != 1:
            raise ValueError("the delimiter is one character")
        "".encode(self.encoding)  # LookupError for an unknown encoding

    @classmethod
    def of(cls, fmt) -> "Layout":
        """The layout of a ``RegistryFormat`` row."""
        return cls(
            fields=_names(fmt.fields),
            encoding=fmt.encoding,
            delimiter=fmt.delimiter,
            date_format=fmt.date_format,
            time_format=fmt.time_format,
            period_format=fmt.period_format,
            time_zone=fmt.time_zone,
            header_lines=fmt.header_lines,
            trailer_prefix=fmt.trailer_prefix,
            trailer_fields=_names(fmt.trailer_fields),
            reading_tag=fmt.reading_tag,
        )

    @property
    def required(self) -> int:
        """Fields a line must have: every named one before the extras."""
        return len(self.fields) - (1 if "extras" in self.fields else 0)


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


SBERBANK = Layout(fields=_names("date,time,-,-,-,account,name,address,period,amount,transfer,commission,extras"))


@dataclass
class Line:
    no: int
    account: str
    amount: Decimal
    paid_at: dt.datetime
    name: str = ""
    address: str = ""
    period: dt.date | None = None
    operation: str = ""
    readings: dict[int, str] = field(default_factory=dict)  # counter slot (1…) → the value as typed
    raw: str = ""


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass(frozen=True)
class Trailer:
    count: int | None
    amount: Decimal | None
    transfer: Decimal | None


@dataclass
class Parsed:
    lines: list[Line]
    problems: list[Problem]
    data_lines: int  # every payment line, the broken ones included
    total: Decimal  # the sum of every amount that could be read
    transfer_total: Decimal
    trailer: Trailer | None


_AMOUNT = re.compile(r"-?\d+(?:\.\d{1,2})?")
_KOPECKS = Decimal("0.01")


def parse_amount(text: str) -> Decimal | None:
    """«1500,00», «1 500.00», «1500» → Decimal with kopecks; anything else (or more than 2 decimals) → None."""
    cleaned = text.replace(",", ".")
    if " " in cleaned or "\u00a0" in cleaned:
        cleaned = cleaned.replace(" ", "").replace("\u00a0", "")
    if not _AMOUNT.fullmatch(cleaned):
        return None
    return Decimal(cleaned).quantize(_KOPECKS)


def parse_period(text: str, fmt: str) -> dt.date | None:
    """The period the payer named («1126» → 2026-11-01); empty → None; unreadable → ValueError."""
    text = text.strip()
    if not text or not fmt:
        return None
    return _parser(fmt)(text).date().replace(day=1)


def read(data: bytes, layout: Layout) -> Parsed:
    """Read a registry file; ``RegistryRefused`` if the file as a whole cannot be taken."""
    try:
        text = data.decode(layout.encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RegistryRefused(
            _("The file is not in the %(encoding)s encoding (line %(line)s).")
            % {"encoding": layout.encoding, "line": line}
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = text.splitlines()
    numbered = [(no, row) for no, row in enumerate(rows, start=1) if no > layout.header_lines and row.strip()]
    trailer = None
    if layout.trailer_prefix:
        if not numbered or not numbered[-1][1].lstrip().startswith(layout.trailer_prefix):
            raise RegistryRefused(_("The file has no totals line; the whole file is refused."))
        trailer_no, trailer_row = numbered.pop()
        trailer = _trailer(trailer_row.lstrip()[len(layout.trailer_prefix) :], layout, trailer_no)
    zone = ZoneInfo(layout.time_zone)
    lines: list[Line] = []
    problems: list[Problem] = []
    total = transfer_total = Decimal("0.00")
    index = {name: i for i, name in enumerate(layout.fields) if name not in ("-", "extras")}
    extras_at = layout.fields.index("extras") if "extras" in layout.fields else None
    for no, row in numbered:
        parts = [part.strip() for part in row.split(layout.delimiter)]
        amount = parse_amount(parts[index["amount"]]) if len(parts) > index["amount"] else None
        if amount is not None:
            total += amount
        if "transfer" in index and len(parts) > index["transfer"]:
            transfer_total += parse_amount(parts[index["transfer"]]) or Decimal("0.00")
        try:
            line = _line(no, row, parts, index, extras_at, amount, layout, zone)
        except _Broken as exc:
            problems.append(Problem(no, exc.message))
            continue
        lines.append(line)
    parsed = Parsed(lines, problems, len(numbered), total, transfer_total, trailer)
    if trailer is not None:
        check_trailer(parsed, layout)
    return parsed


class _Broken(Exception):
    def __init__(self, message: str):
        self.message = message


def _line(no, row, parts, index, extras_at, amount, layout: Layout, zone) -> Line:
    if len(parts) < layout.required:
        raise _Broken(
            _("%(found)s fields instead of %(expected)s.") % {"found": len(parts), "expected": layout.required}
        )
    account = parts[index["account"]].replace(" ", "")
    if not account:
        raise _Broken(_("No client number."))
    if amount is None:
        raise _Broken(_("The amount «%(value)s» cannot be read.") % {"value": parts[index["amount"]][:30]})
    if amount <= 0:
        raise _Broken(_("The amount must be greater than zero."))
    try:
        paid_at = _moment(parts, index, layout, zone)
    except ValueError:
        raise _Broken(_("The date or time of the payment cannot be read.")) from None
    period = None
    if "period" in index:
        try:
            period = parse_period(parts[index["period"]], layout.period_format)
        except ValueError:
            raise _Broken(
                _("The period «%(value)s» cannot be read.") % {"value": parts[index["period"]][:20]}
            ) from None
    readings: dict[int, str] = {}
    if extras_at is not None:
        prefix = layout.reading_tag + "_"
        for extra in parts[extras_at:]:
            tag, _sep, value = extra.partition(":")
            tag = tag.strip()
            if not tag.startswith(prefix):
                continue  # other agents' extras (CounterId_n, FIO…) are not ours to read
            slot = tag[len(prefix) :]
            if not slot.isdigit() or not 1 <= int(slot) <= MAX_SLOT:
                raise _Broken(_("The tag «%(tag)s» has no counter number.") % {"tag": tag[:40]})
            readings[int(slot)] = value.strip()
    return Line(
        no=no,
        account=account,
        amount=amount,
        paid_at=paid_at,
        name=parts[index["name"]][:200] if "name" in index else "",
        address=parts[index["address"]][:300] if "address" in index else "",
        period=period,
        operation=parts[index["operation"]][:60] if "operation" in index else "",
        readings=readings,
        raw=row[:1000],
    )


def _moment(parts, index, layout: Layout, zone) -> dt.datetime:
    if "datetime" in index:
        fmt = f"{layout.date_format} {layout.time_format}".strip()
        return _parser(fmt)(parts[index["datetime"]]).replace(tzinfo=zone)
    day = _parser(layout.date_format)(parts[index["date"]])
    if "time" in index and layout.time_format and parts[index["time"]]:
        clock = _parser(layout.time_format)(parts[index["time"]])
        return day.replace(hour=clock.hour, minute=clock.minute, second=clock.second, tzinfo=zone)
    return day.replace(hour=12, tzinfo=zone)


_DIRECTIVES = {"%d": "d", "%m": "m", "%Y": "Y", "%y": "y", "%H": "H", "%M": "M", "%S": "S"}
_WIDTHS = {"d": 2, "m": 2, "Y": 4, "y": 2, "H": 2, "M": 2, "S": 2}


@functools.cache
def _parser(fmt: str):
    """A parser of ``fmt`` into a naive datetime: a regular expression when the format has only day, month, year,
    hour, minute and second with separators (a registry has 100 000 of them: ``strptime`` costs 40 µs each),
    else ``strptime``. Either raises ValueError for what is not a real date; results are cached per text."""
    pattern, names, rest = "", [], fmt
    while rest:
        if rest[:2] in _DIRECTIVES:
            name = _DIRECTIVES[rest[:2]]
            pattern += f"(\\d{{{_WIDTHS[name]}}})"
            names.append(name)
            rest = rest[2:]
        elif rest[0] == "%":
            names = None
            break
        else:
            pattern += re.escape(rest[0])
            rest = rest[1:]
    cache: dict[str, dt.datetime] = {}
    if names is None:

        def slow(text: str) -> dt.datetime:
            value = cache.get(text)
            if value is None:
                value = cache[text] = dt.datetime.strptime(text, fmt)
            return value

        return slow
    regex = re.compile(pattern)

    def fast(text: str) -> dt.datetime:
        value = cache.get(text)
        if value is None:
            match = regex.fullmatch(text)
            if match is None:  # e.g. a day without its leading zero: strptime decides
                return dt.datetime.strptime(text, fmt)
            parts = dict(zip(names, map(int, match.groups()), strict=True))
            year = parts.get("Y", 2000 + parts.get("y", 0) if parts.get("y", 0) < 69 else 1900 + parts.get("y", 0))
            value = dt.datetime(year, parts.get("m", 1), parts.get("d", 1), parts.get("H", 0), parts.get("M", 0),
                                parts.get("S", 0))  # fmt: skip
            if len(cache) < 200_000:
                cache[text] = value
        return value

    return fast


def _trailer(text: str, layout: Layout, no: int) -> Trailer:
    text = text.strip()
    if text.startswith(layout.delimiter):  # «ИТОГО|2|3000.00»: the prefix is a field of its own
        text = text[1:]
    parts = [part.strip() for part in text.split(layout.delimiter)]
    values: dict[str, str] = {}
    for name, value in zip(layout.trailer_fields, parts, strict=False):
        if name != "-":
            values[name] = value
    count = amount = transfer = None
    if "count" in values:
        if not values["count"].isdigit():
            raise RegistryRefused(_("The totals line (line %(line)s) cannot be read.") % {"line": no})
        count = int(values["count"])
    for name in ("amount", "transfer"):
        if name in values:
            value = parse_amount(values[name])
            if value is None:
                raise RegistryRefused(_("The totals line (line %(line)s) cannot be read.") % {"line": no})
            if name == "amount":
                amount = value
            else:
                transfer = value
    if count is None and amount is None:
        raise RegistryRefused(_("The totals line (line %(line)s) cannot be read.") % {"line": no})
    return Trailer(count, amount, transfer)


def check_trailer(parsed: Parsed, layout: Layout) -> None:
    trailer = parsed.trailer
    if trailer.count is not None and trailer.count != parsed.data_lines:
        raise RegistryRefused(
            _("The totals line says %(declared)s payments, the file has %(found)s; the whole file is refused.")
            % {"declared": trailer.count, "found": parsed.data_lines}
        )
    if trailer.amount is not None and trailer.amount != parsed.total:
        raise RegistryRefused(
            _("The totals line says %(declared)s ₽, the lines add up to %(found)s ₽; the whole file is refused.")
            % {"declared": _rub(trailer.amount), "found": _rub(parsed.total)}
        )
    if trailer.transfer is not None and "transfer" in layout.fields and trailer.transfer != parsed.transfer_total:
        raise RegistryRefused(
            _(
                "The totals line says %(declared)s ₽ to transfer, the lines add up to %(found)s ₽; "
                "the whole file is refused."
            )
            % {"declared": _rub(trailer.transfer), "found": _rub(parsed.transfer_total)}
        )


def _rub(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
