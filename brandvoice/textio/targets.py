"""Where a file a user names may be written: never inside the workspace.

    reason = textio.workspace_part(settings, "/tmp/x/../.brandvoice/session.key")
    # -> "the workspace (BRANDVOICE_HOME ...)", or None when the path is outside it

The workspace is BRANDVOICE_HOME (the store, the session key, saved mappings, job logs, adapters
and models under it) except its exports folder, the store's database wherever it lives (and its
-wal, -shm and -journal files), the templates and brand policy folders, and the adapters and
models folders. A path is compared after it is made real (`~`, `..`, symbolic links, also a link
that points at a file not made yet), and again by file identity (device and inode) of each of its
folders that exists, so that another spelling of a folder (letter case on a case-insensitive file
system, a bind mount) or a hard link to a protected file is recognised too.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from brandvoice.errors import BrandvoiceError, InputError

_SIBLINGS = ("", "-wal", "-shm", "-journal")


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(Path(path).expanduser()))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _inside(path: Path, folder: Path) -> bool:
    a, b = os.path.normcase(str(path)), os.path.normcase(str(folder))
    return a == b or a.startswith(b.rstrip(os.sep) + os.sep)


def protected_files(settings) -> list[tuple[Path, str]]:
    """The single files of the workspace that may live outside its folders: the database."""
    out: list[tuple[Path, str]] = []
    url = settings.db_url or ""
    if url.startswith("sqlite"):
        db = sa.engine.make_url(url).database
        if db and db != ":memory:":
            base = _real(db)
            out += [(base.with_name(base.name + s), "the store's database") for s in _SIBLINGS]
    home = _real(settings.home)
    out.append((home / "session.key", "the session secret"))
    return out


def protected_folders(settings) -> list[tuple[Path, str]]:
    """The workspace's folders, each with what it holds (home first)."""
    return [(_real(settings.home), "the workspace (BRANDVOICE_HOME)"),
            (_real(settings.prompts_dir), "the templates folder"),
            (_real(settings.guardrails_dir), "the brand policies folder"),
            (_real(settings.adapters_dir), "the adapters folder"),
            (_real(settings.models_dir), "the models folder")]


def workspace_part(settings, path: str | Path) -> str | None:
    """What of the workspace `path` would write into (see the module), or None."""
    target = _real(path)
    exports = _real(settings.exports_dir)
    files = protected_files(settings)
    folders = protected_folders(settings)
    for file, label in files:
        if target == file:
            return label
    found = _by_identity(target, exports, files, folders)
    if found:
        return found
    # the nearest folder above the path decides: the exports folder (inside home) is open
    holding = [(len(str(f)), label) for f, label in [*folders, (exports, "")] if _inside(target, f)]
    return max(holding)[1] or None if holding else None


def _by_identity(target: Path, exports: Path, files, folders) -> str | None:
    """By device and inode: "" when the nearest known folder above `target` is the exports
    folder, a label when it is (or the file is) protected, None when nothing is recognised."""
    ident = _identity(target)
    if ident is not None:
        for file, label in files:
            if _identity(file) == ident:
                return label
    marks: dict[tuple[int, int], str] = {}
    for folder, label in reversed(folders):
        fid = _identity(folder)
        if fid is not None:
            marks[fid] = label
    eid = _identity(exports)
    in_exports = _inside(target, exports)
    for folder in (target, *target.parents):
        if in_exports and not _inside(folder, exports):
            return ""  # the exports folder, not made yet: nothing above it decides
        fid = _identity(folder)
        if fid is None:
            continue
        if fid == eid:
            return ""
        if fid in marks:
            return marks[fid]
    return None


def outside_workspace(settings, path: str | Path, *, what: str = "file",
                      error: type[BrandvoiceError] = InputError, hint: str | None = None) -> Path:
    """The real path to write `what` to; `error` naming the path and what of the workspace it
    would hit when it lies inside the workspace."""
    part = workspace_part(settings, path)
    real = _real(path)
    if part is not None:
        raise error(f"Refusing to write the {what} {path}: it would land in {part} ({real}).",
                    hint=hint or f"Pick a path outside the workspace {_real(settings.home)} "
                                 f"(its exports folder {_real(settings.exports_dir)} is open).")
    return real
