"""E-mail with attachments through the outbound interface: stored with the message, sent as MIME parts through the
real SMTP backend (a local server) and the locmem fake alike, the bytes dropped once sent."""

import email
import email.policy
import hashlib

import pytest
from django.core import mail

from sbyt.core.models import AuditEntry
from sbyt.messaging.models import OutboundAttachment, OutboundMessage
from sbyt.messaging.services import MAX_ATTACHMENTS_BYTES, Attachment, send_email

from .test_outbound import smtp_server  # noqa: F401 — the local SMTP server fixture

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def test_an_attachment_goes_through_the_smtp_server(smtp_server, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        message = send_email(
            to="maria@example.org",
            subject="Счёт",
            text="Счёт во вложении.",
            attachments=[Attachment("11-202610-000001.pdf", PDF, "application/pdf")],
        )
    [received] = smtp_server.received
    parsed = email.message_from_bytes(received["data"], policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    [body] = [part for part in parsed.iter_parts() if part.get_content_type() == "text/plain"]
    assert body.get_content().strip() == "Счёт во вложении."
    [part] = list(parsed.iter_attachments())
    assert (part.get_filename(), part.get_content_type()) == ("11-202610-000001.pdf", "application/pdf")
    assert part.get_content() == PDF
    message.refresh_from_db()
    stored = OutboundAttachment.objects.get(message=message)
    assert message.status == "sent" and bytes(stored.content) == b""  # sent: the bytes are not kept
    assert (stored.size, stored.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    assert AuditEntry.objects.get(action="message.queue").details["files"] == ["11-202610-000001.pdf"]


def test_the_locmem_fake_keeps_the_attachment_and_a_retry_sends_the_same_bytes(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send_email(to="a@example.org", subject="S", text="T", attachments=[Attachment("a/b\r\n.pdf", PDF)])
    assert bytes(OutboundAttachment.objects.get(message=message).content) == PDF  # stored first, with the message
    for callback in callbacks:
        callback()
    [(name, content, mimetype)] = mail.outbox[0].attachments
    assert (name, content, mimetype) == ("a_b__.pdf", PDF, "application/octet-stream")


@pytest.mark.parametrize(
    "attachment",
    [Attachment("", PDF), Attachment("big.pdf", b"x" * (MAX_ATTACHMENTS_BYTES + 1)), Attachment("t.txt", "text")],
)
def test_a_bad_attachment_is_refused_and_nothing_stored(attachment):
    with pytest.raises(ValueError):
        send_email(to="a@example.org", subject="S", text="T", attachments=[attachment])
    assert not OutboundMessage.objects.exists() and not OutboundAttachment.objects.exists()
