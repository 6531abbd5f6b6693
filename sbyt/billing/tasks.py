"""Billing work done by the worker: a run started from the back office or the schedule."""

from django_tasks import task


@task()
def execute_billing_run(run_id: int) -> str:
    from .run import execute_run

    return execute_run(run_id).state
