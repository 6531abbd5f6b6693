"""The e-mail robot (RD-8, APL-4): readings by e-mail, answered automatically within a minute.

A client sends an empty letter with the client number in the subject and gets back an XLSX table of the
account's meters (one row per tariff zone, a column «Показание» to fill); the filled table (XLSX or CSV) sent
back is read, the values of each meter are submitted through ``metering.services.submit_reading`` and the reply
gives a verdict per meter. See ``docs/email-robot.md``.

``poll`` reads the mailbox over IMAP: ``UID SEARCH UNSEEN``, each letter fetched with ``BODY.PEEK[]`` (the same
bytes as ``RFC822`` without setting ``\\Seen``), stored, and only then flagged ``\\Seen``. ``handle_letter`` does
the rest, like ``inbound.receive_text`` for the text channels:

1. The letter is stored first as an ``InboundMessage`` (channel ``email``, external id: the Message-ID, or a hash
   of the raw bytes when there is none); ``raw`` keeps the headers that matter, the text and, for each
   attachment, its name, type, size and SHA-256 (never its bytes). A letter already stored (the robot died
   before flagging it seen, the mailbox was restored…) is answered once: the replay changes nothing.
2. It is processed in a second transaction: auto-replies and bounces are recorded and never answered (no mail
   loops); otherwise the reply is decided, the readings are submitted, the reply is stored as an
   ``OutboundMessage`` and sent through Django's mail framework when the transaction commits.
3. An unexpected error rolls back everything the processing wrote; the letter stays ``failed`` with the error
   and the client gets a polite «try again later».
"""

import contextlib
import datetime as dt
import email
import email.policy
import hashlib
import imaplib
import io
import logging
import re
import smtplib
import traceback
import zipfile
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import DNS_NAME, EmailMessage, make_msgid
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.customers.queries import contracts_with_meters, find_account

from ..inbound import clean
from ..models import InboundMessage, OutboundMessage

log = logging.getLogger(__name__)

CHANNEL = "email"
PURPOSE = "mail_robot"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_STORED_TEXT = 4000  # characters of the letter's text kept in ``InboundMessage.text`` / ``raw``
MAX_ROWS = 500  # rows of a returned table (an account has a handful of meters)
XLSX_UNPACKED_FACTOR = 20  # a workbook's XML unpacks to far more than its zip; more than this is a «zip bomb»
MAX_ID_LENGTH = InboundMessage._meta.get_field("external_id").max_length
MAX_SENDER_LENGTH = InboundMessage._meta.get_field("sender").max_length
_CLIENT_NUMBER = re.compile(r"(?<!\d)(\d{4,20})(?!\d)")
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|ответ)\s*:", re.IGNORECASE)
TABLE_SUFFIXES = {".xlsx": "xlsx", ".csv": "csv"}
TABLE_TYPES = {XLSX_TYPE: "xlsx", "text/csv": "csv", "application/csv": "csv"}
HEADERS = ("Номер клиента", "Договор", "Счётчик", "Зона", "Предыдущее показание", "Дата предыдущего", "Показание")
# Column → accepted titles (compared lower-case, ё → е, punctuation and spaces → «_»).
COLUMNS = {
    "account": ("номер_клиента", "клиент", "лицевой_счет", "account"),
    "contract": ("договор", "номер_договора", "contract"),
    "serial": ("счетчик", "номер_счетчика", "прибор_учета", "meter", "serial"),
    "zone": ("зона", "zone"),
    "value": ("показание", "показания", "текущее_показание", "value", "reading"),
}
REQUIRED = ("account", "contract", "serial", "value")


# -------------------------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class RobotConfig:
    host: str
    port: int
    user: str
    password: str
    ssl: bool
    folder: str
    address: str
    max_attachment: int
    timeout: float = 30.0


def get_config() -> RobotConfig:
    return RobotConfig(
        host=settings.SBYT_MAIL_ROBOT_IMAP_HOST,
        port=settings.SBYT_MAIL_ROBOT_IMAP_PORT,
        user=settings.SBYT_MAIL_ROBOT_IMAP_USER,
        password=settings.SBYT_MAIL_ROBOT_IMAP_PASSWORD,
        ssl=settings.SBYT_MAIL_ROBOT_IMAP_SSL,
        folder=settings.SBYT_MAIL_ROBOT_IMAP_FOLDER,
        address=_robot_address(),
        max_attachment=settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT,
    )


def _robot_address() -> str:
    return settings.SBYT_MAIL_ROBOT_ADDRESS or settings.DEFAULT_FROM_EMAIL


def configured() -> bool:
    return bool(settings.SBYT_MAIL_ROBOT_IMAP_HOST and settings.SBYT_MAIL_ROBOT_IMAP_USER)


# -------------------------------------------------------------------------------------------- parsing a letter


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None  # None when over the size limit (only its name, size and hash are kept)
    inline: bool = False

    @property
    def kind(self) -> str:
        """``xlsx``, ``csv``, ``xls`` or ``""`` (not a table)."""
        suffix = Path(self.filename.lower()).suffix
        if suffix in TABLE_SUFFIXES:
            return TABLE_SUFFIXES[suffix]
        if suffix == ".xls" or self.content_type == "application/vnd.ms-excel":
            return "xls"
        return TABLE_TYPES.get(self.content_type, "")

    def meta(self) -> dict:
        return {"name": self.filename, "type": self.content_type, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Letter:
    external_id: str
    message_id: str
    sender: str  # the From address, lower case; "" when there is none usable
    subject: str
    text: str
    attachments: tuple[Attachment, ...] = ()
    automatic: str = ""  # why this is an auto-reply / bounce / list mail (never answered); "" for a person
    references: str = ""
    headers: dict = field(default_factory=dict)
    oversized: bool = False  # only the header was fetched: the whole letter is over the limit

    def raw(self) -> dict:
        return {
            "headers": self.headers,
            "text": self.text[:MAX_STORED_TEXT],
            "attachments": [a.meta() for a in self.attachments],
            "automatic": self.automatic,
            "oversized": self.oversized,
        }


KEPT_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Return-Path",
    "Auto-Submitted",
    "Precedence",
    "X-Autoreply",
    "X-Autorespond",
    "List-Id",
    "Content-Type",
)


def _header(message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header the policy cannot parse: keep it as the raw text
        value = message.get_all(name, failobj=[""])[0] if hasattr(message, "get_all") else ""
    return " ".join(str(value or "").split())


def automatic_reason(message) -> str:
    """Why a letter was sent by a machine (RFC 3834 and the common conventions); "" for a person's letter."""
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return "auto-submitted"
    if _header(message, "Precedence").lower() in {"bulk", "junk", "list", "auto_reply"}:
        return "precedence"
    if message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None:
        return "x-autoreply"
    if message.get("List-Id") is not None:
        return "list"
    if message.get_content_type() == "multipart/report":
        return "report"
    return_path = message.get("Return-Path")
    if return_path is not None and parseaddr(str(return_path))[1] == "" and "<>" in str(return_path):
        return "empty-return-path"
    sender = parseaddr(_header(message, "From"))[1].lower()
    local = sender.split("@")[0]
    if local in {"mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply"}:
        return "daemon"
    return ""


def _sender(message) -> str:
    addresses = [a for _name, a in getaddresses([_header(message, "From")]) if "@" in a]
    if len(addresses) != 1:
        return ""
    address = addresses[0].strip().lower()
    if len(address) > MAX_SENDER_LENGTH or any(c in address for c in " \r\n<>,;\"'"):
        return ""
    return address


def _text_of(message) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        text = body.get_content()
    except Exception:  # unknown charset, broken transfer encoding
        payload = body.get_payload(decode=True) or b""
        text = payload.decode("utf-8", errors="replace")
    if body.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    return clean(text.strip())


def _attachments(message, limit: int) -> tuple[Attachment, ...]:
    found = []
    body = message.get_body(preferencelist=("plain", "html"))
    for part in message.walk():
        if part.is_multipart() or part is body:
            continue
        filename = part.get_filename() or ""
        disposition = part.get_content_disposition()
        if not filename and disposition != "attachment":
            continue  # an alternative body, not a file
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        inline = disposition == "inline" or (part.get("Content-ID") is not None and disposition != "attachment")
        found.append(
            Attachment(
                filename=clean(filename)[:200],
                content_type=part.get_content_type(),
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data if len(data) <= limit else None,
                inline=inline and part.get_content_maintype() == "image",
            )
        )
    return tuple(found)


def parse_letter(raw: bytes, *, max_attachment: int | None = None, oversized: bool = False) -> Letter:
    """Parse the letter's bytes (RFC 5322); never raises for what a sender wrote."""
    limit = settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT if max_attachment is None else max_attachment
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message_id = clean(_header(message, "Message-ID"))
    if not message_id or len(message_id) > MAX_ID_LENGTH:
        external_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    else:
        external_id = message_id
    headers = {name: clean(_header(message, name))[:1000] for name in KEPT_HEADERS if message.get(name) is not None}
    try:
        text = "" if oversized else _text_of(message)
        attachments = () if oversized else _attachments(message, limit)
    except Exception:  # a structure the parser gives up on: answered as a letter without a usable file
        log.warning("mail robot: cannot parse the body of %s", external_id, exc_info=True)
        text, attachments = "", ()
    return Letter(
        external_id=external_id,
        message_id=message_id if message_id and len(message_id) <= 998 else "",
        sender=_sender(message),
        subject=clean(_header(message, "Subject"))[:300],
        text=text,
        attachments=attachments,
        automatic=automatic_reason(message),
        references=clean(_header(message, "References"))[:1500],
        headers=headers,
        oversized=oversized,
    )


# -------------------------------------------------------------------------------------------- the reply


@dataclass
class Reply:
    reason: str
    body: str
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)  # (filename, content, MIME type)
    account_number: str = ""


def _instructions() -> str:
    return _(
        "How to send readings by e-mail:\n"
        "1. Send an empty letter to this address with your client number in the subject. The client number is "
        "printed on your bill.\n"
        "2. In reply you will receive a table of your meters (an Excel file).\n"
        "3. Fill in the «Показание» column and send the table back to this address as an attachment "
        "(XLSX or CSV, at most %(limit)s MB).\n"
        "4. In reply you will receive a confirmation for each meter."
    ) % {"limit": _size_mb(settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT)}


def _size_mb(size: int) -> str:
    return f"{size / 1024 / 1024:g}"


def _signature() -> str:
    return (
        _("This reply was sent automatically; please do not answer it with questions.") + "\n" + settings.SBYT_SITE_NAME
    )


def _compose(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p) + "\n\n-- \n" + _signature() + "\n"


def decide(letter: Letter, *, received_at: dt.datetime | None = None) -> Reply:
    """What to answer to a person's letter (the readings of a filled table are submitted here)."""
    if letter.oversized:
        return Reply(
            "too_large",
            _compose(
                _("Your letter is too large: attachments of at most %(limit)s MB are accepted.")
                % {"limit": _size_mb(settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT)},
                _instructions(),
            ),
        )
    files = [a for a in letter.attachments if not a.inline]
    tables = [a for a in files if a.kind in {"xlsx", "csv"}]
    if tables:
        table = tables[0]
        if table.data is None:
            return Reply(
                "too_large",
                _compose(
                    _("The file «%(name)s» is too large: at most %(limit)s MB is accepted.")
                    % {"name": table.filename, "limit": _size_mb(settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT)},
                    _instructions(),
                ),
            )
        return _submit_table(letter, table, received_at=received_at)
    if any(a.kind == "xls" for a in files):
        return Reply(
            "wrong_file",
            _compose(
                _("Excel 97–2003 (XLS) files are not accepted: save the table as XLSX or CSV and send it again."),
                _instructions(),
            ),
        )
    if files:
        return Reply(
            "wrong_file",
            _compose(
                _("We could not find a table of readings in your letter: only XLSX or CSV tables are accepted."),
                _instructions(),
            ),
        )
    match = _CLIENT_NUMBER.search(letter.subject)
    if match is None:
        return Reply(
            "no_number",
            _compose(_("Please write your client number in the subject of the letter."), _instructions()),
        )
    account = find_account(match.group(1))
    if account is None:
        return Reply(
            "unknown_client",
            _compose(
                _(
                    "Client number %(number)s was not found. The client number is printed at the top of your "
                    "bill («Номер клиента» or «Лицевой счёт»); check it and send an empty letter with it in the "
                    "subject again."
                )
                % {"number": match.group(1)},
                _instructions(),
            ),
        )
    rows = meter_rows(account)
    if not rows:
        return Reply(
            "no_meters",
            _compose(
                _("There are no meters in service for client number %(number)s. Please call the contact centre.")
                % {"number": account.number}
            ),
            account_number=account.number,
        )
    return Reply(
        "table",
        _compose(
            _(
                "Here is the table of the meters of client number %(number)s. Fill in the «Показание» column "
                "(whole numbers, as on the meter's display) and send the table back to this address as an "
                "attachment. Do not change the other columns."
            )
            % {"number": account.number}
        ),
        attachments=[(f"pokazaniya-{account.number}.xlsx", build_table(rows), XLSX_TYPE)],
        account_number=account.number,
    )


# -------------------------------------------------------------------------------------------- the table sent


@dataclass(frozen=True)
class ZoneRow:
    account: str
    contract: str
    serial: str
    zone: str
    previous: int | None
    previous_date: dt.date | None


def _zone_label(zone_name: str) -> str:
    return zone_name or "—"


def meter_rows(account) -> list[ZoneRow]:
    """One row per tariff zone of each meter in service, in the cabinet's order. No name, no address."""
    from sbyt.metering.models import Meter
    from sbyt.metering.queries import last_accepted_by_meter

    meters = [
        (contract, meter)
        for contract in contracts_with_meters(account)
        for meter in contract.meters.all()
        if meter.status == Meter.Status.IN_SERVICE
    ]
    last = last_accepted_by_meter(m.pk for _c, m in meters)
    tz = ZoneInfo(account.branch.time_zone)
    rows = []
    for contract, meter in meters:
        reading = last.get(meter.pk)
        day = timezone.localtime(reading.received_at, tz).date() if reading else None
        values = (reading.t1, reading.t2, reading.t3) if reading else (None, None, None)
        for index, name in enumerate(meter.zone_names):
            rows.append(ZoneRow(account.number, contract.number, meter.serial, _zone_label(name), values[index], day))
    return rows


def build_table(rows: list[ZoneRow]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Показания"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(
            [
                row.account,
                row.contract,
                row.serial,
                row.zone,
                row.previous,
                f"{row.previous_date:%d.%m.%Y}" if row.previous_date else "",
                None,
            ]
        )
    fill = PatternFill("solid", fgColor="FFF2CC")
    for line in range(2, len(rows) + 2):
        for column in "ABC":
            sheet[f"{column}{line}"].number_format = "@"  # text: leading zeros of numbers kept
        sheet[f"G{line}"].fill = fill
    for column, width in zip("ABCDEFG", (16, 14, 16, 10, 22, 18, 14), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# -------------------------------------------------------------------------------------------- the table returned


class TableError(Exception):
    """The returned file cannot be read as our table: nothing is submitted."""


def _norm(text) -> str:
    return re.sub(r"[^0-9a-zа-я]+", "_", str(text).strip().lower().replace("ё", "е")).strip("_")


_TITLES = {_norm(t): name for name, titles in COLUMNS.items() for t in (name, *titles)}


def read_returned_table(attachment: Attachment) -> list[tuple[int, dict]]:
    """(line, {column: text}) for each data row of the returned XLSX / CSV; ``TableError`` when unreadable.

    The file is read by the client-base importer's readers (``customers.services``): the same encodings,
    delimiters, damaged-workbook checks."""
    from sbyt.customers.services import ImportFileError, _read_csv, _read_xlsx

    data = attachment.data or b""
    path = Path(attachment.filename or "table")
    try:
        if attachment.kind == "xlsx":
            _check_unpacked(data)
            table = _read_xlsx(path, data)
        else:
            table = _read_csv(path, data)
    except ImportFileError as exc:
        raise TableError(exc.message) from exc
    positions = {}
    for index, title in enumerate(table.header):
        name = _TITLES.get(_norm(title))
        if name and name not in positions:
            positions[name] = index
    if any(c not in positions for c in REQUIRED):
        raise TableError(
            _("The table has lost its header row: use the table the robot sent, without changing columns.")
        )
    if len(table.rows) > MAX_ROWS:
        raise TableError(_("The table has too many rows."))
    rows = []
    for line, cells in table.rows:
        values = {}
        for name, index in positions.items():
            value = cells[index] if index < len(cells) else ""
            values[name] = value.isoformat() if isinstance(value, dt.date) else str(value).strip()
        rows.append((line, values))
    return rows


def _check_unpacked(data: bytes) -> None:
    limit = settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT * XLSX_UNPACKED_FACTOR
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # openpyxl says it is damaged, in its turn
    if unpacked > limit:
        raise TableError(_("The XLSX file is too large when unpacked. Send the table the robot sent, filled in."))


def _same_number(a: str, b: str) -> bool:
    """Equal as typed, or equal once a spreadsheet has dropped the leading zeros."""
    return a == b or (a.lstrip("0") == b.lstrip("0") and a.lstrip("0") != "")


def _zone_index(zone: str, names: tuple[str, ...]) -> int | None:
    zone = _norm(zone)
    for index, name in enumerate(names):
        if name and _norm(name) == zone:
            return index
    return None


def _submit_table(letter: Letter, attachment: Attachment, *, received_at: dt.datetime | None = None) -> Reply:
    from sbyt.metering.models import Meter
    from sbyt.metering.services import submit_reading

    try:
        rows = read_returned_table(attachment)
    except TableError as exc:
        return Reply(
            "bad_file",
            _compose(
                _("We could not read the file «%(name)s»: %(error)s") % {"name": attachment.filename, "error": exc},
                _instructions(),
            ),
        )
    problems: list[str] = []
    groups: dict[int, tuple[Meter, list[tuple[int, str, str]]]] = {}
    accounts: dict[str, object] = {}
    for line, row in rows:
        if not any(row.values()):
            continue
        number, contract_number, serial = row.get("account", ""), row.get("contract", ""), row.get("serial", "")
        if number not in accounts:
            accounts[number] = find_account(number) if number else None
        account = accounts[number]
        if account is None:
            problems.append(
                _("Row %(line)s: client number «%(number)s» was not found.") % {"line": line, "number": number}
            )
            continue
        meter = next(
            (
                m
                for m in Meter.objects.filter(contract__account=account).select_related("contract")
                if _same_number(m.contract.number, contract_number) and _same_number(m.serial, serial)
            ),
            None,
        )
        if meter is None:
            problems.append(
                _(
                    "Row %(line)s: meter %(serial)s of contract %(contract)s is not registered for "
                    "client number %(number)s."
                )
                % {"line": line, "serial": serial, "contract": contract_number, "number": account.number}
            )
            continue
        groups.setdefault(meter.pk, (meter, []))[1].append((line, row.get("zone", ""), row.get("value", "")))

    verdicts: list[str] = []
    accepted = submitted = refused = 0
    for meter, entries in groups.values():
        label = _("Meter %(serial)s (contract %(contract)s)") % {
            "serial": meter.serial,
            "contract": meter.contract.number,
        }
        if not any(value for _line, _zone, value in entries):
            verdicts.append(label + ": " + _("no reading entered, skipped."))
            continue
        values, error = _zone_values(meter, entries)
        if error:
            verdicts.append(label + ": " + error)
            refused += 1
            continue
        submitted += 1
        result = submit_reading(
            meter=meter,
            values=values,
            channel=CHANNEL,
            actor=f"email:{letter.sender}",
            source=(letter.message_id or letter.external_id)[:120],
            received_at=received_at,
        )
        accepted += int(result.accepted)
        verdicts.append(label + ": " + result.message)
    if submitted == 0 and not problems and not refused:  # no table rows, or no value in any of them
        return Reply(
            "empty_table",
            _compose(
                _("The table has no readings: fill in the «Показание» column and send it again."), _instructions()
            ),
        )
    if accepted == submitted and not problems and not refused:
        reason = "accepted"
    else:
        reason = "partly" if accepted else "rejected"
    return Reply(
        reason,
        _compose(
            _("Results for the table «%(name)s»:") % {"name": attachment.filename}, "\n".join(verdicts + problems)
        ),
    )


def _zone_values(meter, entries: list[tuple[int, str, str]]) -> tuple[list[str], str]:
    """The meter's values in zone order, from its rows (the zone column, else the order of the rows)."""
    names = meter.zone_names
    if len(entries) != len(names):
        return [], _("the table must have %(zones)s rows for this meter (one per tariff zone), it has %(rows)s.") % {
            "zones": len(names),
            "rows": len(entries),
        }
    if len(names) == 1:
        return [entries[0][2]], ""
    indexes = [_zone_index(zone, names) for _line, zone, _value in entries]
    if None in indexes or len(set(indexes)) != len(indexes):
        indexes = list(range(len(entries)))  # zone names changed: the rows are taken in the table's order
    values = [""] * len(names)
    for index, (_line, _zone, value) in zip(indexes, entries, strict=True):
        values[index] = value
    return values, ""


# -------------------------------------------------------------------------------------------- storing, answering


@dataclass(frozen=True)
class Outcome:
    message: InboundMessage
    reason: str
    duplicate: bool = False
    reply: OutboundMessage | None = None


def reply_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if _REPLY_PREFIX.match(subject):
        return subject[:250]
    return ("Re: " + subject if subject else _("Readings"))[:250]


def handle_letter(
    raw: bytes, *, receiver: str = "", received_at: dt.datetime | None = None, oversized=False
) -> Outcome:
    """Store the letter, then answer it once. Raises only when the letter cannot be stored (a database error):
    the caller leaves it unseen and it is read again on the next poll."""
    letter = parse_letter(raw, oversized=oversized)
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                channel=CHANNEL,
                external_id=letter.external_id,
                sender=letter.sender or "unknown",
                receiver=clean(receiver)[:MAX_SENDER_LENGTH],
                text=clean(f"{letter.subject}\n\n{letter.text}")[:MAX_STORED_TEXT],
                raw=clean(letter.raw()),
                received_at=received_at or timezone.now(),
            )
    except IntegrityError:
        message = InboundMessage.objects.filter(channel=CHANNEL, external_id=letter.external_id).first()
        if message is None:
            raise
        return _process(message.pk, letter, duplicate=True, from_address=receiver)
    return _process(message.pk, letter, from_address=receiver)


def _process(message_id: int, letter: Letter, *, duplicate: bool = False, from_address: str = "") -> Outcome:
    sender_address = from_address or _robot_address()
    try:
        with transaction.atomic():
            message = InboundMessage.objects.select_for_update().get(pk=message_id)
            if message.status != InboundMessage.Status.RECEIVED:
                return Outcome(message, message.reason, duplicate=True)
            message.attempts += 1
            outbound = None
            if letter.automatic or not letter.sender:
                reason = "ignored_" + (letter.automatic or "no_sender").replace("-", "_")
                reply_text = ""
            else:
                decision = decide(letter, received_at=message.received_at)
                reason, reply_text = decision.reason, decision.body
                outbound = send_reply(
                    letter, decision.body, attachments=decision.attachments, from_address=sender_address
                )
            message.status = InboundMessage.Status.PROCESSED
            message.reply, message.reason, message.error = reply_text, reason[:32], ""
            message.processed_at = timezone.now()
            message.save(update_fields=["status", "reply", "reason", "error", "processed_at", "attempts"])
            audit(f"email:{message.sender}", "inbound.process", message, channel=CHANNEL, reason=reason[:32])
            return Outcome(message, reason, duplicate, outbound)
    except Exception as exc:  # anything unexpected: the processing's writes are rolled back, the letter stays
        log.exception("mail robot: letter %s failed", message_id)
        return _fail(message_id, letter, exc, duplicate=duplicate, from_address=sender_address)


def _fail(message_id: int, letter: Letter, exc: Exception, *, duplicate: bool, from_address: str) -> Outcome:
    error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
    text = _compose(_("Sorry, we could not process your letter. Please try again later."))
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message_id)
        message.status = InboundMessage.Status.FAILED
        message.attempts += 1
        message.reply, message.reason, message.error = text, "", clean(error)
        message.processed_at = timezone.now()
        message.save(update_fields=["status", "reply", "reason", "error", "processed_at", "attempts"])
        audit(f"email:{message.sender}", "inbound.fail", message, channel=CHANNEL)
        outbound = (
            send_reply(letter, text, from_address=from_address) if letter.sender and not letter.automatic else None
        )
    return Outcome(message, "failed", duplicate, outbound)


def send_reply(letter: Letter, text: str, *, attachments=(), from_address: str = "") -> OutboundMessage:
    """Store the reply as an ``OutboundMessage`` and send it when the transaction commits.

    ``messaging.services.send_email`` has no attachments (the stored message has no place for a file without
    a migration), so the robot sends its replies itself through Django's mail framework (``EMAIL_BACKEND``),
    with ``In-Reply-To`` / ``References`` and ``Auto-Submitted: auto-replied``; the row records the outcome."""
    subject = reply_subject(letter.subject)
    outbound = OutboundMessage.objects.create(
        channel=OutboundMessage.Channel.EMAIL, to=letter.sender, subject=subject, body=text, purpose=PURPOSE
    )
    audit(f"email:{letter.sender}", "message.queue", outbound, channel="email", purpose=PURPOSE, to=letter.sender)
    headers = {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
    if letter.message_id:
        headers["In-Reply-To"] = letter.message_id
        headers["References"] = f"{letter.references} {letter.message_id}".strip()[-990:]
    files = list(attachments)
    sender = from_address or _robot_address()
    transaction.on_commit(lambda: deliver_reply(outbound.pk, headers=headers, attachments=files, from_email=sender))
    return outbound


def deliver_reply(outbound_id: int, *, headers: dict, attachments: list, from_email: str = "") -> str:
    """Send a stored reply now. A failure is recorded (``failed``: the generic retry would drop the file)."""
    with transaction.atomic():
        outbound = OutboundMessage.objects.select_for_update().get(pk=outbound_id)
        if outbound.status == OutboundMessage.Status.SENT:
            return outbound.status
        message_id = make_msgid(domain=DNS_NAME)
        mail = EmailMessage(
            subject=outbound.subject,
            body=outbound.body,
            from_email=from_email or _robot_address(),
            to=[outbound.to],
            headers={**headers, "Message-ID": message_id},
        )
        for filename, content, mimetype in attachments:
            mail.attach(filename, content, mimetype)
        outbound.attempts += 1
        try:
            mail.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("mail robot: reply %s to %s failed: %s", outbound.pk, outbound.to, exc)
            outbound.status, outbound.error = OutboundMessage.Status.FAILED, f"{type(exc).__name__}: {exc}"[:500]
        else:
            outbound.status, outbound.error = OutboundMessage.Status.SENT, ""
            outbound.sent_at, outbound.external_id = timezone.now(), message_id[:100]
        outbound.save(update_fields=["attempts", "status", "error", "sent_at", "external_id"])
    return outbound.status


# -------------------------------------------------------------------------------------------- IMAP


@dataclass
class PollReport:
    letters: int = 0
    answered: int = 0
    ignored: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: int = 0  # letters that could not be stored (left unseen, read again next time)

    def __str__(self) -> str:
        return (
            f"letters={self.letters} answered={self.answered} ignored={self.ignored} "
            f"duplicates={self.duplicates} failed={self.failed} errors={self.errors}"
        )


def connect(config: RobotConfig) -> imaplib.IMAP4:
    cls = imaplib.IMAP4_SSL if config.ssl else imaplib.IMAP4
    imap = cls(config.host, config.port, timeout=config.timeout)
    imap.login(config.user, config.password)
    return imap


def _fetch(imap, uid: bytes, item: str) -> bytes | None:
    typ, data = imap.uid("FETCH", uid, f"({item})")
    if typ != "OK":
        return None
    for part in data or ():
        if isinstance(part, tuple) and len(part) == 2:
            return part[1]
    return None


def _size_of(imap, uid: bytes) -> int:
    typ, data = imap.uid("FETCH", uid, "(RFC822.SIZE)")
    for part in data or ():
        text = part if isinstance(part, bytes) else b""
        if match := re.search(rb"RFC822\.SIZE (\d+)", text):
            return int(match.group(1))
    return 0


def poll(config: RobotConfig | None = None, *, limit: int = 100) -> PollReport:
    """Read the unseen letters of the mailbox, answer each once, flag each seen once stored."""
    config = config or get_config()
    report = PollReport()
    imap = connect(config)
    try:
        typ, _data = imap.select(_quote(config.folder))
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot select folder {config.folder!r}")
        typ, data = imap.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split() if typ == "OK" and data else []
        # A whole letter larger than this is not downloaded: its header is enough to tell the sender so.
        letter_limit = config.max_attachment * 2 + 256 * 1024
        for uid in uids[:limit]:
            report.letters += 1
            oversized = _size_of(imap, uid) > letter_limit
            raw = _fetch(imap, uid, "BODY.PEEK[HEADER]" if oversized else "BODY.PEEK[]")
            if raw is None:
                report.errors += 1
                continue
            try:
                outcome = handle_letter(raw, receiver=config.address, oversized=oversized)
            except Exception:
                log.exception("mail robot: cannot store letter uid %s", uid)
                report.errors += 1
                continue
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            if outcome.duplicate:
                report.duplicates += 1
            elif outcome.reason == "failed":
                report.failed += 1
            elif outcome.reason.startswith("ignored_"):
                report.ignored += 1
            else:
                report.answered += 1
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            imap.logout()
    return report


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
