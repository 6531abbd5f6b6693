import os

# The outbound edge is faked (locmem SMS gateway); tasks run in-process when their transaction commits.
os.environ.setdefault("SBYT_SMS_BACKEND", "locmem")
os.environ.setdefault("SBYT_TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
os.environ.setdefault("SBYT_RATELIMIT_LOGIN", "1000/m")

import pytest  # noqa: E402

from sbyt.messaging.backends import locmem  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_and_clean(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SBYT_SMS_BACKEND = "locmem"
    locmem.outbox.clear()
    from django.core.cache import cache

    cache.clear()
    yield
    locmem.outbox.clear()


@pytest.fixture
def sms_outbox():
    """SMS sent through the fake gateway. Wrap the call in ``django_capture_on_commit_callbacks(execute=True)``
    so that side effects queued on commit run, as they would after a real commit."""
    return locmem.outbox
