"""Delivery of issued bills by the client's choice (BIL-4, CAB-11): e-mails with the bill's PDF, and the
printing-house batch of the paper bills of each billing run. Bills «only in the cabinet» need nothing: they are there.

The choice that counts is the one stamped on the bill when it was issued (``Invoice.delivery`` / ``email``; e-mail
without any address was issued as paper). The flow, all of it idempotent:

1. ``plan_deliveries`` (the periodic job ``bill_delivery``): a finished run not handed to delivery yet gets, in one
   transaction, a ``BillEmail`` row per bill to e-mail (one INSERT … SELECT), its ``PrintBatch`` row (pending,
   built by the worker) and the mark ``BillingRun.delivery_planned_at``. Only runs finished in the last
   ``AUTO_WINDOW`` and billing their finishing month or the one before are delivered by themselves — back-billing of
   an old period (and a demo's history) is not mailed to clients; staff can still make its print batch.
2. ``send_bill_emails`` (the worker): each pending bill is claimed (a conditional UPDATE: two workers never take the
   same one), its PDF rendered and the e-mail stored through ``messaging.send_email`` with the PDF attached, and the
   bill marked «queued» with the message — one transaction per bill, so a crash loses nothing and sends nothing
   twice. A bill whose e-mail cannot be made (e.g. no payee details) is tried ``MAX_EMAIL_ATTEMPTS`` times, then
   «failed». The mail server's refusals are retried by messaging (``MAX_ATTEMPTS``); ``sync_email_statuses`` copies
   the outcome (sent / failed, the last error) back onto the bill's row.
3. ``build_print_batch`` (the worker): the run's paper bills in delivery-route order → ``printing.write_print_batch``
   under ``MEDIA_ROOT/billing/print/<run id>/``; ``request_print_batch`` (staff: «Сформировать заново») builds it again.
"""

import datetime as dt
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from sbyt.core.audit import audit
from sbyt.core.errors import DomainError, PermissionDenied
from sbyt.core.periods import add_months, month_start, period_label
from sbyt.messaging.models import OutboundMessage
from sbyt.messaging.services import Attachment, deliver, send_email

from .bills import bill_document, bill_pdf
from .documents import BillDocument, money
from .models import BillDelivery, BillEmail, BillingRun, Invoice, PrintBatch, print_batch_path
from .printing import write_print_batch
from .sql import db_date, db_datetime

log = logging.getLogger(__name__)
ACTOR = "bill_delivery"
BUILD_PERMISSION = "billing.build_printbatch"
AUTO_WINDOW = dt.timedelta(days=7)
EMAIL_BATCH = 50  # bills read per query; each is sent in its own transaction
EMAIL_TIME_BUDGET = 50.0  # seconds one task sends for; the job starts another a minute later if bills remain
MAX_EMAIL_ATTEMPTS = 3
EMAIL_RETRY_DELAY = dt.timedelta(minutes=10)  # × the attempt number
LOST_MESSAGE_AFTER = dt.timedelta(minutes=30)  # stored but never tried: its task was lost (a crash after commit)
STALE_BUILD = dt.timedelta(minutes=10)  # a build whose heartbeat is older is taken over
BUILD_CHUNK = 200  # bills read per query while building a batch (and a heartbeat)


# --------------------------------------------------------------------------------------------------- planning


def paper_bills(run: BillingRun):
    """The bills a run issued that go on paper (e-mail without an address is paper; the run stamps that already)."""
    return Invoice.objects.filter(branch_id=run.branch_id, period=run.period, run=run).filter(
        Q(delivery=BillDelivery.Method.PAPER) | Q(delivery=BillDelivery.Method.EMAIL, email="")
    )


def _auto(run: BillingRun) -> bool:
    finished = run.finished_at.astimezone(ZoneInfo(run.branch.time_zone)).date()
    return run.period >= add_months(month_start(finished), -1)


def runs_to_deliver(now: dt.datetime | None = None) -> list[BillingRun]:
    now = now or timezone.now()
    candidates = BillingRun.objects.select_related("branch").filter(
        state=BillingRun.State.DONE, delivery_planned_at__isnull=True, finished_at__gte=now - AUTO_WINDOW
    )
    return [run for run in candidates.order_by("finished_at", "pk") if _auto(run)]


def _plan_emails(run: BillingRun, now: dt.datetime) -> int:
    """One ``BillEmail`` per bill of the run to e-mail, in one statement (a bill planned before is skipped)."""
    quote = connection.ops.quote_name
    emails, invoices = quote(BillEmail._meta.db_table), quote(Invoice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {emails} (invoice_id, run_id, address, status, attempts, error, created_at, updated_at)
                SELECT i.id, i.run_id, i.email, %s, 0, '', %s, %s FROM {invoices} i
                WHERE i.branch_id = %s AND i.period = %s AND i.run_id = %s AND i.delivery = %s AND i.email <> ''
                AND NOT EXISTS (SELECT 1 FROM {emails} e WHERE e.invoice_id = i.id)""",  # noqa: S608
            [
                BillEmail.Status.PENDING,
                db_datetime(now),
                db_datetime(now),
                run.branch_id,
                db_date(run.period),
                run.pk,
                BillDelivery.Method.EMAIL,
            ],
        )
        return cursor.rowcount


def plan_deliveries(now: dt.datetime | None = None) -> list[BillingRun]:
    """Hand every finished run that is due (see the module's docstring) to delivery, once."""
    from .tasks import build_print_batch as build_task

    now = now or timezone.now()
    planned = []
    for candidate in runs_to_deliver(now):
        with transaction.atomic():
            run = BillingRun.objects.select_for_update(of=("self",)).select_related("branch").get(pk=candidate.pk)
            if run.delivery_planned_at is not None:
                continue
            emails = _plan_emails(run, now)
            batch, created = PrintBatch.objects.get_or_create(
                run=run, defaults={"branch_id": run.branch_id, "period": run.period, "requested_by": ACTOR}
            )
            run.delivery_planned_at = now
            run.save(update_fields=["delivery_planned_at"])
            audit(ACTOR, "billing.delivery_plan", run, branch=run.branch.code, period=run.period.isoformat(),
                  emails=emails)  # fmt: skip
            if created:
                batch_id = batch.pk
                transaction.on_commit(lambda batch_id=batch_id: build_task.enqueue(batch_id))
        planned.append(run)
    return planned


# ------------------------------------------------------------------------------------------------------ e-mail


def cabinet_link(account_number: str) -> str:
    """The account's billing page in the cabinet: absolute with ``SBYT_SITE_URL``, else the path."""
    try:
        path = reverse("portal:billing", args=[account_number])
    except NoReverseMatch:  # a deployment without the portal
        return ""
    return getattr(settings, "SBYT_SITE_URL", "").rstrip("/") + path


def bill_email_text(invoice: Invoice) -> tuple[str, str]:
    """The subject and the plain text of the e-mail that carries a bill (in the site's language: Russian)."""
    data = invoice.snapshot
    number = data.get("account", "")
    period = period_label(invoice.period)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Bill for %(period)s, client number %(number)s") % {"period": period, "number": number}
        lines = [
            _("Hello!"),
            "",
            _("Your bill No. %(bill)s for %(period)s (client number %(number)s) is attached as a PDF file.")
            % {"bill": invoice.number, "period": period, "number": number},
        ]
        if invoice.total_due > 0:
            lines.append(
                _("Amount due: %(amount)s ₽, to be paid by %(date)s.")
                % {"amount": money(invoice.total_due), "date": f"{invoice.due_date:%d.%m.%Y}"}
            )
        elif invoice.closing_balance < 0:
            lines.append(
                _("Nothing to pay: you have an overpayment of %(amount)s ₽.")
                % {"amount": money(-invoice.closing_balance)}
            )
        else:
            lines.append(_("Nothing to pay."))
        link = cabinet_link(number)
        if link:
            lines += ["", _("Your bills, charges and payments are in the personal cabinet: %(link)s") % {"link": link}]
        lines += [
            "",
            _("This message was sent automatically; please do not reply to it. You can change how you receive bills "
              "in the personal cabinet."),
        ]  # fmt: skip
        payee = (data.get("payee") or {}).get("name", "")
        if payee:
            lines.append(payee)
    return subject, "\n".join(lines)


def _send_one(pk: int) -> bool:
    """Make and store the e-mail of one pending bill. False: another worker has it, or it failed (recorded)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = BillEmail.objects.filter(pk=pk, status=BillEmail.Status.PENDING).update(
                status=BillEmail.Status.QUEUED, updated_at=now
            )
            if not claimed:
                return False
            item = BillEmail.objects.select_related("invoice", "invoice__branch", "invoice__run").get(pk=pk)
            invoice = item.invoice
            subject, text = bill_email_text(invoice)
            pdf = bill_pdf(invoice)
            item.message = send_email(
                to=item.address,
                subject=subject,
                text=text,
                purpose=f"bill:{invoice.pk}"[:32],
                actor=ACTOR,
                attachments=[Attachment(f"{invoice.number}.pdf", pdf, "application/pdf")],
            )
            item.error = ""
            item.save(update_fields=["message", "error", "updated_at"])
    except Exception as exc:  # the bill could not be made into an e-mail: recorded, tried again later, bounded
        if not isinstance(exc, DomainError):
            log.exception("bill e-mail %s could not be made", pk)
        _record_failure(pk, exc, now)
        return False
    return True


def _record_failure(pk: int, exc: Exception, now: dt.datetime) -> None:
    with transaction.atomic():
        item = BillEmail.objects.select_for_update().get(pk=pk)
        item.attempts += 1
        item.error = (str(exc) or type(exc).__name__)[:500]
        if item.attempts >= MAX_EMAIL_ATTEMPTS:
            item.status = BillEmail.Status.FAILED
            item.next_try_at = None
        else:
            item.status = BillEmail.Status.PENDING
            item.next_try_at = now + EMAIL_RETRY_DELAY * item.attempts
        item.save(update_fields=["attempts", "error", "status", "next_try_at", "updated_at"])


def pending_emails(now: dt.datetime | None = None):
    now = now or timezone.now()
    return BillEmail.objects.filter(status=BillEmail.Status.PENDING).filter(
        Q(next_try_at__isnull=True) | Q(next_try_at__lte=now)
    )


def lost_messages(now: dt.datetime | None = None):
    """Bills' e-mails stored but never tried: the process died between the commit and handing them to the worker."""
    now = now or timezone.now()
    return BillEmail.objects.filter(
        status=BillEmail.Status.QUEUED,
        message__status=OutboundMessage.Status.QUEUED,
        message__attempts=0,
        message__created_at__lt=now - LOST_MESSAGE_AFTER,
    )


def recover_lost_messages(now: dt.datetime | None = None, limit: int = 100) -> int:
    """Deliver lost e-mails here. ``deliver`` locks the message and skips a sent one: a late duplicate is harmless."""
    ids = list(lost_messages(now).values_list("message_id", flat=True)[:limit])
    for message_id in ids:
        deliver(message_id)
    return len(ids)


def send_bill_emails(*, budget: float = EMAIL_TIME_BUDGET, batch: int = EMAIL_BATCH) -> int:
    """Send pending bills for at most ``budget`` seconds; the number handed to messaging."""
    deadline = time.monotonic() + budget
    recover_lost_messages()
    sent = 0
    while time.monotonic() < deadline:
        ids = list(pending_emails().order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        for pk in ids:
            sent += _send_one(pk)
            if time.monotonic() >= deadline:
                break
    sync_email_statuses()
    return sent


def sync_email_statuses() -> int:
    """Copy messaging's outcome onto the bills' rows: sent, failed for good, or the last error while retried."""
    message = OutboundMessage.objects.filter(pk=OuterRef("message_id"))
    queued = BillEmail.objects.filter(status=BillEmail.Status.QUEUED)
    changed = queued.filter(message__status=OutboundMessage.Status.SENT).update(
        status=BillEmail.Status.SENT, sent_at=Subquery(message.values("sent_at")[:1]), error="",
        updated_at=timezone.now(),
    )  # fmt: skip
    changed += queued.filter(message__status=OutboundMessage.Status.FAILED).update(
        status=BillEmail.Status.FAILED, error=Subquery(message.values("error")[:1]), updated_at=timezone.now()
    )
    queued.filter(message__status=OutboundMessage.Status.QUEUED, message__attempts__gt=0).update(
        error=Subquery(message.values("error")[:1])
    )
    return changed


# ------------------------------------------------------------------------------------------------ print batch

_NUMBER = re.compile(r"(\d+)")


def route_key(address: str) -> tuple:
    """Delivery-route order of an address: its text compared piece by piece, numbers as numbers (a leading postcode,
    then settlement, street, «д. 2» before «д. 10», «кв. 9» before «кв. 10»)."""
    text = " ".join(address.casefold().replace("ё", "е").split())
    return tuple(int(part) if index % 2 else part.strip(" ,.") for index, part in enumerate(_NUMBER.split(text)))


def _route(run: BillingRun) -> list[int]:
    rows = list(paper_bills(run).values_list("pk", "number", "data__address"))
    rows.sort(key=lambda row: (route_key(row[2] if isinstance(row[2], str) else ""), row[1]))
    return [pk for pk, _number, _address in rows]


def _documents(ids: list[int], beat) -> Iterator[BillDocument]:
    for start in range(0, len(ids), BUILD_CHUNK):
        chunk = ids[start : start + BUILD_CHUNK]
        invoices = Invoice.objects.select_related("branch", "run").in_bulk(chunk)
        for pk in chunk:
            yield bill_document(invoices[pk])
        beat()


def _claim_batch(batch_id: int, token: str, now: dt.datetime) -> bool:
    return bool(
        PrintBatch.objects.filter(pk=batch_id)
        .filter(
            Q(state=PrintBatch.State.PENDING) | Q(state=PrintBatch.State.BUILDING, updated_at__lt=now - STALE_BUILD)
        )
        .update(state=PrintBatch.State.BUILDING, token=token, error="", updated_at=now)
    )


def build_print_batch(batch_id: int) -> PrintBatch:
    """Build (or build again) the batch: the run's paper bills in route order into one ZIP with its register. The
    archive is made in a directory of its own and moved over the previous one when complete."""
    token = uuid.uuid4().hex
    if not _claim_batch(batch_id, token, timezone.now()):
        return PrintBatch.objects.get(pk=batch_id)
    batch = PrintBatch.objects.select_related("run", "run__branch", "branch").get(pk=batch_id)
    mine = PrintBatch.objects.filter(pk=batch_id, token=token)
    folder = Path(settings.MEDIA_ROOT) / Path(print_batch_path(batch, "x")).parent
    work = folder / f".build-{token}"
    try:
        ids = _route(batch.run)
        if not ids:
            mine.update(state=PrintBatch.State.READY, file="", count=0, total_due=0, built_at=timezone.now(),
                        updated_at=timezone.now())  # fmt: skip
        else:
            work.mkdir(parents=True, exist_ok=True)

            def beat():
                mine.update(updated_at=timezone.now())

            made = write_print_batch(
                _documents(ids, beat), branch_code=batch.branch.code, period=batch.period, directory=work
            )
            os.replace(made.path, folder / made.path.name)
            with transaction.atomic():
                updated = mine.update(
                    state=PrintBatch.State.READY,
                    file=print_batch_path(batch, made.path.name),
                    count=made.count,
                    total_due=made.total_due,
                    built_at=timezone.now(),
                    updated_at=timezone.now(),
                )
                if updated:
                    audit(ACTOR, "billing.print_batch", batch, branch=batch.branch.code,
                          period=batch.period.isoformat(), count=made.count, total_due=str(made.total_due))  # fmt: skip
    except Exception as exc:
        if not isinstance(exc, DomainError):
            log.exception("print batch %s failed", batch_id)
        mine.update(state=PrintBatch.State.FAILED, error=(str(exc) or type(exc).__name__)[:2000],
                    updated_at=timezone.now())  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return PrintBatch.objects.get(pk=batch_id)


def request_print_batch(*, run: BillingRun, actor) -> PrintBatch:
    """Staff: build the run's print batch (again) in the worker. Guards: the permission, a finished run, no build of
    it in progress."""
    from .tasks import build_print_batch as build_task

    if not isinstance(actor, str) and not (
        getattr(actor, "is_authenticated", False) and actor.has_perm(BUILD_PERMISSION)
    ):
        raise PermissionDenied(_("You are not allowed to make print batches."))
    label = actor if isinstance(actor, str) else actor.get_username()
    with transaction.atomic():
        run = BillingRun.objects.select_for_update(of=("self",)).select_related("branch").get(pk=run.pk)
        if run.state != BillingRun.State.DONE:
            raise DomainError(_("The print batch is made when the billing run is finished."))
        batch = PrintBatch.objects.select_for_update().filter(run=run).first()
        now = timezone.now()
        busy = batch is not None and (
            batch.state == PrintBatch.State.PENDING
            or (batch.state == PrintBatch.State.BUILDING and batch.updated_at >= now - STALE_BUILD)
        )
        if busy:
            raise DomainError(_("The print batch is being made already."))
        if batch is None:
            batch = PrintBatch.objects.create(
                run=run, branch_id=run.branch_id, period=run.period, requested_by=label[:120]
            )
        else:
            batch.state, batch.error, batch.requested_by = PrintBatch.State.PENDING, "", label[:120]
            batch.save(update_fields=["state", "error", "requested_by", "updated_at"])
        audit(actor, "billing.print_batch_request", batch, branch=run.branch.code, period=run.period.isoformat())
        batch_id = batch.pk
        transaction.on_commit(lambda: build_task.enqueue(batch_id))
    return batch


def requeue_stale_batches(now: dt.datetime | None = None) -> list[int]:
    """Batches whose task was lost (pending for long) or whose builder died (no heartbeat) go back to the worker."""
    from .tasks import build_print_batch as build_task

    now = now or timezone.now()
    ids = list(
        PrintBatch.objects.filter(
            Q(state=PrintBatch.State.PENDING) | Q(state=PrintBatch.State.BUILDING), updated_at__lt=now - STALE_BUILD
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: build_task.enqueue(pk))
    return ids


# ------------------------------------------------------------------------------------------------------- job


def run_delivery_job(now: dt.datetime | None = None) -> dict:
    """The periodic job: hand finished runs to delivery, copy e-mail outcomes, start a sender when bills wait,
    give lost print batches back to the worker."""
    from .tasks import send_bill_emails as send_task

    now = now or timezone.now()
    planned = plan_deliveries(now)
    synced = sync_email_statuses()
    waiting = pending_emails(now).exists() or lost_messages(now).exists()
    if waiting:
        transaction.on_commit(send_task.enqueue)
    requeued = requeue_stale_batches(now)
    return {"planned": len(planned), "synced": synced, "sending": waiting, "batches": len(requeued)}
