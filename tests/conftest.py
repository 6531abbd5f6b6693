import pytest
from django.core import mail

from sbyt.messaging.backends import locmem


@pytest.fixture(autouse=True)
def _fast_and_clean(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The outbound edge is faked (locmem SMS gateway, Django's locmem mail backend: django.core.mail.outbox);
    # tasks run in-process when their transaction commits.
    settings.SBYT_SMS_BACKEND = "locmem"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
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


@pytest.fixture(autouse=True)
def _seeds_after_flush(request):
    """A transactional test (and a browser test's live server) starts with what the migrations seed, even when an
    earlier transactional test flushed the database (tests/seeds.py)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))
    if transactional or {"transactional_db", "live_server"} & set(request.fixturenames):
        request.getfixturevalue("transactional_db")
        from tests.seeds import restore_seeds

        restore_seeds()


# Headless Chromium for the browser tests, one per session for every test module (two Playwright instances in one
# thread conflict): tests/browser/conftest.py holds the constants and helpers.
@pytest.fixture(scope="session")
def browser():
    import os
    import shutil
    from pathlib import Path

    from tests.browser.conftest import CHROMIUM

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run 'apt-get install chromium' (make test does it as root)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in the test are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    from tests.browser.conftest import DESKTOP

    context = browser.new_context(viewport=DESKTOP, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.base_url = live_server.url
    yield page
    context.close()
