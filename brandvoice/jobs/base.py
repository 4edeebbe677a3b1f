"""What every way of running a job shares: the cancel signal, the name of this host, and how a
handler's end becomes the job's (or a part's) status."""

from __future__ import annotations

import socket
import traceback
from collections.abc import Callable
from typing import Any

from brandvoice.errors import BrandvoiceError


class JobCancelled(BrandvoiceError):
    """The job was cancelled by a user."""


def this_host() -> str:
    """The name of this machine, as recorded with the jobs it runs."""
    return socket.gethostname()


def outcome(call: Callable[[], Any], log: list[str]) -> tuple[str, str | None, Any]:
    """Run a job's (or a part's) handler: ("done", None, its result), ("cancelled", None, None), or
    ("failed", the message, None); an unexpected error's trace goes to `log` for the job's log."""
    try:
        return "done", None, call()
    except JobCancelled:
        return "cancelled", None, None
    except BrandvoiceError as exc:
        return "failed", str(exc), None
    except Exception as exc:  # noqa: BLE001 - recorded for the user, with the trace in the log
        log.append(traceback.format_exc())
        return "failed", f"{type(exc).__name__}: {exc}", None
