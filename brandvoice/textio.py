"""Text in and out, the same way for every stage: names turned into slugs, and atomic file writes.

(The one CSV/JSONL reader joins this module next.)
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from brandvoice.errors import ConfigError


def slug(text: str) -> str:
    """The file and lookup name of a brand or person: "Julián Castro" -> "julian-castro"."""
    from slugify import slugify

    out = slugify(str(text or ""), lowercase=True)
    if not out:
        raise ConfigError(f"Name {text!r} has no letters or digits.",
                          hint="Use a name with letters, such as 'Ledgerly'.")
    return out


def compact_key(text: str | None) -> str:
    """Identity for matching names: 'Bright Bean', 'bright-bean' and 'brightbean' are one."""
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def atomic_write(path: str | Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write a file so that readers see the old or the new content, never a part: a temporary file
    in the same folder, flushed and fsync'ed, then renamed over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
