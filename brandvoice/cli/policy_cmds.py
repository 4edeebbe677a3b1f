"""`brandvoice policy propose`: a new brand's first policy file from its past emails."""

from __future__ import annotations

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import group, store

policy_group = group("policy", "Brand policies (guardrails/<brand>.toml): propose a first one.")


@policy_group.command("propose")
@click.option("--emails", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The brand's past emails (CSV or JSONL).")
@click.option("--brand", required=True, help="The brand's name.")
@click.option("--rows-of", default=None, help="The file's brand whose rows to read, when it holds "
                                              "several.")
@click.option("--save", is_flag=True, help="Write guardrails/<brand>.toml (after reading it).")
@acting
def propose_cmd(actor, emails: str, brand: str, rows_of: str | None, save: bool) -> None:
    """Propose a brand's policy from its past emails: print it, or save it with --save."""
    from brandvoice import corpus, guardrails

    loaded, _ = corpus.load_emails(emails, brand=brand, rows_of=rows_of)
    text = guardrails.policy_text(guardrails.propose(brand, loaded))
    if not save:
        click.echo(text)
        click.echo("Read it, then run again with --save to write it.", err=True)
        return
    path = guardrails.save_policy(store(), actor, brand, text)
    click.echo(f"Wrote {path}.")
