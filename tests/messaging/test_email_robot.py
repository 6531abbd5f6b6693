"""The e-mail robot: real RFC 5322 letters (built with the ``email`` package, XLSX made by openpyxl), the decision
logic, auto-replies and bounces ignored, replays answered once, the table round trip for 1- and 2-zone meters,
bad files; and an integration test against a real Dovecot IMAP server started for the test."""

import csv
import datetime as dt
import email
import email.policy
import imaplib
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from sbyt.messaging.channels import email_robot
from sbyt.messaging.channels.email_robot import HEADERS, XLSX_TYPE, handle_letter, parse_letter
from sbyt.messaging.models import InboundMessage, OutboundMessage
from sbyt.metering.models import Meter, Reading
from tests.factories import (
    AccountFactory,
    ContractFactory,
    MeterFactory,
    PremisesFactory,
    ReadingFactory,
    WindowFactory,
    aware,
)

pytestmark = pytest.mark.django_db

INSIDE = aware(2026, 11, 20)
ACCEPTED = "Показания приняты. Спасибо."
CLIENT = "Мария Иванова <maria@client.example>"


# ------------------------------------------------------------------------------------------------ letters


def letter(subject="", text="", attachments=(), *, sender=CLIENT, message_id=None, headers=None, report=False):
    """An RFC 5322 letter as a mail client sends it."""
    message = MimeMessage()
    message["From"] = sender
    message["To"] = "pokazaniya@sbyt.example"
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    if message_id is not False:
        message["Message-ID"] = message_id or make_msgid(domain="client.example")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text or "\n")
    for filename, content, mimetype in attachments:
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    if report:
        message.make_mixed()
        message.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="b1"')
    return message.as_bytes(policy=email.policy.SMTP)


def table_rows(content: bytes) -> list[list]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def fill_table(content: bytes, values: list) -> bytes:
    """The robot's XLSX with «Показание» filled in row by row, as a client does in Excel."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    for line, value in enumerate(values, start=2):
        sheet.cell(row=line, column=len(HEADERS), value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def as_csv(rows: list[list], delimiter=";", encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in rows:
        writer.writerow(["" if c is None else c for c in row])
    return buffer.getvalue().encode(encoding)


def receive(raw, django_capture_on_commit_callbacks, **kwargs):
    """Store and answer one letter; the replies go out on commit (Django's locmem mail backend)."""
    before = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = handle_letter(raw, received_at=kwargs.pop("received_at", INSIDE), **kwargs)
    return outcome, mail.outbox[before:]


def xlsx_of(reply) -> bytes:
    files = [(name, content) for name, content, mimetype in reply.attachments if mimetype == XLSX_TYPE]
    assert len(files) == 1
    return files[0][1]


@pytest.fixture
def account():
    """Client 110555001: a one-zone meter on contract 102057522 and a two-zone one on 123859, October read."""
    account = AccountFactory(number="110555001")
    premises = PremisesFactory(account=account)
    one = MeterFactory(contract=ContractFactory(number="102057522", premises=premises), serial="007123")
    two = MeterFactory(contract=ContractFactory(number="123859", premises=premises), zones=2, digits=6)
    MeterFactory(contract=one.contract, status=Meter.Status.REMOVED)  # not in the table
    WindowFactory(branch=account.branch, first_day=18, last_day=25)
    ReadingFactory(meter=one, t1=11000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    ReadingFactory(meter=two, t1=45000, t2=23000, period=dt.date(2026, 10, 1), received_at=aware(2026, 10, 20))
    return account, one, two


def new_readings(meter):
    return Reading.objects.filter(meter=meter, period=dt.date(2026, 11, 1))


# ------------------------------------------------------------------------------------------------ parsing


def test_parse_letter_takes_sender_subject_text_and_attachment_metadata():
    raw = letter("110555001", "Добрый день", [("t.xlsx", b"PK\x03\x04data", XLSX_TYPE)], message_id="<a1@client>")
    parsed = parse_letter(raw)
    assert (parsed.sender, parsed.subject, parsed.external_id) == ("maria@client.example", "110555001", "<a1@client>")
    assert parsed.text == "Добрый день" and parsed.automatic == ""
    (attachment,) = parsed.attachments
    assert (attachment.filename, attachment.kind, attachment.size) == ("t.xlsx", "xlsx", 8)
    assert attachment.meta()["sha256"] == __import__("hashlib").sha256(b"PK\x03\x04data").hexdigest()


def test_without_message_id_the_raw_bytes_hash_is_the_id():
    raw = letter("110555001", message_id=False)
    assert parse_letter(raw).external_id.startswith("sha256:")
    assert parse_letter(raw).external_id == parse_letter(raw).external_id


def test_attachment_over_the_limit_keeps_only_its_name_size_and_hash(settings):
    settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT = 100
    (attachment,) = parse_letter(letter("1", attachments=[("t.csv", b"x" * 101, "text/csv")])).attachments
    assert attachment.data is None and attachment.size == 101


@pytest.mark.parametrize(
    ("headers", "sender", "report", "why"),
    [
        ({"Auto-Submitted": "auto-replied"}, CLIENT, False, "auto-submitted"),
        ({"Auto-Submitted": "auto-generated"}, CLIENT, False, "auto-submitted"),
        ({"Precedence": "bulk"}, CLIENT, False, "precedence"),
        ({"Precedence": "junk"}, CLIENT, False, "precedence"),
        ({"Precedence": "list"}, CLIENT, False, "precedence"),
        ({"X-Autoreply": "yes"}, CLIENT, False, "x-autoreply"),
        ({}, "Mail Delivery System <MAILER-DAEMON@mx.example>", False, "daemon"),
        ({"Return-Path": "<>"}, CLIENT, False, "empty-return-path"),
        ({}, CLIENT, True, "report"),
    ],
)
def test_auto_replies_and_bounces_are_stored_and_never_answered(
    account, headers, sender, report, why, django_capture_on_commit_callbacks
):
    raw = letter("110555001", "Я в отпуске", sender=sender, headers=headers, report=report)
    outcome, sent = receive(raw, django_capture_on_commit_callbacks)
    assert sent == []
    assert outcome.reason == "ignored_" + why.replace("-", "_")
    assert outcome.message.status == InboundMessage.Status.PROCESSED
    assert not OutboundMessage.objects.exists()


def test_auto_submitted_no_is_a_person(account, django_capture_on_commit_callbacks):
    _outcome, sent = receive(letter("110555001", headers={"Auto-Submitted": "no"}), django_capture_on_commit_callbacks)
    assert len(sent) == 1


# ------------------------------------------------------------------------------------------------ the table


def test_empty_letter_with_the_client_number_gets_the_table(account, django_capture_on_commit_callbacks):
    acc, one, two = account
    raw = letter("Показания 110555001", message_id="<req1@client.example>")
    outcome, sent = receive(raw, django_capture_on_commit_callbacks)
    assert outcome.reason == "table"
    (reply,) = sent
    assert reply.to == ["maria@client.example"]
    assert reply.subject == "Re: Показания 110555001"
    assert reply.extra_headers["In-Reply-To"] == "<req1@client.example>"
    assert reply.extra_headers["References"] == "<req1@client.example>"
    assert reply.extra_headers["Auto-Submitted"] == "auto-replied"
    rows = table_rows(xlsx_of(reply))
    assert rows[0] == list(HEADERS)
    assert rows[1:] == [
        ["110555001", "102057522", "007123", "—", 11000, "20.10.2026", None],
        ["110555001", "123859", two.serial, "день", 45000, "20.10.2026", None],
        ["110555001", "123859", two.serial, "ночь", 23000, "20.10.2026", None],
    ]
    # The client number is the key: no name and no address, neither in the table nor in the letter.
    everything = reply.body + repr(rows)
    assert "Иванова" not in everything and "Коммунистическая" not in everything
    stored = OutboundMessage.objects.get()
    assert (stored.status, stored.purpose, stored.to) == (OutboundMessage.Status.SENT, "mail_robot", reply.to[0])
    assert stored.external_id == reply.extra_headers["Message-ID"][:100]
    assert outcome.message.raw["headers"]["Subject"] == "Показания 110555001"


def test_unknown_client_number_is_told_where_to_find_it(account, django_capture_on_commit_callbacks):
    outcome, (reply,) = receive(letter("999999999"), django_capture_on_commit_callbacks)
    assert outcome.reason == "unknown_client" and reply.attachments == []
    assert "999999999" in reply.body


def test_letter_without_number_and_without_file_gets_instructions(account, django_capture_on_commit_callbacks):
    outcome, (reply,) = receive(letter("Показания", "вот"), django_capture_on_commit_callbacks)
    assert outcome.reason == "no_number" and reply.attachments == []


@pytest.mark.parametrize("zones", [1, 2])
def test_round_trip_request_table_fill_send_back_verdicts(account, zones, django_capture_on_commit_callbacks):
    """Request → table → fill → send back → «Показания приняты. Спасибо.» and the readings stored."""
    acc, one, two = account
    if zones == 1:
        Meter.objects.filter(pk=two.pk).update(status=Meter.Status.FAULTY)
    _o, (reply,) = receive(letter("110555001"), django_capture_on_commit_callbacks)
    table = xlsx_of(reply)
    values = [11250] if zones == 1 else [11250, 45300, 23100]
    filled = fill_table(table, values)
    back = letter(reply.subject, "заполнил", [("pokazaniya.xlsx", filled, XLSX_TYPE)], message_id="<back@client>")
    outcome, (verdict,) = receive(back, django_capture_on_commit_callbacks)
    assert outcome.reason == "accepted"
    assert verdict.body.count(ACCEPTED) == zones
    assert verdict.attachments == []
    (reading,) = new_readings(one)
    assert (reading.t1, reading.status, reading.channel) == (11250, Reading.Status.ACCEPTED, "email")
    assert reading.source == "<back@client>"
    if zones == 2:
        (night_day,) = new_readings(two)
        assert (night_day.t1, night_day.t2) == (45300, 23100)
    else:
        assert not new_readings(two).exists()


def test_csv_table_zones_matched_by_name_whatever_the_row_order(account, django_capture_on_commit_callbacks):
    acc, one, two = account
    rows = [
        list(HEADERS),
        ["110555001", "123859", two.serial, "ночь", "", "", "23100"],
        ["110555001", "123859", two.serial, "день", "", "", "45300"],
        ["110555001", "102057522", "7123", "—", "", "", ""],  # leading zeros lost in a spreadsheet; left empty
    ]
    raw = letter("Re: 110555001", attachments=[("t.csv", as_csv(rows, encoding="cp1251"), "text/csv")])
    outcome, (verdict,) = receive(raw, django_capture_on_commit_callbacks)
    assert outcome.reason == "accepted"
    (reading,) = new_readings(two)
    assert (reading.t1, reading.t2) == (45300, 23100)
    assert not new_readings(one).exists()
    assert verdict.body.count(ACCEPTED) == 1


def test_per_meter_verdicts_with_the_service_wording(account, django_capture_on_commit_callbacks):
    acc, one, two = account
    _o, (reply,) = receive(letter("110555001"), django_capture_on_commit_callbacks)
    filled = fill_table(xlsx_of(reply), [10000, "45300,5", 23100])  # lower than before; a decimal value
    outcome, (verdict,) = receive(
        letter(reply.subject, attachments=[("t.xlsx", filled, XLSX_TYPE)]), django_capture_on_commit_callbacks
    )
    assert outcome.reason == "rejected" and ACCEPTED not in verdict.body
    assert not Reading.objects.filter(status=Reading.Status.ACCEPTED, period=dt.date(2026, 11, 1)).exists()
    assert Reading.objects.filter(status=Reading.Status.REJECTED).count() == 2
    assert one.serial in verdict.body and two.serial in verdict.body


def test_rows_of_another_client_or_unknown_meters_are_explained_per_row(account, django_capture_on_commit_callbacks):
    acc, one, two = account
    other = MeterFactory(contract=ContractFactory(number="555111"))
    rows = [
        list(HEADERS),
        ["110555001", "102057522", "007123", "—", "", "", "11250"],
        ["110555001", "555111", other.serial, "—", "", "", "500"],  # another client's contract
        [other.contract.account.number, "555111", "999", "—", "", "", "500"],  # unknown meter
        ["424242424", "1", "1", "—", "", "", "1"],  # unknown client number
    ]
    raw = letter("Re: 110555001", attachments=[("t.csv", as_csv(rows), "text/csv")])
    outcome, (verdict,) = receive(raw, django_capture_on_commit_callbacks)
    assert outcome.reason == "partly"
    assert new_readings(one).get().t1 == 11250
    assert not Reading.objects.filter(meter=other).exists()
    for line in ("3", "4", "5"):
        assert any(line in row and ("555111" in row or "424242424" in row) for row in verdict.body.splitlines())
    assert verdict.body.count(ACCEPTED) == 1


def test_two_zone_meter_with_one_row_missing_is_explained_and_not_submitted(
    account, django_capture_on_commit_callbacks
):
    acc, one, two = account
    rows = [list(HEADERS), ["110555001", "123859", two.serial, "день", "", "", "45300"]]
    raw = letter("Re: 110555001", attachments=[("t.csv", as_csv(rows), "text/csv")])
    outcome, (verdict,) = receive(raw, django_capture_on_commit_callbacks)
    assert outcome.reason == "rejected"
    assert not Reading.objects.filter(meter=two, period=dt.date(2026, 11, 1)).exists()


# ------------------------------------------------------------------------------------------------ bad letters


@pytest.mark.parametrize(
    ("filename", "content", "mimetype", "reason"),
    [
        ("t.xlsx", b"PK\x03\x04 not really a workbook", XLSX_TYPE, "bad_file"),
        ("t.xlsx", b"\x00\x01\x02garbage", "application/octet-stream", "bad_file"),
        ("t.csv", "Договор;Показание\n1;2\n".encode(), "text/csv", "bad_file"),  # header lost
        ("t.csv", b"\x00\x01binary", "text/csv", "bad_file"),
        ("t.xls", b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel", "wrong_file"),
        ("photo.jpg", b"\xff\xd8\xff", "image/jpeg", "wrong_file"),
        ("scan.pdf", b"%PDF-1.4", "application/pdf", "wrong_file"),
    ],
)
def test_wrong_or_broken_files_get_instructions_and_nothing_is_written(
    account, filename, content, mimetype, reason, django_capture_on_commit_callbacks
):
    raw = letter("110555001", attachments=[(filename, content, mimetype)])
    outcome, (reply,) = receive(raw, django_capture_on_commit_callbacks)
    assert outcome.reason == reason
    assert reply.attachments == []
    assert not Reading.objects.filter(period=dt.date(2026, 11, 1)).exists()


def test_attachment_over_the_size_limit_is_refused(account, settings, django_capture_on_commit_callbacks):
    acc, one, two = account
    settings.SBYT_MAIL_ROBOT_MAX_ATTACHMENT = 1000
    rows = [list(HEADERS), ["110555001", "102057522", "007123", "—", "", "", "11250"]]
    big = as_csv(rows) + b"\n" * 2000
    outcome, (reply,) = receive(
        letter("110555001", attachments=[("t.csv", big, "text/csv")]), django_capture_on_commit_callbacks
    )
    assert outcome.reason == "too_large" and not new_readings(one).exists()
    assert outcome.message.raw["attachments"][0]["size"] == len(big)


def test_letter_too_large_to_download_is_answered_from_its_header(account, django_capture_on_commit_callbacks):
    raw = letter("110555001", attachments=[("t.csv", b"x", "text/csv")])
    header = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    outcome, (reply,) = receive(header, django_capture_on_commit_callbacks, oversized=True)
    assert outcome.reason == "too_large"


def test_table_without_values_asks_to_fill_it(account, django_capture_on_commit_callbacks):
    _o, (reply,) = receive(letter("110555001"), django_capture_on_commit_callbacks)
    raw = letter(reply.subject, attachments=[("t.xlsx", xlsx_of(reply), XLSX_TYPE)])
    outcome, (answer,) = receive(raw, django_capture_on_commit_callbacks)
    assert outcome.reason == "empty_table" and not Reading.objects.filter(period=dt.date(2026, 11, 1)).exists()


def test_letter_without_a_usable_sender_is_stored_and_not_answered(account, django_capture_on_commit_callbacks):
    outcome, sent = receive(letter("110555001", sender="undisclosed-recipients:;"), django_capture_on_commit_callbacks)
    assert sent == [] and outcome.reason == "ignored_no_sender"


# ------------------------------------------------------------------------------------------------ answered once


def test_replay_of_the_same_letter_is_answered_once(account, django_capture_on_commit_callbacks):
    acc, one, two = account
    _o, (reply,) = receive(letter("110555001"), django_capture_on_commit_callbacks)
    filled = fill_table(xlsx_of(reply), [11250, 45300, 23100])
    back = letter(reply.subject, attachments=[("t.xlsx", filled, XLSX_TYPE)], message_id="<same@client>")
    first, sent = receive(back, django_capture_on_commit_callbacks)
    second, again = receive(back, django_capture_on_commit_callbacks)
    assert len(sent) == 1 and again == []
    assert second.duplicate and second.message.pk == first.message.pk
    assert new_readings(one).count() == 1
    assert InboundMessage.objects.filter(channel="email").count() == 2
    assert OutboundMessage.objects.count() == 2


def test_replay_without_message_id_is_answered_once(account, django_capture_on_commit_callbacks):
    raw = letter("110555001", message_id=False)
    _first, sent = receive(raw, django_capture_on_commit_callbacks)
    second, again = receive(raw, django_capture_on_commit_callbacks)
    assert len(sent) == 1 and again == [] and second.duplicate


def test_reply_that_the_mail_server_refuses_is_recorded_failed(account, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    outcome, _sent = receive(letter("110555001"), django_capture_on_commit_callbacks)
    stored = OutboundMessage.objects.get()
    assert stored.status == OutboundMessage.Status.FAILED and "ConnectionRefused" in stored.error
    assert outcome.message.status == InboundMessage.Status.PROCESSED


def test_job_is_off_without_a_mailbox(settings):
    from sbyt.messaging.jobs import poll_mail_robot

    settings.SBYT_MAIL_ROBOT_IMAP_HOST = ""
    assert poll_mail_robot() == 0


# ------------------------------------------------------------------------------------------------ real IMAP


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
mail_location = maildir:{base}/mail/%u/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture
def dovecot():
    """A throw-away Dovecot (Debian's dovecot-imapd) on a free 127.0.0.1 port: passwd-file auth, maildir in a
    temp dir, no TLS. As root (this machine, CI containers) the master runs as root, as Dovecot requires for
    its privilege separation, with the Debian users ``dovenull`` / ``dovecot`` for the login and internal
    processes and the mail owned by ``nobody`` (Dovecot refuses mail as uid 0); as an ordinary user everything
    runs as that user (Dovecot's rootless mode)."""
    if not os.path.exists(DOVECOT):
        pytest.fail("Dovecot is not installed: run `make mailserver` (apt-get install dovecot-imapd).")
    base = Path(tempfile.mkdtemp(prefix="sbyt-dovecot-"))
    base.chmod(0o755)
    for name in ("run", "state", "mail"):
        (base / name).mkdir()
    if os.geteuid() == 0:
        login_user, internal_user = "dovenull", "dovecot"
        owner = pwd.getpwnam("nobody")
        uid, gid = owner.pw_uid, owner.pw_gid
        os.chown(base / "mail", uid, gid)
    else:
        login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
        uid, gid = os.geteuid(), os.getegid()
    port = _free_port()
    (base / "passwd").write_text("robot@sbyt.test:{PLAIN}robot-secret\n")
    conf = base / "dovecot.conf"
    conf.write_text(
        DOVECOT_CONF.format(base=base, port=port, uid=uid, gid=gid, login_user=login_user, internal_user=internal_user)
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
                log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
                process.kill()
                pytest.fail(f"Dovecot did not start: {output}\n{log}")
            time.sleep(0.05)
    config = email_robot.RobotConfig(
        host="127.0.0.1",
        port=port,
        user="robot@sbyt.test",
        password="robot-secret",
        ssl=False,
        folder="INBOX",
        address="pokazaniya@sbyt.test",
        max_attachment=2 * 1024 * 1024,
        timeout=10,
    )
    yield config
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(base, ignore_errors=True)


def append(config, raw: bytes) -> None:
    imap = imaplib.IMAP4(config.host, config.port, timeout=10)
    try:
        imap.login(config.user, config.password)
        typ, _data = imap.append("INBOX", None, None, raw)
        assert typ == "OK"
    finally:
        imap.logout()


def flags(config) -> list[bytes]:
    imap = imaplib.IMAP4(config.host, config.port, timeout=10)
    try:
        imap.login(config.user, config.password)
        imap.select("INBOX", readonly=True)
        _typ, data = imap.uid("FETCH", "1:*", "(FLAGS)")
        return [item for item in data if item]
    finally:
        imap.logout()


def poll(config, django_capture_on_commit_callbacks):
    with time_machine.travel(INSIDE, tick=True), django_capture_on_commit_callbacks(execute=True):
        return email_robot.poll(config)


def test_imap_round_trip_through_a_real_dovecot(account, dovecot, django_capture_on_commit_callbacks):
    """A letter APPENDed to a real IMAP mailbox is read, answered with the table, flagged seen; the filled
    table comes back the same way and is answered with the verdicts — each well within APL-4's minute."""
    acc, one, two = account
    started = time.monotonic()
    append(dovecot, letter("110555001", message_id="<imap-req@client.example>"))
    report = poll(dovecot, django_capture_on_commit_callbacks)
    assert (report.letters, report.answered) == (1, 1)
    (reply,) = mail.outbox
    assert reply.extra_headers["In-Reply-To"] == "<imap-req@client.example>"
    assert all(b"\\Seen" in item for item in flags(dovecot))

    # Nothing new: the next poll answers nothing; the same letter restored unseen is not answered twice.
    assert poll(dovecot, django_capture_on_commit_callbacks).letters == 0
    append(dovecot, letter("110555001", message_id="<imap-req@client.example>"))
    report = poll(dovecot, django_capture_on_commit_callbacks)
    assert (report.letters, report.duplicates, report.answered) == (1, 1, 0)
    assert len(mail.outbox) == 1

    filled = fill_table(xlsx_of(reply), [11250, 45300, 23100])
    append(dovecot, letter(reply.subject, attachments=[("pokazaniya.xlsx", filled, XLSX_TYPE)]))
    report = poll(dovecot, django_capture_on_commit_callbacks)
    assert report.answered == 1
    verdict = mail.outbox[-1]
    assert verdict.body.count(ACCEPTED) == 2
    assert new_readings(one).get().t1 == 11250
    assert time.monotonic() - started < 60


def test_imap_auto_reply_is_flagged_seen_and_not_answered(account, dovecot, django_capture_on_commit_callbacks):
    append(dovecot, letter("Re: 110555001", "I am away", headers={"Auto-Submitted": "auto-replied"}))
    report = poll(dovecot, django_capture_on_commit_callbacks)
    assert (report.letters, report.ignored, report.answered) == (1, 1, 0)
    assert mail.outbox == []
    assert all(b"\\Seen" in item for item in flags(dovecot))


def test_mail_robot_command_once(account, dovecot, settings, django_capture_on_commit_callbacks):
    settings.SBYT_MAIL_ROBOT_IMAP_HOST, settings.SBYT_MAIL_ROBOT_IMAP_PORT = dovecot.host, dovecot.port
    settings.SBYT_MAIL_ROBOT_IMAP_USER, settings.SBYT_MAIL_ROBOT_IMAP_PASSWORD = dovecot.user, dovecot.password
    settings.SBYT_MAIL_ROBOT_IMAP_SSL = False
    settings.SBYT_MAIL_ROBOT_ADDRESS = "pokazaniya@sbyt.test"
    append(dovecot, letter("110555001"))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("mail_robot", "--once", stdout=out)
    assert "answered=1" in out.getvalue()
    (reply,) = mail.outbox
    assert reply.from_email == "pokazaniya@sbyt.test"


class SmtpSink:
    """A minimal SMTP server on a real socket (aiosmtpd is not installed): enough of RFC 5321 for smtplib
    (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT); it keeps each message's bytes."""

    def __init__(self):
        import threading

        self.messages: list[tuple[str, list[str], bytes]] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:
                self._session(conn, reader)

    def _session(self, conn, reader):
        conn.sendall(b"220 sink ESMTP\r\n")
        sender, recipients = "", []
        while line := reader.readline():
            command = line.decode("ascii", "replace").strip()
            verb = command[:4].upper()
            if verb in {"EHLO", "HELO"}:
                conn.sendall(b"250-sink\r\n250 8BITMIME\r\n" if verb == "EHLO" else b"250 sink\r\n")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                conn.sendall(b"250 OK\r\n")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                conn.sendall(b"250 OK\r\n")
            elif verb == "DATA":
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = []
                while (chunk := reader.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.messages.append((sender, recipients, b"".join(data)))
                conn.sendall(b"250 OK queued\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 Bye\r\n")
                return
            else:  # RSET, NOOP
                conn.sendall(b"250 OK\r\n")

    def close(self):
        self.sock.close()


@pytest.fixture
def smtp_sink(settings):
    sink = SmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        sink.port,
        False,
        5,
    )
    yield sink
    sink.close()


def test_imap_in_smtp_out_over_real_sockets(account, dovecot, smtp_sink, django_capture_on_commit_callbacks):
    """The letter comes from Dovecot over IMAP; the reply with the XLSX goes out over SMTP (smtplib) on a socket."""
    append(dovecot, letter("110555001", message_id="<smtp@client.example>"))
    assert poll(dovecot, django_capture_on_commit_callbacks).answered == 1
    ((sender, recipients, data),) = smtp_sink.messages
    assert (sender, recipients) == ("pokazaniya@sbyt.test", ["maria@client.example"])
    reply = email.message_from_bytes(data, policy=email.policy.default)
    assert reply["In-Reply-To"] == "<smtp@client.example>" and reply["Auto-Submitted"] == "auto-replied"
    (part,) = [p for p in reply.iter_attachments() if p.get_content_type() == XLSX_TYPE]
    assert len(table_rows(part.get_content())) == 4
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.SENT
