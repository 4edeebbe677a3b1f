"""Column mappings remembered per header: the next export with the same columns maps the same way.

A CRM that brandvoice does not recognise (or recognises wrongly) is mapped once, by hand, and the
mapping is kept under BRANDVOICE_HOME/mappings/<header key>.json, keyed by a hash of the exact
header row; `import_contacts(..., mapping=saved_mapping(settings, header))` then reads every later
export of that CRM view without asking again.

    header, rows = crm.preview("export.csv")                 # the header and a few rows
    crm.save_mapping(settings, header, {"email": "E-mail", "first_name": "Given name"}, actor=mark)
    crm.saved_mapping(settings, header)                      # -> that mapping, or None

A saved mapping decides who is written to for every user, so saving one is a marketer's or an
admin's (role checked) and audited, and a mapping that stops reading an opt-out column detection
finds is saved only with that column confirmed by name (`unmap_optout`, audited; every import with
it asks again: `crm.optouts`). A saved file is checked when it is read: a damaged one is an
InputError naming the file and the fix, never a crash.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from brandvoice import textio
from brandvoice.crm import optouts
from brandvoice.crm.profiles import (
    KNOWN_COLUMNS,
    apply_mapping,
    detect,
    mapping_from,
    orient_mapping,
)
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


def _damaged(path: Path, why: str) -> InputError:
    return InputError(f"The saved column mapping {path} is damaged ({why}).",
                      hint="Delete that file, or save the mapping again on the Generate page; "
                           "until then the columns are detected.")


def saved_mapping(settings, header: list[str]) -> dict[str, str] | None:
    """The mapping saved for files with this header, or None; InputError naming the file when it
    is damaged (not JSON, another header, fields or columns that do not fit)."""
    path = _path(settings, header)
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > 1_000_000:
            raise _damaged(path, "too large")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise _damaged(path, f"not readable JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or data.get("header") != list(header):
        raise _damaged(path, "it is not a mapping for this header")
    try:
        mapping = mapping_from(data.get("mapping"), "The saved mapping")
        return apply_mapping(list(header), {}, mapping, source=str(path))
    except InputError as exc:
        raise _damaged(path, exc.message) from None


def save_mapping(settings, header: list[str], mapping: dict[str, str], *, actor,
                 unmap_optout: list[str] | tuple[str, ...] = ()) -> Path:
    """Check a mapping against the header ({field: column}; the email column is required) and
    keep it for every file with this header, as `actor` (marketer or admin; audited). A mapping
    that stops reading an opt-out column is refused unless `unmap_optout` names it."""
    from brandvoice.store import Store
    from brandvoice.users import PERMISSIONS, require_role

    store = Store(settings)
    with store.read() as conn:
        require_role(conn, actor, *PERMISSIONS["generate"], action="save column mappings")
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
    # as an import reads it: over the detected columns
    effective = apply_mapping(list(header), detect(list(header)).mapping, checked,
                              source="the column mapping")
    unmapped = optouts.check(list(header), effective, source="the column mapping", profile=None,
                             confirmed=unmap_optout)
    path = _path(settings, header)
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    textio.write_json(path, {"header": list(header), "mapping": checked,
                             "saved_by": actor.username, "optout_unmapped": unmapped})
    with store.tx() as conn:
        store.audit(conn, "mapping_save", actor=actor.username, header_key=header_key(header),
                    mapping=checked, optout_unmapped=unmapped, replaced=old is not None)
    return path
