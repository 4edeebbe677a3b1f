"""`brandvoice check`: run the guardrails over any CSV of drafts (copy written anywhere)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from brandvoice import textio
from brandvoice.cli.base import main, settings, store

CONTACT_FIELDS = ("key", "email", "first_name", "last_name", "company", "job_title",
                  "lifecycle_stage", "lead_status", "deal_stage", "phone", "city", "country", "notes")
OUT_FIELDS = ("verdict", "tone_score", "fails", "warns", "reasons")


def read_drafts(path: Path) -> tuple[list[dict], list[str], list[str]]:
    """Rows of a drafts CSV (needs subject and body columns), its header and the rows left out."""
    from brandvoice.errors import InputError

    table = textio.open_table(path, what="Drafts file", known=("subject", "body", *CONTACT_FIELDS),
                              formats=("csv",), item="drafts",
                              hint="Save the drafts as CSV with a header row including subject and body.")
    header = table.header
    lower = {h.lower(): h for h in header}
    missing = [c for c in ("subject", "body") if c not in lower]
    if missing:
        found = ", ".join(header[:30]) + (f", ... ({len(header) - 30} more)" if len(header) > 30 else "")
        raise InputError(f"{path}: the drafts file has no {' or '.join(missing)} column "
                         f"(columns found: {found or 'none'}).",
                         hint="Save the drafts as CSV with a header row including subject and body.")
    keys = [h.lower() for h in header]
    rows, problems = [], []
    for n, cells in table.rows():
        if len(cells) > len(keys):
            problems.append(f"row {n}: {len(cells)} fields but the header has {len(keys)} "
                            "(an unquoted delimiter or quote inside a cell?)")
            continue
        cells += [""] * (len(keys) - len(cells))  # short rows: the missing cells are empty
        rows.append(dict(zip(keys, cells, strict=True)))
    if not rows:
        raise InputError(f"{path.name}: none of its drafts could be read.",
                         problems=problems + table.problems,
                         hint="Fix the rows listed, then check the file again.")
    return rows, header, problems + table.problems


def contact_of(row: dict) -> dict:
    """A contact snapshot from the contact columns of a drafts row."""
    contact = {f: row[f].strip() for f in CONTACT_FIELDS if row.get(f, "").strip()}
    extra = {k: v for k, v in row.items() if k not in CONTACT_FIELDS and k not in ("subject", "body")
             and k not in OUT_FIELDS and v}
    if extra:
        contact["custom"] = extra
    return contact


def brand_emails(path: Path, brand: str | None):
    """(brand, training emails, held-out emails, other brands' emails) from a past-emails file."""
    from brandvoice import corpus

    emails, problems = corpus.load_emails(path)
    brands = Counter(e.brand for e in emails if e.brand)
    if brand is None:
        brand = brands.most_common(1)[0][0] if len(brands) == 1 else "the brand"
    mine = [e for e in emails if not e.brand or corpus.brand_key(e.brand) == corpus.brand_key(brand)]
    others = [e for e in emails if e.brand and corpus.brand_key(e.brand) != corpus.brand_key(brand)]
    if any(e.sends for e in mine):  # performance data: the profile is the high performers
        c = corpus.prepare(path, brand=brand)
        return brand, c.train, c.test, others, problems
    cleaned, _ = corpus.clean(mine)
    train, test = corpus.split(cleaned)
    return brand, train, test, others, problems


def _match_contacts(rows: list[dict], crm_path, activities_path) -> tuple[list[dict], list[dict]]:
    """Each draft's contact (from the CRM export when given, by key or email; else the draft's own
    columns) and the batch whose data must not leak into another contact's draft."""
    contacts = [contact_of(r) for r in rows]
    if not crm_path:
        return contacts, contacts
    from brandvoice import crm

    result = crm.import_contacts(crm_path, activities=activities_path)
    by_email = {str(c.get("email", "")).lower(): c for c in result.contacts}
    by_key = {str(c.get("key", "")): c for c in result.contacts}
    unmatched = 0
    for i, (row, own) in enumerate(zip(rows, contacts, strict=True)):
        hit = by_key.get(row.get("key", "").strip()) or by_email.get(row.get("email", "").strip().lower())
        if hit is None:
            unmatched += 1
        contacts[i] = hit or own
    if unmatched:
        click.echo(f"{unmatched} draft(s) matched no contact in {crm_path} (by key or email); "
                   "they are checked against their own columns.", err=True)
    return contacts, result.contacts + [c for c in contacts if c not in result.contacts]


@main.command("check")
@click.option("--drafts", "drafts_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with subject and body columns (+ optional email, first_name, company, ... ).")
@click.option("--brand", default=None, help="Brand whose policy and tone apply (guardrails/<brand>.toml).")
@click.option("--emails", "emails_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The brand's past emails (CSV/JSONL) for the tone profile; default: the brand's "
                   "latest trained adapter.")
@click.option("--crm", "crm_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="CRM export the drafts were written from (matched by email).")
@click.option("--activities", "activities_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Activity log for the CRM export.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Output CSV (default: <drafts>.checked.csv).")
@click.option("--no-tone", is_flag=True, help="Skip the tone check (no embedder is loaded).")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any draft fails.")
def check_cmd(drafts_path, brand, emails_path, crm_path, activities_path, out_path, no_tone, strict):
    """Check a CSV of drafts against a brand's guardrails; writes verdicts and reasons to a CSV."""
    from brandvoice import generation
    from brandvoice.guardrails import Guard

    path = Path(drafts_path)
    rows, header, skipped = read_drafts(path)
    if skipped:
        click.echo(f"{path.name}: {len(skipped)} row(s) skipped (first: {skipped[0]}).", err=True)
    contacts, batch = _match_contacts(rows, crm_path, activities_path)
    s = settings()
    kwargs: dict = {}
    if emails_path:
        # Other brands in the file are not negatives: the gate is calibrated against the shipped
        # off-brand reference, as in generation, so a verdict never depends on the neighbours.
        brand, train, test, _others, problems = brand_emails(Path(emails_path), brand)
        kwargs = {"training_emails": train, "heldout_emails": test}
        if problems:
            click.echo(f"{emails_path}: {len(problems)} row(s) skipped (first: {problems[0]}).", err=True)
    brand = brand or "the brand"
    if emails_path:
        guard = Guard.for_brand(s, brand, tone=not no_tone, origin=str(emails_path), **kwargs)
    else:
        guard = generation.brand_guard(s, brand, store=store(), tone=not no_tone)
    if guard.tone is not None:
        cal = guard.tone.calibration
        click.echo(f"Tone profile: {cal['n_profile']} {brand} emails, threshold {cal['threshold']:.3f} "
                   f"(precision {cal['precision']:.2f}, recall {cal['recall']:.2f} on "
                   f"{cal['n_positive']} unseen brand / {cal['n_negative']} off-brand emails).")
    verdicts = guard.check_many([(r.get("subject", ""), r.get("body", ""), c)
                                 for r, c in zip(rows, contacts, strict=True)], batch_contacts=batch)
    out_rows = []
    for raw, v in zip(rows, verdicts, strict=True):
        probs = v.problems
        out_rows.append({**{h: raw.get(h.lower(), "") for h in header}, "verdict": v.status,
                         "tone_score": "" if v.tone_score is None else f"{v.tone_score:.3f}",
                         "fails": sum(r.status == "fail" for r in probs),
                         "warns": sum(r.status == "warn" for r in probs),
                         "reasons": " | ".join(v.reasons())})
    out = Path(out_path) if out_path else path.with_name(path.stem + ".checked.csv")
    out = textio.outside_workspace(s, out, what="results file")
    textio.write_csv(out, [*[h for h in header if h.lower() not in OUT_FIELDS], *OUT_FIELDS], out_rows)
    counts = Counter(v.status for v in verdicts)
    click.echo(f"Checked {len(rows)} draft(s): {counts.get('pass', 0)} pass, {counts.get('warn', 0)} "
               f"warn, {counts.get('fail', 0)} fail. Results: {out}")
    rules = Counter(f"{r.check}/{r.rule}" for v in verdicts for r in v.problems)
    for rule, n in rules.most_common(8):
        click.echo(f"  {n:>4}  {rule}")
    if strict and counts.get("fail"):
        raise SystemExit(1)
