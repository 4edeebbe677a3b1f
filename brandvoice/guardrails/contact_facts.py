"""Contact facts: does what a draft says about the contact agree with the contact's record?

A slot draft is mostly the marketer's own text, and that text can meet the wrong contact: a demo
recap naming features the contact's demo did not cover, a tasting "in your kitchen" after a
tasting call, a walkthrough offered to a customer, "yesterday" for a download three weeks old.
No model text is there to doubt, so the other checks pass such drafts. This one reads the whole
draft against the CRM row and its activities (newest first, as the snapshot holds them):

- stage: a customer addressed as a prospect, or a lead as a customer (the policy's phrases;
  the stage is crm.stages', whatever the CRM's spelling);
- activity: an activity spoken of that the record does not hold as said: a visit in person
  when the record holds a call or a webinar (and the other way round), a thing thanked for that
  the activity's detail does not name, a demo topic (the policy's [contact] topics) the demo's
  record does not name;
- recency: a time word ("just", "yesterday", "last week") that the activity's date contradicts,
  and a thanks for an activity months old as if it were new (a warning);
- trial_date: a trial end date that is not the one on record.

A date spoken of as ahead that has passed is the quality check's `dates` rule. `now` is the
day the draft is for (a campaign's send day); None: the time of the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from brandvoice.crm.stages import stage_of
from brandvoice.guardrails.text import sentences
from brandvoice.guardrails.verdict import CheckResult

CHECK = "contact"
STALE_DAYS = 60  # a thanks for an activity older than this reads as if it were new
REMOTE = re.compile(r"\b(?:call|phone|online|virtual|webinar|zoom|video|remote)\b", re.I)
IN_PERSON_ACT = re.compile(r"\b(?:booth|office tasting|in person|roastery|visit|on site|onsite|"
                           r"in[- ]office|kitchen|floor|meetup|summit|expo|fest)\b", re.I)
IN_PERSON_TEXT = re.compile(r"\b(?:take over your kitchen|in your kitchen|stopp(?:ing|ed) by|"
                            r"com(?:ing|e) by|came by|at (?:our|the) booth|in your office|"
                            r"in person|face to face)\b", re.I)
REMOTE_TEXT = re.compile(r"\b(?:(?:our|the|that|your) (?:\w+ )?call|on the call|phone call|"
                         r"video call|tuning in|logging on|online class|the recording|the replay|"
                         r"the slides|we walked through)\b", re.I)
# What a sentence is about, by the words that name an activity, and the activity types they mean.
KINDS = {
    "content_download": re.compile(r"\b(?:download\w*|grabb\w*|e-?book|guide|checklist|"
                                   r"cheat sheet|white ?paper)\b", re.I),
    "demo_attended": re.compile(r"\b(?:demo|tasting|walkthrough)\b", re.I),
    "webinar_attended": re.compile(r"\b(?:webinar|class|session|joining|joined)\b", re.I),
    "event_attended": re.compile(r"\b(?:event|booth|expo|summit|fest|night|coming by|stopp\w+ by|"
                                 r"came by|came to|coming to)\b", re.I),
    "meeting_no_show": re.compile(r"\b(?:missed|slipped|no-show)\b", re.I),
    "trial_ending": re.compile(r"\btrial\b", re.I),
}
# An email that tells the contact what their demo showed.
RECAP = re.compile(r"\b(?:recap|the demo|your demo|in the demo|we showed|you saw)\b", re.I)
THANKS = re.compile(r"\b(?:thanks|thank you) for (?:(?:just |making time for |joining |coming to |"
                    r"stopping by |coming by |hopping on )|(?:downloading|grabbing|reading) )"
                    r"(?P<obj>[^.!?\n]*)", re.I)
RECENCY = {  # word -> (min days, max days) the activity may be old
    r"\bjust\s+(?:\w+\s+){0,2}?(?:downloaded|grabbed|joined|attended|came|visited|signed|started|"
    r"had|wrapped|finished|missed|booked)\b": (0, 3),
    r"\bthis morning\b|\bearlier today\b": (0, 1),
    r"\byesterday\b": (0.5, 2.5),
    r"\bthe other day\b|\ba few days ago\b|\bthis week\b": (0, 8),
    r"\blast week\b": (3, 15),
    r"\brecently\b|\bnew download\b": (0, 31),
}
_RECENCY = [(re.compile(p, re.I), span) for p, span in RECENCY.items()]
_MONTHS = {m: i + 1 for i, m in enumerate(("january", "february", "march", "april", "may", "june",
                                          "july", "august", "september", "october", "november",
                                          "december"))}
_DATE = re.compile(r"\b(" + "|".join(_MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)"
                   r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b", re.I)
_PARAGRAPH = re.compile(r"\n\s*\n")
_STOP = frozenset("the a an our your my this that these those to of for and with at on in by us "
                  "you we it its from new".split())


@dataclass
class ContactPolicy:
    """The policy's [contact] table: phrases that address a prospect or a customer, demo topics."""

    prospect: re.Pattern | None
    customer: re.Pattern | None
    topics: list[tuple[str, re.Pattern]]
    severity: str = "fail"

    @classmethod
    def of(cls, table: dict) -> ContactPolicy:
        def rx(phrases: list[str]) -> re.Pattern | None:
            return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + ")", re.I) \
                if phrases else None

        topics = []
        for t in table.get("topics", []):
            ws = [w.strip() for w in t.split("|") if w.strip()]
            if ws:
                topics.append((ws[0], rx(ws)))
        return cls(rx(table.get("prospect_phrases", [])), rx(table.get("customer_phrases", [])),
                   topics, table.get("severity", "fail"))


@lru_cache(maxsize=4096)
def _when(text: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except (TypeError, ValueError):
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _acts(contact: dict) -> list[dict]:
    return [a for a in contact.get("activities") or [] if isinstance(a, dict)]


def _latest(acts: list[dict], *types: str) -> dict | None:
    return next((a for a in acts if a.get("type") in types), None)


def _content(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower()) if w not in _STOP and len(w) > 2]


def _subject_of(sentence: str, acts: list[dict]) -> dict | None:
    """The activity a sentence speaks of: the newest one of a kind its words name."""
    for a in acts:
        pattern = KINDS.get(a.get("type"))
        if pattern is not None and pattern.search(sentence):
            return a
    return None


def _days(act: dict, now: datetime) -> float | None:
    when = _when(str(act.get("timestamp") or ""))
    return None if when is None else (now - when).total_seconds() / 86400


def _stage(text: str, contact: dict, pol: ContactPolicy) -> list[str]:
    stage = stage_of(contact).stage
    out = []
    if stage in ("customer",) and pol.prospect is not None:
        out += [f"addresses a customer as a prospect (“{m.group(0)}”; {stage_of(contact).source})"
                for m in [pol.prospect.search(text)] if m]
    if stage == "lead" and pol.customer is not None:
        out += [f"addresses a lead as a customer (“{m.group(0)}”; {stage_of(contact).source})"
                for m in [pol.customer.search(text)] if m]
    return out


def _presence(paragraphs: list[str], acts: list[dict]) -> list[str]:
    """A visit in person said of a call or a webinar, or a call said of a visit (read by
    paragraph: "That was a fun tasting. Thanks for letting us take over your kitchen.")."""
    out = []
    for s in paragraphs:
        act = _subject_of(s, acts) or _latest(acts, "demo_attended", "event_attended",
                                               "webinar_attended", "meeting_no_show")
        if act is None:
            continue
        detail = str(act.get("detail") or "")
        remote = act.get("type") == "webinar_attended" or bool(REMOTE.search(detail))
        in_person = act.get("type") == "event_attended" or bool(IN_PERSON_ACT.search(detail))
        m = IN_PERSON_TEXT.search(s)
        if m and remote and not in_person:
            out.append(f"speaks of a visit in person (“{m.group(0)}”), but the record holds "
                       f"“{detail or act.get('type')}”")
        m = REMOTE_TEXT.search(s)
        if m and in_person and not remote:
            out.append(f"speaks of a call or an online session (“{m.group(0)}”), but the record holds "
                       f"“{detail or act.get('type')}”")
    return out


def _named(sents: list[str], acts: list[dict]) -> list[str]:
    """A thanks for something the activity's detail does not name."""
    out = []
    for s in sents:
        m = THANKS.search(s)
        if not m:
            continue
        obj = _content(re.split(r"[,;:—–(]| and | so | to see | if ", m.group("obj"))[0])
        act = _subject_of(s, acts)
        if not obj or act is None:
            continue
        detail = set(_content(str(act.get("detail") or "")))
        missing = [w for w in obj if w not in detail and w.rstrip("s") not in detail]
        if len(missing) * 2 > len(obj):
            out.append(f"thanks them for “{m.group('obj').strip()[:60]}”, which their "
                       f"{act.get('type', '').replace('_', ' ')} record does not name "
                       f"(“{act.get('detail')}”)")
    return out


def _topics(text: str, acts: list[dict], pol: ContactPolicy) -> list[str]:
    """Demo topics named in an email about the demo that the demo's record does not name."""
    demo = _latest(acts, "demo_attended")
    if demo is None or not pol.topics or not RECAP.search(text):
        return []
    detail = str(demo.get("detail") or "")
    return [f"names {name} (“{m.group(0)}”), which the demo's record does not (“{detail}”)"
            for name, rx in pol.topics for m in [rx.search(text)] if m and not rx.search(detail)]


def _recency(sents: list[str], acts: list[dict], now: datetime) -> tuple[list[str], list[str]]:
    """Time words the activity's date contradicts (fail), and stale thanks (warn)."""
    bad, stale = [], []
    for s in sents:
        act = _subject_of(s, acts)
        days = _days(act, now) if act else None
        if days is None:
            continue
        for rx, (lo, hi) in _RECENCY:
            m = rx.search(s)
            if m and not lo <= days <= hi:
                bad.append(f"says “{m.group(0)}” of a {act.get('type', '').replace('_', ' ')} "
                           f"{int(days)} days before the send day ({str(act.get('timestamp'))[:10]})")
        if THANKS.search(s) and act.get("type") != "trial_ending" and days > STALE_DAYS:
            stale.append(f"thanks them for a {act.get('type', '').replace('_', ' ')} "
                         f"{int(days)} days old as if it were new ({str(act.get('timestamp'))[:10]})")
    return bad, stale


def _trial_date(sents: list[str], acts: list[dict]) -> list[str]:
    trial = _latest(acts, "trial_ending")
    when = _when(str(trial.get("timestamp") or "")) if trial else None
    out = []
    for s in sents:
        if not KINDS["trial_ending"].search(s):
            continue
        for m in _DATE.finditer(s):
            month = _MONTHS.get(m.group(1).lower()) or next(
                v for k, v in _MONTHS.items() if k.startswith(m.group(1).lower()[:3]))
            if when is None:
                out.append(f"gives the trial a date ({m.group(0)}) the record does not hold")
            elif (month, int(m.group(2))) != (when.month, when.day):
                out.append(f"gives the trial's end as {m.group(0)}, the record says {when:%B} "
                           f"{when.day}")
    return out


def check(subject: str, body: str, contact: dict, policy: ContactPolicy, *,
          now: datetime | None = None) -> list[CheckResult]:
    """The contact-fact results of one draft: stage, activity, recency, trial_date."""
    now = now or datetime.now(timezone.utc)
    text = f"{subject}\n\n{body}"
    sents = sentences(text)
    acts = _acts(contact)
    stale_bad, stale_warn = _recency(sents, acts, now)
    rules = [
        ("stage", _stage(text, contact, policy), "Speaks to the contact's lifecycle stage.",
         policy.severity),
        ("activity", _presence(_PARAGRAPH.split(text), acts) + _named(sents, acts)
         + _topics(text, acts, policy),
         "Says of their activities only what the record holds.", policy.severity),
        ("recency", stale_bad, "No time word the activity's date contradicts.", policy.severity),
        ("stale", stale_warn, "No thanks for an old activity as if it were new.", "warn"),
        ("trial_date", _trial_date(sents, acts), "The trial's date is the one on record.",
         policy.severity),
    ]
    out = []
    for rule, problems, ok, status in rules:
        problems = list(dict.fromkeys(problems))
        if problems:
            out.append(CheckResult(CHECK, rule, status, "; ".join(problems)[:400],
                                   details={"problems": problems}))
        else:
            out.append(CheckResult(CHECK, rule, "pass", ok))
    return out
