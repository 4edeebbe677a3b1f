"""The demo workspace: demo users, the demo brand's emails and CRM export (filled in by the app issue)."""

from __future__ import annotations

from collections.abc import Iterator

from brandvoice.config import Settings


def prepare(settings: Settings) -> Iterator[str]:
    """Prepare the demo workspace; yields progress lines."""
    yield f"Workspace: {settings.home}"
