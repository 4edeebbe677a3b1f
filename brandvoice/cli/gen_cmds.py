"""Commands: (filled by its issue)."""

from brandvoice.cli.base import main  # noqa: F401
