"""Opt-out columns are never dropped by accident: a mapping that stops reading one needs a yes.

Detection reads a column such as HubSpot's "Unsubscribed from all email" as `opted_out` (or a
status column as `marketing_status`), and the import excludes those contacts. A column mapping (a
file, a saved mapping, the Generate page's editor) or a forced profile could map that column to
nothing, or to another field, and let unsubscribed contacts back in. `dropped` names such columns;
the import refuses them (OptOutUnmapped) unless each is confirmed by name, and whoever acts on a
confirmed import (a generate job, a saved mapping) records it in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable

from brandvoice.crm.profiles import detect
from brandvoice.errors import InputError

OPT_OUT_FIELDS = ("opted_out", "marketing_status")


class OptOutUnmapped(InputError):
    """A mapping would stop reading opt-out columns; `columns` lists them."""

    def __init__(self, message: str, *, columns: list[str], **kw):
        super().__init__(message, **kw)
        self.columns = columns


def detected(header: list[str], profile: str | None = None) -> dict[str, set[str]]:
    """field -> the columns detection reads as that opt-out field (the detected profile's, and a
    forced profile's)."""
    found: dict[str, set[str]] = {}
    for det in [detect(header), *([detect(header, profile=profile)] if profile else [])]:
        for field in OPT_OUT_FIELDS:
            if field in det.mapping:
                found.setdefault(field, set()).add(det.mapping[field])
    return found


def dropped(header: list[str], final: dict[str, str],
            profile: str | None = None) -> list[dict[str, str]]:
    """The opt-out columns detection finds that `final` does not read as the same field:
    [{"column", "field", "now"}] ("now": what `final` maps the column to, "" for nothing)."""
    by_column = {column: field for field, column in final.items()}
    out = []
    for field, columns in detected(header, profile).items():
        if final.get(field) in columns:
            continue
        out += [{"column": c, "field": field, "now": by_column.get(c, "")} for c in sorted(columns)]
    return out


def check(header: list[str], final: dict[str, str], *, source: str, profile: str | None,
          confirmed: Iterable[str] = ()) -> list[dict[str, str]]:
    """The dropped opt-out columns, each confirmed by name in `confirmed`; OptOutUnmapped naming
    the others."""
    gone = dropped(header, final, profile)
    yes = {str(c) for c in confirmed}
    missing = [d for d in gone if d["column"] not in yes]
    if missing:
        lines = [f"column {d['column']!r} (read as {d['field']}) would be "
                 + (f"read as {d['now']}" if d["now"] else "left unread") for d in missing]
        raise OptOutUnmapped(
            f"The column mapping from {source} stops reading opt-out columns: contacts who "
            "unsubscribed there would be written to.", problems=lines,
            columns=[d["column"] for d in missing],
            hint="Map them back (opted_out / marketing_status), or confirm on purpose, column by "
                 "column: --unmap-opt-out COLUMN (CLI) or the confirmation on the Generate page; "
                 "the confirmation is recorded in the audit trail.")
    return gone
