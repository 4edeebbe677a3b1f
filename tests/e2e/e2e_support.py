"""Constants and helpers shared by the browser tests and their fixtures."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BRANDVOICE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "e2e-password"


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).is_file():
        return (f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; "
                ".ci/run does it) to run the browser tests")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_to_docs(names: list[str]) -> None:
    """Copy the chosen screenshots to docs/screenshots for the docs (only when asked).

    A test run must not change tracked files, so this happens only with BRANDVOICE_DOCS_SCREENSHOTS=1.
    """
    if os.environ.get("BRANDVOICE_DOCS_SCREENSHOTS") != "1":
        return
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    for n in names:
        src = SCREENSHOTS / f"{n}.png"
        if src.is_file():
            shutil.copy2(src, docs / src.name)


def idle(page) -> None:
    """Wait until Streamlit finished the current run (the status widget disappears)."""
    page.wait_for_timeout(300)
    # The app root carries the script's run state; the status widget shows only after a delay.
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=120_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def sign_out(page) -> None:
    """Sign out and wait for the sign-in form. A click that lands while the page runs again (a
    job's panel refreshes itself) can be lost: the button is clicked again until the form shows,
    so that the next sign-in does not reload a page that is still signed in."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    form = page.get_by_role("textbox", name="Username")
    for _ in range(4):
        idle(page)
        button = page.get_by_role("button", name="Sign out")
        if button.count():
            button.first.click()
        try:
            form.wait_for(timeout=15_000)
            return
        except PlaywrightTimeoutError:
            continue
    form.wait_for()


def sign_in(page, url: str, username: str) -> None:
    """Sign in on the sign-in page and wait for the first page."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(username, exact=False).first.wait_for()
    # The page keeps the session in a cookie, written by a script right after signing in: a
    # reload before the script ran would sign the browser out.
    page.wait_for_function("() => document.cookie.includes('brandvoice_session=')",
                           timeout=15_000)
    idle(page)


def open_page(page, title: str) -> None:
    """Open a page from the sidebar menu."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=re.compile(title, re.I)).first.wait_for()
    idle(page)


def campaign(page, names: list[str]) -> None:
    """Make the Generate page's campaign exactly `names` (clear its templates, then pick each)."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(
        has_text="Templates in this campaign").first
    box.get_by_label("Clear all").first.click()
    idle(page)
    for name in names:
        field = page.get_by_role("combobox", name="Templates in this campaign")
        field.click()
        field.fill(name)  # the list filters as one types
        page.get_by_role("option", name=name, exact=True).first.click()
        idle(page)
    page.keyboard.press("Escape")
    idle(page)


@contextmanager
def serve_app(home: Path, env: dict[str, str]) -> Iterator[dict]:
    """`streamlit run app.py` on a free local port for the workspace `home`, until the block ends:
    yields {"url", "ready_s"} once the health check answers; fails with the server's log if it
    stops or does not answer within a minute."""
    port = free_port()
    log = (home / "streamlit.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError("streamlit did not start:\n"
                                   + (home / "streamlit.log").read_text()[-3000:])
            time.sleep(0.2)
        yield {"url": url, "ready_s": time.monotonic() - started}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
