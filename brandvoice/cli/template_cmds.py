"""`brandvoice templates list|show|render|save` and `brandvoice crm check`."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import echo_table, group, safe, settings
from brandvoice.errors import InputError

templates_group = group("templates", "Prompt templates (prompts/*.j2): list, show, render, save.")
crm_group = group("crm", "CRM exports: check how a file is read before generating from it.")

_CRM = click.Path(dir_okay=False)


@templates_group.command("list")
def templates_list() -> None:
    """List the prompt templates with their use case and required fields."""
    from brandvoice import prompting

    rows = [{"name": t.name, "kind": t.kind, "brand": t.brand or "any", "use case": t.use_case,
             "requires": ", ".join(t.required_fields), "description": t.description}
            for t in prompting.list_templates(settings())]
    echo_table(rows, ["name", "kind", "brand", "use case", "requires", "description"])


@templates_group.command("show")
@click.argument("name")
def templates_show(name: str) -> None:
    """Show a template's metadata, hash and source."""
    from brandvoice import prompting

    t = prompting.get_template(name, settings())
    click.echo(f"name:            {t.name}\nuse case:        {t.use_case}\ndescription:     {t.description}\n"
               f"required fields: {', '.join(t.required_fields) or '(none)'}\npath:            {t.path}\n"
               f"sha256:          {t.hash}\n")
    click.echo(safe(t.source.rstrip()))


def _pick(contacts: list[dict], row: int | None, key: str | None, crm_path: str) -> dict:
    if not contacts:
        raise InputError(f"No usable contact in {crm_path}.", hint=f"Run `brandvoice crm check {crm_path}`.")
    if key is not None:
        found = [c for c in contacts if c["key"] == key or c["email"].lower() == key.lower()]
        what = f"key or email {key!r}"
    elif row is not None:
        found = [c for c in contacts if c["source"]["row"] == row]
        what = f"row {row}"
    else:
        return contacts[0]
    if not found:
        raise InputError(f"No usable contact with {what} in {crm_path} (it may be excluded or invalid).",
                         hint=f"Rows are numbered as in a spreadsheet (header = row 1); see "
                              f"`brandvoice crm check {crm_path}`.")
    return found[0]


@templates_group.command("render")
@click.argument("name")
@click.option("--crm", "crm_path", required=True, type=_CRM, help="CRM contacts export (CSV).")
@click.option("--activities", type=_CRM, help="Activity log CSV joined to the contacts.")
@click.option("--mapping", type=_CRM, help="Column mapping file (JSON or TOML).")
@click.option("--unmap-opt-out", "unmap_optout", multiple=True, metavar="COLUMN",
              help="Confirm that the mapping stops reading this opt-out column (audited; repeat "
                   "for each column).")
@click.option("--row", type=click.IntRange(1, 10**9),
              help="Render for the contact on this row (header = row 1). Default: first.")
@click.option("--key", "--contact", "contact_key", help="Render for the contact with this record id or email.")
@click.option("--brand", default="our company", show_default=True, help="Brand name for the system prompt.")
@click.option("--now", "now_text", help="Reference time for relative dates (ISO 8601). Default: now.")
@click.option("--system", "show_system", is_flag=True, help="Also print the system prompt.")
def templates_render(name, crm_path, activities, mapping, unmap_optout, row, contact_key, brand,
                     now_text, show_system) -> None:
    """Render what a template gives the model for one CRM contact: a whole-email brief, or a slot
    template's email with its slots marked (no model involved)."""
    from brandvoice import crm, prompting

    info = prompting.get_template(name, settings())
    result = crm.import_contacts(crm_path, activities=activities, mapping=mapping,
                                 unmap_optout=unmap_optout)
    contact = _pick(result.contacts, row, contact_key, crm_path)
    now = datetime.now(timezone.utc)
    if now_text:
        now = crm.parse_timestamp(now_text)
        if now is None:
            raise InputError(f"--now {now_text!r} is not a timestamp.", hint="Use e.g. 2026-11-21T09:00:00Z.")
    lacking = prompting.missing_fields(info, contact)
    if lacking:
        click.echo(f"warning: row {contact['source']['row']} lacks {', '.join(lacking)}: a batch with "
                   f"template {info.name} skips this contact.", err=True)
    if show_system:
        click.echo("--- system ---\n" + safe(prompting.system_prompt(brand)) + "\n--- user ---")
    # in a worker process with a deadline and a memory cap: a template being written may loop
    out = prompting.preview(info, contact, brand=brand, extra={"now": now})
    if isinstance(out, dict):  # a slot template: its email with the slots marked
        out = f"Subject: {out['subject']}\n\n{out['body']}\n\n" + "\n".join(
            f"[slot {s['name']}: {s['kind']}, up to {s['words']} words; fallback: {s['fallback']}]"
            for s in out["slots"])
    click.echo(safe(out).replace("\ue000", "|"))


@templates_group.command("save")
@click.argument("name")
@click.argument("source_file", type=click.Path(dir_okay=False))
@acting
def templates_save(actor, name: str, source_file: str) -> None:
    """Check a template file and save it as prompts/NAME.j2 (marketers and admins; audited)."""
    from pathlib import Path

    from brandvoice import prompting

    try:
        source = Path(source_file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the template file {source_file}: "
                         f"{getattr(exc, 'strerror', None) or exc}.",
                         hint="Give a UTF-8 text file.") from exc
    info = prompting.save_template(settings(), actor, name, source)
    click.echo(f"Saved {info.name} ({info.path}), sha256 {info.hash[:16]}...")


@templates_group.command("skeleton")
@click.option("--emails", required=True, type=_CRM, help="The brand's past emails (CSV or JSONL).")
@click.option("--brand", required=True, help="The brand whose emails these are.")
@click.option("--campaign", default=None, help="The campaign (use case) to start from, e.g. "
              "'content follow-up' (default: the best email of any campaign).")
@click.option("--name", required=True, help="The new template's name, e.g. ledgerly_after_webinar.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write it here (default: print it).")
def templates_skeleton(emails, brand, campaign, name, out) -> None:
    """Start a slot template from the brand's best past email of a campaign."""
    from brandvoice import prompting, textio

    if out:  # a template goes into prompts/ only through `templates save` (role, checks, audit)
        textio.outside_workspace(settings(), out, what="skeleton file",
                                 hint="Write it elsewhere, read it, then `brandvoice templates "
                                      "save NAME FILE`.")
    draft = prompting.draft_skeleton(emails, brand=brand, campaign=campaign, name=name)
    if out:
        textio.atomic_write(out, draft.source)
        click.echo(f"Wrote {out}, drafted from {draft.origin} (\"{draft.subject}\"). Read it and "
                   "replace what only that email could say.", err=True)
    else:
        click.echo(draft.source)


@crm_group.command("check")
@click.argument("crm_path", type=_CRM)
@click.option("--activities", type=_CRM, help="Activity log CSV joined to the contacts.")
@click.option("--mapping", type=_CRM, help="Column mapping file (JSON or TOML): field -> column.")
@click.option("--unmap-opt-out", "unmap_optout", multiple=True, metavar="COLUMN",
              help="Confirm that the mapping stops reading this opt-out column (audited; repeat "
                   "for each column).")
@click.option("--profile", help="Force a profile (hubspot, salesforce, pipedrive, generic).")
@click.option("--template", help="Also run the completeness gate of this template.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def crm_check(crm_path, activities, mapping, unmap_optout, profile, template, as_json) -> None:
    """Show how a CRM export is read: profile, column mapping, counts, excluded rows and problems."""
    from brandvoice import crm, prompting

    result = crm.import_contacts(crm_path, activities=activities, mapping=mapping, profile=profile,
                                 unmap_optout=unmap_optout)
    gate = None
    if template:
        gate = prompting.completeness(prompting.get_template(template, settings()), result.contacts)
    if as_json:
        click.echo(json.dumps({"profile": result.profile, "mapping": result.mapping, "stats": result.stats,
                               "excluded": result.excluded, "problems": result.problems,
                               "optout_unmapped": result.optout_unmapped,
                               "completeness": gate}, indent=2, default=str))
        return
    s = result.stats
    click.echo(result.summary())
    click.echo(f"encoding {s['encoding']}, {s['delimiter']}-separated; profile scores: "
               + ", ".join(f"{k} {v}" for k, v in sorted(s["scores"].items(), key=lambda kv: -kv[1])))
    click.echo("\nColumn mapping:")
    echo_table([{"field": k, "column": v} for k, v in result.mapping.items()], ["field", "column"])
    for d in result.optout_unmapped:
        click.echo(f"warning: opt-out column {safe(d['column'])!r} ({d['field']}) is not read as "
                   "an opt-out (confirmed with --unmap-opt-out): its unsubscribed contacts are in.",
                   err=True)
    if s["custom_fields"]:
        click.echo(f"\nCustom fields (available as contact.custom[...]): {', '.join(s['custom_fields'])}")
    if "activities" in s:
        a = s["activities"]
        click.echo(f"\nActivities: {a['rows']} rows in {a['file']}, {a['joined']} joined, "
                   f"{a['unmatched']} unmatched")
    click.echo(f"\nExcluded ({len(result.excluded)}):")
    echo_table(result.excluded[:200], ["row", "email", "reason"])
    click.echo(f"\nProblems ({len(result.problems)}):")
    for p in result.problems[:200]:
        click.echo(f"  - {p}")
    if len(result.problems) > 200:
        click.echo(f"  ... and {len(result.problems) - 200} more (use --json for all)")
    if gate is not None:
        click.echo(f"\nTemplate {template}: {len(gate['ok'])} contacts ready, {len(gate['missing'])} "
                   "would be skipped")
        for m in gate["messages"][:200]:
            click.echo(f"  - {m}")
