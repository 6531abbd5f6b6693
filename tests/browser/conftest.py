"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server."""

import os
from pathlib import Path

CHROMIUM = os.environ.get("SBYT_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("SBYT_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots"))
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 900}


def screenshot(page, name: str) -> Path:
    """Save the page at phone and desktop widths: var/screenshots/<name>-phone.png and -desktop.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    paths = []
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        path = SCREENSHOTS / f"{name}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(original)
    return paths[0]


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
