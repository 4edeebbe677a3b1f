"""`brandvoice ...`: one CLI over the core. Each module below adds its commands to `main`."""

from brandvoice.cli import (  # noqa: F401 - importing registers the commands
    delivery_cmds,
    gen_cmds,
    guard_cmds,
    jobs_cmds,
    models_cmds,
    policy_cmds,
    results_cmds,
    review_cmds,
    template_cmds,
    train_cmds,
    users_cmds,
)
from brandvoice.cli.base import main

__all__ = ["main"]
