"""`brandvoice review ...` and `brandvoice audit`: the review queue from the shell.

The acting user comes from --as USER (the password is prompted, or --password) or from
BRANDVOICE_USER / BRANDVOICE_PASSWORD for scripts (`auth.acting`). `review approve` takes the
version the reviewer saw (`review show` prints it): the CLI never approves text nobody read.
Drafts and CRM values are printed through `safe` (no terminal escape sequences).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from brandvoice.cli.auth import acting, actor_from  # noqa: F401 - `acting` is imported from here too
from brandvoice.cli.base import ID, echo_table, group, main, safe, store
from brandvoice.errors import InputError

REASONS = ["incoherent", "off-brief", "wrong-name", "cut-off", "placeholder", "invented-facts",
           "off-brand", "tone", "compliance", "other", "wrong-facts"]
STATES = ["pending", "approved", "rejected", "exported", "superseded", "sending"]


def _read_text(value: str | None, path: str | None, what: str) -> str | None:
    if path:
        try:
            return Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"Cannot read the {what} file {path}: "
                             f"{getattr(exc, 'strerror', None) or exc}.",
                             hint="Give a UTF-8 text file.") from exc
    return value


review_group = group("review", "The review queue: list, show, check, approve, reject, edit, "
                               "bulk-approve, metrics, precision.")


@review_group.command("list")
@click.option("--state", type=click.Choice(STATES))
@click.option("--verdict", type=click.Choice(["pass", "warn", "fail"]))
@click.option("--template", help="Template name.")
@click.option("--adapter", help="Adapter label ('ledgerly v2') or id.")
@click.option("--job", "job_id", type=ID, help="Generation job id.")
@click.option("--brand")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0, 10**9), default=0, show_default=True)
def review_list(limit: int, offset: int, **filters) -> None:
    """List drafts in the queue (oldest first)."""
    from brandvoice import review

    rows, total = review.list_queue(store(), limit=limit, offset=offset, **filters)
    echo_table(rows, ["id", "state", "verdict", "email", "subject", "template_name", "adapter_label",
                      "row_version"])
    click.echo(f"{len(rows)} of {total} shown (offset {offset}).")


@review_group.command("show")
@click.argument("draft_id", type=ID)
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def review_show(draft_id: int, as_json: bool) -> None:
    """Show one draft: text, contact, guardrail results, versions, decisions, and its version."""
    from brandvoice import review

    d = review.get_draft(store(), draft_id)
    if as_json:  # JSON escapes every control character: safe as it is
        click.echo(json.dumps(d, indent=2, default=str, ensure_ascii=True))
        return
    c = d["contact"] or {}
    click.echo(f"Draft {d['id']} [{d['state']}] version {d['row_version']}  verdict: {d['verdict']}  "
               f"adapter: {safe(d['adapter_label'])}  template: {safe(d['template_name'])}")
    click.echo(safe(f"To: {c.get('first_name') or ''} {c.get('last_name') or ''} <{c.get('email')}>"))
    click.echo(f"Subject: {safe(d['subject'])}\n\n{safe(d['body'])}\n")
    checked = [g for g in d["guardrails"] if g["row_version"] >= d["text_row_version"]]
    if not checked:
        click.echo(f"  (the text changed since its last check: `brandvoice review check {d['id']}`)")
    for g in checked or d["guardrails"]:
        click.echo(f"  [{g['status']}] {g['check']}/{g['rule']}: {safe(g['message'])}")
    for r in d["reviews"]:
        click.echo(safe(f"  {r['created_at']} {r['reviewer']}: {r['action']} {r['from_state']} -> "
                        f"{r['to_state']} {r['reason_code'] or ''} {r['reason_text'] or ''}").rstrip())
    click.echo(f"Allowed: {', '.join(d['allowed_actions']) or '(none)'}")
    if "approve" in d["allowed_actions"]:
        click.echo(f"Approve this text: brandvoice review approve {d['id']} --version {d['row_version']}")


def _version(draft_id: int, version: int | None) -> int:
    from brandvoice import review

    return version if version is not None else review.get_draft(store(), draft_id)["row_version"]


_version_opt = click.option("--version", "expected", type=ID, default=None,
                            help="The version you reviewed (default: the current one).")


@review_group.command("check")
@click.argument("draft_id", type=ID)
@acting
def review_check(actor, draft_id: int) -> None:
    """Run the guardrails on a draft's current text (after an edit) and keep the verdict."""
    from brandvoice import review

    r = review.recheck(store(), actor, draft_id)
    click.echo(f"Draft {draft_id} version {r['row_version']}: {r['verdict']}.")
    for line in r["reasons"]:
        click.echo(f"  {safe(line)}")


@review_group.command("approve")
@click.argument("draft_id", type=ID)
@click.option("--version", "expected", type=ID, required=True,
              help="The version you read (`brandvoice review show ID` prints it).")
@click.option("--note", help="A note kept with the decision.")
@click.option("--reason", help="Why a draft that failed its guardrails may go out (required then).")
@acting
def review_approve(actor, draft_id: int, expected: int, note: str | None, reason: str | None) -> None:
    """Approve the version of a draft you read."""
    from brandvoice import review

    r = review.approve(store(), actor, draft_id, expected_version=expected, note=note, reason=reason)
    click.echo(f"Draft {draft_id}: {r['state']} (version {r['row_version']}).")


@review_group.command("reject")
@click.argument("draft_id", type=ID)
@click.option("--reason", "reason_code", required=True, type=click.Choice(REASONS),
              help="Why (wrong-facts: the old name of invented-facts).")
@click.option("--text", "reason_text", help="Free-text reason (required with 'other').")
@_version_opt
@acting
def review_reject(actor, draft_id: int, reason_code: str, reason_text: str | None,
                  expected: int | None) -> None:
    """Reject a draft with a reason."""
    from brandvoice import review

    r = review.reject(store(), actor, draft_id, expected_version=_version(draft_id, expected),
                      reason_code=reason_code, reason_text=reason_text)
    click.echo(f"Draft {draft_id}: {r['state']} ({review.canonical_reason(reason_code)}).")


@review_group.command("edit")
@click.argument("draft_id", type=ID)
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
    click.echo(f"Draft {draft_id}: edited, {r['state']} (version {r['row_version']}); check it "
               f"before approval: brandvoice review check {draft_id}")


class _Pinned(click.ParamType):
    """A draft id, or ID@VERSION: the draft only at the version a preview showed."""

    name = "id[@version]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        draft, sep, version = text.partition("@")
        return (ID.convert(draft, param, ctx), ID.convert(version, param, ctx) if sep else None)


@review_group.command("bulk-approve")
@click.argument("draft_ids", type=_Pinned(), nargs=-1)
@click.option("--job", "job_id", type=ID, help="Only drafts of this generation job.")
@click.option("--preview", is_flag=True, help="List the drafts it would approve (ID@VERSION), "
                                              "approve nothing.")
@acting
def review_bulk(actor, draft_ids: tuple[tuple[int, int | None], ...], job_id: int | None,
                preview: bool) -> None:
    """Approve, in one step, pending drafts whose current text passed every guardrail. Give the
    ID@VERSION pairs --preview lists to approve exactly what you saw: a draft changed since is
    left out and named."""
    from brandvoice import review

    if preview:
        rows = review.bulk_preview(store(), actor, job_id=job_id)
        echo_table(rows, ["id", "row_version", "email", "first_name", "company", "subject",
                          "tone_score"])
        click.echo(f"{len(rows)} draft(s) would be approved.")
        if rows:
            click.echo("Approve exactly these: brandvoice review bulk-approve "
                       + " ".join(f"{r['id']}@{r['row_version']}" for r in rows))
        return
    pinned = {d: v for d, v in draft_ids if v is not None}
    plain = [d for d, v in draft_ids if v is None]
    res = review.bulk_approve_passed(store(), actor, plain or None if not pinned else plain,
                                     job_id=job_id, versions=pinned or None)
    click.echo(f"Approved {int(res)} draft(s).")
    for s in res.skipped:
        click.echo(f"  skipped {s['id']}: {safe(s['reason'])}")


@review_group.command("metrics")
def review_metrics() -> None:
    """Per adapter version: approval rate, rejection reasons, edits (share approved as is, median
    words changed and edit distance)."""
    from brandvoice import results, review

    st = store()
    edits = {e["adapter"]: e for e in results.edit_summary(st)}
    rows = review.adapter_metrics(st)
    for r in rows:
        e = edits.get(r["adapter"]) or {}
        r["rejection_reasons"] = ", ".join(f"{k} {v}" for k, v in r["rejection_reasons"].items())
        r.update(as_is=e.get("share_as_is"), median_words_changed=e.get("median_words_changed"),
                 median_edit_distance=e.get("median_edit_distance"))
    echo_table(rows, ["adapter", "drafts", "decided", "approval_rate", "as_is",
                      "median_words_changed", "median_edit_distance", "rejection_reasons"])


@review_group.command("precision")
@click.option("--by", type=click.Choice(["day", "week", "month"]), default="week", show_default=True)
def review_precision(by: str) -> None:
    """How often a "pass" verdict was approved by a reviewer, per period and overall."""
    from brandvoice import review

    echo_table(review.pass_precision(store(), by=by), ["period", "approved", "rejected", "precision"])


@main.command("audit")
@click.argument("draft_id", type=ID)
def audit_cmd(draft_id: int) -> None:
    """The full audit trail of a draft as JSON."""
    from brandvoice import review

    click.echo(json.dumps(review.audit_trail(store(), draft_id), indent=2, default=str,
                          ensure_ascii=True))
