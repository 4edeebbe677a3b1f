"""Export approved drafts as CSV for email tools; each export is a recorded, reproducible batch.

Only approved drafts leave, one row per contact (email address, case-insensitive): when a contact
has several approved variants the export is refused unless `on_duplicate` picks one explicitly
("newest" or "oldest" approved; the others stay approved and are reported as skipped). The file is
UTF-8 (optional BOM), RFC 4180 (csv module, CRLF), written to a temporary file and renamed; the
batch (who, when, profile, options, drafts, sha256 of the file) and the drafts' move to "exported"
are one transaction. `export(..., batch_id=N)` renders batch N again, byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brandvoice import textio
from brandvoice.delivery.profiles import PROFILES, Options, Profile, get_profile, neutralize_cell
from brandvoice.errors import ConflictError, ExportError, NotFoundError
from brandvoice.store import (
    Store,
    audit,
    contacts,
    drafts,
    export_batches,
    export_items,
    utcnow,
)
from brandvoice.users import User, require_role

# Reviewers ship what they approved (the review-then-export flow); marketers run campaigns.
EXPORT_ROLES = ("marketer", "reviewer", "admin")
DUPLICATE_POLICIES = ("refuse", "newest", "oldest")

_COLS = [drafts.c.id.label("draft_id"), drafts.c.subject, drafts.c.body, drafts.c.state,
         drafts.c.updated_at, contacts.c.email, contacts.c.first_name, contacts.c.last_name,
         contacts.c.company, contacts.c.contact_key]


def render(profile: Profile, rows: list[dict], options: Options, *, bom: bool) -> tuple[bytes, dict]:
    """The CSV bytes for rows under a profile, and the profile's extras (e.g. Mailchimp snippet)."""
    clean = [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in rows]
    header, cells, extras = profile.build(clean, options)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    neutralized = 0
    for line in cells:
        if options.neutralize:
            fixed = [neutralize_cell(c) for c in line]
            neutralized += sum(a != b for a, b in zip(fixed, line, strict=True))
            line = fixed
        writer.writerow(line)
    extras["neutralized_cells"] = neutralized
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data if bom else data), extras


def _snippet_path(out: Path) -> Path:
    return out.with_name(out.stem + ".snippet.txt")


def _dedupe(rows: list[dict], on_duplicate: str) -> tuple[list[dict], list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["email"] or "").strip().lower(), []).append(r)
    dupes = {k: g for k, g in groups.items() if len(g) > 1}
    if not dupes:
        return rows, []
    if on_duplicate == "refuse":
        lines = [f"{k}: drafts {', '.join(str(r['draft_id']) for r in g)}"
                 for k, g in list(dupes.items())[:20]]
        raise ExportError(f"{len(dupes)} contact(s) have several approved drafts; an export has one "
                          "row per contact:\n" + "\n".join(f"  - {x}" for x in lines)
                          + (f"\n  ... and {len(dupes) - 20} more" if len(dupes) > 20 else ""),
                          hint="Reject the extra variants, pass draft ids, or choose "
                               "on_duplicate='newest'/'oldest' (--pick newest).")
    keep, skipped = [], []
    for g in groups.values():
        ordered = sorted(g, key=lambda r: (r["updated_at"] or "", r["draft_id"]))
        chosen = ordered[-1] if on_duplicate == "newest" else ordered[0]
        keep.append(chosen)
        skipped += [{"id": r["draft_id"], "reason": f"{on_duplicate} approved draft {chosen['draft_id']} "
                     f"chosen for {r['email']}"} for r in g if r is not chosen]
    keep.sort(key=lambda r: r["draft_id"])
    return keep, skipped


def _options(profile: Profile, html_body: bool | None, neutralize: bool | None,
             max_body_fields: int | None) -> Options:
    o = Options(html_body=profile.html_body if html_body is None else bool(html_body),
                neutralize=profile.neutralize if neutralize is None else bool(neutralize))
    if max_body_fields is not None:
        o.max_body_fields = int(max_body_fields)
    return o


def export(store: Store, actor: User, profile: str | None, out_path: str | Path, *,
           bom: bool = False, html_body: bool | None = None, batch_id: int | None = None,
           draft_ids: list[int] | None = None, job_id: int | None = None,
           neutralize: bool | None = None, on_duplicate: str = "refuse",
           max_body_fields: int | None = None) -> dict[str, Any]:
    """Write approved drafts as a profile's CSV, record the batch, mark the drafts exported.

    With batch_id: write that batch's file again (same bytes, checked against the recorded hash).
    """
    out = Path(out_path)
    if batch_id is not None:
        return _reexport(store, actor, profile, out, batch_id)
    prof = get_profile(profile or "")
    if on_duplicate not in DUPLICATE_POLICIES:
        raise ExportError(f"Unknown on_duplicate {on_duplicate!r}.",
                          hint=f"Use one of: {', '.join(DUPLICATE_POLICIES)}.")
    options = _options(prof, html_body, neutralize, max_body_fields)
    with store.tx() as conn:
        require_role(conn, actor, *EXPORT_ROLES, action="export drafts")
        q = (sa.select(*_COLS).join(contacts, contacts.c.id == drafts.c.contact_id)
             .order_by(drafts.c.id))
        if draft_ids is not None:
            wanted = sorted({int(i) for i in draft_ids})
            rows = []
            for i in range(0, len(wanted), 500):
                rows += [dict(r) for r in conn.execute(q.where(drafts.c.id.in_(wanted[i:i + 500])))
                         .mappings()]
            found = {r["draft_id"]: r for r in rows}
            bad = [f"draft {i}: " + ("does not exist" if i not in found else f"is {found[i]['state']}")
                   for i in wanted if i not in found or found[i]["state"] != "approved"]
            if bad:
                raise ExportError("Only approved drafts are exported:\n" +
                                  "\n".join(f"  - {b}" for b in bad[:20]),
                                  hint="Approve them first, or leave them out.")
        else:
            q = q.where(drafts.c.state == "approved")
            if job_id is not None:
                q = q.where(drafts.c.job_id == job_id)
            rows = [dict(r) for r in conn.execute(q).mappings()]
        if not rows:
            raise ExportError("There are no approved drafts to export" +
                              (f" in job {job_id}." if job_id is not None else "."),
                              hint="Approve drafts in the review queue first.")
        rows, skipped = _dedupe(rows, on_duplicate)
        data, extras = render(prof, rows, options, bom=bom)
        file_hash = hashlib.sha256(data).hexdigest()
        now = utcnow()
        recorded = {"bom": bom, "html_body": options.html_body, "neutralize": options.neutralize,
                    "max_body_fields": options.max_body_fields, "on_duplicate": on_duplicate,
                    "job_id": job_id, "snippet": extras.get("snippet")}
        bid = conn.execute(export_batches.insert().values(
            profile=prof.name, created_by=actor.username, options=recorded, n_rows=len(rows),
            file_hash=file_hash, path=str(out.resolve()), created_at=now)).inserted_primary_key[0]
        ids = [r["draft_id"] for r in rows]
        conn.execute(export_items.insert(), [{"batch_id": bid, "draft_id": d, "position": i}
                                             for i, d in enumerate(ids)])
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            n = conn.execute(drafts.update().where(drafts.c.id.in_(chunk), drafts.c.state == "approved")
                             .values(state="exported", row_version=drafts.c.row_version + 1,
                                     updated_at=now, updated_by=actor.username)).rowcount
            if n != len(chunk):
                raise ConflictError("Some drafts changed while exporting; nothing was exported.",
                                    hint="Run the export again.")
        conn.execute(audit.insert(), [{"draft_id": d, "actor": actor.username, "action": "export",
                                       "details": {"batch_id": bid, "profile": prof.name},
                                       "created_at": now} for d in ids])
        store.audit(conn, "export_batch", actor=actor.username, batch_id=bid, profile=prof.name,
                    rows=len(rows), file_hash=file_hash, skipped=len(skipped))
        # Files last, still inside the transaction: a failed write rolls the batch back.
        snippet_path = _write_files(out, data, extras)
    return _result(bid, prof, out, len(rows), file_hash, recorded, extras, snippet_path, ids, skipped)


def _write_files(out: Path, data: bytes, extras: dict) -> Path | None:
    try:
        textio.atomic_write(out, data)
        if extras.get("snippet"):
            path = _snippet_path(out)
            textio.atomic_write(path, extras["snippet"] + "\n")
            return path
    except OSError as exc:
        raise ExportError(f"Cannot write {out}: {exc.strerror or exc}.",
                          hint="Pick a folder you can write to (--out).") from exc
    return None


def _result(bid, prof, out, n, file_hash, options, extras, snippet_path, ids, skipped, **more):
    return {"batch_id": bid, "profile": prof.name, "path": str(out), "rows": n,
            "file_hash": file_hash, "options": options, "snippet": extras.get("snippet"),
            "snippet_path": str(snippet_path) if snippet_path else None,
            "subject_merge_tag": extras.get("subject_merge_tag"),
            "neutralized_cells": extras.get("neutralized_cells", 0), "draft_ids": ids,
            "skipped": skipped, "note": prof.note, **more}


def _reexport(store: Store, actor: User, profile: str | None, out: Path, batch_id: int) -> dict:
    with store.tx() as conn:
        require_role(conn, actor, *EXPORT_ROLES, action="export drafts")
        batch = conn.execute(sa.select(export_batches).where(export_batches.c.id == batch_id)
                             ).mappings().first()
        if batch is None:
            raise NotFoundError(f"No export batch {batch_id}.",
                                hint="See the batches with `brandvoice export --list`.")
        if profile and profile != batch["profile"]:
            raise ExportError(f"Batch {batch_id} was exported with profile {batch['profile']!r}, "
                              f"not {profile!r}.", hint="Leave out --profile to re-export a batch.")
        if batch["profile"] not in PROFILES:
            raise ExportError(f"Batch {batch_id} ({batch['profile']}) is not a file export.")
        prof = get_profile(batch["profile"])
        o = batch["options"] or {}
        options = Options(html_body=o.get("html_body", False), neutralize=o.get("neutralize", False),
                          max_body_fields=o.get("max_body_fields", Options().max_body_fields))
        q = (sa.select(*_COLS).select_from(export_items.join(drafts, drafts.c.id == export_items.c.draft_id)
                                           .join(contacts, contacts.c.id == drafts.c.contact_id))
             .where(export_items.c.batch_id == batch_id).order_by(export_items.c.position))
        rows = [dict(r) for r in conn.execute(q).mappings()]
        data, extras = render(prof, rows, options, bom=bool(o.get("bom")))
        file_hash = hashlib.sha256(data).hexdigest()
        if file_hash != batch["file_hash"]:
            raise ExportError(f"Batch {batch_id} no longer renders to the recorded file "
                              f"(sha256 {batch['file_hash'][:12]}..., now {file_hash[:12]}...).",
                              hint="The drafts or contacts changed in the database; export anew.")
        store.audit(conn, "export_again", actor=actor.username, batch_id=batch_id, path=str(out))
        snippet_path = _write_files(out, data, extras)
    ids = [r["draft_id"] for r in rows]
    return _result(batch_id, prof, out, len(rows), file_hash, o, extras, snippet_path, ids, [],
                   reexported=True)


def list_batches(store: Store, limit: int = 50) -> list[dict]:
    """The newest export batches."""
    with store.read() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(export_batches).order_by(export_batches.c.id.desc()).limit(limit)).mappings()]
