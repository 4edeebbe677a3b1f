"""Importing a CRM export: validation, opt-outs, duplicates, activities joined; store snapshots.

The file is streamed row by row (textio, the one CSV reader); only the contacts are kept. Rows are
numbered as a spreadsheet shows them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brandvoice import textio
from brandvoice.crm import optouts
from brandvoice.crm.activities import ActivityLog, load_activities, stage_from
from brandvoice.crm.profiles import (
    KNOWN_COLUMNS,
    PROFILES,
    SNAPSHOT_FIELDS,
    Detection,
    alternates,
    apply_mapping,
    detect,
    load_mapping,
)
from brandvoice.errors import InputError

_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_ANGLE = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x85\u2028\u2029]")
_TRUE = {"true", "yes", "y", "1", "t", "x", "checked", "on", "opted out", "opted-out", "unsubscribed",
         "ja", "oui", "si", "sí", "wahr", "vrai"}
_OPT_OUT_STATUS = re.compile(r"unsubscrib|opted[ -]out|opt[ -]out|no consent|non[ -]marketing|do not email|"
                             r"bounced", re.IGNORECASE)
# The contacts columns that copy these fields are VARCHARs of these lengths, which PostgreSQL
# enforces (SQLite would keep a longer value): such a row is reported, not left to fail the snapshot.
FIELD_LIMITS = {"key": 320, "first_name": 200, "last_name": 200, "company": 300}
# Low-cardinality fields repeat the same few values on every row: share one string object.
_INTERNED = ("lifecycle_stage", "lead_status", "deal_stage", "city", "country", "company")
CSV_HINT = "Export the contacts from your CRM as CSV (comma, semicolon or tab between columns)."


@dataclass
class ImportResult:
    """What an import produced: usable contacts, excluded rows with reasons, problems to show."""

    profile: str
    mapping: dict[str, str]
    contacts: list[dict]
    excluded: list[dict]  # {"row": 12, "email": ..., "reason": "opted out (...)"}
    problems: list[str]  # "crm.csv row 12: invalid email 'bob@'"
    stats: dict[str, Any] = field(default_factory=dict)  # file, encoding, delimiter, counts, scores
    # opt-out columns detection found that this import does not read (each confirmed by name)
    optout_unmapped: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a CLI or UI: profile and counts."""
        s = self.stats
        label = PROFILES[self.profile].label if self.profile in PROFILES else "explicit column mapping"
        return (f"{s.get('file', '?')}: {label} ({self.profile}); {s.get('rows', 0)} rows, "
                f"{len(self.contacts)} contacts, {len(self.excluded)} excluded, "
                f"{len(self.problems)} problems")


def valid_email(value: str) -> bool:
    """Whether a string is a plausible single email address."""
    return len(value) <= 254 and ".." not in value and bool(_EMAIL.match(value))


def _clean_email(value: str) -> str:
    m = _ANGLE.search(value)  # "Dana Reyes <dana@acme.com>"
    if m:
        value = m.group(1)
    if value.lower().startswith("mailto:"):
        value = value[7:]
    return value.strip().strip(".,;")


def _split_name(full: str) -> tuple[str, str]:
    full = " ".join(full.split())
    if "," in full:  # "Reyes, Dana"
        last, _, first = full.partition(",")
        return first.strip(), last.strip()
    first, _, last = full.partition(" ")
    return first, last


def _opt_out_reason(cells: dict[str, str], mapping: dict[str, str]) -> str | None:
    flag = cells.get("opted_out")
    if flag and flag.lower() in _TRUE:
        return f"opted out ({mapping['opted_out']}: {flag})"
    status = cells.get("marketing_status")
    if status and _OPT_OUT_STATUS.search(status):
        return f"opted out ({mapping['marketing_status']}: {status})"
    return None


def import_contacts(path: str | Path, *, activities: str | Path | None = None,
                    mapping: dict[str, str] | str | Path | None = None,
                    profile: str | None = None, unmap_optout: Iterable[str] = ()) -> ImportResult:
    """Read a CRM export (and optional activity log) into validated contact snapshots.

    A mapping or profile that stops reading an opt-out column detection finds is refused
    (optouts.OptOutUnmapped) unless `unmap_optout` names that column."""
    f = textio.open_table(path, what="CRM file", known=KNOWN_COLUMNS, unique=(), formats=("csv",),
                          item="contacts", hint=CSV_HINT)
    det, used_profile, colmap = _columns(f, profile, mapping)
    source = str(mapping) if isinstance(mapping, (str, Path)) else \
        "the mapping given" if mapping is not None else f"the {used_profile} profile"
    unmapped = optouts.check(f.header, colmap, source=source, profile=profile,
                             confirmed=unmap_optout)
    log: ActivityLog | None = load_activities(activities) if activities else None
    run = _Import(f, det, colmap, used_profile, log)
    for row, cells in f.rows(clean=True):
        run.add(row, cells)
    result = run.result()
    result.optout_unmapped = unmapped
    return result


def _columns(f: textio.Table, profile: str | None,
             mapping: dict[str, str] | str | Path | None) -> tuple[Detection, str, dict[str, str]]:
    """The detected profile, the profile name to record and the column mapping (an explicit mapping
    applied over the detected one); refuses a file without an email column."""
    name = f.name
    det = detect(f.header, profile=profile)
    used_profile, colmap = det.profile, dict(det.mapping)
    if profile is not None:  # a forced profile still reads the opt-out columns detection finds
        taken = set(colmap.values())
        for field, column in detect(f.header).mapping.items():
            if field in optouts.OPT_OUT_FIELDS and field not in colmap and column not in taken:
                colmap[field] = column
    if mapping is not None:
        source = str(mapping) if isinstance(mapping, (str, Path)) else "the mapping argument"
        explicit = load_mapping(mapping) if isinstance(mapping, (str, Path)) else dict(mapping)
        colmap = apply_mapping(f.header, colmap, explicit, source=source)
        used_profile = profile or "mapping"
    if "email" not in colmap:
        raise InputError(
            f"CRM file {name}: no email column found (read as {f.delimiter_name}-separated; "
            f"columns: {', '.join(f.header[:30])}).",
            hint='Pass a column mapping such as {"email": "Your email column"} (--mapping FILE), or '
                 "check that the file uses comma, semicolon or tab between columns.")
    # Two "Email" columns: which one holds the address is unclear, unless a mapping names the label.
    f.require_unique(c for k, c in colmap.items() if det.mapping.get(k) == c)
    return det, used_profile, colmap


class _Import:
    """One import in progress: each row kept as a contact or excluded with its reason."""

    def __init__(self, f: textio.Table, det: Detection, colmap: dict[str, str], used_profile: str,
                 log: ActivityLog | None) -> None:
        self.f, self.det, self.colmap, self.used_profile, self.log = f, det, colmap, used_profile, log
        self.name = f.name
        index = {col: i for i, col in enumerate(f.header)}
        self.fields = [(canonical, index[col]) for canonical, col in colmap.items()]
        mapped_idx = {index[c] for c in colmap.values()}
        self.custom_cols = [(col, i) for i, col in enumerate(f.header) if i not in mapped_idx]
        self.width = len(f.header)
        self.alt_email = [index[c] for c in alternates(det.profile, f.header, colmap, "email")]
        self.contacts: list[dict] = []
        self.excluded: list[dict] = []
        self.problems: list[str] = []
        self.by_email: dict[str, int] = {}  # lower-case email -> position in contacts (or -1 when excluded)
        self.by_key: dict[str, int] = {}
        self.first_row: dict[str, int] = {}
        self.dropped: set[int] = set()
        self.rows = self.malformed = 0

    def exclude(self, row: int, email: str, reason: str, problem: bool = False) -> None:
        self.excluded.append({"row": row, "email": email, "reason": reason})
        if problem:
            self.problems.append(f"{self.name} row {row}: {reason}")

    def add(self, row: int, cells: list[str]) -> None:
        """Keep the row as a contact, or exclude it with the reason."""
        self.rows += 1
        if len(cells) != self.width:
            self.malformed += 1
            self.exclude(row, "", f"{len(cells)} fields, the header has {self.width} (a stray delimiter or "
                         "an unquoted value?)", problem=True)
            return
        values = {canonical: cells[i] for canonical, i in self.fields}
        email = _clean_email(values.get("email", ""))
        if not email:  # e.g. Pipedrive: no work email, but a home one
            email = _clean_email(next((cells[i] for i in self.alt_email if cells[i]), ""))
        low = email.lower()
        reason = _opt_out_reason(values, self.colmap)
        if reason:
            self._opt_out(row, email, reason, values)
            return
        key = values.get("key") or low
        first, last = values.get("first_name", ""), values.get("last_name", "")
        if not first and not last and values.get("full_name"):
            first, last = _split_name(values["full_name"])
        problem = self._problem(values, email, key) or self._too_long(values, first, last)
        if problem:
            self.exclude(row, email, problem, problem=True)
            return
        contact: dict[str, Any] = {f_: values.get(f_, "") for f_ in SNAPSHOT_FIELDS}
        contact.update(key=key, email=email, first_name=first, last_name=last)
        for f_ in _INTERNED:
            if contact[f_]:
                contact[f_] = sys.intern(contact[f_])
        contact["custom"] = {col: cells[i] for col, i in self.custom_cols}
        acts = self.log.take(key, email) if self.log else []
        if not contact["deal_stage"]:
            stage = next((stage_from(a) for a in acts if a["type"] == "deal_stage_change"), None)
            contact["deal_stage"] = stage or ""
        contact["activities"] = acts
        contact["source"] = {"file": self.name, "row": row, "profile": self.used_profile}
        self.by_email[low] = self.by_key[key] = len(self.contacts)
        self.first_row[low] = self.first_row[key] = row
        self.contacts.append(contact)

    def _opt_out(self, row: int, email: str, reason: str, values: dict[str, str]) -> None:
        low = email.lower()
        self.exclude(row, email, reason)
        if low and low in self.by_email and self.by_email[low] >= 0:  # opt-out wins over an earlier row
            self.dropped.add(self.by_email[low])
            self.exclude(self.first_row[low], email, f"{reason} on row {row} for the same email")
        if low:
            self.by_email[low] = -1
            self.first_row.setdefault(low, row)
        if self.log:
            self.log.take(values.get("key") or low, email)

    def _problem(self, values: dict[str, str], email: str, key: str) -> str | None:
        """Why a row that did not opt out cannot be a contact: its email, its id, a duplicate, a line
        break in a one-line field."""
        colmap, low = self.colmap, email.lower()
        if not email:
            return f"missing email ({colmap['email']} is empty)"
        if not valid_email(email):
            return f"invalid email {email!r}"
        if len(key) > FIELD_LIMITS["key"]:
            return f"record id longer than {FIELD_LIMITS['key']} characters ({colmap.get('key')})"
        if low in self.by_email:
            why = "which opted out" if self.by_email[low] < 0 else "which is kept"
            return f"duplicate of row {self.first_row[low]} (same email), {why}"
        if key in self.by_key:
            return f"duplicate of row {self.first_row[key]} (same record id {key!r})"
        broken = [colmap.get(f_) or f_ for f_ in ("first_name", "last_name", "full_name", "company",
                                                  "key") if _LINE_BREAK.search(values.get(f_, ""))]
        if broken:  # a name or a company goes into email headers and one-line briefs
            return f"{', '.join(broken)} holds a line break (a name is one line)"
        return None

    def _too_long(self, values: dict[str, str], first: str, last: str) -> str | None:
        """The fields longer than their database columns, if any (PostgreSQL would refuse them)."""
        colmap = self.colmap
        too_long = [(f_, colmap.get(f_) or colmap.get("full_name")) for f_, v in
                    (("first_name", first), ("last_name", last), ("company", values.get("company", "")))
                    if len(v) > FIELD_LIMITS[f_]]
        if not too_long:
            return None
        return "; ".join(f"{f_} longer than {FIELD_LIMITS[f_]} characters ({col})" for f_, col in too_long)

    def result(self) -> ImportResult:
        """The import's outcome; refuses a file none of whose rows could be read."""
        f, name, rows, problems = self.f, self.name, self.rows, self.problems
        problems.extend(f"{name} {p}" for p in f.problems)
        if rows == 0:
            raise InputError(f"CRM file {name}: none of its rows could be read.", problems=problems,
                             hint="Fix the rows listed above, or export the contacts again.")
        if self.malformed == rows:
            raise InputError(f"CRM file {name}: none of its {rows} rows has as many fields as the header "
                             f"({self.width}, {f.delimiter_name}-separated).", problems=problems,
                             hint="Use one delimiter throughout and quote values that contain it.")
        contacts = self.contacts
        if self.dropped:
            contacts = [c for i, c in enumerate(contacts) if i not in self.dropped]
        stats: dict[str, Any] = {
            "file": name, "encoding": f.encoding, "delimiter": f.delimiter_name, "rows": rows,
            "contacts": len(contacts), "excluded": len(self.excluded), "scores": self.det.scores,
            "custom_fields": [c for c, _ in self.custom_cols],
        }
        if self.log:
            stats["activities"] = self._activities(self.log, contacts)
        return ImportResult(profile=self.used_profile, mapping=self.colmap, contacts=contacts,
                            excluded=self.excluded, problems=problems, stats=stats)

    def _activities(self, log: ActivityLog, contacts: list[dict]) -> dict[str, Any]:
        """The activity log's counts; its problems and unmatched references go to the problems."""
        name = self.name
        self.problems.extend(log.problems)
        stats = {"file": log.path.name, "rows": log.rows,
                 "joined": sum(len(c["activities"]) for c in contacts), "unmatched": log.unmatched()}
        if log.by_ref:
            refs = sorted(log.by_ref)[:5]
            n = log.unmatched()
            refer = "activity references" if n == 1 else "activities reference"
            self.problems.append(f"{log.path.name}: {n} {refer} no imported contact of {name} "
                                 f"(e.g. {', '.join(refs)})")
        return stats


def snapshot_rows(conn, job_id: int, contacts: list[dict]) -> dict[str, int]:
    """Store contacts for a job inside the caller's transaction; idempotent on (job_id, key).
    Returns key -> id."""
    import sqlalchemy as sa

    from brandvoice.store import contacts as table
    from brandvoice.store import utcnow

    def existing() -> dict[str, int]:
        q = sa.select(table.c.contact_key, table.c.id).where(table.c.job_id == job_id)
        return {k: i for k, i in conn.execute(q)}

    have = existing()
    now = utcnow()
    new, seen = [], set(have)
    for c in contacts:
        key = str(c["key"])
        if key in seen:
            continue
        seen.add(key)
        src = c.get("source") or {}
        new.append({"job_id": job_id, "contact_key": key, "email": c["email"],
                    "first_name": c.get("first_name") or None,
                    "last_name": c.get("last_name") or None,
                    "company": c.get("company") or None, "data": c,
                    "source_file": src.get("file"), "row_number": src.get("row"),
                    "created_at": now})
    if new:
        conn.execute(table.insert(), new)
        have = existing()
    return {str(c["key"]): have[str(c["key"])] for c in contacts}


def snapshot_contacts(store, job_id: int, contacts: list[dict]) -> dict[str, int]:
    """Store contacts for a job in one transaction; idempotent on (job_id, key). Returns key -> id."""
    import sqlalchemy as sa

    for attempt in (1, 2):  # a concurrent writer (PostgreSQL) may win the race once: read again
        try:
            with store.tx() as conn:
                return snapshot_rows(conn, job_id, contacts)
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def recent_contacts(store, limit: int = 100) -> list[dict]:
    """The newest contact snapshots in the store (previews, samples), newest first."""
    import sqlalchemy as sa

    from brandvoice.store import contacts as table

    with store.read() as conn:
        return [r[0] for r in conn.execute(sa.select(table.c.data).order_by(table.c.id.desc())
                                           .limit(limit))]
