"""Where delivery writes, and how an export file appears only together with its batch record.

- Never onto the store's database (or its -wal/-shm/-journal), a brand policy (guardrails/*.toml),
  a template (prompts/*.j2) or anything in the adapters or models folders; never over an existing
  file (two batches cannot share a file name: a folder as the target gets `<profile>-batch-<id>.csv`).
- An export writes its file under a temporary name (`.<name>.batch-<id>.part`), commits the batch
  (file_status "pending"), then renames the file into place and marks the batch "written". A run
  killed in between is finished by the next export or send (`recover`): the temporary file is
  renamed, or the batch is rendered again from the store; a leftover of a run killed before its
  commit (no such batch) is removed once it is an hour old.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import sqlalchemy as sa

from brandvoice import textio
from brandvoice.errors import ExportError
from brandvoice.store import Store, export_batches

LEFTOVER_AGE_S = 3600  # a temporary file younger than this may belong to a run still going
_PART = re.compile(r"^\.(?P<name>.+)\.batch-(?P<id>\d+)\.part$")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _protected(settings) -> tuple[set[Path], list[tuple[Path, str | None]]]:
    files: set[Path] = set()
    url = settings.db_url or ""
    if url.startswith("sqlite"):
        db = sa.engine.make_url(url).database
        if db and db != ":memory:":
            base = Path(db).expanduser().resolve()
            files |= {base, *(base.with_name(base.name + s) for s in ("-wal", "-shm", "-journal"))}
    folders = [(Path(settings.adapters_dir), None), (Path(settings.models_dir), None),
               (Path(settings.guardrails_dir), ".toml"), (Path(settings.prompts_dir), ".j2")]
    return files, [(f.expanduser().resolve(), suffix) for f, suffix in folders]


def check_target(settings, path: Path, *, what: str = "export file", overwrite: bool = False) -> Path:
    """The resolved path to write; ExportError for a protected file, or an existing one unless
    `overwrite` (a dry run's own .eml files)."""
    target = Path(path).expanduser().resolve()
    files, folders = _protected(settings)
    if target in files:
        raise ExportError(f"Refusing to write the {what} onto the store's database {target}.",
                          hint="Pick another file name (--out).")
    for folder, suffix in folders:
        if _inside(target, folder) and (suffix is None or target.suffix.lower() == suffix):
            kind = {".toml": "a brand policy", ".j2": "a template"}.get(suffix or "",
                                                                       "the adapters or models folder")
            raise ExportError(f"Refusing to write the {what} {target}: it would be {kind} "
                              f"({folder}).", hint="Write exports to another folder (--out).")
    if target.exists() and not (overwrite and target.is_file()):
        raise ExportError(f"The {what} {target} exists already; an export never writes over a "
                          "file (it may hold another batch).",
                          hint="Pick a new file name, or give a folder: the file is then named "
                               "after the batch.")
    return target


def part_path(final: Path, batch_id: int) -> Path:
    """The temporary name a batch's file is written under until its batch is committed."""
    return final.with_name(f".{final.name}.batch-{batch_id}.part")


def write_part(final: Path, batch_id: int, data: bytes | str) -> Path:
    """Write the batch's file under its temporary name (flushed to disk); ExportError if it fails."""
    part = part_path(final, batch_id)
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
        textio.atomic_write(part, data)
    except OSError as exc:
        raise ExportError(f"Cannot write {final}: {exc.strerror or exc}.",
                          hint="Pick a folder you can write to (--out).") from exc
    return part


def place(part: Path, final: Path, data: bytes | str | None = None) -> None:
    """Rename the temporary file into place (or, if it is gone, write `data`); never over a file
    that differs."""
    blob = data.encode("utf-8") if isinstance(data, str) else data
    if part.exists():
        if final.exists() and (blob is None or final.read_bytes() != blob):
            raise ExportError(f"{final} appeared while the batch was written; the batch's file is "
                              f"kept as {part}.", hint="Move one of them away and export again.")
        os.replace(part, final)
    elif not final.exists():
        if blob is None:
            raise ExportError(f"The temporary file {part} of the export is gone.")
        textio.atomic_write(final, blob)


def mark_written(store: Store, batch_id: int) -> None:
    """The batch's file is in place."""
    with store.tx() as conn:
        conn.execute(export_batches.update().where(export_batches.c.id == batch_id)
                     .values(file_status="written"))


def recover(store: Store, render_again) -> list[dict]:
    """Finish the file exports a killed run committed but never put in place; remove old
    leftovers of runs killed before their commit. `render_again(batch_id) -> (data, extras)`
    renders a committed batch from the store. Returns what was done, one dict per batch."""
    with store.read() as conn:
        pending = [dict(r) for r in conn.execute(
            sa.select(export_batches.c.id, export_batches.c.path, export_batches.c.file_hash)
            .where(export_batches.c.file_status == "pending")).mappings()]
    done: list[dict] = []
    for b in pending:
        final = Path(b["path"])
        part = part_path(final, b["id"])
        try:
            if part.exists() and hashlib.sha256(part.read_bytes()).hexdigest() == b["file_hash"]:
                place(part, final)
                how = "moved into place"
            elif final.exists() and hashlib.sha256(final.read_bytes()).hexdigest() == b["file_hash"]:
                part.unlink(missing_ok=True)
                how = "already in place"
            else:
                data, extras = render_again(b["id"])
                part.unlink(missing_ok=True)
                place(write_part(final, b["id"], data), final, data)
                if extras.get("snippet"):
                    snippet = final.with_name(final.stem + ".snippet.txt")
                    if not snippet.exists():
                        textio.atomic_write(snippet, extras["snippet"] + "\n")
                how = "rendered again from the store"
        except (OSError, ExportError) as exc:
            done.append({"batch_id": b["id"], "path": str(final), "done": False, "error": str(exc)})
            continue
        snippet = final.with_name(final.stem + ".snippet.txt")
        if part_path(snippet, b["id"]).exists():
            place(part_path(snippet, b["id"]), snippet)
        mark_written(store, b["id"])
        done.append({"batch_id": b["id"], "path": str(final), "done": True, "how": how})
    return done


def remove_leftovers(store: Store, folder: Path) -> list[Path]:
    """Temporary export files in `folder` whose batch was never committed (or is finished),
    older than LEFTOVER_AGE_S; the paths removed."""
    if not folder.is_dir():
        return []
    found = {}
    for p in folder.iterdir():
        m = _PART.match(p.name)
        if m and time.time() - p.stat().st_mtime > LEFTOVER_AGE_S:
            found[p] = int(m.group("id"))
    if not found:
        return []
    with store.read() as conn:
        live = {r[0] for r in conn.execute(sa.select(export_batches.c.id).where(
            export_batches.c.id.in_(sorted(set(found.values()))),
            export_batches.c.file_status == "pending"))}
    removed = []
    for p, bid in found.items():
        if bid not in live:
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
