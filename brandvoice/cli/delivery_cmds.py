"""`brandvoice export` and `brandvoice send`: approved drafts out to an email tool or a server."""

from __future__ import annotations

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import ID, echo_table, main, safe, store

_PICK = click.option("--pick", type=click.Choice(["refuse", "newest", "oldest"]), default="refuse",
                     show_default=True, help="When a contact has several approved drafts.")
_REPEAT = click.option("--allow-repeat", is_flag=True,
                       help="Also deliver to contacts that already received a draft of the same job.")


def _skipped(res: dict) -> None:
    for s in res.get("skipped") or []:
        click.echo(f"  skipped {s['id']}: {safe(s['reason'])}")


@main.command("export")
@click.option("--profile", type=click.Choice(["generic", "mailchimp", "hubspot", "klaviyo", "sfmc"]),
              help="The email tool's import format.")
@click.option("--out", type=click.Path(), help="The CSV file to write (new), or a folder: the file "
                                                "is then named after the batch.")
@click.option("--bom/--no-bom", default=None,
              help="Start the file with a UTF-8 byte-order mark, for Excel (profile default: on "
                   "for generic).")
@click.option("--batch", "batch_id", type=ID, help="Write an earlier batch again (same bytes).")
@click.option("--html-body/--plain-body", default=None, help="Body as simple HTML (profile default).")
@click.option("--neutralize/--no-neutralize", default=None,
              help="Prefix formula-like cells with a quote (profile default).")
@click.option("--job", "job_id", type=ID, help="Only approved drafts of this generation job.")
@_PICK
@_REPEAT
@click.option("--list", "list_only", is_flag=True, help="List earlier export batches and exit.")
@acting
def export_cmd(actor, profile, out, bom, batch_id, html_body, neutralize, job_id, pick,
               allow_repeat, list_only) -> None:
    """Export approved drafts as CSV for an email tool; the batch is recorded."""
    from brandvoice import delivery

    if list_only:
        echo_table(delivery.list_batches(store()), ["id", "profile", "n_rows", "created_by",
                                                    "created_at", "file_status", "path"])
        return
    if not out or (not profile and batch_id is None):
        raise click.UsageError("Give --profile and --out (or --batch N and --out).")
    res = delivery.export(store(), actor, profile, out, bom=bom, html_body=html_body,
                          batch_id=batch_id, job_id=job_id, neutralize=neutralize,
                          on_duplicate=pick, allow_repeat=allow_repeat)
    for r in res.get("recovered") or []:
        click.echo(f"Batch {r['batch_id']} of an interrupted export: "
                   + (f"{r['how']} ({safe(r['path'])})." if r["done"] else f"not finished: "
                      f"{safe(r['error'])}"))
    verb = "Wrote batch" if not res.get("reexported") else "Wrote again batch"
    click.echo(f"{verb} {res['batch_id']} ({res['profile']}): {res['rows']} row(s) to "
               f"{safe(res['path'])} (sha256 {res['file_hash'][:16]}...).")
    if res["snippet"]:
        click.echo(f"Paste into the campaign body: {res['snippet']}  (also in "
                   f"{safe(res['snippet_path'])}); subject: {res['subject_merge_tag']}")
    if res.get("superseded"):
        click.echo(f"Superseded (variants not picked): {', '.join(map(str, res['superseded']))}")
    _skipped(res)


@main.command("send")
@click.option("--dry-run", "dry_run", type=click.Path(file_okay=False),
              help="Write .eml files to this folder instead of sending.")
@click.option("--host", default="localhost", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), help="Default: 587 starttls, 465 ssl, 25 none.")
@click.option("--security", type=click.Choice(["starttls", "ssl", "none"]), default="starttls",
              show_default=True)
@click.option("--from", "from_addr", help="From address, e.g. 'Ledgerly <team@ledgerly.example>'.")
@click.option("--smtp-user", envvar="BRANDVOICE_SMTP_USER")
@click.option("--smtp-password", envvar="BRANDVOICE_SMTP_PASSWORD")
@click.option("--draft", "draft_ids", type=ID, multiple=True, help="Only these drafts.")
@click.option("--job", "job_id", type=ID)
@_PICK
@_REPEAT
@click.option("--unconfirmed", "list_unconfirmed", is_flag=True,
              help="List sends whose outcome was never recorded, and exit.")
@click.option("--settle-sent", type=ID, multiple=True,
              help="An unconfirmed draft that did reach the server (marked exported).")
@click.option("--settle-not-sent", type=ID, multiple=True,
              help="An unconfirmed draft that did not go out (approved again: a later send sends it).")
@acting
def send_cmd(actor, dry_run, host, port, security, from_addr, smtp_user, smtp_password, draft_ids,
             job_id, pick, allow_repeat, list_unconfirmed, settle_sent, settle_not_sent) -> None:
    """Send approved drafts by SMTP (or write .eml files with --dry-run)."""
    from brandvoice import delivery

    if list_unconfirmed or settle_sent or settle_not_sent:
        for ids, sent in ((settle_sent, True), (settle_not_sent, False)):
            if ids:
                done = delivery.settle(store(), actor, list(ids), sent=sent)
                click.echo(f"Recorded as {'sent' if sent else 'not sent'}: "
                           f"{', '.join(map(str, done))}.")
        echo_table(delivery.unconfirmed(store()), ["id", "email", "batch_id", "message_id", "since"])
        return
    config = None
    if from_addr or not dry_run:
        if not from_addr:
            raise click.UsageError("Give --from.")
        config = delivery.SmtpConfig(from_addr=from_addr, host=host, port=port, security=security,
                                     username=smtp_user, password=smtp_password)
    res = delivery.send(store(), actor, config, draft_ids=list(draft_ids) or None, job_id=job_id,
                        dry_run_dir=dry_run, on_duplicate=pick, allow_repeat=allow_repeat)
    for w in res.get("unconfirmed") or []:
        click.echo(f"  unconfirmed {w['id']} <{safe(w['email'])}> Message-ID {safe(w['message_id'])}: "
                   "not sent again until settled (--settle-sent / --settle-not-sent)")
    _skipped(res)
    if res["dry_run"]:
        click.echo(f"Dry run: wrote {len(res['files'])} .eml file(s) to {safe(dry_run)}.")
        return
    click.echo(f"Sent {len(res['sent'])} email(s) (batch {res['batch_id']}).")
    for f in res["failed"]:
        click.echo(f"  failed {f['id']} <{safe(f['email'])}>: {safe(f['error'])}")
    if res["failed"] or res.get("unconfirmed"):
        raise SystemExit(1)
