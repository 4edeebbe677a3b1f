"""The one JSON Lines reader and the one TOML loader for files this project writes or ships
(adapter folders, labelled drafts, off-brand samples, brand policies, column mappings).

    for line, record in textio.read_jsonl(path, what="Labelled drafts"):
        ...
    data = textio.read_toml(path, what="Policy file", error=ConfigError)

A line that is not a JSON object, or TOML that does not parse, is an error naming the file, the
line (and column) and the fix. Files people export from other tools (CSV, JSONL of a CRM) are read
by `tables.open_table`, which also sniffs encodings and delimiters and collects row problems.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from brandvoice.errors import BrandvoiceError, InputError, NotFoundError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib


def read_jsonl(path: str | Path, *, what: str = "File", hint: str | None = None
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a UTF-8 JSON Lines file.

    NotFoundError when the file is missing; InputError naming the line when one is not a JSON
    object. `what` names the file in messages ("Labelled drafts"), `hint` says how to fix it.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"{what} not found: {path}.", hint=hint or "Check the path.")
    with path.open(encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{what} {path} line {n}: not valid JSON ({exc}).",
                                 hint=hint or "Write one JSON object per line.") from exc
            if not isinstance(value, dict):
                raise InputError(f"{what} {path} line {n}: expected a JSON object, got "
                                 f"{type(value).__name__}.",
                                 hint=hint or "Write one JSON object per line.")
            yield n, value


def parse_toml(text: str, *, where: str, error: type[BrandvoiceError] = InputError) -> dict:
    """TOML text as a dict; `error` (naming `where`, the line and column) when it does not parse."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise error(f"{where} is not usable TOML: it nests lists or tables too deeply.",
                    hint="Write the file flat: keys and plain values.") from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        at = f", line {m.group(1)}, column {m.group(2)}" if m else ""
        if not m and "end of document" in str(exc):
            at = f", line {max(1, len(text.splitlines()))} (end of file)"
        raise error(f"{where}{at} is not valid TOML: {str(exc).split(' (at')[0]}",
                    hint="Fix the syntax (quotes around strings, commas between list items, "
                         "[table] headers).") from exc


def read_toml(path: str | Path, *, what: str = "File",
              error: type[BrandvoiceError] = InputError) -> tuple[dict, str]:
    """A UTF-8 TOML file as (data, its text); `error` naming the file when it cannot be read or
    parsed (the text lets a caller name the line of a key it refuses)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"Cannot read {what.lower()} {path}: {exc}",
                    hint="Check the path; the file must be UTF-8 text.") from exc
    return parse_toml(text, where=f"{what} {path}", error=error), text
