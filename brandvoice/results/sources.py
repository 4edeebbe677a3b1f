"""What each email tool's per-recipient activity export looks like: its columns and event names.

| source    | address column            | event column          | time column         | Message-ID |
|-----------|---------------------------|-----------------------|---------------------|------------|
| mailchimp | Email Address             | Action (open, click, bounce, unsub, abuse) | Timestamp | -  |
| hubspot   | Recipient / Email address | Type / Event type (DELIVERED, OPEN, CLICK, BOUNCE, DROPPED, SPAMREPORT, UNSUBSCRIBED) | Created | - |
| brevo     | email                     | event / st_text (delivered, opened, click, hard_bounce, soft_bounce, unsubscribe, spam) | date / ts_event / ts | message-id / mid |
| klaviyo   | Email                     | Metric / Event (Received Email, Opened Email, Clicked Email, Bounced Email, Dropped Email, Marked Email as Spam, Unsubscribed) | Timestamp / Datetime | - |
| generic   | email                     | event (delivered, open, click, reply, bounce, unsubscribe, spam) | timestamp | message_id, draft_id, batch |

A file without an event column is read in one of two other layouts: one column per outcome
("Opened", "Clicks", "Replied": yes/true/1, a count or a date mean it happened), as summary exports
per recipient are; or a list of the recipients of one kind of event (Mailchimp's "Opened" or
"Bounced" activity lists), given as `event=`. Column names are compared as `textio.column_key`
does (case, spaces and punctuation folded: "E-mail Address" is "email address").

Events that say nothing about how a draft did (sent, processed, deferred, a subscription change)
are named and left out. DROPPED (HubSpot) and Dropped Email (Klaviyo) count as bounces: the email
never reached the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from brandvoice.errors import InputError
from brandvoice.textio import column_key

KINDS = ("delivered", "open", "click", "reply", "bounce", "unsubscribe", "spam")

# Every tool's event names, as column_key folds them, and what they mean here (None: left out).
EVENT_NAMES: dict[str, str | None] = {
    # our own names and the plain words a generic file uses
    **{k: k for k in KINDS},
    "delivery": "delivered", "opened": "open", "opens": "open", "clicked": "click",
    "clicks": "click", "replied": "reply", "replies": "reply", "response": "reply",
    "bounced": "bounce", "hard bounce": "bounce", "soft bounce": "bounce", "failed": "bounce",
    "unsubscribed": "unsubscribe", "unsub": "unsubscribe", "opt out": "unsubscribe",
    "optout": "unsubscribe", "opted out": "unsubscribe", "complaint": "spam",
    "spam complaint": "spam", "abuse": "spam",
    # HubSpot email events
    "spamreport": "spam", "dropped": "bounce", "mta dropped": "bounce", "reply": "reply",
    "sent": None, "processed": None, "deferred": None, "forward": None, "print": None,
    "statuschange": None, "unbounce": None, "suppressed": None,
    # Brevo events and log statuses
    "unique opened": "open", "first opening": "open", "proxy open": "open",
    "unique proxy open": "open", "invalid email": "bounce", "blocked": "bounce", "error": "bounce",
    "request": None, "requests": None, "queued": None, "contact deleted": None,
    "contact updated": None, "list addition": None, "loaded by proxy": "open",
    # Klaviyo metrics
    "received email": "delivered", "opened email": "open", "clicked email": "click",
    "bounced email": "bounce", "dropped email": "bounce", "marked email as spam": "spam",
    "unsubscribed from email marketing": "unsubscribe", "unsubscribed from list": "unsubscribe",
    "replied to email": "reply",
}
TRUE_WORDS = {"yes", "y", "true", "t", "x", "✓"}
FALSE_WORDS = {"", "no", "n", "false", "f", "0", "-", "none", "null"}


@dataclass(frozen=True)
class Source:
    """One tool's export: the column names it uses for each field (the first one found is read)."""

    name: str
    title: str
    email: tuple[str, ...]
    event: tuple[str, ...]
    time: tuple[str, ...]
    message_id: tuple[str, ...] = ()
    wide: tuple[tuple[str, str], ...] = ()  # (column, kind): one column per outcome
    fingerprint: tuple[str, ...] = ()  # columns only this tool writes (auto-detection)
    note: str = ""


_WIDE = (("delivered", "delivered"), ("opened", "open"), ("opens", "open"), ("clicked", "click"),
         ("clicks", "click"), ("replied", "reply"), ("replies", "reply"), ("bounced", "bounce"),
         ("bounces", "bounce"), ("unsubscribed", "unsubscribe"), ("spam", "spam"),
         ("marked as spam", "spam"))

SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("mailchimp", "Mailchimp campaign activity", email=("email address", "email"),
           event=("action", "activity"), time=("timestamp", "time", "date"), wide=_WIDE,
           fingerprint=("email address", "action", "member rating", "euid", "leid"),
           note="A campaign report's email activity (Email Address, Action, Timestamp), or one of "
                "its activity lists (Opened, Clicked, Bounced, Unsubscribed) with the event named."),
    Source("hubspot", "HubSpot email events", email=("recipient", "email address", "email"),
           event=("type", "event type", "event"),
           time=("created", "created at", "event date", "timestamp", "date"),
           fingerprint=("recipient", "email campaign id", "portal id", "app id", "hmid"),
           note="The email events of a marketing email (Recipient, Type, Created)."),
    Source("brevo", "Brevo email events", email=("email", "email address", "recipient"),
           event=("event", "st text", "status"),
           time=("date", "ts event", "ts epoch", "ts", "event date"),
           message_id=("message id", "mid"),
           fingerprint=("st text", "ts event", "ts epoch", "mid", "frm", "sending ip"),
           note="Brevo's event export or email logs (email, event, date, message-id)."),
    Source("klaviyo", "Klaviyo metric export", email=("email", "email address", "profile email"),
           event=("metric", "metric name", "event", "event name"),
           time=("timestamp", "datetime", "date", "time"),
           fingerprint=("metric", "metric name", "event id", "profile id", "klaviyo id"),
           note="Email events of Klaviyo's metric export (Email, Metric, Timestamp)."),
    Source("generic", "Any CSV", email=("email", "email address", "recipient", "to", "address"),
           event=("event", "event type", "type", "activity", "action", "status"),
           time=("timestamp", "time", "date", "occurred at", "event time", "created at"),
           message_id=("message id", "in reply to", "mid"), wide=_WIDE,
           note="email, event, timestamp; optional message_id, draft_id, batch; or one column "
                "per outcome (opened, clicked, replied, bounced, unsubscribed)."),
)}
FILE_SOURCES = tuple(SOURCES)
ALL_SOURCES = (*FILE_SOURCES, "mailbox")


def known_columns() -> set[str]:
    """Every column name any source reads (they pick the CSV delimiter)."""
    out = {"draft id", "draft", "batch", "batch id"}
    for s in SOURCES.values():
        out.update(s.email + s.event + s.time + s.message_id + tuple(c for c, _ in s.wide))
    return out


def detect(header: list[str]) -> Source:
    """The source whose own columns the header holds most (generic when none stands out)."""
    keys = {column_key(h) for h in header}
    best, score = SOURCES["generic"], 0
    for s in SOURCES.values():
        if s.name == "generic" or not any(c in keys for c in s.email):
            continue
        hits = sum(c in keys for c in s.fingerprint)
        if hits > score:
            best, score = s, hits
    return best


def get_source(name: str) -> Source:
    """A file source by name (InputError listing them if unknown)."""
    try:
        return SOURCES[name]
    except KeyError:
        raise InputError(f"Unknown results source {name!r}.",
                         hint=f"Use one of: auto, {', '.join(ALL_SOURCES)}.") from None


def event_kind(value: str) -> str | None:
    """The kind an event name means, None when it is left out; KeyError when unknown."""
    return EVENT_NAMES[column_key(value)]


def happened(value: str) -> bool:
    """Whether a cell of a one-column-per-outcome layout says the event happened."""
    v = value.strip().lower()
    if v in FALSE_WORDS:
        return False
    if v in TRUE_WORDS:
        return True
    try:
        return float(v) > 0
    except ValueError:
        return True  # a date or a time: when it happened


_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p",
            "%m/%d/%Y", "%b %d, %Y %I:%M %p", "%b %d, %Y %H:%M", "%b %d, %Y", "%d %b %Y %H:%M",
            "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def parse_time(value: str) -> str:
    """A timestamp as UTC to the second ("2026-11-20T10:00:00Z"); ValueError when unreadable.

    ISO 8601 (with or without zone; without one it is UTC), epoch seconds or milliseconds, US
    dates (month first, as Mailchimp and HubSpot write them) and RFC 2822 dates are read.
    """
    text = value.strip()
    if text.isdigit():
        seconds = int(text) / (1000 if len(text) >= 12 else 1)
        try:
            when = datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{text[:40]!r} is not a date and time") from None
    else:
        when = _parse_text(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_text(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{text[:40]!r} is not a date and time") from None
