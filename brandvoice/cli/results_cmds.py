"""`brandvoice results ...`: campaign results in (import), what worked out (report, edits)."""

from __future__ import annotations

import json

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import ID, echo_table, group, safe, store
from brandvoice.results.edits import KEYS, PERIODS
from brandvoice.results.report import DIMENSIONS, METRICS
from brandvoice.results.sources import ALL_SOURCES, KINDS

results_group = group("results", "Campaign results: import the email tools' activity exports and "
                                 "mailbox replies, see what worked and how much reviewers edit.")


@results_group.command("import")
@click.argument("path", type=click.Path())
@click.option("--source", type=click.Choice(["auto", *ALL_SOURCES]), default="auto",
              show_default=True, help="The tool that wrote the file (auto: by its columns; a "
                                      "folder, .mbox or .eml file is a mailbox).")
@click.option("--batch", "batches", type=ID, multiple=True,
              help="The export batch the file reports on (repeatable; default: matched by "
                   "address and time).")
@click.option("--event", type=click.Choice(KINDS),
              help="The event of every row, for a list of one event's recipients (Mailchimp's "
                   "Opened or Bounced lists).")
@click.option("--all-rows", is_flag=True, help="Print every row that was not matched, not the "
                                               "first 20.")
@acting
def import_cmd(actor, path: str, source: str, batches: tuple[int, ...], event: str | None,
               all_rows: bool) -> None:
    """Import a results file (CSV activity export, mbox or .eml folder) and match it to drafts."""
    from brandvoice import results

    res = results.import_results(store(), actor, path, source=source, batches=list(batches),
                                 event=event)
    if res["already_imported"]:
        click.echo(f"Already imported as #{res['import_id']} by {safe(res['created_by'])} on "
                   f"{res['created_at'][:19]}: nothing changed.")
        return
    kinds = ", ".join(f"{n} {k}" for k, n in res["new_by_kind"].items()) or "none"
    click.echo(f"Import #{res['import_id']} ({res['source']}, {safe(res['file'])}): "
               f"{res['rows']:,} row(s), {res['matched']:,} matched to drafts of batch "
               f"{', '.join(map(str, res['batch_ids'])) or '-'}.")
    click.echo(f"New events: {res['new_events']:,} ({kinds}); already known: "
               f"{res['known_events']:,}.")
    named = res["unmatched"] + res["ignored"] + res["invalid"]
    if named:
        click.echo(f"Not matched: {res['unmatched']:,}; left out: {res['ignored']:,}; "
                   f"unreadable: {res['invalid']:,}.")
        rows = results.named_rows(store(), res["import_id"], limit=None if all_rows else 20)
        for r in rows:
            click.echo(f"  {r['label']}: {r['status']}: {safe(r['reason'])}")
        if not all_rows and named > len(rows):
            click.echo(f"  ... and {named - len(rows):,} more: `brandvoice results rows "
                       f"{res['import_id']}`")


@results_group.command("list")
def list_cmd() -> None:
    """The imports, newest first."""
    from brandvoice import results

    rows = [{**r, "batches": ",".join(map(str, r["batch_ids"])), "created_at": r["created_at"][:19],
             "named": r["unmatched"] + r["ignored"] + r["invalid"]}
            for r in results.list_imports(store())]
    echo_table(rows, ["import_id", "source", "file", "batches", "rows", "matched", "new_events",
                      "named", "created_by", "created_at"])


@results_group.command("rows")
@click.argument("import_id", type=ID)
@click.option("--status", type=click.Choice(["unmatched", "ignored", "invalid"]))
def rows_cmd(import_id: int, status: str | None) -> None:
    """Every row of an import that matched no draft or was left out, with the reason."""
    from brandvoice import results

    echo_table(results.named_rows(store(), import_id, status=status),
               ["label", "status", "email", "kind", "reason"])


def _echo_table(t: dict) -> None:
    click.echo(f"\n{t['title']}" + (f" (against {safe(t['reference'])})" if t["reference"] else ""))
    echo_table([{"group": g["group"], "measured": f"{g['n']:,}", "events": f"{g['k']:,}",
                 "rate": _pct(g["rate"]), "95% interval": f"{_pct(g['low'])}–{_pct(g['high'])}"}
                for g in t["groups"]], ["group", "measured", "events", "rate", "95% interval"])
    for c in t["comparisons"]:
        click.echo(f"  - {safe(c['sentence'])}")


def _pct(rate: float | None) -> str:
    from brandvoice.results.stats import pct

    return pct(rate)


@results_group.command("report")
@click.option("--metric", type=click.Choice(list(METRICS)), default="reply", show_default=True)
@click.option("--by", "dims", type=click.Choice(list(DIMENSIONS)), multiple=True,
              help="Only these groupings (default: all).")
@click.option("--brand", help="Only this brand's drafts.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report_cmd(metric: str, dims: tuple[str, ...], brand: str | None, as_json: bool) -> None:
    """Rates per template, adapter version, base model, slot text, fair test and review outcome."""
    from brandvoice import results

    rep = results.report(store(), metric=metric, brand=brand, dimensions=list(dims) or None)
    if as_json:
        click.echo(json.dumps(rep, indent=2, default=str))
        return
    if not rep["drafts"]:
        click.echo("No measured draft yet: import a campaign's results first "
                   "(`brandvoice results import FILE`).")
        return
    o = rep["overall"]
    click.echo(f"{rep['drafts']:,} measured drafts in batch(es) "
               f"{', '.join(map(str, rep['batches']))}: " + ", ".join(
                   f"{m} {_pct(o[m]['rate'])}" for m in METRICS))
    for t in rep["tables"]:
        if t["groups"]:
            _echo_table(t)
    click.echo(f"\n{rep['rule']}")


@results_group.command("edits")
@click.option("--by", "keys", default="period,adapter", show_default=True,
              help=f"Group by these, comma-separated: {', '.join(KEYS)}.")
@click.option("--period", type=click.Choice(PERIODS), default="week", show_default=True)
@click.option("--brand", help="Only this brand's drafts.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def edits_cmd(keys: str, period: str, brand: str | None, as_json: bool) -> None:
    """Share approved without edits, words changed and rejects by reason, week by week."""
    from brandvoice import results

    by = tuple(k.strip() for k in keys.split(",") if k.strip())
    rows = results.edit_metrics(store(), by=by, period=period, brand=brand)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        r["as is"] = _pct(r["share_as_is"])
        r["rejects"] = ", ".join(f"{k} {v}" for k, v in r["rejects_by_reason"].items())
    echo_table(rows, [*by, "decided", "approved", "as is", "median_words_changed", "rejected",
                      "rejects"])
