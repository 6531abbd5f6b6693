"""Billing work done by the worker: a run started from the back office or the schedule; the delivery of its bills
(e-mails with the PDF, the printing-house batch)."""

from django_tasks import task


@task()
def execute_billing_run(run_id: int) -> str:
    from .run import execute_run

    return execute_run(run_id).state


@task()
def send_bill_emails() -> int:
    """Bills to e-mail, with their PDFs, for up to a minute (see ``delivery.send_bill_emails``)."""
    from .delivery import send_bill_emails as send

    return send()


@task()
def build_print_batch(batch_id: int) -> str:
    """A run's printing-house batch (see ``delivery.build_print_batch``)."""
    from .delivery import build_print_batch as build

    return build(batch_id).state
