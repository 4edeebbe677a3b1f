"""Where delivery writes, and how an export file appears only together with its batch record.

- Never inside the workspace (`textio.workspace_part`: BRANDVOICE_HOME but its exports folder, the
  store's database and its -wal/-shm/-journal, the session secret, the templates, brand policies,
  adapters and models folders), whatever the path's spelling or links, checked when the path is
  chosen and again just before the file takes its name; never over an existing file (two batches
  cannot share a file name: a folder as the target gets `<profile>-batch-<id>.csv`).
- An export writes its file under a temporary name (`.<name>.batch-<id>.part`), commits the batch
  (file_status "pending"), then renames the file into place and marks the batch "written". A run
  killed in between is finished by the next export or send (`recover`): the temporary file is
  renamed, or the batch is rendered again from the store; a leftover of a run killed before its
  commit (no such batch) is removed once it is an hour old, and a writer's own temporary file
  (`.<part>.<pid>.<random>.tmp`, `.dry-run-<pid>-...`) as soon as its process is gone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

import sqlalchemy as sa

from brandvoice import textio
from brandvoice.errors import ExportError
from brandvoice.store import Store, export_batches

LEFTOVER_AGE_S = 3600  # a temporary file younger than this may belong to a run still going
_PART = re.compile(r"^\.(?P<name>.+)\.batch-(?P<id>\d+)\.part$")
# a writer's own temporary files: textio.atomic_write's, and a dry run's staging folder
_OWN_TMP = re.compile(r"^\..+\.batch-\d+\.part\.(?P<pid>\d+)\.[^.]+\.tmp$|^\.dry-run-(?P<dpid>\d+)-")


def check_outside(settings, path: Path, *, what: str = "export file") -> Path:
    """The real path to write; ExportError when it lies inside the workspace."""
    return textio.outside_workspace(settings, path, what=what, error=ExportError,
                                    hint="Write exports to another folder (--out), or to the "
                                         f"workspace's exports folder {settings.exports_dir}.")


def check_target(settings, path: Path, *, what: str = "export file", overwrite: bool = False) -> Path:
    """The real path to write; ExportError for a path inside the workspace, or an existing file
    unless `overwrite` (a dry run's own .eml files)."""
    target = check_outside(settings, path, what=what)
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


def place(part: Path, final: Path, data: bytes | str | None = None, *, settings=None) -> None:
    """Rename the temporary file into place (or, if it is gone, write `data`); never over a file
    that differs, nor (with `settings`) into the workspace: its folders are checked again now."""
    if settings is not None:
        check_outside(settings, final)
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
                place(part, final, settings=store.settings)
                how = "moved into place"
            elif final.exists() and hashlib.sha256(final.read_bytes()).hexdigest() == b["file_hash"]:
                part.unlink(missing_ok=True)
                how = "already in place"
            else:
                data, extras = render_again(b["id"])
                part.unlink(missing_ok=True)
                place(write_part(final, b["id"], data), final, data, settings=store.settings)
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


def _gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _remove_own_tmp(folder: Path) -> list[Path]:
    """Temporary files and staging folders of writers that are gone (killed mid-write)."""
    removed = []
    for p in folder.iterdir():
        m = _OWN_TMP.match(p.name)
        if m is None:
            continue
        try:
            old = time.time() - p.lstat().st_mtime > LEFTOVER_AGE_S
        except OSError:
            continue
        if old or _gone(int(m.group("pid") or m.group("dpid"))):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def remove_leftovers(store: Store, folder: Path) -> list[Path]:
    """Temporary export files in `folder` whose batch was never committed (or is finished),
    older than LEFTOVER_AGE_S, and the temporary files of writers that are gone; the paths
    removed."""
    if not folder.is_dir():
        return []
    removed_tmp = _remove_own_tmp(folder)
    found = {}
    for p in folder.iterdir():
        m = _PART.match(p.name)
        if m and time.time() - p.stat().st_mtime > LEFTOVER_AGE_S:
            found[p] = int(m.group("id"))
    if not found:
        return removed_tmp
    with store.read() as conn:
        live = {r[0] for r in conn.execute(sa.select(export_batches.c.id).where(
            export_batches.c.id.in_(sorted(set(found.values()))),
            export_batches.c.file_status == "pending"))}
    removed = removed_tmp
    for p, bid in found.items():
        if bid not in live:
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
