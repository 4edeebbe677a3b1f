"""What every way of running a job shares: the cancel signal and the name of this host."""

from __future__ import annotations

import socket

from brandvoice.errors import BrandvoiceError


class JobCancelled(BrandvoiceError):
    """The job was cancelled by a user."""


def this_host() -> str:
    """The name of this machine, as recorded with the jobs it runs."""
    return socket.gethostname()
