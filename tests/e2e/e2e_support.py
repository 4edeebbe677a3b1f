"""Constants and helpers shared by the browser tests and their fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BRANDVOICE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "e2e-password"


def copy_to_docs(names: list[str]) -> None:
    """Copy the chosen screenshots to docs/screenshots for the README (only when asked).

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
