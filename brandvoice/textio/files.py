"""Writing files atomically: readers see the old content or the new, never a part."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def atomic_write(path: str | Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write a file through a temporary file in the same folder, flushed and fsync'ed, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = data.encode(encoding) if isinstance(data, str) else data
    # the writer's pid in the name: a leftover of a killed writer is known as one (delivery.files)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
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


def write_csv(path: str | Path, header: list[str], rows: Iterable[dict]) -> Path:
    """Write dict rows as a UTF-8 CSV (keys outside `header` are left out), atomically."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write(path, buf.getvalue())


def write_json(path: str | Path, data: Any) -> Path:
    """Write data as indented JSON (dates and paths as strings), atomically."""
    return atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
