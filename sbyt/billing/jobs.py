"""Scheduled jobs of billing: each branch's monthly run on its day, runs whose worker died taken up again, and the
delivery of the bills a run issued."""

from sbyt.core.periodic import every


@every(600)
def billing_schedule() -> None:
    """On the billing day of a branch (the day after its readings window closes, or the day set in its bill
    settings), start the run of the current period if there is none yet (BIL-1)."""
    from sbyt.billing.schedule import start_due_runs

    start_due_runs()


@every(300)
def billing_resume() -> None:
    """Hand a run that stopped (failed, or its worker vanished) back to the worker."""
    from sbyt.billing.schedule import resume_stale_runs

    resume_stale_runs()


@every(60)
def bill_delivery() -> None:
    """Bills of finished runs to their delivery: e-mails with the PDF (sent by the worker, once each) and the
    printing-house batch of the paper ones (docs/bills.md, «Delivery»)."""
    from sbyt.billing.delivery import run_delivery_job

    run_delivery_job()
