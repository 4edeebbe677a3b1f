"""Export approved drafts as CSV for email tools; each export is a recorded, reproducible batch.

Only approved drafts leave, at most one per contact and generation job across every export and
send (`once`), one row per email address. The file is UTF-8 (optional BOM), RFC 4180 (csv module,
CRLF). The batch (who, when, profile, options, drafts, sha256 of the file), the drafts' move to
"exported" and their unpicked variants' move to "superseded" are one transaction; the file appears
under its name only once that transaction committed (`files`). `export(..., batch_id=N)` renders
batch N again, byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brandvoice.delivery import campaign, files, once
from brandvoice.delivery.profiles import (
    FORMULA_PREFIXES,
    PROFILES,
    Options,
    Profile,
    get_profile,
    neutralize_cell,
)
from brandvoice.errors import ExportError, NotFoundError
from brandvoice.store import Store, contacts, drafts, export_batches, export_items, utcnow
from brandvoice.users import PERMISSIONS, User, require, require_role

EXPORT_ROLES = PERMISSIONS["export"]
DUPLICATE_POLICIES = once.DUPLICATE_POLICIES

_COLS = [drafts.c.id.label("draft_id"), drafts.c.subject, drafts.c.body, drafts.c.state,
         drafts.c.updated_at, drafts.c.job_id, drafts.c.contact_id, contacts.c.email,
         contacts.c.first_name, contacts.c.last_name, contacts.c.company, contacts.c.contact_key,
         drafts.c.template_name, drafts.c.brand]


def render(profile: Profile, rows: list[dict], options: Options, *, bom: bool) -> tuple[bytes, dict]:
    """The CSV bytes for rows under a profile, and the profile's extras (e.g. Mailchimp snippet).

    Neutralizing prefixes the first chunk of a field only: a continuation chunk (Mailchimp's BODY2
    and on) is reassembled into the middle of the body, where a quote would be a stray character;
    the profile splits the body so that no continuation starts like a formula (checked here).
    """
    clean = [{k: ("" if v is None else str(v)) for k, v in r.items()} for r in rows]
    header, cells, extras = profile.build(clean, options)
    continued = set(extras.pop("continuation_columns", ()))
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    neutralized = 0
    for line in cells:
        if options.neutralize:
            if any(line[i].startswith(FORMULA_PREFIXES) for i in continued):  # never a live formula
                raise ExportError("A continuation field would start like a formula; nothing was "
                                  "written.", hint="Export with neutralizing off, or edit the body.")
            fixed = [c if i in continued else neutralize_cell(c) for i, c in enumerate(line)]
            neutralized += sum(a != b for a, b in zip(fixed, line, strict=True))
            line = fixed
        writer.writerow(line)
    extras["neutralized_cells"] = neutralized
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data if bom else data), extras


def _options(profile: Profile, html_body: bool | None, neutralize: bool | None,
             max_body_fields: int | None) -> Options:
    o = Options(html_body=profile.html_body if html_body is None else bool(html_body),
                neutralize=profile.neutralize if neutralize is None else bool(neutralize))
    if max_body_fields is not None:
        o.max_body_fields = int(max_body_fields)
    return o


def _select(conn, draft_ids: list[int] | None, job_id: int | None) -> list[dict]:
    q = sa.select(*_COLS).join(contacts, contacts.c.id == drafts.c.contact_id).order_by(drafts.c.id)
    if draft_ids is None:
        q = q.where(drafts.c.state == "approved")
        if job_id is not None:
            q = q.where(drafts.c.job_id == job_id)
        return [dict(r) for r in conn.execute(q).mappings()]
    wanted = sorted({int(i) for i in draft_ids})
    rows: list[dict] = []
    for i in range(0, len(wanted), 500):
        rows += [dict(r) for r in conn.execute(q.where(drafts.c.id.in_(wanted[i:i + 500]))).mappings()]
    found = {r["draft_id"]: r for r in rows}
    bad = [f"draft {i}: " + ("does not exist" if i not in found else f"is {found[i]['state']}")
           for i in wanted if i not in found or found[i]["state"] != "approved"]
    if bad:
        raise ExportError("Only approved drafts are exported:\n" +
                          "\n".join(f"  - {b}" for b in bad[:20]),
                          hint="Approve them first, or leave them out.")
    return rows


def _final_path(settings, out_path: str | Path) -> tuple[Path, bool]:
    """(the file to write, whether its name waits for the batch id: `out_path` is a folder, one
    that exists or one written with a trailing slash)."""
    out = Path(out_path)
    if out.is_dir() or str(out_path).endswith(("/", os.sep)):
        files.check_outside(settings, out, what="export folder")  # before anything is made there
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"Cannot create the folder {out}: {exc.strerror or exc}.",
                              hint="Pick a folder you can write to (--out).") from exc
        return out, True
    return files.check_target(settings, out), False


def export(store: Store, actor: User, profile: str | None, out_path: str | Path, *,
           bom: bool | None = None, html_body: bool | None = None, batch_id: int | None = None,
           draft_ids: list[int] | None = None, job_id: int | None = None,
           neutralize: bool | None = None, on_duplicate: str = "refuse",
           max_body_fields: int | None = None, allow_repeat: bool = False) -> dict[str, Any]:
    """Write approved drafts as a profile's CSV, record the batch, mark the drafts exported.

    `out_path` is a new file, or a folder (the file is named `<profile>-batch-<id>.csv`). With
    batch_id: write that batch's file again (same bytes, checked against the recorded hash).
    `allow_repeat`: a contact may receive another draft of a job (or another copy of a campaign's
    follow-up) it already received. `bom`, `html_body`, `neutralize`: None takes the profile's.
    """
    out = Path(out_path)
    require(store, actor, "export", action="export drafts")
    recovered = recover_exports(store)
    files.remove_leftovers(store, out if out.is_dir() else out.parent)
    if batch_id is not None:
        return _reexport(store, actor, profile, out, batch_id)
    prof = get_profile(profile or "")
    options = _options(prof, html_body, neutralize, max_body_fields)
    bom = prof.bom if bom is None else bool(bom)
    target, named_later = _final_path(store.settings, out_path)
    with store.tx() as conn:
        require_role(conn, actor, *EXPORT_ROLES, action="export drafts")
        rows = _select(conn, draft_ids, job_id)
        rows, skipped = once.plan(conn, rows, explicit=draft_ids is not None,
                                  on_duplicate=on_duplicate, allow_repeat=allow_repeat)
        rows, repeats = campaign.drop_sent(conn, rows, explicit=draft_ids is not None,
                                           allow_repeat=allow_repeat)
        left_out = once.supersede(store, conn, actor, [s["id"] for s in repeats], batch_id=None,
                                  reason="the contact already received this campaign's follow-up")
        skipped += [{**s, "supersede": False} for s in repeats]
        if not rows:  # the variants set aside stay set aside; then say why nothing was written
            once.supersede(store, conn, actor, [s["id"] for s in skipped if s["supersede"]],
                           reason="the contact already received a draft of the job", batch_id=None)
            nothing = ExportError(
                "There are no approved drafts to export" +
                (f" in job {job_id}." if job_id is not None else ".") +
                "".join(f"\n  - skipped {s['id']}: {s['reason']}" for s in skipped[:20]),
                hint="Approve drafts in the review queue first.")
        else:
            nothing = None
            batch = _record(store, conn, actor, prof, rows, skipped, target, named_later,
                            options=options, bom=bom, job_id=job_id, on_duplicate=on_duplicate,
                            allow_repeat=allow_repeat)
    if nothing is not None:
        raise nothing
    files.place(batch["part"], batch["target"], batch["data"],  # committed: the file takes its name
                settings=store.settings)
    files.mark_written(store, batch["id"])
    return _result(batch["id"], prof, batch["target"], len(rows), batch["file_hash"],
                   batch["recorded"], batch["extras"], batch["snippet_path"], batch["ids"],
                   once.skipped_report(skipped), superseded=batch["superseded"] + left_out,
                   recovered=recovered)


def _record(store: Store, conn, actor: User, prof: Profile, rows: list[dict], skipped: list[dict],
            target: Path, named_later: bool, *, options: Options, bom: bool, job_id: int | None,
            on_duplicate: str, allow_repeat: bool) -> dict:
    """Inside the export's transaction: the batch, its items, the drafts' states, the audit, and
    the file under its temporary name (a failed write rolls everything back)."""
    data, extras = render(prof, rows, options, bom=bom)
    file_hash = hashlib.sha256(data).hexdigest()
    recorded = {"bom": bom, "html_body": options.html_body, "neutralize": options.neutralize,
                "max_body_fields": options.max_body_fields, "on_duplicate": on_duplicate,
                "job_id": job_id, "snippet": extras.get("snippet"), "allow_repeat": allow_repeat}
    now = utcnow()
    bid = conn.execute(export_batches.insert().values(
        profile=prof.name, created_by=actor.username, options=recorded, n_rows=len(rows),
        file_hash=file_hash, path=str(target), created_at=now,
        file_status="pending")).inserted_primary_key[0]
    if named_later:
        target = files.check_target(store.settings, target / f"{prof.name}-batch-{bid}.csv")
        conn.execute(export_batches.update().where(export_batches.c.id == bid)
                     .values(path=str(target)))
    ids = [r["draft_id"] for r in rows]
    conn.execute(export_items.insert(), [{"batch_id": bid, "draft_id": d, "position": i}
                                         for i, d in enumerate(ids)])
    once.claim(conn, rows, actor, "export", allow_repeat=allow_repeat, batch_id=bid,
               profile=prof.name)
    superseded = once.supersede(store, conn, actor, [s["id"] for s in skipped if s["supersede"]],
                                reason="not picked for the contact", batch_id=bid)
    if not allow_repeat:
        superseded += once.supersede_siblings(store, conn, actor, rows, batch_id=bid)
    store.audit(conn, "export_batch", actor=actor.username, batch_id=bid, profile=prof.name,
                rows=len(rows), file_hash=file_hash, skipped=len(skipped),
                superseded=len(superseded))
    part = files.write_part(target, bid, data)
    snippet_path = _snippet(store.settings, target, extras, bid)
    return {"id": bid, "target": target, "part": part, "data": data, "file_hash": file_hash,
            "recorded": recorded, "extras": extras, "snippet_path": snippet_path, "ids": ids,
            "superseded": superseded}


def _snippet(settings, target: Path, extras: dict, batch_id: int) -> Path | None:
    """Write the snippet file (Mailchimp) under its temporary name; its final path."""
    if not extras.get("snippet"):
        return None
    path = files.check_target(settings, target.with_name(target.stem + ".snippet.txt"),
                              what="snippet file")
    files.write_part(path, batch_id, extras["snippet"] + "\n")
    return path


def _result(bid, prof, out, n, file_hash, options, extras, snippet_path, ids, skipped, **more):
    if snippet_path is not None:
        files.place(files.part_path(snippet_path, bid), snippet_path)
    return {"batch_id": bid, "profile": prof.name, "path": str(out), "rows": n,
            "file_hash": file_hash, "options": options, "snippet": extras.get("snippet"),
            "snippet_path": str(snippet_path) if snippet_path else None,
            "subject_merge_tag": extras.get("subject_merge_tag"),
            "neutralized_cells": extras.get("neutralized_cells", 0), "draft_ids": ids,
            "skipped": skipped, "note": prof.note, **more}


def _batch_rows(conn, batch_id: int) -> tuple[dict, list[dict]]:
    batch = conn.execute(sa.select(export_batches).where(export_batches.c.id == batch_id)
                         ).mappings().first()
    if batch is None:
        raise NotFoundError(f"No export batch {batch_id}.",
                            hint="See the batches with `brandvoice export --list`.")
    q = (sa.select(*_COLS).select_from(export_items.join(drafts, drafts.c.id == export_items.c.draft_id)
                                       .join(contacts, contacts.c.id == drafts.c.contact_id))
         .where(export_items.c.batch_id == batch_id).order_by(export_items.c.position))
    return dict(batch), [dict(r) for r in conn.execute(q).mappings()]


def render_batch(store: Store, batch_id: int) -> tuple[bytes, dict]:
    """A recorded file batch rendered again from the store (ExportError if it no longer matches)."""
    with store.read() as conn:
        batch, rows = _batch_rows(conn, batch_id)
    if batch["profile"] not in PROFILES:
        raise ExportError(f"Batch {batch_id} ({batch['profile']}) is not a file export.")
    o = batch["options"] or {}
    options = Options(html_body=o.get("html_body", False), neutralize=o.get("neutralize", False),
                      max_body_fields=o.get("max_body_fields", Options().max_body_fields))
    data, extras = render(get_profile(batch["profile"]), rows, options, bom=bool(o.get("bom")))
    file_hash = hashlib.sha256(data).hexdigest()
    if file_hash != batch["file_hash"]:
        raise ExportError(f"Batch {batch_id} no longer renders to the recorded file "
                          f"(sha256 {batch['file_hash'][:12]}..., now {file_hash[:12]}...).",
                          hint="The drafts or contacts changed in the database; export anew.")
    return data, extras


def recover_exports(store: Store) -> list[dict]:
    """Put in place the files of batches a killed export committed (see `files.recover`)."""
    return files.recover(store, lambda bid: render_batch(store, bid))


def _reexport(store: Store, actor: User, profile: str | None, out: Path, batch_id: int) -> dict:
    with store.read() as conn:
        require_role(conn, actor, *EXPORT_ROLES, action="export drafts")
        batch, rows = _batch_rows(conn, batch_id)
    if profile and profile != batch["profile"]:
        raise ExportError(f"Batch {batch_id} was exported with profile {batch['profile']!r}, "
                          f"not {profile!r}.", hint="Leave out --profile to re-export a batch.")
    data, extras = render_batch(store, batch_id)
    prof = get_profile(batch["profile"])
    target = out / f"{prof.name}-batch-{batch_id}.csv" if out.is_dir() else out
    target = files.check_target(store.settings, target)
    with store.tx() as conn:
        store.audit(conn, "export_again", actor=actor.username, batch_id=batch_id, path=str(target))
    files.place(files.write_part(target, batch_id, data), target, data, settings=store.settings)
    snippet_path = _snippet(store.settings, target, extras, batch_id)
    ids = [r["draft_id"] for r in rows]
    return _result(batch_id, prof, target, len(rows), batch["file_hash"], batch["options"] or {},
                   extras, snippet_path, ids, [], reexported=True)


def list_batches(store: Store, limit: int = 50) -> list[dict]:
    """The newest export batches."""
    with store.read() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(export_batches).order_by(export_batches.c.id.desc()).limit(limit)).mappings()]
