"""Column mappings remembered per header: the next export with the same columns maps the same way.

A CRM that brandvoice does not recognise (or recognises wrongly) is mapped once, by hand, and the
mapping is kept under BRANDVOICE_HOME/mappings/<header key>.json, keyed by a hash of the exact
header row; `import_contacts(..., mapping=saved_mapping(settings, header))` then reads every later
export of that CRM view without asking again.

    header, rows = crm.preview("export.csv")                 # the header and a few rows
    crm.save_mapping(settings, header, {"email": "E-mail", "first_name": "Given name"})
    crm.saved_mapping(settings, header)                      # -> that mapping, or None
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from brandvoice import textio
from brandvoice.crm.profiles import KNOWN_COLUMNS, apply_mapping, orient_mapping
from brandvoice.errors import InputError

PREVIEW_ROWS = 5


def header_key(header: list[str]) -> str:
    """The key of a header row: the same columns in the same order give the same key."""
    return hashlib.sha256("\x1f".join(header).encode("utf-8")).hexdigest()[:32]


def _path(settings, header: list[str]) -> Path:
    return Path(settings.home) / "mappings" / f"{header_key(header)}.json"


def preview(path: str | Path, rows: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    """A CRM export's header and its first rows (as read for the import), to map its columns."""
    from brandvoice.crm.importer import CSV_HINT

    table = textio.open_table(path, what="CRM file", known=KNOWN_COLUMNS, unique=(),
                              formats=("csv",), item="contacts", hint=CSV_HINT)
    out: list[list[str]] = []
    for _, cells in table.rows(clean=True):
        out.append(cells)
        if len(out) >= rows:
            break
    return table.header, out


def saved_mapping(settings, header: list[str]) -> dict[str, str] | None:
    """The mapping saved for files with this header, or None."""
    path = _path(settings, header)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged file: as if none was saved (the next save replaces it)
    mapping = data.get("mapping") if isinstance(data, dict) else None
    if data.get("header") != list(header) or not isinstance(mapping, dict):
        return None
    return {str(k): str(v) for k, v in mapping.items()}


def save_mapping(settings, header: list[str], mapping: dict[str, str], *,
                 saved_by: str | None = None) -> Path:
    """Check a mapping against the header ({field: column}; the email column is required) and
    keep it for every file with this header."""
    mapping = {k: v for k, v in orient_mapping(mapping).items() if k and v}
    if "email" not in mapping:
        raise InputError("The column mapping has no email column.",
                         hint="Choose the column that holds each contact's email address.")
    columns = list(mapping.values())
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise InputError("The column mapping uses a column for two fields: " + ", ".join(twice) + ".",
                         hint="Map each column to one field.")
    checked = apply_mapping(list(header), {}, mapping, source="the column mapping")
    path = _path(settings, header)
    textio.write_json(path, {"header": list(header), "mapping": checked, "saved_by": saved_by})
    return path
