"""The Click group every command hangs on, and the edge where core errors become messages."""

from __future__ import annotations

import os

import click

from brandvoice.errors import BrandvoiceError


class BrandvoiceGroup(click.Group):
    """A group that turns core errors into clean messages (no traceback reaches a user)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrandvoiceError as exc:
            raise click.ClickException(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"Could not decode input as text: {exc}") from exc


@click.group(cls=BrandvoiceGroup)
@click.option("--home", type=click.Path(file_okay=False), envvar="BRANDVOICE_HOME",
              help="Folder for runtime state (default ./.brandvoice; env BRANDVOICE_HOME).")
@click.version_option(package_name="brandvoice")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """brandvoice: teach a small model your brand voice and write guarded follow-up emails."""
    if home:
        os.environ["BRANDVOICE_HOME"] = home
    # Idle OpenMP threads sleep instead of spinning: on a busy machine spinning made generation ~10x
    # slower. Must be set before torch is imported (it is imported lazily, later).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    ctx.ensure_object(dict)


def settings():
    """Settings for this invocation (read lazily, after --home took effect)."""
    from brandvoice.config import Settings

    return Settings.from_env()


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
    """Print rows as an aligned text table."""
    if not rows:
        click.echo("(none)")
        return
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    widths = {c: min(w, 60) for c, w in widths.items()}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        click.echo("  ".join(str(r.get(c, "") if r.get(c) is not None else "")[: widths[c]].ljust(widths[c])
                             for c in columns))
