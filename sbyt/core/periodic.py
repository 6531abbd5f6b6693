"""Scheduled jobs for the ``run_periodic`` loop. Apps register jobs with ``@every(seconds)``.

A job enqueues work as a task (so the worker does it) or does a small amount of work itself.
"""

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    interval: float
    func: Callable[[], object]


JOBS: list[Job] = []


def every(seconds: float):
    def register(func):
        JOBS.append(Job(f"{func.__module__}.{func.__name__}", seconds, func))
        return func

    return register


def load_jobs() -> None:
    for config in apps.get_app_configs():
        if config.name.startswith("sbyt."):
            try:
                importlib.import_module(f"{config.name}.jobs")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.jobs":
                    raise


class Schedule:
    def __init__(self, clock=time.monotonic):
        load_jobs()
        self.clock = clock
        self.next_run = {job.name: 0.0 for job in JOBS}

    def run_due(self) -> list[str]:
        ran = []
        now = self.clock()
        for job in JOBS:
            if self.next_run[job.name] <= now:
                try:
                    job.func()
                except Exception:  # a failing job must not stop the loop; it is logged and retried
                    log.exception("periodic job %s failed", job.name)
                self.next_run[job.name] = now + job.interval
                ran.append(job.name)
        return ran
