"""Import a results file: read it, match every row to an exported draft, store the new events.

Every row ends matched (its events stored, or known already) or named in `result_rows` with its
spreadsheet row and the reason. The same file imported the same way again changes nothing (its
`import_key`: the file's sha256 and the options); an event that an earlier, overlapping file
brought already is known by (draft, kind, time) and not stored twice. The import changes no text a
customer receives, but it is a team action: the acting user must be allowed to export (the results
come back from the exports), and it is audited. All of it is one transaction.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brandvoice.errors import InputError, NotFoundError
from brandvoice.results import reader, replies, sources
from brandvoice.results.matching import Index
from brandvoice.store import (
    Store,
    export_batches,
    result_events,
    result_imports,
    result_rows,
    utcnow,
)
from brandvoice.users import PERMISSIONS, User, require, require_role

CHUNK = 500


def file_hash(path: Path) -> str:
    """sha256 of a file, or of a folder's .eml files (their names and bytes, in order)."""
    h = hashlib.sha256()
    for p in (replies.files(path) if path.is_dir() else [path]):
        if path.is_dir():
            h.update(str(p.relative_to(path)).encode() + b"\0")
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _options(source: str, batches: list[int] | None, event: str | None) -> dict:
    if source not in ("auto", *sources.ALL_SOURCES):
        raise InputError(f"Unknown results source {source!r}.",
                         hint=f"Use one of: auto, {', '.join(sources.ALL_SOURCES)}.")
    if event is not None and event not in sources.KINDS:
        raise InputError(f"Unknown event {event!r}.", hint=f"Use one of: {', '.join(sources.KINDS)}.")
    return {"source": source, "batches": sorted({int(b) for b in batches or []}), "event": event}


def _check_batches(conn, wanted: list[int]) -> None:
    if not wanted:
        return
    have = {r[0] for r in conn.execute(sa.select(export_batches.c.id)
                                       .where(export_batches.c.id.in_(wanted)))}
    missing = [b for b in wanted if b not in have]
    if missing:
        raise NotFoundError(f"No export batch {', '.join(map(str, missing))}.",
                            hint="See the batches with `brandvoice export --list`.")


def _rows(path: Path, options: dict) -> tuple[str, Any]:
    """(the source name, an iterator of Rows) for the file."""
    source = options["source"]
    is_mailbox = source == "mailbox" or (source == "auto" and (
        path.is_dir() or path.suffix.lower() in (".mbox", ".eml", ".mbx")))
    if is_mailbox:
        if options["event"]:
            raise InputError("A mailbox holds replies and bounces; it takes no event.",
                             hint="Leave the event out for a mailbox.")
        return "mailbox", replies.read(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; a results CSV is a file.",
                         hint="Pick the CSV file, or choose the source 'mailbox' for .eml files.")
    table, lay = reader.open_file(path, source, options["event"])
    return lay.source.name, reader.rows(table, lay)


class _Plan:
    """The outcome of matching a file: events to store, rows to name, counts."""

    def __init__(self) -> None:
        self.events: dict[tuple[int, str, str], dict] = {}
        self.named: list[dict] = []
        self.rows = self.matched = self.in_file = 0
        self.batches: set[int] = set()

    def add(self, row: reader.Row, index: Index, batches: frozenset[int]) -> None:
        self.rows += 1
        if row.problem is not None:
            self.name(row, *row.problem)
            return
        restrict = frozenset({row.batch_id}) if row.batch_id is not None else batches
        when = min((w for _, w in row.events if w), default="")
        sent, how = index.match(email=row.email, message_ids=row.message_ids,
                                draft_id=row.draft_id, batches=restrict, when=when)
        if sent is None:
            self.name(row, "unmatched", how)
            return
        self.matched += 1
        self.batches.add(sent.batch_id)
        for kind, occurred in row.events:
            key = (sent.draft_id, kind, occurred)
            if key in self.events:
                self.in_file += 1
                continue
            self.events[key] = {"draft_id": sent.draft_id, "batch_id": sent.batch_id, "kind": kind,
                                "occurred_at": occurred, "matched_by": how,
                                "row_number": row.position}

    def name(self, row: reader.Row, status: str, reason: str) -> None:
        self.named.append({"position": row.position, "label": row.label[:300], "status": status,
                           "reason": reason, "email": row.email[:320] or None,
                           "kind": row.events[0][0] if row.events else None})


def _known(conn, keys: list[tuple[int, str, str]]) -> set[tuple[int, str, str]]:
    """The (draft, kind, time) events already in the store, of the drafts in `keys`."""
    ids = sorted({k[0] for k in keys})
    found: set[tuple[int, str, str]] = set()
    for i in range(0, len(ids), CHUNK):
        q = (sa.select(result_events.c.draft_id, result_events.c.kind, result_events.c.occurred_at)
             .where(result_events.c.draft_id.in_(ids[i:i + CHUNK])))
        found.update((r[0], r[1], r[2]) for r in conn.execute(q))
    return found


def _insert_new(conn, table: sa.Table, rows: list[dict]) -> None:
    """Insert rows, skipping any that another import stored meanwhile (the unique event key)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).on_conflict_do_nothing()
    for i in range(0, len(rows), 20_000):
        conn.execute(stmt, rows[i:i + 20_000])


def _earlier(conn, key: str) -> dict | None:
    row = conn.execute(sa.select(result_imports).where(result_imports.c.import_key == key)
                       ).mappings().first()
    return dict(row) if row else None


def import_results(store: Store, actor: User, path: str | Path, *, source: str = "auto",
                   batches: list[int] | None = None, event: str | None = None) -> dict[str, Any]:
    """Import a tool's activity export (or a mailbox) as `actor`; returns the import's summary.

    `batches`: the export batches the file reports on (default: matched by address and time);
    `event`: the event of every row, for a file that lists the recipients of one event.
    """
    require(store, actor, "export", action="import campaign results")
    path = Path(path)
    if not path.exists():
        raise InputError(f"Results file not found: {path}.",
                         hint="Check the path (relative paths start from the current folder).")
    options = _options(source, batches, event)
    digest = file_hash(path)
    key = hashlib.sha256((digest + json.dumps(options, sort_keys=True)).encode()).hexdigest()
    with store.read() as conn:
        earlier = _earlier(conn, key)
        if earlier is not None:
            return {**summary(earlier), "already_imported": True}
        _check_batches(conn, options["batches"])
        index = Index.load(conn)
    name, rows = _rows(path, options)
    plan = _Plan()
    restrict = frozenset(options["batches"])
    for row in rows:
        plan.add(row, index, restrict)
    return _store(store, actor, path, name, digest, key, options, plan)


def _store(store: Store, actor: User, path: Path, name: str, digest: str, key: str, options: dict,
           plan: _Plan) -> dict[str, Any]:
    with store.tx() as conn:
        require_role(conn, actor, *PERMISSIONS["export"], action="import campaign results")
        earlier = _earlier(conn, key)  # the same file, imported meanwhile by someone else
        if earlier is not None:
            return {**summary(earlier), "already_imported": True}
        known = _known(conn, list(plan.events))
        new = [e for k, e in plan.events.items() if k not in known]
        by_kind: dict[str, int] = {}
        for e in new:
            by_kind[e["kind"]] = by_kind.get(e["kind"], 0) + 1
        statuses = {s: sum(r["status"] == s for r in plan.named) for s in ("unmatched", "ignored",
                                                                              "invalid")}
        counts = {"rows": plan.rows, "matched": plan.matched, "new_events": len(new),
                  "known_events": len(plan.events) - len(new) + plan.in_file,
                  "new_by_kind": dict(sorted(by_kind.items())), **statuses}
        batch_ids = sorted(plan.batches | set(options["batches"]))
        import_id = conn.execute(result_imports.insert().values(
            source=name, file_name=str(path.name)[:1000], file_hash=digest, import_key=key,
            options=options, batch_ids=batch_ids, counts=counts, created_by=actor.username,
            created_at=utcnow())).inserted_primary_key[0]
        _insert_new(conn, result_events, [{**e, "import_id": import_id} for e in new])
        if plan.named:
            conn.execute(result_rows.insert(), [{**r, "import_id": import_id} for r in plan.named])
        store.audit(conn, "results_import", actor=actor.username, import_id=import_id, source=name,
                    file=path.name, file_hash=digest, batches=batch_ids, **counts)
        record = _earlier(conn, key)
    return {**summary(record), "already_imported": False}


def summary(record: dict) -> dict[str, Any]:
    """An import as the CLI and the page show it."""
    return {"import_id": record["id"], "source": record["source"], "file": record["file_name"],
            "file_hash": record["file_hash"], "options": record["options"],
            "batch_ids": record["batch_ids"], "created_by": record["created_by"],
            "created_at": record["created_at"], **record["counts"]}


def list_imports(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The imports, newest first."""
    with store.read() as conn:
        rows = conn.execute(sa.select(result_imports).order_by(result_imports.c.id.desc())
                            .limit(limit)).mappings().all()
    return [summary(dict(r)) for r in rows]


def named_rows(store: Store, import_id: int, *, status: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of an import that were not matched or were left out, in file order."""
    with store.read() as conn:
        if conn.execute(sa.select(result_imports.c.id)
                        .where(result_imports.c.id == import_id)).first() is None:
            raise NotFoundError(f"No results import {import_id}.",
                                hint="See the imports with `brandvoice results list`.")
        q = (sa.select(result_rows.c.label, result_rows.c.status, result_rows.c.reason,
                       result_rows.c.email, result_rows.c.kind)
             .where(result_rows.c.import_id == import_id)
             .order_by(result_rows.c.position, result_rows.c.id))
        if status:
            q = q.where(result_rows.c.status == status)
        if limit:
            q = q.limit(limit)
        return [dict(r) for r in conn.execute(q).mappings()]


def stamp(store: Store) -> tuple:
    """Changes whenever results are imported: a cache key for views over the results."""
    with store.read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count(), sa.func.max(result_imports.c.id))
                                  .select_from(result_imports)).one())
