"""A template's audience: whom it is written for, read from its header, and whether a contact fits.

    follows: demo_attended(variance|flux|consolidation)   the activity it follows up, with the
                                                          topics/assets (sub-kinds) its words name
    stages: lead, trial                                   lifecycle stages (crm.stages)
    within: 30 days                                       the activity at most 30 days old
    within: 7 days ahead                                  a scheduled activity (a trial's end)
                                                          not passed and at most 7 days ahead

`follows` lists activity types (crm.activities) separated by commas or `|`; a type may carry its
sub-kinds in parentheses, words the activity's detail must contain (a prefix of a word: `entit`
matches "entities"). `stages` is a subset of lead, trial, customer, churned, or `any`. A template
without these lines takes any contact that has its required fields, as before audiences existed.

`fit` says, for one contact, whether it fits and, when not, the first reason in this order: no
matching activity, lifecycle stage, too old / not yet, missing field. Routing (generation.routing)
picks, among the templates a contact fits, the one whose activity is the newest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

from brandvoice.crm.stages import STAGES, UNKNOWN, StageReading
from brandvoice.errors import TemplateError

AUDIENCE_KEYS = ("follows", "stages", "within")
_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")
_WITHIN = re.compile(r"^(\d{1,4})\s*(day|days|week|weeks|d|w)(\s+ahead)?$", re.IGNORECASE)
_ITEM = re.compile(r"([a-z][a-z0-9_]*)\s*(?:\(([^()]*)\))?", re.IGNORECASE)

# Reasons a contact gets no template, as the plan names them (and their order of closeness).
REASONS = {
    "opted_out": "opted out",
    "no_activity": "no matching activity",
    "customer": "already a customer",
    "stage": "lifecycle stage not in the audience",
    "unknown_stage": "lifecycle stage not recognised",
    "too_old": "too old",
    "not_yet": "not due yet",
    "missing_field": "missing field",
    "excluded": "excluded by the marketer",
}
STEP = {"no_activity": 1, "customer": 2, "stage": 2, "unknown_stage": 2, "too_old": 3,
        "not_yet": 3, "missing_field": 4}


@dataclass(frozen=True)
class Follow:
    """One activity type a template follows up, and the sub-kinds (detail words) it must name."""

    type: str
    subkinds: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern | None:
        return _subkind_re(self.subkinds) if self.subkinds else None

    def label(self) -> str:
        return self.type + (f"({'|'.join(self.subkinds)})" if self.subkinds else "")


@lru_cache(maxsize=256)
def _subkind_re(subkinds: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(re.escape(s) for s in subkinds) + ")", re.IGNORECASE)


@dataclass(frozen=True)
class Audience:
    """Whom a template is for; empty fields mean "any"."""

    follows: tuple[Follow, ...] = ()
    stages: tuple[str, ...] = ()
    within_days: int | None = None
    ahead: bool = False  # the activity is scheduled (a trial's end): it must not have passed

    @property
    def empty(self) -> bool:
        return not (self.follows or self.stages or self.within_days is not None)

    def describe(self) -> str:
        """One line for a plan or a template list."""
        parts = []
        if self.follows:
            parts.append("follows " + ", ".join(f.label() for f in self.follows))
        if self.stages:
            parts.append("stages " + ", ".join(self.stages))
        if self.within_days is not None:
            parts.append(f"within {self.within_days} days{' ahead' if self.ahead else ''}")
        return "; ".join(parts) or "any contact"


@dataclass
class Fit:
    """Whether one contact fits one template; the matched activity, or the reason it does not."""

    ok: bool
    reason: str | None = None  # a key of REASONS
    detail: str = ""
    activity: dict | None = None
    when: datetime | None = field(default=None, repr=False)


def _error(label: str, line: int, message: str, hint: str) -> TemplateError:
    return TemplateError(f"Template {label} line {line}: {message}", template=label, line=line,
                         hint=hint)


def parse_audience(meta: dict[str, str], lines: dict[str, int], label: str,
                   known_types: frozenset[str]) -> Audience:
    """The audience from a header's follows/stages/within lines; TemplateError names the line."""
    follows: list[Follow] = []
    text = meta.get("follows", "").strip()
    if text and text.lower() not in ("any", "anything"):
        hint = ("Activity types: " + ", ".join(sorted(known_types)) + "; sub-kinds go in "
                "parentheses: demo_attended(flux|variance).")
        for item in _items(text):
            m = _ITEM.fullmatch(item)
            name = m.group(1).lower() if m else item
            if m is None or name not in known_types:
                raise _error(label, lines.get("follows", 1),
                             f"follows names an unknown activity type {name!r}.", hint)
            words = tuple(w.strip().lower() for w in re.split(r"[|,]", m.group(2) or "")
                          if w.strip())
            if m.group(2) is not None and not words:
                raise _error(label, lines.get("follows", 1), f"follows {name}() lists no sub-kind.",
                             "Name words its detail holds, e.g. content_download(pricing guide).")
            follows.append(Follow(name, words))
    stages: tuple[str, ...] = ()
    text = meta.get("stages", "").strip()
    if text and text.lower() != "any":
        stages = tuple(dict.fromkeys(s.strip().lower() for s in re.split(r"[,\s]+", text) if s.strip()))
        bad = [s for s in stages if s not in STAGES]
        if bad:
            raise _error(label, lines["stages"], f"stages has {', '.join(map(repr, bad))}.",
                         f"Use any of {', '.join(STAGES)} (or 'any').")
    within, ahead = None, False
    text = meta.get("within", "").strip()
    if text:
        m = _WITHIN.match(text)
        if not m or int(m.group(1)) == 0:
            raise _error(label, lines["within"], f"within {text!r} is not a window.",
                         "Write e.g. 'within: 30 days', 'within: 2 weeks' or, for a scheduled "
                         "activity such as a trial's end, 'within: 7 days ahead'.")
        within = int(m.group(1)) * (7 if m.group(2).lower().startswith("w") else 1)
        ahead = bool(m.group(3))
        if not follows:
            raise _error(label, lines["within"], "within needs a follows line: the window is "
                         "counted from the activity it follows up.",
                         "Add e.g. 'follows: content_download'.")
    return Audience(tuple(follows), stages, within, ahead)


def _items(text: str) -> list[str]:
    """The items of a follows line: split at commas and bars outside parentheses."""
    items, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch in ",|" and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    items.append(cur.strip())
    return [i for i in items if i]


@lru_cache(maxsize=65536)
def timestamp(text: str) -> datetime | None:
    """An activity's snapshot timestamp (ISO 8601 UTC) as a datetime; cached, they repeat."""
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except (TypeError, ValueError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def by_type(contact: dict) -> dict[str, list[dict]]:
    """A contact's activities by type, newest first (routing builds it once per contact)."""
    out: dict[str, list[dict]] = {}
    for act in contact.get("activities") or []:
        if isinstance(act, dict):
            out.setdefault(str(act.get("type")), []).append(act)
    return out


def matching_activity(audience: Audience, contact: dict,
                      index: dict[str, list[dict]] | None = None) -> dict | None:
    """The newest activity of the contact that the audience follows (type and sub-kinds)."""
    index = by_type(contact) if index is None else index
    best = None
    for f in audience.follows:
        pattern = f.pattern
        for act in index.get(f.type, ()):  # newest first
            if pattern is None or pattern.search(str(act.get("detail") or "")):
                if best is None or str(act.get("timestamp")) > str(best.get("timestamp")):
                    best = act
                break
    return best


def _stage_fit(audience: Audience, stage: StageReading) -> Fit | None:
    if not audience.stages or stage.stage in audience.stages:
        return None
    if stage.stage == UNKNOWN:
        return Fit(False, "unknown_stage", f"lifecycle stage not recognised ({stage.source})")
    reason = "customer" if stage.stage == "customer" else "stage"
    return Fit(False, reason, f"{stage.stage} ({stage.source}); the template is for "
               f"{', '.join(audience.stages)}")


def _window_fit(audience: Audience, act: dict, when: datetime | None, now: datetime) -> Fit | None:
    if audience.within_days is None:
        return None
    what = f"{act.get('type', 'activity').replace('_', ' ')} on {when:%Y-%m-%d}" if when else ""
    if when is None:
        return Fit(False, "too_old", "the activity has no readable date", act)
    days = (now - when).total_seconds() / 86400
    if audience.ahead:
        if days > 0:
            return Fit(False, "too_old", f"{what} has passed ({_days(days)} ago)", act, when)
        if -days > audience.within_days:
            return Fit(False, "not_yet", f"{what} is {_days(-days)} ahead (window "
                       f"{audience.within_days} days)", act, when)
        return None
    if days < 0:
        return Fit(False, "not_yet", f"{what} has not happened yet", act, when)
    if days > audience.within_days:
        return Fit(False, "too_old", f"{what}, {_days(days)} ago (window {audience.within_days} "
                   "days)", act, when)
    return None


def _days(days: float) -> str:
    n = int(days) if days >= 1 else 0
    return "today" if n == 0 else f"{n} day{'s' if n != 1 else ''}"


@lru_cache(maxsize=256)
def _kinds(follows: tuple[Follow, ...]) -> str:
    return ", ".join(f.label() for f in follows)


def fit(audience: Audience, contact: dict, stage: StageReading, now: datetime,
        missing: list[str] | None = None, index: dict[str, list[dict]] | None = None) -> Fit:
    """Whether the contact fits the audience (and has the template's `missing` fields);
    `index` is the contact's activities by type, when the caller has it."""
    act = when = None
    if audience.follows:
        act = matching_activity(audience, contact, index)
        if act is None:
            return Fit(False, "no_activity", f"no {_kinds(audience.follows)} in the activity log")
        when = timestamp(str(act.get("timestamp") or ""))
    bad = _stage_fit(audience, stage)
    if bad is None and act is not None:
        bad = _window_fit(audience, act, when, now)
    if bad is None and missing:
        bad = Fit(False, "missing_field", "missing " + ", ".join(missing), act, when)
    if bad is not None:
        bad.activity, bad.when = bad.activity or act, bad.when or when
        return bad
    return Fit(True, None, "", act, when)
