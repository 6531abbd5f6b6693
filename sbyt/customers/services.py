"""Client base import: customers, accounts, premises, contracts, meters and their last readings from a table.

``import_accounts`` reads a CSV or XLSX file (or rows already read) with one row per meter; the client, account,
premises and contract repeat on every row of the same account. The columns are documented in
``docs/import-format.md``. It is idempotent: accounts are keyed by their number, contracts by theirs, premises
by (account, address) and meters by (contract, serial); a second run updates what changed and creates nothing
twice. The last readings of a row become an accepted reading (channel «import») unless the meter already has
a live reading of that period with the same values; a different live reading of that period is superseded.

Set-based: the rows are parsed and checked in Python, the existing rows are fetched in bulk, and the changes
are written with ``bulk_create`` / ``bulk_update`` in chunks of accounts. Each chunk is a savepoint; if the
database refuses a chunk, its accounts are written again one by one, each in its own savepoint, so a failing
account never leaves half-written data and never takes the others with it. Bad rows are reported with their
line number and reason and skipped; the good rows are imported.
"""

import copy
import csv
import datetime as dt
import io
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError
from sbyt.core.periods import month_start
from sbyt.core.phones import normalize_phone
from sbyt.core.timezones import local_now
from sbyt.metering.models import Channel, Meter, Reading
from sbyt.metering.rules import Reason, ValueRejected, parse_value

from .models import Account, Branch, Contract, Customer, Premises

# Canonical column → accepted aliases (compared after ``_norm``: lower case, ё → е, punctuation → «_»).
COLUMNS: dict[str, tuple[str, ...]] = {
    "branch_code": ("branch", "филиал", "код_филиала"),
    "account_number": ("account", "номер_клиента", "лицевой_счет", "номер_лицевого_счета", "лс"),
    "customer_kind": ("kind", "вид_клиента", "тип_клиента"),
    "last_name": ("фамилия",),
    "first_name": ("имя",),
    "middle_name": ("отчество",),
    "org_name": ("organisation", "organization", "организация", "наименование", "наименование_организации"),
    "inn": ("инн",),
    "birth_date": ("дата_рождения",),
    "phone": ("mobile", "телефон", "мобильный_телефон"),
    "email": ("e_mail", "электронная_почта"),
    "address": ("адрес", "адрес_помещения"),
    "residents": ("проживающих", "число_проживающих", "жильцов"),
    "rooms": ("комнат", "число_комнат"),
    "stove_type": ("stove", "плита", "тип_плиты"),
    "settlement": ("местность", "тип_местности"),
    "contract_number": ("contract", "номер_договора", "договор"),
    "resource": ("ресурс", "услуга"),
    "contract_start": ("дата_договора", "дата_начала_договора", "начало_договора"),
    "meter_serial": ("serial", "заводской_номер", "номер_счетчика", "номер_прибора", "счетчик"),
    "meter_model": ("model", "тип_счетчика", "модель_счетчика", "тип_прибора"),
    "zones": ("зон", "тарифных_зон", "число_зон"),
    "digits": ("разрядность", "разрядов"),
    "installed_on": ("дата_установки",),
    "verification_due": ("следующая_поверка", "дата_следующей_поверки", "срок_поверки"),
    "meter_status": ("состояние_счетчика", "статус_счетчика"),
    "smart": ("is_smart", "ису"),
    "last_reading_date": ("reading_date", "дата_показаний", "дата_последних_показаний"),
    "last_t1": ("t1", "т1", "показание_т1", "показание"),
    "last_t2": ("t2", "т2", "показание_т2"),
    "last_t3": ("t3", "т3", "показание_т3"),
}
REQUIRED_COLUMNS = ("account_number", "contract_number")

KINDS = {
    Customer.Kind.PERSON: ("person", "физ", "фл", "физлицо", "физическое_лицо"),
    Customer.Kind.SOLE_TRADER: ("sole_trader", "ип", "индивидуальный_предприниматель"),
    Customer.Kind.ORGANISATION: (
        "organisation",
        "organization",
        "юр",
        "юл",
        "юрлицо",
        "юридическое_лицо",
        "организация",
    ),
}
RESOURCES = {
    Contract.Resource.ELECTRICITY: ("electricity", "электроэнергия", "ээ", "э_э", "электричество", "электроснабжение"),
    Contract.Resource.HOT_WATER: ("hot_water", "гвс", "горячая_вода", "горячее_водоснабжение"),
    Contract.Resource.COLD_WATER: ("cold_water", "хвс", "холодная_вода", "холодное_водоснабжение"),
}
STOVES = {
    Premises.StoveType.GAS: ("gas", "газ", "газовая", "газовая_плита"),
    Premises.StoveType.ELECTRIC: ("electric", "электро", "электрическая", "электроплита", "электрическая_плита"),
    Premises.StoveType.NONE: ("none", "нет", "без_плиты"),
}
SETTLEMENTS = {
    Premises.Settlement.URBAN: ("urban", "город", "городская", "г"),
    Premises.Settlement.RURAL: ("rural", "село", "сельская", "сельская_местность", "деревня"),
}
METER_STATUSES = {
    Meter.Status.IN_SERVICE: ("in_service", "в_работе", "работает", "исправен"),
    Meter.Status.FAULTY: ("faulty", "неисправен"),
    Meter.Status.REMOVED: ("removed", "снят"),
}
BOOLEANS = {True: ("1", "да", "д", "yes", "y", "true", "истина"), False: ("0", "нет", "н", "no", "n", "false", "ложь")}

ENTITIES = ("customer", "account", "premises", "contract", "meter", "reading")
CHUNK_ACCOUNTS = 500
_IN_BATCH = 900  # ids per ``__in`` lookup: well under every backend's limit of query parameters
_DEFAULT_DIGITS = Meter._meta.get_field("digits").default
_ACCOUNT_RE = re.compile(r"^\d{4,20}$")
_CONTRACT_RE = re.compile(r"^\d{3,20}$")
_INN_RE = re.compile(r"^\d{10}(\d{2})?$")
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s.*)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T\s].*)?$")
_NORM = re.compile(r"[^0-9a-zа-я]+")
_SPACES = re.compile(r"\s+")


XLSX_UNPACKED_FACTOR = 10  # an XLSX workbook's XML is several times larger than the same table as CSV


class ImportFileError(DomainError):
    """The file cannot be read at all: nothing is imported."""

    code = "import_file"


@dataclass(frozen=True)
class RowError:
    line: int
    code: str
    message: str
    account_number: str = ""


@dataclass
class ImportReport:
    source: str
    dry_run: bool = False
    rows: int = 0
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})

    @property
    def imported_rows(self) -> int:
        return self.rows - len(self.bad_lines)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "bad_rows": len(self.bad_lines),
            "created": dict(self.created),
            "updated": dict(self.updated),
            "unchanged": dict(self.unchanged),
        }


# ---------------------------------------------------------------------------------------------- reading the file


def _norm(text) -> str:
    return _NORM.sub("_", str(text).strip().lower().replace("ё", "е")).strip("_")


_ALIASES = {_norm(alias): name for name, aliases in COLUMNS.items() for alias in (name, *aliases)}


def _choices(table: dict) -> dict[str, object]:
    return {_norm(alias): value for value, aliases in table.items() for alias in (str(value), *aliases)}


_KIND_OF, _RESOURCE_OF, _STOVE_OF = _choices(KINDS), _choices(RESOURCES), _choices(STOVES)
_SETTLEMENT_OF, _METER_STATUS_OF, _BOOL_OF = _choices(SETTLEMENTS), _choices(METER_STATUSES), _choices(BOOLEANS)


@dataclass
class Table:
    """A header and the data rows of a file, each with the line (CSV) or row (XLSX) number where it starts."""

    source: str
    header: list[str]
    rows: list[tuple[int, list]]


def read_table(path) -> Table:
    """Read a CSV or XLSX file; raise ``ImportFileError`` with a clear reason when it cannot be read."""
    path = Path(path)
    limit = settings.SBYT_IMPORT_MAX_BYTES
    try:
        if path.is_file() and path.stat().st_size > limit:
            raise ImportFileError(
                _("The file is too large: at most %(limit)s MB can be imported at once. Split it into several files.")
                % {"limit": _megabytes(limit)}
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(_("File not found: %(path)s.") % {"path": path})
    except OSError as exc:
        raise ImportFileError(_("Cannot read the file %(path)s: %(error)s.") % {"path": path, "error": exc.strerror})
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("Excel 97–2003 (XLS) files are not supported: save the table as XLSX or CSV."))
    return _read_csv(path, data)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f}" if size >= 1024 * 1024 else f"{size / 1024 / 1024:.2f}"


def _check_unpacked_size(data: bytes) -> None:
    """An XLSX is a zip archive: refuse one that unpacks to far more than a file may hold (a «zip bomb»).
    Its XML is several times larger than the same table as CSV, hence the factor."""
    limit = settings.SBYT_IMPORT_MAX_BYTES * XLSX_UNPACKED_FACTOR
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # openpyxl says it is damaged, in its turn
    if unpacked > limit:
        raise ImportFileError(
            _("The XLSX file unpacks to more than %(limit)s MB of data. Split it into several files or save it as CSV.")
            % {"limit": _megabytes(limit)}
        )


def _read_xlsx(path: Path, data: bytes) -> Table:
    from openpyxl import load_workbook

    _check_unpacked_size(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own errors alike: the workbook is unreadable
        raise ImportFileError(_("The XLSX file is damaged or is not an Excel workbook.")) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ImportFileError(_("The file has no header row."))
        rows = []
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            cells = [_cell(v) for v in values]
            if any(c != "" for c in cells):
                rows.append((number, cells))
    except ImportFileError:
        raise
    except Exception as exc:
        raise ImportFileError(_("The XLSX file is damaged or is not an Excel workbook.")) from exc
    finally:
        workbook.close()
    if not rows:
        raise ImportFileError(_("The file has no header row."))
    (_line, header), *body = rows
    return Table(path.name, [str(h) for h in header], body)


def _cell(value):
    """An XLSX cell as the importer sees it: text stripped, whole numbers as digits, dates as dates."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value).strip()


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise ImportFileError(_("Cannot read the text of the file: expected UTF-8 or Windows-1251 encoding."))


def _read_csv(path: Path, data: bytes) -> Table:
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise ImportFileError(_("Cannot read the text of the file: expected UTF-8 or Windows-1251 encoding."))
    if any(ch < " " and ch not in "\t\r\n" for ch in text[:4096]):
        raise ImportFileError(_("The file is neither a CSV table nor an XLSX workbook."))
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (";", "\t", ",")}
    delimiter = max(counts, key=lambda d: counts[d])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    start = 1
    try:
        for record in reader:
            cells = [c.strip() for c in record]
            if any(cells):
                rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(
            _("Cannot read the CSV table at line %(line)s: %(error)s.") % {"line": start, "error": exc}
        )
    if not rows:
        raise ImportFileError(_("The file has no header row."))
    (_line, header), *body = rows
    return Table(path.name, header, body)


def map_header(header: list) -> tuple[dict[str, int], list[str]]:
    """Canonical column → position, and the columns that are not ours (ignored)."""
    positions: dict[str, int] = {}
    ignored = []
    for index, title in enumerate(header):
        name = _ALIASES.get(_norm(title))
        if name is None:
            if str(title).strip():
                ignored.append(str(title).strip())
            continue
        if name in positions:
            raise ImportFileError(
                _("Column %(column)s appears twice in the header (columns %(first)s and %(second)s).")
                % {"column": name, "first": positions[name] + 1, "second": index + 1}
            )
        positions[name] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise ImportFileError(
            _("The header row lacks the required columns: %(columns)s. See docs/import-format.md.")
            % {"columns": ", ".join(missing)}
        )
    return positions, ignored


# ---------------------------------------------------------------------------------------------- parsing a row


@dataclass
class _Row:
    """One parsed data row: only the values that were given (an empty cell leaves the stored value as it is)."""

    line: int
    account_number: str = ""
    branch: Branch | None = None
    customer: dict = field(default_factory=dict)
    premises_key: str = ""
    premises: dict = field(default_factory=dict)
    contract_number: str = ""
    contract: dict = field(default_factory=dict)
    serial: str = ""
    meter: dict = field(default_factory=dict)
    reading_date: dt.date | None = None
    reading_values: tuple = ()
    reading_columns: tuple = ()
    errors: list[tuple[str, str]] = field(default_factory=list)

    def error(self, code: str, message: str) -> None:
        self.errors.append((code, message))


class _Cells:
    def __init__(self, row: _Row, values: Mapping[str, object]):
        self.row = row
        self.values = values

    def text(self, column: str) -> str:
        value = self.values.get(column, "")
        if isinstance(value, dt.date):
            return value.isoformat()
        return _SPACES.sub(" ", str(value if value is not None else "")).strip()

    def date(self, column: str) -> dt.date | None:
        value = self.values.get(column, "")
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = self.text(column)
        if not text:
            return None
        parsed = None
        if match := _DOTTED_DATE.match(text):
            day, month, year = (int(g) for g in match.groups())
            parsed = _safe_date(year, month, day)
        elif match := _ISO_DATE.match(text):
            year, month, day = (int(g) for g in match.groups())
            parsed = _safe_date(year, month, day)
        if parsed is None or not (1900 <= parsed.year <= 2100):
            self.row.error(
                "bad_date",
                _("Wrong date in column %(column)s: «%(value)s» (expected DD.MM.YYYY).")
                % {"column": column, "value": text},
            )
        return parsed

    def integer(self, column: str, low: int, high: int, code: str, message: str) -> int | None:
        text = self.text(column)
        if not text:
            return None
        if text.isdigit() and text.isascii() and low <= int(text) <= high:
            return int(text)
        self.row.error(code, _(message) % {"value": text, "column": column, "min": low, "max": high})
        return None

    def choice(self, column: str, table: dict, code: str, message: str):
        text = self.text(column)
        if not text:
            return None
        value = table.get(_norm(text))
        if value is None:
            self.row.error(code, _(message) % {"value": text})
        return value


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _address_key(address: str) -> str:
    return _SPACES.sub(" ", address).strip().casefold().replace("ё", "е")


def _parse_row(line: int, values: Mapping[str, object], *, branches: dict, default_branch: Branch | None) -> _Row:
    row = _Row(line)
    cells = _Cells(row, values)

    number = cells.text("account_number")
    if not number:
        row.error("missing_account_number", _("No client number."))
    elif not _ACCOUNT_RE.match(number):
        row.error(
            "bad_account_number",
            _("The client number must consist of 4 to 20 digits: «%(value)s».") % {"value": number},
        )
    row.account_number = number

    code = cells.text("branch_code")
    if code:
        row.branch = branches.get(code)
        if row.branch is None:
            row.error("unknown_branch", _("Unknown branch «%(code)s».") % {"code": code})
        elif default_branch is not None and row.branch != default_branch:
            row.error(
                "other_branch",
                _("The row belongs to branch «%(code)s», but the import is limited to branch «%(limit)s».")
                % {"code": code, "limit": default_branch.code},
            )
    elif default_branch is not None:
        row.branch = default_branch
    else:
        row.error("missing_branch", _("No branch code: fill in the branch_code column or choose the branch."))

    _parse_customer(row, cells)
    _parse_premises(row, cells)
    _parse_contract(row, cells)
    _parse_meter(row, cells)
    return row


def _parse_customer(row: _Row, cells: _Cells) -> None:
    customer = row.customer
    kind = cells.choice(
        "customer_kind",
        _KIND_OF,
        "bad_customer_kind",
        gettext_noop("Unknown client type «%(value)s»: expected person, sole_trader or organisation."),
    )
    for name in ("last_name", "first_name", "middle_name"):
        if value := cells.text(name)[:100]:
            customer[name] = value
    if org_name := cells.text("org_name")[:300]:
        customer["org_name"] = org_name
    if kind is not None:
        customer["kind"] = kind
    if inn := cells.text("inn"):
        if _INN_RE.match(inn):
            customer["inn"] = inn
        else:
            row.error("bad_inn", _("Wrong INN «%(value)s»: 10 or 12 digits expected.") % {"value": inn})
    birth_date = cells.date("birth_date")
    if birth_date is not None:
        if birth_date > dt.date.today():
            row.error("bad_date", _("The birth date %(date)s is in the future.") % {"date": f"{birth_date:%d.%m.%Y}"})
        else:
            customer["birth_date"] = birth_date
    if phone_text := cells.text("phone"):
        phone = normalize_phone(phone_text)
        if phone:
            customer["phone"] = phone
        else:
            row.error("bad_phone", _("Wrong mobile phone number «%(value)s».") % {"value": phone_text})
    if email := cells.text("email"):
        try:
            validate_email(email)
        except ValidationError:
            row.error("bad_email", _("Wrong e-mail address «%(value)s».") % {"value": email})
        else:
            customer["email"] = email


def _parse_premises(row: _Row, cells: _Cells) -> None:
    premises = row.premises
    if address := cells.text("address"):
        row.premises_key = _address_key(address)
        premises["address"] = address[:400]
    for column in ("residents", "rooms"):
        value = cells.integer(
            column,
            0,
            99,
            "bad_number",
            gettext_noop("Column %(column)s must be a whole number from %(min)s to %(max)s, not «%(value)s»."),
        )
        if value is not None:
            premises[column] = value
    stove = cells.choice(
        "stove_type",
        _STOVE_OF,
        "bad_stove_type",
        gettext_noop("Unknown stove type «%(value)s»: expected gas, electric or none."),
    )
    if stove is not None:
        premises["stove_type"] = stove
    settlement = cells.choice(
        "settlement",
        _SETTLEMENT_OF,
        "bad_settlement",
        gettext_noop("Unknown settlement «%(value)s»: expected urban or rural."),
    )
    if settlement is not None:
        premises["settlement"] = settlement
    if premises and not row.premises_key:
        row.error("missing_address", _("Premises details are given without the address."))


def _parse_contract(row: _Row, cells: _Cells) -> None:
    number = cells.text("contract_number")
    if not number:
        row.error("missing_contract_number", _("No contract number."))
    elif not _CONTRACT_RE.match(number):
        row.error(
            "bad_contract_number",
            _("The contract number must consist of 3 to 20 digits: «%(value)s».") % {"value": number},
        )
    row.contract_number = number
    resource = cells.choice(
        "resource",
        _RESOURCE_OF,
        "bad_resource",
        gettext_noop("Unknown resource «%(value)s»: expected electricity, hot_water or cold_water."),
    )
    if resource is not None:
        row.contract["resource"] = resource
    start = cells.date("contract_start")
    if start is not None:
        row.contract["start_date"] = start


def _parse_meter(row: _Row, cells: _Cells) -> None:
    meter = row.meter
    serial = cells.text("meter_serial")
    if len(serial) > 32:
        row.error("bad_serial", _("The meter serial number is longer than 32 characters."))
    row.serial = serial
    if model := cells.text("meter_model")[:100]:
        meter["model_name"] = model
    zones = cells.integer(
        "zones", 1, 3, "bad_zones", gettext_noop("The number of tariff zones must be 1, 2 or 3, not «%(value)s».")
    )
    if zones is not None:
        meter["zones"] = zones
    digits = cells.integer(
        "digits",
        3,
        12,
        "bad_digits",
        gettext_noop("The register digits must be a number from 3 to 12, not «%(value)s»."),
    )
    if digits is not None:
        meter["digits"] = digits
    for column, name in (("installed_on", "installed_on"), ("verification_due", "verification_due")):
        value = cells.date(column)
        if value is not None:
            meter[name] = value
    status = cells.choice(
        "meter_status",
        _METER_STATUS_OF,
        "bad_meter_status",
        gettext_noop("Unknown meter status «%(value)s»: expected in_service, faulty or removed."),
    )
    if status is not None:
        meter["status"] = status
    smart = cells.choice(
        "smart", _BOOL_OF, "bad_smart", gettext_noop("Wrong smart-meter flag «%(value)s»: expected 1 or 0.")
    )
    if smart is not None:
        meter["is_smart"] = smart

    row.reading_date = cells.date("last_reading_date")
    given = [(column, cells.text(column)) for column in ("last_t1", "last_t2", "last_t3")]
    given = [(column, text) for column, text in given if text]
    values = []
    for column, text in given:
        try:
            values.append(parse_value(text))
        except ValueRejected as exc:
            if exc.reason == Reason.TOO_MANY_DIGITS:
                message = _("Reading %(column)s has more digits than any meter register: «%(value)s».")
            elif exc.reason == Reason.NOT_WHOLE_NUMBER:
                message = _("Reading %(column)s must be a whole number: «%(value)s».")
            else:
                message = _("Reading %(column)s is not a number: «%(value)s».")
            row.error("bad_reading", message % {"column": column, "value": text})
    row.reading_values = tuple(values)
    row.reading_columns = tuple(column for column, _text in given)
    if given and row.reading_date is None and not cells.text("last_reading_date"):
        row.error("missing_reading_date", _("Readings are given without the reading date."))
    if row.reading_date is not None and not given:
        row.error("missing_reading", _("A reading date is given without the readings."))
    if (meter or given) and not serial:
        row.error("missing_serial", _("Meter details or readings are given without the meter serial number."))


# ---------------------------------------------------------------------------------------------- the plan


@dataclass
class _Item:
    fields: dict
    origin: dict  # field → the line that gave it
    line: int
    existing: object = None
    premises_key: str = ""
    contract_number: str = ""


@dataclass
class _Plan:
    number: str
    branch: Branch
    existing: Account | None
    lines: list[int] = field(default_factory=list)
    customer: _Item | None = None
    premises: dict[str, _Item] = field(default_factory=dict)
    contracts: dict[str, _Item] = field(default_factory=dict)
    meters: dict[tuple[str, str], _Item] = field(default_factory=dict)
    readings: dict[tuple[str, str, dt.date], tuple[tuple[int, ...], dt.date, int]] = field(default_factory=dict)


def _disagreement(plan: _Plan, row: _Row, meter_key: tuple[str, str]) -> str | None:
    if plan.branch != row.branch:
        return _("The branch differs from line %(line)s of the same client number.") % {"line": plan.lines[0]}
    if line := _conflict(plan.customer, row.customer):
        return _("The client's details differ from line %(line)s of the same client number.") % {"line": line}
    if line := _conflict(plan.premises.get(row.premises_key), row.premises):
        return _("The premises details differ from line %(line)s for the same address.") % {"line": line}
    contract = plan.contracts.get(row.contract_number)
    if line := _conflict(contract, row.contract):
        return _("The contract details differ from line %(line)s of the same contract.") % {"line": line}
    if contract and row.premises_key and contract.premises_key not in ("", row.premises_key):
        return _("The contract's address differs from line %(line)s of the same contract.") % {"line": contract.line}
    if line := _conflict(plan.meters.get(meter_key), row.meter):
        return _("The meter details differ from line %(line)s of the same meter.") % {"line": line}
    return None


def _conflict(item: _Item | None, values: dict) -> int | None:
    """The line of an earlier row that gave a different value for one of these fields, if any."""
    if item is None:
        return None
    for name, value in values.items():
        if name in item.fields and item.fields[name] != value:
            return item.origin[name]
    return None


def _merge(item: _Item, values: dict, line: int) -> None:
    for name, value in values.items():
        if name not in item.fields:
            item.fields[name] = value
            item.origin[name] = line


@dataclass
class _Existing:
    accounts: dict[str, Account]
    premises: dict[int, dict[str, Premises]]
    contracts: dict[str, Contract]
    meters: dict[tuple[int, str], Meter]
    readings: dict[tuple[int, dt.date], Reading] = field(default_factory=dict)


def _batches(items: Iterable, size: int = _IN_BATCH) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fetch_existing(rows: list[_Row]) -> _Existing:
    accounts: dict[str, Account] = {}
    for batch in _batches({r.account_number for r in rows}):
        for account in Account.objects.filter(number__in=batch).select_related("customer"):
            accounts[account.number] = account
    premises: dict[int, dict[str, Premises]] = defaultdict(dict)
    for batch in _batches(a.pk for a in accounts.values()):
        for item in Premises.objects.filter(account_id__in=batch).order_by("pk"):
            premises[item.account_id].setdefault(_address_key(item.address), item)
    contracts: dict[str, Contract] = {}
    for batch in _batches({r.contract_number for r in rows}):
        for contract in Contract.objects.filter(number__in=batch).select_related("account"):
            contracts[contract.number] = contract
    meters: dict[tuple[int, str], Meter] = {}
    for batch in _batches(c.pk for c in contracts.values()):
        for meter in Meter.objects.filter(contract_id__in=batch).order_by("pk"):
            meters.setdefault((meter.contract_id, meter.serial), meter)
    return _Existing(accounts, premises, contracts, meters)


def _fetch_readings(existing: _Existing, plans: Iterable[_Plan]) -> None:
    periods = set()
    meter_ids = set()
    for plan in plans:
        for contract_number, serial, period in plan.readings:
            contract = existing.contracts.get(contract_number)
            meter = existing.meters.get((contract.pk, serial)) if contract else None
            if meter is not None:
                meter_ids.add(meter.pk)
                periods.add(period)
    for batch in _batches(meter_ids):
        live = Reading.objects.filter(
            meter_id__in=batch, period__in=periods, status__in=(Reading.Status.ACCEPTED, Reading.Status.HELD)
        )
        for reading in live:
            existing.readings[(reading.meter_id, reading.period)] = reading


def _plan(rows: list[_Row], existing: _Existing, report: ImportReport) -> list[_Plan]:
    plans: dict[str, _Plan] = {}
    contract_owner: dict[str, tuple[str, int]] = {}
    for row in rows:
        if row.errors:
            continue
        account = existing.accounts.get(row.account_number)
        plan = plans.get(row.account_number)
        contract = existing.contracts.get(row.contract_number)
        meter_key = (row.contract_number, row.serial)
        meter = existing.meters.get((contract.pk, row.serial)) if contract and row.serial else None

        # What must be there for rows that create something.
        if account is None and plan is None:
            kind = row.customer.get("kind") or (
                Customer.Kind.ORGANISATION
                if row.customer.get("org_name") and not row.customer.get("last_name")
                else Customer.Kind.PERSON
            )
            if kind == Customer.Kind.ORGANISATION and not row.customer.get("org_name"):
                row.error("missing_org_name", _("No organisation name for a new client number."))
            elif kind != Customer.Kind.ORGANISATION and not row.customer.get("last_name"):
                row.error("missing_last_name", _("No surname of the client for a new client number."))
        if contract is None and not row.premises_key and not (plan and row.contract_number in plan.contracts):
            row.error("missing_address", _("No address of the premises for a new contract."))
        if contract is not None and contract.account.number != row.account_number:
            row.error(
                "contract_of_other_account",
                _("Contract %(contract)s belongs to another client number (%(account)s).")
                % {"contract": row.contract_number, "account": contract.account.number},
            )
        owner = contract_owner.get(row.contract_number)
        if owner and owner[0] != row.account_number:
            row.error(
                "contract_of_other_account",
                _("Contract %(contract)s is given for another client number at line %(line)s.")
                % {"contract": row.contract_number, "line": owner[1]},
            )

        # The readings against the meter as it will be after this import.
        if row.reading_values:
            zones = row.meter.get("zones") or (meter.zones if meter else None)
            digits = row.meter.get("digits") or (meter.digits if meter else None)
            planned = plan.meters.get(meter_key) if plan else None
            if planned is not None:
                zones = zones or planned.fields.get("zones")
                digits = digits or planned.fields.get("digits")
            zones, digits = zones or 1, digits or _DEFAULT_DIGITS
            if len(row.reading_values) != zones or row.reading_columns != ("last_t1", "last_t2", "last_t3")[:zones]:
                row.error(
                    "wrong_value_count",
                    _("The meter has %(zones)s tariff zone(s): give one reading per zone (last_t1…last_t%(zones)s).")
                    % {"zones": zones},
                )
            for column, value in zip(row.reading_columns, row.reading_values, strict=True):
                if value > 10**digits - 1:
                    row.error(
                        "too_many_digits",
                        _("Reading %(column)s (%(value)s) has more digits than the meter's register (%(digits)s).")
                        % {"column": column, "value": value, "digits": digits},
                    )
            if row.reading_date and row.branch and row.reading_date > local_now(row.branch.time_zone).date():
                row.error(
                    "future_reading",
                    _("The reading date %(date)s is in the future.") % {"date": f"{row.reading_date:%d.%m.%Y}"},
                )

        # Rows of one account repeat its data: a row that disagrees with an earlier one is refused.
        if plan is not None and not row.errors and (message := _disagreement(plan, row, meter_key)):
            row.error("conflict", message)
        if row.reading_values and plan is not None and not row.errors:
            earlier = plan.readings.get((row.contract_number, row.serial, month_start(row.reading_date)))
            if earlier and earlier[0] != row.reading_values:
                row.error(
                    "conflict",
                    _("Other readings of this meter for the same month are given at line %(line)s.")
                    % {"line": earlier[2]},
                )
        if row.errors:
            continue

        # The row is good: merge it into its account's plan.
        if plan is None:
            plan = plans[row.account_number] = _Plan(row.account_number, row.branch, account)
        plan.lines.append(row.line)
        contract_owner.setdefault(row.contract_number, (row.account_number, row.line))
        if plan.customer is None:
            plan.customer = _Item({}, {}, row.line, account.customer if account else None)
        _merge(plan.customer, row.customer, row.line)
        if row.premises_key:
            item = plan.premises.get(row.premises_key)
            if item is None:
                current = existing.premises.get(account.pk, {}).get(row.premises_key) if account else None
                item = plan.premises[row.premises_key] = _Item({}, {}, row.line, current)
            _merge(item, row.premises, row.line)
        item = plan.contracts.get(row.contract_number)
        if item is None:
            item = plan.contracts[row.contract_number] = _Item({}, {}, row.line, contract)
        _merge(item, row.contract, row.line)
        item.premises_key = item.premises_key or row.premises_key
        if row.serial:
            item = plan.meters.get(meter_key)
            if item is None:
                item = plan.meters[meter_key] = _Item({}, {}, row.line, meter, contract_number=row.contract_number)
            _merge(item, row.meter, row.line)
            if row.reading_values:
                period = month_start(row.reading_date)
                plan.readings[(row.contract_number, row.serial, period)] = (
                    row.reading_values,
                    row.reading_date,
                    row.line,
                )

    for row in rows:
        for code, message in row.errors:
            report.errors.append(RowError(row.line, code, message, row.account_number))
    return list(plans.values())


# ---------------------------------------------------------------------------------------------- writing


def _apply(existing, values: dict):
    """``existing`` itself when nothing changes, else a copy with ``values`` set; and the changed field names.

    The prefetched instance is never modified, so a chunk that is rolled back can be written again."""
    changed = [name for name, value in values.items() if getattr(existing, name) != value]
    if not changed:
        return existing, changed
    obj = copy.copy(existing)
    for name in changed:
        setattr(obj, name, values[name])
    return obj, changed


class _Writer:
    """Writes the plans of a chunk of accounts set-based; a pure function of the plans, so it can be retried."""

    def __init__(self, *, existing: _Existing, actor, source: str, today: dt.date):
        self.existing = existing
        self.actor = actor
        self.submitted_by = actor if getattr(actor, "is_authenticated", False) else None
        self.source = source
        self.today = today

    def write(self, plans: list[_Plan]) -> tuple[Counter, Counter, Counter]:
        created, updated, unchanged = Counter(), Counter(), Counter()

        def save(entity, model, new, changes):
            if new:
                model.objects.bulk_create(new, batch_size=1000)
            changed_fields = sorted({name for _obj, names in changes for name in names})
            to_update = [obj for obj, names in changes if names]
            if to_update:
                model.objects.bulk_update(to_update, changed_fields, batch_size=1000)
            created[entity] += len(new)
            updated[entity] += len(to_update)
            unchanged[entity] += len(changes) - len(to_update)

        # Customers, then accounts.
        customers, new, changes = {}, [], []
        for plan in plans:
            fields = plan.customer.fields
            if plan.existing is not None:
                obj, names = _apply(plan.existing.customer, fields)
                changes.append((obj, names))
            else:
                kind = fields.get("kind") or (
                    Customer.Kind.ORGANISATION
                    if fields.get("org_name") and not fields.get("last_name")
                    else Customer.Kind.PERSON
                )
                obj = Customer(**{**fields, "kind": kind})
                new.append(obj)
            customers[plan.number] = obj
        save("customer", Customer, new, changes)

        accounts, new, changes = {}, [], []
        for plan in plans:
            if plan.existing is not None:
                obj, names = _apply(plan.existing, {"branch_id": plan.branch.pk})
                changes.append((obj, names))
            else:
                obj = Account(number=plan.number, customer=customers[plan.number], branch=plan.branch)
                new.append(obj)
            accounts[plan.number] = obj
        save("account", Account, new, changes)

        # Premises, keyed by (account, address).
        premises, new, changes = {}, [], []
        for plan in plans:
            account = accounts[plan.number]
            for key, item in plan.premises.items():
                if item.existing is not None:
                    obj, names = _apply(item.existing, item.fields)
                    changes.append((obj, names))
                else:
                    obj = Premises(account=account, **item.fields)
                    new.append(obj)
                premises[(plan.number, key)] = obj
        save("premises", Premises, new, changes)

        # Contracts.
        contracts, new, changes = {}, [], []
        for plan in plans:
            account = accounts[plan.number]
            for number, item in plan.contracts.items():
                values = dict(item.fields)
                place = premises.get((plan.number, item.premises_key)) if item.premises_key else None
                if item.existing is not None:
                    if place is not None:
                        values["premises_id"] = place.pk
                    obj, names = _apply(item.existing, values)
                    changes.append((obj, names))
                else:
                    values.setdefault("start_date", self.today)
                    obj = Contract(number=number, account=account, premises=place, **values)
                    new.append(obj)
                contracts[number] = obj
        save("contract", Contract, new, changes)

        # Meters, keyed by (contract, serial).
        meters, new, changes = {}, [], []
        for plan in plans:
            for (contract_number, serial), item in plan.meters.items():
                if item.existing is not None:
                    obj, names = _apply(item.existing, item.fields)
                    changes.append((obj, names))
                else:
                    obj = Meter(contract=contracts[contract_number], serial=serial, **item.fields)
                    new.append(obj)
                meters[(contract_number, serial)] = obj
        save("meter", Meter, new, changes)

        # Readings: a new accepted reading unless the period's live reading has the same values.
        new, superseded = [], []
        for plan in plans:
            tz = ZoneInfo(plan.branch.time_zone)
            for (contract_number, serial, period), (values, day, line) in plan.readings.items():
                meter = meters[(contract_number, serial)]
                padded = (*values, None, None, None)[:3]
                live = self.existing.readings.get((meter.pk, period))
                if live is not None:
                    if (live.t1, live.t2, live.t3) == padded:
                        unchanged["reading"] += 1
                        continue
                    superseded.append(live.pk)
                new.append(
                    Reading(
                        meter=meter,
                        period=period,
                        t1=padded[0],
                        t2=padded[1],
                        t3=padded[2],
                        raw=" ".join(str(v) for v in values),
                        received_at=dt.datetime.combine(day, dt.time(12), tzinfo=tz),
                        channel=Channel.IMPORT,
                        submitted_by=self.submitted_by,
                        source=f"{self.source}:{line}"[-120:],
                        status=Reading.Status.ACCEPTED,
                        reason=Reason.ACCEPTED,
                    )
                )
        for batch in _batches(superseded):
            Reading.objects.filter(pk__in=batch).update(status=Reading.Status.SUPERSEDED)
        Reading.objects.bulk_create(new, batch_size=1000)
        created["reading"] += len(new)
        updated["reading"] += len(superseded)
        return created, updated, unchanged


# ---------------------------------------------------------------------------------------------- the service


def _rows_from(rows_or_path) -> tuple[str, list[tuple[int, dict]], list[str], set[str]]:
    """(source name, [(line, {column: value})], ignored columns, columns present)."""
    if isinstance(rows_or_path, (str, Path)):
        table = read_table(rows_or_path)
        positions, ignored = map_header(table.header)
        rows = [
            (line, {name: cells[index] if index < len(cells) else "" for name, index in positions.items()})
            for line, cells in table.rows
        ]
        return table.source, rows, ignored, set(positions)
    rows = []
    header: dict[str, str] = {}
    for position, raw in enumerate(rows_or_path, start=2):
        values = {}
        for title, value in raw.items():
            name = header.get(title)
            if name is None:
                name = header[title] = _ALIASES.get(_norm(title), "")
            if name:
                values[name] = _cell(value)
        rows.append((position, values))
    present = {name for name in header.values() if name}
    ignored = [title for title, name in header.items() if not name]
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if rows and missing:
        raise ImportFileError(
            _("The header row lacks the required columns: %(columns)s. See docs/import-format.md.")
            % {"columns": ", ".join(missing)}
        )
    return "rows", rows, ignored, present


def import_accounts(rows_or_path, *, actor, branch_code: str | None = None, dry_run: bool = False) -> ImportReport:
    """Import the client base from a CSV / XLSX file (a path) or from rows (mappings of column → value).

    Raises ``ImportFileError`` (nothing written) when the file cannot be read at all or the branch is unknown;
    otherwise returns the report: counts per entity and every bad row with its line number and reason."""
    branches = {b.code: b for b in Branch.objects.all()}
    default_branch = None
    if branch_code:
        default_branch = branches.get(branch_code)
        if default_branch is None:
            raise ImportFileError(_("Unknown branch «%(code)s».") % {"code": branch_code})
    source, raw_rows, ignored, present = _rows_from(rows_or_path)
    if default_branch is None and "branch_code" not in present:
        if len(branches) != 1:
            raise ImportFileError(
                _("The file has no branch_code column: choose the branch of the import (--branch CODE).")
            )
        default_branch = next(iter(branches.values()))

    report = ImportReport(source=source, dry_run=dry_run, rows=len(raw_rows), ignored_columns=ignored)
    rows = [_parse_row(line, values, branches=branches, default_branch=default_branch) for line, values in raw_rows]
    with transaction.atomic():
        existing = _fetch_existing([r for r in rows if not r.errors])
        plans = _plan(rows, existing, report)
        _fetch_readings(existing, plans)
        writer = _Writer(existing=existing, actor=actor, source=source, today=timezone.localdate())
        for chunk in _batches(plans, CHUNK_ACCOUNTS):
            try:
                with transaction.atomic():
                    counts = writer.write(chunk)
            except DatabaseError:
                counts = _write_one_by_one(writer, chunk, report)
            for total, part in zip((report.created, report.updated, report.unchanged), counts, strict=True):
                total.update(part)
        report.errors.sort(key=lambda e: e.line)
        audit(
            actor,
            "customers.import_accounts",
            ("file", source),
            rows=report.rows,
            bad_rows=len(report.bad_lines),
            created=dict(report.created),
            updated=dict(report.updated),
            dry_run=dry_run,
        )
        if dry_run:
            transaction.set_rollback(True)
    return report


def _write_one_by_one(writer: _Writer, chunk: list[_Plan], report: ImportReport) -> tuple[Counter, Counter, Counter]:
    totals = Counter(), Counter(), Counter()
    for plan in chunk:
        try:
            with transaction.atomic():
                counts = writer.write([plan])
        except DatabaseError as exc:
            for line in plan.lines:
                report.errors.append(
                    RowError(
                        line,
                        "database",
                        _("The client number could not be saved: %(error)s.") % {"error": str(exc)[:200]},
                        plan.number,
                    )
                )
            continue
        for total, part in zip(totals, counts, strict=True):
            total.update(part)
    return totals
