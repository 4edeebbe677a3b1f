"""Slot checks: may a model-written slot candidate enter a draft? Its word limit, the mention it
must make, the shape of the brand's own lines of its kind, no near-copy with words swapped, no time
words the CRM row does not hold, and the draft-level quality rules on its text
(`brandvoice.guardrails.quality`). Each problem is a short plain phrase; the generation loop keeps
the passing candidate the others agree with most, else the marketer's fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import brandvoice.guardrails.quality as rules  # its thresholds are read at call time
from brandvoice.guardrails.quality import (
    foreign_names,
    loops,
    new_names,
    subject_problems,
    unbalanced,
    unknown_share,
)
from brandvoice.guardrails.text import sentences
from brandvoice.prompting import find_placeholders, is_signoff, opens_with_salutation

# How close a slot candidate must stand to one of the brand's own sentences of the same kind (the
# mention written as one token; rapidfuzz token_sort_ratio / 100). The 135M model's candidates
# below it were mostly odd ("The 2026 pricing guide has been a while."); calibrated on the
# labelled slots in bench/calibrate.py.
MIN_SLOT_SHAPE = 0.8
# A candidate this close to a brand line, without being it, is that line with words swapped:
# "we will bring your controller into the next call" became "... your close into ...". Either the
# brand's line exactly (with the contact's mention) or a line of the model's own.
NEAR_COPY = 0.9
# Sentences a slot may hold: an opening is one thought; a closing ask may be the brand's short
# question-and-answer ("Questions about pricing or contracts? Reply here. A person answers.").
MAX_SENTENCES = {"opening": 2, "ask": 3}
# Time words state a fact about when (a demo "this morning", a trial ending "on Friday") that no
# CRM row in this project carries in words: a slot may not say them; the skeleton prints dates.
_WHEN = re.compile(
    r"\b(?:today|tonight|yesterday|tomorrow|this (?:morning|afternoon|evening|week|month)|"
    r"last (?:week|month|night|year|quarter)|next (?:week|month)|(?:on |this |next |last )?"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|(?:\d+|a|one|two|three|four|"
    r"five|six|seven|ten|fourteen)[ -](?:days?|weeks?|months?|hours?) (?:left|ago|to go|remaining))\b",
    re.IGNORECASE)


# "your <word>": the reader's things a slot speaks of. A line that gives the reader a "content plan"
# or "latest updates" nobody mentioned does not follow from the brief: the word after "your" must
# stand after "your" in the email itself, the brand's own emails or the contact's record.
_YOUR = re.compile(r"\byour\s+(?:own\s+|very\s+)?([a-z][a-z'’-]+)", re.IGNORECASE)


# Premises: a slot that says the contact asked, said or met something states a fact about them.
# Each kind of premise needs one of its words in the CRM row or in the email around the slot
# ("Setup time and cost, as asked" to a contact who asked nothing; "Good talking with you" after
# a download). Words as lower-case tokens; the premise phrases match whole words.
PREMISES: dict[str, tuple[re.Pattern, frozenset[str]]] = {
    "asked": (re.compile(r"\b(?:you asked|as (?:you )?asked|as requested|you requested|your "
                         r"questions?|you wanted to know|you were curious)\b", re.IGNORECASE),
              frozenset({"asked", "asks", "question", "questions", "requested", "request"})),
    "said": (re.compile(r"\b(?:you mentioned|you told us|you said|as (?:we )?discussed|we "
                        r"discussed|as promised|we promised)\b", re.IGNORECASE),
             frozenset({"mentioned", "discussed", "promised", "notes", "said"})),
    "met": (re.compile(r"\b(?:(?:good|great|nice|lovely) (?:talking|chatting|speaking|meeting)|"
                       r"thanks for (?:the|your) (?:time|call|chat)|(?:our|your|the) (?:call|chat|"
                       r"conversation)|we (?:met|spoke|talked|chatted))\b", re.IGNORECASE),
            frozenset({"call", "meeting", "demo", "met", "talked", "spoke", "tasting", "chat",
                       "conversation", "walkthrough"})),
}


def premise(text: str, backing: set[str]) -> str | None:
    """The first premise about the contact in `text` that nothing in `backing` (the words of the
    CRM row and of the email around the slot) supports."""
    for pattern, needs in PREMISES.values():
        m = pattern.search(text)
        if m and not (needs & backing):
            return m.group(0)
    return None


def your_words(*texts: str) -> set[str]:
    """The words that follow "your" in these texts (lower case): what the reader may be said to
    have."""
    return {m.group(1).lower().rstrip("'’") for t in texts if t for m in _YOUR.finditer(t)}


# What every reader has, whatever the brief: "your team", "your inbox", "your calendar".
EVERYONE_HAS = frozenset({"team", "time", "inbox", "calendar", "schedule", "colleagues",
                          "thoughts", "feedback", "name", "email", "day", "week", "way"})


def ungrounded(text: str, grounded: set[str]) -> list[str]:
    """The "your X" phrases of a slot whose X no text behind the draft speaks of."""
    return [m.group(0) for m in _YOUR.finditer(text)
            if m.group(1).lower().rstrip("'’") not in grounded | EVERYONE_HAS]


# Words that say nothing of what an email is about: function words and the words every follow-up
# uses to thank, ask and offer. What is left of a line are its topic words.
_PLAIN = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its just me more most my no nor not now
of off on once only or other our ours out over own same she should so some such than that the their
them then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your yours yourself us let lets get got make
made one ones thing things way ways lot lots much many well still even ever really quite
thanks thank hope glad happy great good nice want wanted like love need know see seen look looking
reply write hear back send sent share time times day days week weeks next last first new help
question questions note quick just sure free happy please let us team crew folks everyone
spend spending spent part come coming came join joining joined stop stopping stopped bring bringing
brought visit visiting visited take taking took give giving gave keep keeping hold around
""".split())
_TOPIC = re.compile(r"[a-z][a-z'’-]{2,}")
# A slot must follow from the email around it: at least this share of its topic words must stand in
# the email (the template's text and fallbacks), the contact's record or what it must mention.
# "A world at war is a world of change." beside a follow-up of an open day shares none; "About the
# meadow walk" (another event) shares half; "Thanks for coming out to the open day on Saturday."
# two thirds.
MIN_GROUNDED = 0.6


def _stem(word: str) -> str:
    w = word.strip("'’-").lower()
    for end in ("ing", "ies", "ed", "es", "s"):
        if len(w) > len(end) + 3 and w.endswith(end):
            return w[: -len(end)] + ("y" if end == "ies" else "")
    return w


def topic_words(text: str) -> set[str]:
    """The stems of the words that say what a text is about (function and courtesy words left out)."""
    return {_stem(w) for w in _TOPIC.findall(text.lower()) if w not in _PLAIN and
            _stem(w) not in _PLAIN}


def grounded_share(text: str, *behind: str) -> tuple[float, set[str]]:
    """(the share of a text's topic words found in the texts `behind` it, the ones that are not)."""
    topics = topic_words(text)
    if not topics:
        return 1.0, set()
    known = set().union(*(topic_words(b) for b in behind if b))
    loose = topics - known
    return 1 - len(loose) / len(topics), loose


def mentions(text: str, mention: str) -> bool:
    """Whether a text names `mention` (case, quotes and a leading article ignored)."""
    def norm(s: str) -> str:
        s = re.sub(r"[\"“”'’]", "", s.lower())
        s = re.sub(r"^(?:the|our|your|a|an)\s+", "", s.strip())
        return " ".join(s.split())

    core = norm(mention)
    if not core:
        return True
    text_n = " " + norm(re.sub(r"[^\w\s\"“”'’-]", " ", text)) + " "
    # "the e-book "The 5-Day Close"" named by its quoted title, "the pricing guide (multi-entity)"
    # without its qualifier: both still name what the contact downloaded
    names = [core, norm(re.sub(r"\s*\([^)]*\)", "", mention))]
    names += [norm(q) for q in re.findall(r"[\"“]([^\"”]{3,})[\"”]", mention)]
    return any(n and f" {n} " in text_n for n in names)


@dataclass
class SlotFacts:
    """What a slot candidate may name: words known for the contact and the brand."""

    known_words: set[str] = field(default_factory=set)
    contact_words: set[str] = field(default_factory=set)  # what the CRM row itself says
    own_text: str = ""  # the CRM row, the mention, the allow-list and the brand, as text
    banned: object = None  # a PhraseMatcher of the policy's banned words
    allowed_placeholders: set[str] = field(default_factory=set)
    assistant: object = None  # a PhraseMatcher of assistant-speak ([slots] assistant_phrases)
    your: set[str] | None = None  # what the reader may be said to have (`your_words`); None: any
    backing: set[str] | None = None  # words a premise may rest on (`premise`); None: not checked
    context: str = ""  # the email around the slot and what else the slot may draw on; "": unchecked


def slot_problems(text: str, *, kind: str, words_max: int, mention: str | None,
                  facts: SlotFacts, sentence: bool, unsupported=None) -> list[str]:
    """Why a candidate text for a slot must not enter a draft (empty list: it may).

    `unsupported(text)` lists facts (prices, dates, numbers, links) the CRM row does not back up.
    """
    t = text.strip()
    if not t:
        return ["empty"]
    out: list[str] = []
    n = len(t.split())
    if n > words_max:
        out.append(f"{n} words, over the limit of {words_max}")
    if n < (2 if kind == "subject" else 4):
        out.append("too short")
    if kind == "subject":
        out += subject_problems(t)
    elif sentence:
        if not t[0].isupper() and t[0] not in "\"“":
            out.append("does not start like a sentence")
        if not t.rstrip("\"”’')").endswith((".", "!", "?")):
            out.append("does not end like a sentence")
        most = MAX_SENTENCES.get(kind, 2)
        if len(sentences(t)) > most:
            out.append(f"more than {most} sentences")
    if mention and not mentions(t, mention):
        out.append(f"does not name {mention}")
    if find_placeholders(t, facts.allowed_placeholders):
        out.append("has a placeholder")
    if opens_with_salutation(t) and kind != "subject":
        out.append("greets (the greeting is not the slot's job)")
    if any(map(is_signoff, t.splitlines())):
        out.append("signs off")
    if unbalanced(t):
        out.append("unbalanced quotes or brackets")
    loop = loops(t)
    if loop:
        out.append(f"repeats itself ({loop})")
    when = _WHEN.search(t)
    # A time word the CRM row or the email around the slot says ("on Saturday" where the
    # marketer's own text says it) is not the slot's invention.
    if when and when.group(0).lower() not in facts.contact_words \
            and when.group(0).lower() not in facts.context.lower():
        out.append(f"says when (“{when.group(0)}”) without the CRM row saying so")
    names = new_names(t, facts.known_words) + [n for n in foreign_names(t, facts.own_text)
                                               if facts.own_text]
    if names:
        out.append(f"names what the CRM row and the brand's emails do not: {', '.join(names[:3])}")
    if unknown_share(t, facts.known_words) > rules.MAX_UNKNOWN_SHARE:
        out.append("words no dictionary knows")
    if facts.banned is not None and facts.banned.search(t):
        out.append("uses a banned word")
    if facts.assistant is not None and (hit := facts.assistant.search(t)):
        out.append(f"talks like an assistant, not the brand (“{hit[1]}”)")
    if facts.your is not None and (loose := ungrounded(t, facts.your)):
        out.append(f"speaks of what nothing behind the draft mentions: {', '.join(loose[:2])}")
    if facts.backing is not None and (said := premise(t, facts.backing)):
        out.append(f"states a premise (“{said}”) the CRM row and the email do not back")
    if unsupported is not None:
        bad = unsupported(t)
        if bad:
            out.append("states facts the CRM row does not back: " + ", ".join(bad[:3]))
    if facts.context:
        share, loose = grounded_share(t, facts.context, mention or "")
        if share < MIN_GROUNDED:
            out.append("does not follow from the email around it (" + ", ".join(sorted(loose)[:4])
                       + " come from nowhere in it)")
    return out


def templated(text: str, mention: str | None) -> str:
    """A text with its mention written as one token, so that shapes compare across assets."""
    if not mention:
        return text
    return re.sub(re.escape(mention), "{M}", text, flags=re.IGNORECASE)


def shape_similarity(text: str, mention: str | None, references: list[str]) -> float:
    """The highest similarity (0..1) of a text to the brand's own sentences of its kind
    (`references`, already templated)."""
    from rapidfuzz import fuzz, process

    if not references:
        return 0.0
    best = process.extractOne(templated(text, mention), references, scorer=fuzz.token_sort_ratio)
    return best[1] / 100 if best else 0.0
