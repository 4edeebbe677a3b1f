"""The Click group every command hangs on, and the edge where errors become messages.

No traceback reaches a user: a core error (BrandvoiceError) is printed as it is; any other
exception becomes one short line naming the log file that holds its traceback (set
BRANDVOICE_RAISE_ERRORS=1 to let it through, as the tests do). Text that came from outside
(drafts, CRM values, file names) is printed through `safe`, so that it cannot move the cursor,
retitle the terminal or hide a line with escape sequences.
"""

from __future__ import annotations

import re
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

import click

from brandvoice.errors import BrandvoiceError

# ANSI/VT escape sequences (CSI, OSC, DCS ... and two-byte ESC forms), then the other controls.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])"
                      r"|\x9b[0-?]*[ -/]*[@-~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: object) -> str:
    """Text as it may reach a terminal: escape sequences and control characters removed (tabs and
    newlines kept, CR as a newline), bidirectional overrides dropped, undecodable bytes escaped."""
    value = str(text)
    value = _ESCAPES.sub("", value).replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROLS.sub("", value)
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _log_unexpected(exc: BaseException) -> Path | None:
    """Append the traceback to <home>/logs/cli.log; the path, or None if it cannot."""
    try:
        path = settings().home / "logs" / "cli.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"--- {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} "
                     f"{' '.join(map(str, sys.argv))[:500]}\n")
            fh.write("".join(traceback.format_exception(exc)))
        return path
    except Exception:  # noqa: BLE001 - logging must never hide the error itself
        return None


class BrandvoiceGroup(click.Group):
    """A group that turns every error into a clean message (no traceback reaches a user)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for i, arg in enumerate(args):
            if isinstance(arg, str) and _has_surrogate(arg):
                raise click.UsageError(f"Argument {i + 1} ({safe(arg)[:80]}) is not valid UTF-8 "
                                       "text.", ctx=ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrandvoiceError as exc:
            raise click.ClickException(safe(exc)) from exc
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"Could not decode input as text: {safe(exc)}") from exc
        except Exception as exc:
            if _raise_errors():
                raise
            path = _log_unexpected(exc)
            where = f" Details are in {path}." if path else ""
            raise click.ClickException(f"Unexpected error ({type(exc).__name__}): "
                                       f"{safe(exc)[:300]}.{where}") from exc


class Id(click.ParamType):
    """A record id: a whole number from 1 to 2**63-1 (a store column holds no larger number)."""

    name = "id"

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
            return value
        text = str(value).strip()
        if text.isascii() and text.isdigit() and len(text) <= 19 and 0 < int(text) < 2**63:
            return int(text)
        shown = safe(text[:24]) + ("..." if len(text) > 24 else "")
        self.fail(f"{shown!r} is not an id (a whole number from 1 to {2**63 - 1:,}).", param, ctx)


ID = Id()


@click.group(cls=BrandvoiceGroup)
@click.option("--home", type=click.Path(file_okay=False),
              help="Folder for runtime state (default ./.brandvoice; env BRANDVOICE_HOME).")
@click.version_option(package_name="brandvoice")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """brandvoice: teach a small model your brand voice and write guarded follow-up emails."""
    from brandvoice.config import quiet_openmp

    # Idle OpenMP threads sleep instead of spinning: on a busy machine spinning made generation ~10x
    # slower. Must be set before torch is imported (it is imported lazily, later).
    quiet_openmp()
    from brandvoice.models import quiet_bitsandbytes

    quiet_bitsandbytes()  # before anything imports peft (models.loading says why)
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


def settings():
    """Settings for this invocation: the environment's, with --home when given (read lazily)."""
    from brandvoice.config import Settings

    ctx = click.get_current_context(silent=True)
    home = ((ctx.find_root().obj or {}).get("home") if ctx is not None else None)
    return Settings.from_env(home=home)


def _raise_errors() -> bool:
    """Whether an unexpected exception goes through with its traceback (settings.raise_errors)."""
    try:
        return settings().raise_errors
    except BrandvoiceError:
        return False


def store():
    """The store for this invocation."""
    from brandvoice.store import Store

    return Store(settings())


def group(name: str, help_text: str) -> click.Group:
    """A sub-group of `brandvoice` with the same error handling."""
    grp = BrandvoiceGroup(name=name, help=help_text)
    main.add_command(grp)
    return grp


def echo_table(rows: list[dict], columns: list[str]) -> None:
    """Print rows as an aligned text table (cells made safe for a terminal, on one line)."""
    if not rows:
        click.echo("(none)")
        return

    def cell(r: dict, c: str) -> str:
        v = r.get(c)
        return "" if v is None else safe(v).replace("\n", " ").replace("\t", " ")

    widths = {c: max(len(c), *(len(cell(r, c)) for r in rows)) for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(cell(r, c)[: widths[c]].ljust(widths[c]) for c in columns))
