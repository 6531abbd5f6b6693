"""Delivery of issued bills by the client's choice: e-mails with the PDF (sent once, failures recorded and retried a
bounded number of times) and the printing-house batch of each run's paper bills (docs/bills.md, «Delivery»)."""

import datetime as dt
import hashlib
import smtplib
import zipfile
from decimal import Decimal as D
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from sbyt.billing import delivery
from sbyt.billing.models import BillDelivery, BillEmail, BillingRun, Invoice, PrintBatch
from sbyt.billing.printing import read_register
from sbyt.billing.services import run_billing, set_bill_delivery
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.models import AuditEntry
from sbyt.messaging.models import OutboundAttachment, OutboundMessage
from sbyt.messaging.services import MAX_ATTEMPTS, deliver
from tests.factories import client_login, staff_login

from .builders import after_window, make_branch, make_household, make_norm, make_tariff
from .test_documents import pdf_pages_text

pytestmark = pytest.mark.django_db
OCT = dt.date(2026, 10, 1)
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # 12:00 in Moscow, a few days after October was billed
ADMIN = "Администратор филиала"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SBYT_SITE_URL = "https://lk.example.ru/"
    return settings.MEDIA_ROOT


def priced(branch):
    make_tariff(branch)
    make_norm(branch, "69")  # no meter: 2 residents × 69 kWh × 5.00 ₽ = 690.00 ₽ a month
    return branch


@pytest.fixture
def branch():
    return priced(make_branch())


def household(branch, *, method=None, email="", customer_email="", address=""):
    contract = make_household(branch, zones=None, email=customer_email)
    if address:
        contract.premises.address = address
        contract.premises.save()
    if method:
        set_bill_delivery(account=contract.account, method=method, email=email, actor="test")
    return contract.account


def bill(branch, period=OCT) -> BillingRun:
    return run_billing(branch=branch, period=period, actor="test", today=after_window(period))


def job(capture):
    """One tick of the periodic job, with what it hands to the worker done as its commit happens."""
    with capture(execute=True):
        return delivery.run_delivery_job()


@pytest.fixture
def clients(branch):
    return {
        "own": household(branch, method="email", customer_email="own@example.ru"),
        "given": household(branch, method="email", email="bills@example.ru", customer_email="me@example.ru"),
        "paper": household(branch),
        "cabinet": household(branch, method="cabinet", customer_email="cab@example.ru"),
    }


def test_bills_by_email_go_once_each_with_the_pdf_attached(clients, branch, django_capture_on_commit_callbacks):
    run = bill(branch)
    job(django_capture_on_commit_callbacks)
    assert sorted(letter.to[0] for letter in mail.outbox) == ["bills@example.ru", "own@example.ru"]
    for letter in mail.outbox:
        invoice = Invoice.objects.get(email=letter.to[0])
        [(name, content, mimetype)] = letter.attachments
        assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
        assert content.startswith(b"%PDF") and invoice.number in pdf_pages_text(content)[0]
        assert invoice.number in letter.body and invoice.account.number in letter.subject
        assert "690,00" in letter.body and "15.11.2026" in letter.body  # the amount due and the due date
        assert f"https://lk.example.ru/cabinet/{invoice.account.number}/billing/" in letter.body
        stored = OutboundAttachment.objects.get(message__to=letter.to[0])
        assert stored.sha256 == hashlib.sha256(content).hexdigest() and stored.size == len(content)
    job(django_capture_on_commit_callbacks)  # the next tick sees them sent; nothing goes twice
    job(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    rows = list(BillEmail.objects.select_related("message"))
    assert [(r.status, r.message.status, r.run_id) for r in rows] == [("sent", "sent", run.pk)] * 2
    assert all(r.sent_at and r.message.external_id for r in rows)
    assert not BillEmail.objects.filter(invoice__account__in=[clients["paper"], clients["cabinet"]]).exists()
    assert bytes(OutboundAttachment.objects.first().content) == b""  # sent: the file is not kept
    assert BillingRun.objects.get().delivery_planned_at is not None
    assert AuditEntry.objects.filter(action="billing.delivery_plan", details__emails=2).count() == 1


def test_planning_and_sending_again_change_nothing(clients, branch, django_capture_on_commit_callbacks):
    bill(branch)
    with django_capture_on_commit_callbacks(execute=False):  # planned, but the worker never got the tasks
        delivery.plan_deliveries()
    assert delivery.plan_deliveries() == []  # a run is handed to delivery once
    assert BillEmail.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.send_bill_emails() == 2
        assert delivery.send_bill_emails() == 0  # a second worker finds nothing left
    assert len(mail.outbox) == 2 and OutboundMessage.objects.count() == 2


def test_a_crash_after_some_bills_sends_only_the_rest(clients, branch, django_capture_on_commit_callbacks):
    bill(branch)
    with django_capture_on_commit_callbacks(execute=False):
        delivery.plan_deliveries()
    first, second = BillEmail.objects.order_by("pk")
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery._send_one(first.pk)  # what a worker committed before it died
        assert not delivery._send_one(first.pk)  # taken already
    job(django_capture_on_commit_callbacks)
    job(django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.address, second.address])
    assert set(BillEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_an_email_whose_task_was_lost_is_delivered_once(clients, branch, clock, django_capture_on_commit_callbacks):
    bill(branch)
    with django_capture_on_commit_callbacks(execute=False):
        delivery.plan_deliveries()
    with django_capture_on_commit_callbacks(execute=False) as lost:  # stored, then the process died
        delivery.send_bill_emails()
    assert mail.outbox == [] and set(BillEmail.objects.values_list("status", flat=True)) == {"queued"}
    job(django_capture_on_commit_callbacks)
    assert mail.outbox == []  # not yet: the task may only be late
    clock.shift(delivery.LOST_MESSAGE_AFTER + dt.timedelta(minutes=1))
    job(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    for callback in lost:  # the lost tasks turn up after all: nothing is sent twice
        callback()
    job(django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2 and set(BillEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_email_without_any_address_falls_back_to_paper(branch, django_capture_on_commit_callbacks):
    account = household(branch, customer_email="")
    BillDelivery.objects.create(account=account, method="email", email="")  # the address was removed since
    bill(branch)
    job(django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(account=account)
    assert (invoice.delivery, invoice.email) == ("paper", "")
    assert not BillEmail.objects.exists() and mail.outbox == []
    batch = PrintBatch.objects.get()
    assert [row["number"] for row in read_register(batch.file.path)] == [invoice.number]


class FlakyMailServer(BaseEmailBackend):
    """The mail server at the outbound edge: refuses the first ``refusals`` messages, then takes them."""

    refusals = 0
    taken: list = []

    def send_messages(self, messages):
        if FlakyMailServer.refusals:
            FlakyMailServer.refusals -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        FlakyMailServer.taken.extend(messages)
        return len(messages)


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyMailServer"
    FlakyMailServer.taken = []
    return FlakyMailServer


def test_a_refused_email_is_recorded_and_retried(branch, flaky, django_capture_on_commit_callbacks):
    household(branch, method="email", customer_email="own@example.ru")
    bill(branch)
    flaky.refusals = 1
    job(django_capture_on_commit_callbacks)
    job(django_capture_on_commit_callbacks)
    row = BillEmail.objects.select_related("message").get()
    assert (row.status, row.message.status, row.message.attempts) == ("queued", "queued", 1)
    assert "Connection unexpectedly closed" in row.error and flaky.taken == []
    deliver(row.message_id)  # messaging's retry (retry_queued_messages hands it to the worker)
    job(django_capture_on_commit_callbacks)
    row.refresh_from_db()
    assert (row.status, row.error) == ("sent", "") and len(flaky.taken) == 1
    assert flaky.taken[0].attachments[0][0].endswith(".pdf")


def test_an_email_refused_every_time_ends_failed(branch, flaky, django_capture_on_commit_callbacks):
    household(branch, method="email", customer_email="own@example.ru")
    bill(branch)
    flaky.refusals = MAX_ATTEMPTS
    job(django_capture_on_commit_callbacks)
    row = BillEmail.objects.get()
    for _ in range(MAX_ATTEMPTS - 1):
        deliver(row.message_id)
    job(django_capture_on_commit_callbacks)
    row.refresh_from_db()
    assert row.status == "failed" and "Connection" in row.error
    job(django_capture_on_commit_callbacks)
    assert flaky.taken == [] and OutboundMessage.objects.count() == 1  # not tried again past the bound


def test_a_bill_that_cannot_be_made_into_an_email_is_tried_a_bounded_number_of_times(
    clock, django_capture_on_commit_callbacks
):
    branch = priced(make_branch("12", settings=False))  # no payee details: the PDF cannot be made
    household(branch, method="email", customer_email="own@example.ru")
    household(branch)
    bill(branch)
    job(django_capture_on_commit_callbacks)
    row = BillEmail.objects.get()
    assert (row.status, row.attempts) == ("pending", 1) and "реквизиты" in row.error
    batch = PrintBatch.objects.get()  # the paper bill cannot be printed either: the batch says why
    assert (batch.state, batch.file.name) == ("failed", "") and "реквизиты" in batch.error
    job(django_capture_on_commit_callbacks)  # not again before its time
    assert BillEmail.objects.get().attempts == 1
    for attempt in range(2, delivery.MAX_EMAIL_ATTEMPTS + 1):
        clock.shift(delivery.EMAIL_RETRY_DELAY * attempt)
        job(django_capture_on_commit_callbacks)
        assert BillEmail.objects.get().attempts == attempt
    row.refresh_from_db()
    assert row.status == "failed" and row.message is None
    clock.shift(dt.timedelta(days=1))
    job(django_capture_on_commit_callbacks)
    assert BillEmail.objects.get().attempts == delivery.MAX_EMAIL_ATTEMPTS and mail.outbox == []
    assert OutboundMessage.objects.count() == 0


# --------------------------------------------------------------------------------------------- print batch


def test_one_batch_per_run_with_the_paper_bills_in_route_order(media, django_capture_on_commit_callbacks):
    north = priced(make_branch("11"))
    south = priced(make_branch("12"))
    street = "167000, г. Сыктывкар, ул. Ленина"
    far = household(north, address=f"{street}, д. 10, кв. 2")
    near = household(north, address=f"{street}, д. 2, кв. 10")
    nearest = household(north, address=f"{street}, д. 2, кв. 9")
    household(north, method="email", customer_email="own@example.ru")
    household(north, method="cabinet")
    other = household(south)
    runs = [bill(north), bill(south)]
    job(django_capture_on_commit_callbacks)
    job(django_capture_on_commit_callbacks)
    batches = {b.run_id: b for b in PrintBatch.objects.all()}
    assert sorted(batches) == sorted(r.pk for r in runs)
    first = batches[runs[0].pk]
    assert (first.state, first.branch.code, first.period, first.count, first.total_due) == (
        "ready", "11", OCT, 3, D("2070.00"),
    )  # fmt: skip
    register = read_register(first.file.path)
    numbers = {i.account_id: i.number for i in Invoice.objects.all()}
    assert [row["number"] for row in register] == [numbers[a.pk] for a in (nearest, near, far)]
    assert [(row["account"], row["total_due"]) for row in register] == [
        (a.number, "690.00") for a in (nearest, near, far)
    ]
    assert register[0]["address"].endswith("д. 2, кв. 9")
    with zipfile.ZipFile(first.file.path) as archive:
        assert archive.read(register[0]["file"]).startswith(b"%PDF")
    assert Path(first.file.path).is_relative_to(media) and first.file.name.startswith(f"billing/print/{runs[0].pk}/")
    second = batches[runs[1].pk]
    assert [row["account"] for row in read_register(second.file.path)] == [other.number]
    assert AuditEntry.objects.filter(action="billing.print_batch").count() == 2


def test_a_run_with_no_paper_bills_has_an_empty_batch(branch, django_capture_on_commit_callbacks):
    household(branch, method="cabinet")
    bill(branch)
    job(django_capture_on_commit_callbacks)
    batch = PrintBatch.objects.get()
    assert (batch.state, batch.count, batch.file.name) == ("ready", 0, "")


def test_old_runs_and_back_billing_are_not_delivered_by_themselves(
    clients, branch, clock, django_capture_on_commit_callbacks
):
    bill(branch, dt.date(2026, 8, 1))  # a period billed late (back-billing, a demo's history)
    job(django_capture_on_commit_callbacks)
    assert not BillEmail.objects.exists() and not PrintBatch.objects.exists()
    bill(branch)
    clock.shift(delivery.AUTO_WINDOW + dt.timedelta(hours=1))  # the loop was down for over a week
    job(django_capture_on_commit_callbacks)
    assert not BillEmail.objects.exists() and not PrintBatch.objects.exists() and mail.outbox == []


def test_staff_make_the_batch_again(clients, branch, clock, django_capture_on_commit_callbacks):
    run = bill(branch)
    job(django_capture_on_commit_callbacks)
    built = PrintBatch.objects.get().built_at
    admin = staff_login(ADMIN)
    clock.shift(dt.timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        delivery.request_print_batch(run=run, actor=admin)
    batch = PrintBatch.objects.get()
    assert batch.state == "ready" and batch.built_at > built and batch.requested_by == admin.username
    assert AuditEntry.objects.filter(action="billing.print_batch_request", actor=admin).exists()
    assert list(Path(batch.file.path).parent.iterdir()) == [Path(batch.file.path)]  # no build leftovers


def test_making_the_batch_is_refused_without_the_permission_or_a_finished_run(
    clients, branch, django_capture_on_commit_callbacks
):
    run = bill(branch)
    for actor in (staff_login("Оператор контакт-центра"), client_login(clients["paper"])):
        with pytest.raises(PermissionDenied):
            delivery.request_print_batch(run=run, actor=actor)
    assert not PrintBatch.objects.exists()
    open_run = BillingRun.objects.create(branch=branch, period=dt.date(2026, 9, 1), state="failed")
    with pytest.raises(DomainError):
        delivery.request_print_batch(run=open_run, actor=staff_login(ADMIN))
    with django_capture_on_commit_callbacks(execute=False):
        delivery.request_print_batch(run=run, actor=staff_login(ADMIN))
    with pytest.raises(DomainError):  # asked already, not made yet
        delivery.request_print_batch(run=run, actor=staff_login(ADMIN))
    assert PrintBatch.objects.get().state == "pending"


def test_a_lost_build_is_handed_back_and_a_dead_one_taken_over(
    clients, branch, clock, django_capture_on_commit_callbacks
):
    run = bill(branch)
    with django_capture_on_commit_callbacks(execute=False):
        delivery.plan_deliveries()  # its build task is lost
    batch = PrintBatch.objects.get(run=run)
    assert delivery.build_print_batch(batch.pk).state == "ready"
    PrintBatch.objects.filter(pk=batch.pk).update(state="building", token="dead")  # a builder died mid-way
    job(django_capture_on_commit_callbacks)
    assert PrintBatch.objects.get().state == "building"  # its heartbeat is fresh: left alone
    clock.shift(delivery.STALE_BUILD + dt.timedelta(minutes=1))
    job(django_capture_on_commit_callbacks)
    assert PrintBatch.objects.get().state == "ready"


def test_route_key_compares_numbers_as_numbers():
    addresses = ["ул. Мира, д. 10", "ул. Мира, д. 2, кв. 10", "ул. Мира, д. 2, кв. 9", "167000, ул. Ёлочная, д. 1"]
    assert sorted(addresses, key=delivery.route_key) == [
        "167000, ул. Ёлочная, д. 1",
        "ул. Мира, д. 2, кв. 9",
        "ул. Мира, д. 2, кв. 10",
        "ул. Мира, д. 10",
    ]
