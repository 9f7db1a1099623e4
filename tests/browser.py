"""Headless Chromium (Debian's package) driven by Playwright, for browser tests and screenshots.

Playwright's own browser download cannot work here (no internet), so it launches
/usr/bin/chromium with the flags that keep Chromium off the network.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def chromium(
    *, width: int = 1366, height: int = 900, timezone_id: str | None = None
) -> Iterator[object]:
    """A fresh browser context (its own profile folder), closed afterwards; ``timezone_id``:
    the zone the browser says it is in (default: the machine's)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    profile = Path(tempfile.mkdtemp(prefix="dast-chromium-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=executable,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": width, "height": height},
                **({"timezone_id": timezone_id} if timezone_id else {}),
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(page, live_server, user, path: str = "/tickets/") -> None:  # type: ignore[no-untyped-def]
    """Open ``path``, sign in on the login page it leads to (test users' password is "pw"),
    and land on ``path``."""
    page.goto(f"{live_server.url}{path}")
    assert "/login/" in page.url
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw")
    with page.expect_navigation():
        page.click("#password-login button[type=submit]")
    assert page.url == f"{live_server.url}{path}"
