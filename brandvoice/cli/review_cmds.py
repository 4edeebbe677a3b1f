"""`brandvoice review|export|audit|users|send`: the review queue, exports and users from the shell.

The acting user comes from --as USER (the password is prompted, or --password) or from
BRANDVOICE_USER / BRANDVOICE_PASSWORD for scripts.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import click

from brandvoice.cli.base import echo_table, group, main, store
from brandvoice.errors import InputError


def _actor(username: str | None, password: str | None):
    from brandvoice import users

    username = username or os.environ.get("BRANDVOICE_USER")
    if password is None:
        password = os.environ.get("BRANDVOICE_PASSWORD")
    if username and password is None:
        password = click.prompt(f"Password for {username}", hide_input=True)
    return users.authenticate_env(store(), username, password)


def acting(fn):
    """Add --as/--password and pass the authenticated User as `actor`."""
    @click.option("--as", "as_user", metavar="USER", help="Act as this user (env BRANDVOICE_USER).")
    @click.option("--password", default=None, help="The user's password (env BRANDVOICE_PASSWORD; "
                                                    "prompted if missing).")
    @functools.wraps(fn)
    def wrapper(as_user, password, **kw):
        return fn(actor=_actor(as_user, password), **kw)
    return wrapper


def _read_text(value: str | None, path: str | None, what: str) -> str | None:
    if path:
        try:
            return Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(f"Cannot read the {what} file {path}: {exc.strerror}.",
                             hint="Check the path.") from exc
    return value


# --- review ------------------------------------------------------------------------------------
review_group = group("review", "The review queue: list, show, approve, reject, edit, bulk-approve, metrics.")


@review_group.command("list")
@click.option("--state", type=click.Choice(["pending", "approved", "rejected", "exported"]))
@click.option("--verdict", type=click.Choice(["pass", "warn", "fail"]))
@click.option("--template", help="Template name.")
@click.option("--adapter", help="Adapter label ('ledgerly v2') or id.")
@click.option("--job", "job_id", type=int, help="Generation job id.")
@click.option("--brand")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
def review_list(limit: int, offset: int, **filters) -> None:
    """List drafts in the queue (oldest first)."""
    from brandvoice import review

    rows, total = review.list_queue(store(), limit=limit, offset=offset, **filters)
    echo_table(rows, ["id", "state", "verdict", "email", "subject", "template_name", "adapter_label",
                      "row_version"])
    click.echo(f"{len(rows)} of {total} shown (offset {offset}).")


@review_group.command("show")
@click.argument("draft_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def review_show(draft_id: int, as_json: bool) -> None:
    """Show one draft: text, contact, guardrail results, versions, decisions."""
    from brandvoice import review

    d = review.get_draft(store(), draft_id)
    if as_json:
        click.echo(json.dumps(d, indent=2, default=str, ensure_ascii=False))
        return
    c = d["contact"] or {}
    click.echo(f"Draft {d['id']} [{d['state']}] version {d['row_version']}  verdict: {d['verdict']}  "
               f"adapter: {d['adapter_label']}  template: {d['template_name']}")
    click.echo(f"To: {c.get('first_name') or ''} {c.get('last_name') or ''} <{c.get('email')}>")
    click.echo(f"Subject: {d['subject']}\n\n{d['body']}\n")
    for g in d["guardrails"]:
        click.echo(f"  [{g['status']}] {g['check']}/{g['rule']}: {g['message']}")
    for r in d["reviews"]:
        click.echo(f"  {r['created_at']} {r['reviewer']}: {r['action']} {r['from_state']} -> "
                   f"{r['to_state']} {r['reason_code'] or ''} {r['reason_text'] or ''}".rstrip())
    click.echo(f"Allowed: {', '.join(d['allowed_actions']) or '(none)'}")


def _version(draft_id: int, version: int | None) -> int:
    from brandvoice import review

    return version if version is not None else review.get_draft(store(), draft_id)["row_version"]


_version_opt = click.option("--version", "expected", type=int, default=None,
                            help="The version you reviewed (default: the current one).")


@review_group.command("approve")
@click.argument("draft_id", type=int)
@_version_opt
@click.option("--note", help="A note kept with the decision.")
@acting
def review_approve(actor, draft_id: int, expected: int | None, note: str | None) -> None:
    """Approve a draft."""
    from brandvoice import review

    r = review.approve(store(), actor, draft_id, expected_version=_version(draft_id, expected), note=note)
    click.echo(f"Draft {draft_id}: {r['state']} (version {r['row_version']}).")


@review_group.command("reject")
@click.argument("draft_id", type=int)
@click.option("--reason", "reason_code", required=True,
              type=click.Choice(["off-brand", "wrong-facts", "tone", "compliance", "other"]))
@click.option("--text", "reason_text", help="Free-text reason (required with 'other').")
@_version_opt
@acting
def review_reject(actor, draft_id: int, reason_code: str, reason_text: str | None,
                  expected: int | None) -> None:
    """Reject a draft with a reason."""
    from brandvoice import review

    r = review.reject(store(), actor, draft_id, expected_version=_version(draft_id, expected),
                      reason_code=reason_code, reason_text=reason_text)
    click.echo(f"Draft {draft_id}: {r['state']} ({reason_code}).")


@review_group.command("edit")
@click.argument("draft_id", type=int)
@click.option("--subject", help="New subject (default: keep).")
@click.option("--body", help="New body text (default: keep).")
@click.option("--body-file", type=click.Path(dir_okay=False), help="Read the new body from a file.")
@_version_opt
@acting
def review_edit(actor, draft_id: int, subject: str | None, body: str | None, body_file: str | None,
                expected: int | None) -> None:
    """Edit a draft's text (the previous version is kept)."""
    from brandvoice import review

    d = review.get_draft(store(), draft_id)
    body = _read_text(body, body_file, "body")
    if subject is None and body is None:
        raise click.UsageError("Give --subject, --body or --body-file.")
    r = review.edit(store(), actor, draft_id, subject=d["subject"] if subject is None else subject,
                    body=d["body"] if body is None else body,
                    expected_version=expected if expected is not None else d["row_version"])
    click.echo(f"Draft {draft_id}: edited, {r['state']} (version {r['row_version']}).")


@review_group.command("bulk-approve")
@click.argument("draft_ids", type=int, nargs=-1)
@click.option("--job", "job_id", type=int, help="Only drafts of this generation job.")
@acting
def review_bulk(actor, draft_ids: tuple[int, ...], job_id: int | None) -> None:
    """Approve, in one step, pending drafts that passed every guardrail (all, or the given ids)."""
    from brandvoice import review

    res = review.bulk_approve_passed(store(), actor, list(draft_ids) or None, job_id=job_id)
    click.echo(f"Approved {int(res)} draft(s).")
    for s in res.skipped:
        click.echo(f"  skipped {s['id']}: {s['reason']}")


# --- export, audit, send -------------------------------------------------------------------------
@main.command("export")
@click.option("--profile", type=click.Choice(["generic", "mailchimp", "hubspot", "klaviyo", "sfmc"]),
              help="The email tool's import format.")
@click.option("--out", type=click.Path(dir_okay=False), help="The CSV file to write.")
@click.option("--bom", is_flag=True, help="Start the file with a UTF-8 BOM (for Excel).")
@click.option("--batch", "batch_id", type=int, help="Write an earlier batch again (same bytes).")
@click.option("--html-body/--plain-body", default=None, help="Body as simple HTML (profile default).")
@click.option("--neutralize/--no-neutralize", default=None,
              help="Prefix formula-like cells with a quote (profile default).")
@click.option("--job", "job_id", type=int, help="Only approved drafts of this generation job.")
@click.option("--pick", type=click.Choice(["refuse", "newest", "oldest"]), default="refuse",
              show_default=True, help="When a contact has several approved drafts.")
@click.option("--list", "list_only", is_flag=True, help="List earlier export batches and exit.")
@acting
def export_cmd(actor, profile, out, bom, batch_id, html_body, neutralize, job_id, pick,
               list_only) -> None:
    """Export approved drafts as CSV for an email tool; the batch is recorded."""
    from brandvoice import delivery as export

    if list_only:
        echo_table(export.list_batches(store()), ["id", "profile", "n_rows", "created_by",
                                                  "created_at", "path"])
        return
    if not out or (not profile and batch_id is None):
        raise click.UsageError("Give --profile and --out (or --batch N and --out).")
    res = export.export(store(), actor, profile, out, bom=bom, html_body=html_body,
                        batch_id=batch_id, job_id=job_id, neutralize=neutralize, on_duplicate=pick)
    verb = "Wrote batch" if not res.get("reexported") else "Wrote again batch"
    click.echo(f"{verb} {res['batch_id']} ({res['profile']}): {res['rows']} row(s) to {res['path']} "
               f"(sha256 {res['file_hash'][:16]}...).")
    if res["snippet"]:
        click.echo(f"Paste into the campaign body: {res['snippet']}  (also in {res['snippet_path']});"
                   f" subject: {res['subject_merge_tag']}")
    for s in res["skipped"]:
        click.echo(f"  skipped {s['id']}: {s['reason']}")


@main.command("audit")
@click.argument("draft_id", type=int)
def audit_cmd(draft_id: int) -> None:
    """The full audit trail of a draft as JSON."""
    from brandvoice import review

    click.echo(json.dumps(review.audit_trail(store(), draft_id), indent=2, default=str,
                          ensure_ascii=False))


@main.command("send")
@click.option("--dry-run", "dry_run", type=click.Path(file_okay=False),
              help="Write .eml files to this folder instead of sending.")
@click.option("--host", default="localhost", show_default=True)
@click.option("--port", type=int, help="Default: 587 starttls, 465 ssl, 25 none.")
@click.option("--security", type=click.Choice(["starttls", "ssl", "none"]), default="starttls",
              show_default=True)
@click.option("--from", "from_addr", help="From address, e.g. 'Ledgerly <team@ledgerly.example>'.")
@click.option("--smtp-user", envvar="BRANDVOICE_SMTP_USER")
@click.option("--smtp-password", envvar="BRANDVOICE_SMTP_PASSWORD")
@click.option("--draft", "draft_ids", type=int, multiple=True, help="Only these drafts.")
@click.option("--job", "job_id", type=int)
@acting
def send_cmd(actor, dry_run, host, port, security, from_addr, smtp_user, smtp_password, draft_ids,
             job_id) -> None:
    """Send approved drafts by SMTP (or write .eml files with --dry-run)."""
    from brandvoice import delivery as send

    config = None
    if from_addr or not dry_run:
        if not from_addr:
            raise click.UsageError("Give --from.")
        config = send.SmtpConfig(from_addr=from_addr, host=host, port=port, security=security,
                                 username=smtp_user, password=smtp_password)
    res = send.send(store(), actor, config, draft_ids=list(draft_ids) or None, job_id=job_id,
                    dry_run_dir=dry_run)
    if res["dry_run"]:
        click.echo(f"Dry run: wrote {len(res['files'])} .eml file(s) to {dry_run}.")
        return
    click.echo(f"Sent {len(res['sent'])} email(s) (batch {res['batch_id']}).")
    for f in res["failed"]:
        click.echo(f"  failed {f['id']} <{f['email']}>: {f['error']}")
    if res["failed"]:
        raise SystemExit(1)


# --- users -------------------------------------------------------------------------------------
users_group = group("users", "Users and roles: add, list.")


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["marketer", "reviewer", "admin"]), default=None,
              help="Role of the new user (the first user is always an admin).")
@click.option("--user-password", "new_password", envvar="BRANDVOICE_NEW_PASSWORD",
              help="The new user's password (prompted if missing; env BRANDVOICE_NEW_PASSWORD).")
@click.option("--as", "as_user", metavar="USER", help="Act as this admin (env BRANDVOICE_USER).")
@click.option("--password", default=None, help="The admin's password (env BRANDVOICE_PASSWORD).")
def users_add(username, role, new_password, as_user, password) -> None:
    """Add a user. With no users yet, creates the first admin (no --as needed)."""
    from brandvoice import users

    st = store()
    first = users.count_users(st) == 0
    role = role or ("admin" if first else None)
    if role is None:
        raise click.UsageError("Give --role marketer|reviewer|admin.")
    actor = None if first else _actor(as_user, password)
    if new_password is None:
        new_password = click.prompt(f"Password for the new user {username}", hide_input=True,
                                    confirmation_prompt=True)
    u = users.add_user(st, username, new_password, role, actor=actor)
    click.echo(f"Added {u.role} {u.username}" + (" (first admin)." if first else "."))


@users_group.command("list")
def users_list() -> None:
    """List users and roles."""
    from brandvoice import users

    echo_table(users.list_users(store()), ["id", "username", "role", "active", "created_at"])


@review_group.command("metrics")
def review_metrics() -> None:
    """Per adapter version: approval rate, rejection reasons, median edit distance."""
    from brandvoice import review

    rows = review.adapter_metrics(store())
    for r in rows:
        r["rejection_reasons"] = ", ".join(f"{k} {v}" for k, v in r["rejection_reasons"].items())
    echo_table(rows, ["adapter", "drafts", "decided", "approval_rate", "median_edit_distance",
                      "rejection_reasons"])
