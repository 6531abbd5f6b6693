"""The outbound interface: SMS and e-mail are stored first, delivered on commit, retried; Kannel's real wire
format; e-mail through Django's mail framework (locmem, and a local SMTP server)."""

import email
import email.policy
import socketserver
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from sbyt.core.models import AuditEntry
from sbyt.messaging.backends import SmsDeliveryError
from sbyt.messaging.backends.console import FileSmsBackend
from sbyt.messaging.backends.kannel import KannelSmsBackend
from sbyt.messaging.models import OutboundMessage
from sbyt.messaging.services import MAX_ATTEMPTS, deliver, send_email, send_sms

pytestmark = pytest.mark.django_db


class FakeKannel(BaseHTTPRequestHandler):
    """A local HTTP server speaking Kannel's sendsms answers."""

    requests: list[dict] = []
    answer = (202, "0: Accepted for delivery")

    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        FakeKannel.requests.append({"path": parsed.path, **urllib.parse.parse_qs(parsed.query)})
        status, body = FakeKannel.answer
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def kannel(settings):
    FakeKannel.requests = []
    FakeKannel.answer = (202, "0: Accepted for delivery")
    server = HTTPServer(("127.0.0.1", 0), FakeKannel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.SBYT_SMS_BACKEND = "kannel"
    settings.SBYT_KANNEL_URL = f"http://127.0.0.1:{server.server_port}/cgi-bin/sendsms"
    settings.SBYT_KANNEL_USERNAME = "sbyt"
    settings.SBYT_KANNEL_PASSWORD = "s3cret"
    settings.SBYT_KANNEL_FROM = "Energosbyt"
    yield FakeKannel
    server.shutdown()


def test_send_sms_is_stored_then_delivered_after_commit(sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_sms(to="+79121234567", text="Код: 123456.", purpose="otp:register")
    assert sms_outbox == []  # nothing leaves before the commit
    assert OutboundMessage.objects.get(pk=message.pk).status == "queued"
    for callback in callbacks:
        callback()
    assert sms_outbox == [{"to": "+79121234567", "text": "Код: 123456.", "sender": ""}]
    message.refresh_from_db()
    assert message.status == "sent"
    assert message.attempts == 1


def test_kannel_wire_format_for_cyrillic_text(kannel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(to="+79121234567", text="Показания приняты. Спасибо.")
    request = kannel.requests[-1]
    assert request["path"] == "/cgi-bin/sendsms"
    assert request["username"] == ["sbyt"]
    assert request["password"] == ["s3cret"]
    assert request["to"] == ["+79121234567"]
    assert request["from"] == ["Energosbyt"]
    assert request["text"] == ["Показания приняты. Спасибо."]
    assert request["charset"] == ["UTF-8"]
    assert request["coding"] == ["2"]  # UCS-2 on the air for Cyrillic
    message.refresh_from_db()
    assert message.status == "sent"


def test_kannel_ascii_text_stays_in_the_default_alphabet(kannel):
    KannelSmsBackend().send(to="+79121234567", text="Code 123456")
    assert kannel.requests[-1]["coding"] == ["0"]


def test_kannel_refusal_keeps_the_message_for_retry_then_fails(kannel, django_capture_on_commit_callbacks):
    kannel.answer = (403, "Authorization failed for sendsms")
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(to="+79121234567", text="Код: 1")
    message.refresh_from_db()
    assert message.status == "queued"
    assert "403" in message.error
    for _ in range(MAX_ATTEMPTS - 1):
        deliver(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)


def test_kannel_unreachable(settings):
    settings.SBYT_KANNEL_URL = "http://127.0.0.1:9/cgi-bin/sendsms"
    with pytest.raises(SmsDeliveryError, match="unreachable"):
        KannelSmsBackend().send(to="+79121234567", text="x")


def test_sent_message_is_not_sent_twice(sms_outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_sms(to="+79121234567", text="Код: 1")
    deliver(message.pk)
    assert len(sms_outbox) == 1


def test_file_backend_appends(tmp_path, settings):
    settings.SBYT_SMS_FILE = tmp_path / "sms.log"
    FileSmsBackend().send(to="+79121234567", text="Код: 42")
    assert "+79121234567\tКод: 42" in settings.SBYT_SMS_FILE.read_text(encoding="utf-8")


# --- e-mail -----------------------------------------------------------------------------------------------


class FakeSmtp(socketserver.StreamRequestHandler):
    """A local SMTP server that takes every message: enough of RFC 5321 for smtplib."""

    received: list[dict] = []

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        envelope = {"from": "", "to": [], "data": b""}
        self.reply("220 fake ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250 fake")
            elif verb == "MAIL":
                envelope["from"] = command.split(":", 1)[1].strip(" <>")
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["to"].append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go on")
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    envelope["data"] += chunk
                FakeSmtp.received.append(dict(envelope))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp_server(settings):
    FakeSmtp.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeSmtp)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.server_address[1]
    settings.EMAIL_USE_TLS = False
    settings.DEFAULT_FROM_EMAIL = "lk@energosbyt.example"
    yield FakeSmtp
    server.shutdown()
    server.server_close()


def test_send_email_is_stored_then_delivered_after_commit(settings, django_capture_on_commit_callbacks):
    settings.DEFAULT_FROM_EMAIL = "lk@energosbyt.example"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_email(
            to="maria@example.org", subject="Код\nподтверждения", text="Ваш код: 123456", purpose="otp:email"
        )
    assert mail.outbox == []  # nothing leaves before the commit
    stored = OutboundMessage.objects.get(pk=message.pk)
    assert (stored.channel, stored.status, stored.subject) == ("email", "queued", "Код подтверждения")
    assert AuditEntry.objects.filter(action="message.queue", details__channel="email").exists()
    assert "123456" not in str(list(AuditEntry.objects.values_list("details", flat=True)))
    for callback in callbacks:
        callback()
    [letter] = mail.outbox
    assert letter.to == ["maria@example.org"]
    assert letter.subject == "Код подтверждения"
    assert letter.body == "Ваш код: 123456"
    assert letter.from_email == "lk@energosbyt.example"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert message.external_id == letter.extra_headers["Message-ID"]


def test_email_goes_through_the_configured_smtp_server(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_email(to="maria@example.org", subject="Код подтверждения", text="Ваш код: 654321")
    [received] = smtp_server.received
    assert received["from"] == "lk@energosbyt.example"
    assert received["to"] == ["maria@example.org"]
    parsed = email.message_from_bytes(received["data"], policy=email.policy.default)
    assert parsed["Subject"] == "Код подтверждения"
    assert parsed.get_content().strip() == "Ваш код: 654321"
    message.refresh_from_db()
    assert message.status == "sent"
    assert parsed["Message-ID"] == message.external_id


def test_unreachable_mail_server_keeps_the_email_for_retry_then_fails(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    with django_capture_on_commit_callbacks(execute=True):
        message = send_email(to="maria@example.org", subject="Тема", text="Текст")
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.error
    for _ in range(MAX_ATTEMPTS - 1):
        deliver(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", MAX_ATTEMPTS)


def test_sent_email_is_not_sent_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_email(to="maria@example.org", subject="Тема", text="Текст")
    deliver(message.pk)
    assert len(mail.outbox) == 1
