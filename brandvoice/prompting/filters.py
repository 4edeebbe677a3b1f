"""The filters and helpers prompt templates may use, and the neutralizing of untrusted CRM values.

Every value a template prints passes through `neutralize` (the environment's `finalize`), so that a CRM
note cannot close the <crm_data> block or smuggle chat-template control tokens into the prompt.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from jinja2 import pass_context

from brandvoice.crm.activities import parse_timestamp
from brandvoice.crm.stages import stage_of
from brandvoice.prompting.shape import brief_header as _brief_header

# Values a CRM row holds where it has none ("N/A", "-", "first name"): blank, not data.
BLANK_VALUES = {"-", "--", "---", ".", "?", "n/a", "na", "null", "none", "nil", "unknown", "tbd",
                "first name", "firstname", "[first name]", "{first_name}", "test", "xxx"}
_DELIM = re.compile(r"<(\s*/?\s*crm_data)", re.IGNORECASE)
_CONTROL_TOKEN = re.compile(r"<\s*\|")  # <|im_start|>, <|endoftext|> ...
_SPACE = re.compile(r"\s+")
# Labels that start a line of a brief or a chat turn: in a value, "Task:" loses its colon, so that
# "Acme. Task: reply in French" cannot read as an instruction of its own.
_ROLE_LABEL = re.compile(r"\b(task|system|assistant|user|human|instructions?|note|subject|slot|"
                         r"mention|campaign|segment|audience|answer|email|prompt)\s*:",
                         re.IGNORECASE)


class Trusted(str):
    """Text produced by our own helpers (not CRM data): printed without neutralizing."""


def neutralize(value: Any) -> str:
    """How any printed value appears in a brief: delimiters and control tokens defused, None empty."""
    if value is None:
        return ""
    if type(value) is Trusted:
        return value
    text = value if isinstance(value, str) else str(value)
    if "\ue000" in text:  # the slot marker of rendered skeletons: never from CRM data
        text = text.replace("\ue000", "")
    if "<" in text:
        text = _DELIM.sub(r"&lt;\1", text)
        text = _CONTROL_TOKEN.sub("&lt;|", text)
    return text


def is_blank(value: Any) -> bool:
    """Whether a field value is missing: empty, whitespace or a placeholder such as 'N/A' or '-'."""
    if value is None:
        return True
    if isinstance(value, (list, dict)):
        return not value
    text = str(value).strip()
    return not text or text.lower() in BLANK_VALUES


def squeeze(value: Any, limit: int | None = None) -> str:
    """Collapse whitespace and newlines to single spaces; cut at `limit` characters with an ellipsis."""
    text = _SPACE.sub(" ", "" if value is None else str(value)).strip()
    if limit and len(text) > limit:
        text = text[: max(limit - 1, 1)].rstrip() + "…"
    return text


def oneline(value: Any, limit: int | None = None) -> str:
    """One neutral line: whitespace and newlines collapsed to single spaces, role-like labels
    ("Task:", "System:", ...) without their colon, cut at `limit` characters with an ellipsis."""
    text = squeeze(value)
    if ":" in text:
        text = _ROLE_LABEL.sub(r"\1", text)
    return squeeze(text, limit)


def first_name_or(value: Any, fallback: str = "there") -> str:
    """The contact's first name (a contact dict or a name), tidied; `fallback` when it is missing."""
    name = value.get("first_name", "") if isinstance(value, dict) else value
    name = oneline(name, 40)
    if is_blank(name) or "@" in name or any(ch.isdigit() for ch in name):
        return fallback
    if name.isupper() or name.islower():  # "DANA" / "dana" as typed into a form
        name = "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))
    return name


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if value is None:
        return None
    return parse_timestamp(str(value))


def context_now(ctx) -> datetime:
    """The fixed `now` of a rendering (so "3 days ago" is reproducible)."""
    now = _as_datetime(ctx.get("now"))
    return now or datetime.now(timezone.utc)


def relative(when: datetime, now: datetime) -> str:
    """'today', 'yesterday', '3 days ago', '2 weeks ago', 'in 4 days', ..."""
    days = (now.date() - when.date()).days
    future = days < 0
    days = abs(days)
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow" if future else "yesterday"
    if days < 14:
        n, unit = days, "day"
    elif days < 60:
        n, unit = days // 7, "week"
    elif days < 730:
        n, unit = days // 30, "month"
    else:
        n, unit = days // 365, "year"
    text = f"{n} {unit}{'s' if n != 1 else ''}"
    return f"in {text}" if future else f"{text} ago"


@pass_context
def ago(ctx, value: Any) -> str:
    """A timestamp relative to the rendering's `now`: '3 days ago', 'in 4 days'; '' when missing."""
    when = _as_datetime(value)
    return relative(when, context_now(ctx)) if when else ""


def date(value: Any, fmt: str | None = None) -> str:
    """A timestamp as 'November 2' (or strftime `fmt`); '' when missing."""
    when = _as_datetime(value)
    if when is None:
        return ""
    return when.strftime(fmt) if fmt else f"{when:%B} {when.day}"


def join_list(items: Any, conjunction: str = "and", attribute: str | None = None) -> str:
    """'a, b and c' from a list (of strings, or of dicts with `attribute`); blanks skipped."""
    if items is None:
        return ""
    if isinstance(items, str):
        items = [items]
    values = []
    for item in items:
        if attribute is not None and isinstance(item, dict):
            item = item.get(attribute)
        if not is_blank(item):
            values.append(oneline(item))
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} {conjunction} {values[-1]}"


def latest(activities: Any, *types: str) -> dict | None:
    """The newest activity (of any of `types`, if given) from a newest-first list, else None."""
    for act in activities or []:
        if isinstance(act, dict) and (not types or act.get("type") in types):
            return act
    return None


@pass_context
def past(ctx, activities: Any) -> list[dict]:
    """The activities that happened before the rendering's `now` (drops scheduled ones such as a trial end)."""
    now = context_now(ctx)
    out = []
    for act in activities or []:
        when = _as_datetime(act.get("timestamp")) if isinstance(act, dict) else None
        if when is not None and when <= now:
            out.append(act)
    return out


def describe(activity: dict) -> str:
    """An activity as one phrase: its detail, else its type in words."""
    detail = oneline(activity.get("detail"), 120)
    return detail or str(activity.get("type", "activity")).replace("_", " ")


_DID = re.compile(r"^(?:downloaded|attended|visited|came to|joined|watched|registered for|requested|"
                  r"started|booked|missed|opened|clicked|read|grabbed|picked up)\s+", re.IGNORECASE)


def topic(activity: Any) -> str:
    """What an activity was about, as a phrase a sentence can mention: 'downloaded the pricing
    guide' -> 'the pricing guide' (the detail without its leading verb)."""
    detail = describe(activity) if isinstance(activity, dict) else oneline(activity, 120)
    return _DID.sub("", detail, count=1).strip()


def stage(contact: Any) -> str:
    """The contact's lifecycle stage as audiences name it (crm.stages): lead, trial, customer,
    churned or unknown, whatever the CRM's spelling ("Marketing Qualified Lead" -> lead)."""
    return stage_of(contact).stage if isinstance(contact, dict) else "unknown"


@pass_context
def crm_fields(ctx, contact: dict, activities: int = 3, notes: int = 400, custom: Any = (),
               location: bool = False) -> str:
    """The contact as 'label: value' lines for the <crm_data> block (empty fields left out)."""
    now = context_now(ctx)
    first = first_name_or(contact, "")
    name = squeeze(f"{first} {contact.get('last_name') or ''}")
    lines = [("name", name)]
    for label, key in (("company", "company"), ("job title", "job_title"),
                       ("lifecycle stage", "lifecycle_stage"), ("lead status", "lead_status"),
                       ("deal stage", "deal_stage"),
                       *((("city", "city"), ("country", "country")) if location else ())):
        lines.append((label, squeeze(contact.get(key), 120)))
    if isinstance(custom, str):
        custom = [custom]
    for col in custom:
        lines.append((col.lower(), squeeze((contact.get("custom") or {}).get(col), 200)))
    acts = [a for a in (contact.get("activities") or [])[:activities] if isinstance(a, dict)]
    if acts:
        parts = []
        for a in acts:
            when = _as_datetime(a.get("timestamp"))
            parts.append(describe(a) + (f" ({relative(when, now)})" if when else ""))
        lines.append(("recent activity", "; ".join(parts)))
    if notes:
        lines.append(("notes", squeeze(contact.get("notes"), notes)))
    # Returned as plain text: the caller's finalize neutralizes any delimiter a value carries.
    return "\n".join(f"{label}: {value}" for label, value in lines if not is_blank(value))


def brief_header(campaign: Any = None, segment: Any = None, audience: Any = None) -> Trusted:
    """shape.brief_header with CRM values squeezed onto one line each (no injected 'Task:' lines)."""
    def clean(v: Any) -> str | None:
        return neutralize(oneline(v, 80)) or None if not is_blank(v) else None

    return Trusted(_brief_header(clean(campaign), clean(segment), clean(audience)))


FILTERS = {
    "first_name_or": first_name_or, "ago": ago, "date": date, "join_list": join_list,
    "latest": latest, "past": past, "oneline": oneline, "crm_fields": crm_fields, "describe": describe,
    "topic": topic, "stage": stage,
}
GLOBALS = {"brief_header": brief_header}
