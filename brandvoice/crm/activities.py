"""Activity logs (downloads, demos, webinars, deal stage changes): timestamps, types, per-contact join."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from brandvoice import textio
from brandvoice.crm.profiles import norm
from brandvoice.errors import InputError

MAX_PER_CONTACT = 50  # newest kept per contact: a brief uses a few, a snapshot should stay small

_COLUMNS = {
    "contact": ("contact id", "contact_id", "record id", "contact key", "contact", "person id", "lead id",
                "contact record id"),
    "email": ("email", "contact email", "email address", "person email"),
    "type": ("type", "activity type", "activity", "event", "event type", "kind"),
    "timestamp": ("timestamp", "date", "datetime", "time", "occurred at", "activity date",
                  "created at", "created", "when"),
    "detail": ("detail", "details", "description", "subject", "note", "notes", "summary"),
    "stage": ("stage", "deal stage", "new stage", "to stage"),
}

# Activity types as templates see them; free-form labels are folded onto these where they match.
TYPE_ALIASES = {
    "demo_attended": ("demo", "demo attended", "attended demo", "product demo", "demo completed"),
    "content_download": ("download", "content download", "downloaded", "ebook download",
                         "e book download", "whitepaper download", "pricing guide download",
                         "form download", "asset download"),
    "trial_started": ("trial started", "trial start", "started trial", "signup", "sign up"),
    "trial_ending": ("trial ending", "trial ends", "trial ends soon", "trial expiring", "trial expires",
                     "trial end"),
    "webinar_attended": ("webinar", "webinar attended", "attended webinar", "webinar registration attended"),
    "event_attended": ("event", "event attended", "attended event", "conference", "trade show",
                       "booth visit", "meetup"),
    "meeting_no_show": ("no show", "meeting no show", "missed meeting", "meeting missed", "noshow",
                        "no show meeting", "meeting noshow"),
    "meeting_booked": ("meeting booked", "meeting scheduled", "meeting"),
    "email_opened": ("email open", "email opened", "opened email", "opened emails", "open"),
    "email_clicked": ("email click", "email clicked", "clicked", "click"),
    "deal_stage_change": ("deal stage change", "deal stage changed", "stage change", "stage changed",
                          "deal stage", "deal update", "opportunity stage change"),
    "no_activity": ("no activity", "inactive", "no activity 90 days", "went cold", "dormant"),
    "call": ("call", "phone call", "call logged"),
    "note": ("note", "note added"),
    "form_submitted": ("form submission", "form submitted", "form fill"),
    "page_view": ("page view", "visited page", "website visit"),
}
_TYPE_INDEX = {norm(alias): canonical for canonical, aliases in TYPE_ALIASES.items()
               for alias in (canonical, *aliases)}

_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y",
    "%m/%d/%y %H:%M", "%m/%d/%y %I:%M %p", "%m/%d/%y",
    "%b %d, %Y %I:%M %p", "%b %d, %Y %H:%M", "%b %d, %Y", "%B %d, %Y", "%d %b %Y %H:%M", "%d %b %Y",
    "%d %B %Y", "%d.%m.%Y %H:%M", "%d.%m.%Y",
)
_EPOCH = re.compile(r"\d{10}(\d{3})?")
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2,4})(.*)$")
_STAGE_TO = re.compile(r"(?:\bto\b|->|→|=>)\s*[\"']?([^\"']+?)[\"'.]?\s*$", re.IGNORECASE)


def parse_timestamp(text: str) -> datetime | None:
    """A timestamp in a common export format (ISO 8601, US dates, "Nov 2, 2026", epoch) as UTC, or None.

    Slash dates are read month-first (US, as HubSpot and Salesforce write them) unless the first
    number cannot be a month. Times without a zone are taken as UTC.
    """
    text = text.strip()
    if not text:
        return None
    if _EPOCH.fullmatch(text):  # epoch seconds or milliseconds
        value = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(value, tz=timezone.utc)
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        dt = None
        m = _DAY_FIRST.match(text)
        if m and int(m.group(1)) > 12 and int(m.group(2)) <= 12:
            text = f"{m.group(2)}/{m.group(1)}/{m.group(3)}{m.group(4)}"
        for fmt in _FORMATS:
            try:
                dt = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if dt is None:
            return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def iso_utc(dt: datetime) -> str:
    """A UTC datetime as the snapshot writes it: 2026-11-02T10:00:00Z."""
    return dt.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


@lru_cache(maxsize=4096)
def activity_type(label: str) -> str:
    """A free-form activity label folded onto a known type ("Attended webinar" -> webinar_attended)."""
    key = norm(label)
    if key in _TYPE_INDEX:
        return _TYPE_INDEX[key]
    return key.replace(" ", "_") or "activity"


def stage_from(activity: dict) -> str | None:
    """The new deal stage a deal-stage-change activity records ("... to Negotiation" -> "Negotiation")."""
    if activity.get("stage"):
        return activity["stage"]
    detail = activity.get("detail") or ""
    m = _STAGE_TO.search(detail)
    return m.group(1).strip() if m else (detail.strip() or None)


@dataclass
class ActivityLog:
    """Activities grouped by contact reference (record id, or lower-case email)."""

    path: Path
    by_ref: dict[str, list[dict]] = field(default_factory=dict)
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    def take(self, key: str, email: str) -> list[dict]:
        """Remove and return a contact's activities, newest first (at most MAX_PER_CONTACT)."""
        found = self.by_ref.pop(key, [])
        if email and email.lower() != key:
            found += self.by_ref.pop(email.lower(), [])
        found.sort(key=lambda a: a["timestamp"], reverse=True)  # stable: file order breaks ties
        return found[:MAX_PER_CONTACT]

    def unmatched(self) -> int:
        return sum(len(v) for v in self.by_ref.values())


def _column(header: list[str], role: str) -> str | None:
    by_norm = {norm(h): h for h in reversed(header)}
    for cand in _COLUMNS[role]:
        if norm(cand) in by_norm:
            return by_norm[norm(cand)]
    return None


def load_activities(path: str | Path) -> ActivityLog:
    """Read an activity log CSV (contact id or email, type, timestamp, detail); bad rows go to problems."""
    known = [c for names in _COLUMNS.values() for c in names]
    f = textio.open_table(path, what="Activity file", known=known, unique=(), formats=("csv",),
                          item="activities",
                          hint="Leave the activity file out, or export it again as CSV with its rows.")
    cols = {role: _column(f.header, role) for role in _COLUMNS}
    if cols["contact"] == cols["email"]:
        cols["contact"] = None
    missing = [r for r in ("type", "timestamp") if cols[r] is None]
    if cols["contact"] is None and cols["email"] is None:
        missing.insert(0, "contact id or email")
    if missing:
        raise InputError(
            f"Activity file {f.name} has no column for: {', '.join(missing)} "
            f"(columns: {', '.join(f.header)}).",
            hint="Name the columns contact_id (or email), type, timestamp and detail.")
    f.require_unique(c for c in cols.values() if c)
    index = {name: i for i, name in enumerate(f.header)}
    idx = {role: (index[c] if c else None) for role, c in cols.items()}
    log = ActivityLog(path=f.path)
    name = f.name
    width = len(f.header)
    for row, cells in f.rows(clean=True):
        log.rows += 1
        if len(cells) != width:
            log.problems.append(f"{name} row {row}: {len(cells)} fields, the header has {width}; "
                                "quote values that contain the delimiter")
            continue

        def get(role: str, cells: list[str] = cells) -> str:
            i = idx[role]
            return cells[i] if i is not None else ""

        ref = get("contact") or get("email").lower()
        if not ref:
            log.problems.append(f"{name} row {row}: no contact id or email")
            continue
        ts = parse_timestamp(get("timestamp"))
        if ts is None:
            log.problems.append(f"{name} row {row}: cannot read timestamp {get('timestamp')!r} "
                                "(use ISO 8601 such as 2026-11-02T10:00:00Z, or MM/DD/YYYY)")
            continue
        if not get("type"):
            log.problems.append(f"{name} row {row}: no activity type")
            continue
        act = {"type": activity_type(get("type")), "timestamp": iso_utc(ts), "detail": get("detail")}
        if act["type"] == "deal_stage_change":
            stage = get("stage") or stage_from(act)
            if stage:
                act["stage"] = stage
            if not act["detail"] and stage:
                act["detail"] = f"deal stage changed to {stage}"
        log.by_ref.setdefault(ref, []).append(act)
    log.problems.extend(f"{name} {p}" for p in f.problems)
    return log
