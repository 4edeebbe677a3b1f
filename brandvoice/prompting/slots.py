"""Slot templates: an email skeleton in the brand's words, with short slots the model writes.

A slot template (header `kind: slots`) renders, for one contact, into an email whose subject and
body are the marketer's text (with CRM facts) and slots:

    Subject: {% slot "subject", kind="subject", words=8, mention=asset %}About {{ asset }}{% endslot %}

    {{ greeting }}

    {% slot "opening", kind="opening", words=25, mention=asset %}Thanks for downloading {{ asset }}.{% endslot %}

The text between `{% slot %}` and `{% endslot %}` is the fallback: what the draft says when no
candidate the model writes is good enough (the draft records that it fell back). A slot has a kind
(the shape training derives from past emails, SLOT_KINDS), a word limit, an optional `mention`
(text the slot must contain, such as what the contact downloaded) and an optional `brief` (one
more instruction). The greeting, sign-off and footer come from the brand profile (`profile`), never
the model.

Training and generation share one slot brief (`prompting.fill`), as they share the whole-email brief.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from brandvoice.errors import TemplateError
from brandvoice.prompting.filters import is_blank, oneline
from brandvoice.prompting.greeting import parse_greeting
from brandvoice.prompting.signoff import ends_body


@dataclass(frozen=True)
class SlotKind:
    """What a kind of slot asks the model to write."""

    task: str
    words: int  # default word limit
    sentence: bool  # ends like a sentence (a subject does not)


# The task names the campaign again: the adapter then tells a demo follow-up's opening from a
# re-engagement's (with the campaign only in the header line it wrote the most frequent opening).
SLOT_KINDS: dict[str, SlotKind] = {
    "subject": SlotKind("Write the subject line of a {campaign} email.", 8, False),
    "opening": SlotKind("Write the opening sentence of a {campaign} email.", 25, True),
    "ask": SlotKind("Write the closing ask of a {campaign} email: one clear next step.", 30, True),
}
MARK = "\ue000"  # marks slots in rendered text (a private-use character: never whitespace); printed
# CRM values never carry it (neutralize drops it)
_MARKER = re.compile(f"{MARK}([A-Za-z0-9_]+){MARK}")
_SLOT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


@dataclass(frozen=True)
class SlotSpec:
    """One slot of a rendered skeleton."""

    name: str
    kind: str
    words: int
    fallback: str
    mention: str | None = None
    brief: str | None = None

    def to_dict(self) -> dict:
        """A JSON-able dict."""
        return asdict(self)


@dataclass
class Skeleton:
    """A slot template rendered for one contact: subject and body with slot markers."""

    subject: str
    body: str
    slots: list[SlotSpec] = field(default_factory=list)

    def fill(self, texts: dict[str, str]) -> tuple[str, str]:
        """(subject, body) with each slot's text (`texts`), or its fallback where none is given."""
        by_name = {s.name: s for s in self.slots}

        def put(m: re.Match) -> str:
            return texts.get(m.group(1)) or by_name[m.group(1)].fallback

        return _MARKER.sub(put, self.subject), _MARKER.sub(put, self.body)

    def parts(self, texts: dict[str, str], sources: dict[str, str]) -> list[dict]:
        """The body and subject as parts: marketer text and slots (with who wrote each slot)."""
        out: list[dict] = []
        for where, text in (("subject", self.subject), ("body", self.body)):
            pos = 0
            for m in _MARKER.finditer(text):
                if m.start() > pos:
                    out.append({"where": where, "kind": "text", "text": text[pos:m.start()]})
                name = m.group(1)
                spec = next(s for s in self.slots if s.name == name)
                out.append({"where": where, "kind": "slot", "name": name,
                            "text": texts.get(name) or spec.fallback,
                            "source": sources.get(name, "fallback")})
                pos = m.end()
            if pos < len(text):
                out.append({"where": where, "kind": "text", "text": text[pos:]})
        return out


class SlotCollector:
    """Collects the slots of one rendering (passed in the template context)."""

    def __init__(self) -> None:
        self.slots: list[SlotSpec] = []

    def add(self, spec: SlotSpec) -> str:
        if any(s.name == spec.name for s in self.slots):
            raise TemplateError(f"Slot {spec.name!r} appears twice.",
                                hint="Give every slot its own name.")
        self.slots.append(spec)
        from brandvoice.prompting.filters import Trusted

        return Trusted(f"{MARK}{spec.name}{MARK}")  # printed as is: neutralize drops MARK otherwise


def slot_extension():
    """The Jinja extension behind `{% slot "name", kind=..., words=..., mention=... %}fallback{% endslot %}`."""
    from jinja2 import nodes
    from jinja2.ext import Extension

    class SlotExtension(Extension):
        tags = {"slot"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            args = [parser.parse_expression(), nodes.Name("_slot_collector", "load")]
            kwargs = []
            while parser.stream.skip_if("comma"):
                key = parser.stream.expect("name")
                if key.value not in ("kind", "words", "mention", "brief"):
                    parser.fail(f"unknown slot setting {key.value!r} (use kind, words, mention, "
                                "brief)", key.lineno)
                parser.stream.expect("assign")
                kwargs.append(nodes.Keyword(key.value, parser.parse_expression()))
            body = parser.parse_statements(("name:endslot",), drop_needle=True)
            call = self.call_method("_slot", args, kwargs)
            return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

        def _slot(self, name, collector, *, kind: str = "opening", words: Any = None,
                  mention: Any = None, brief: Any = None, caller=None) -> str:
            if not isinstance(collector, SlotCollector):
                raise TemplateError("Slots work only in templates whose header says "
                                    "'kind: slots'.", hint="Add 'kind: slots' to the header.")
            return collector.add(make_spec(name, kind, words, mention, brief, caller()))

    return SlotExtension


def make_spec(name: Any, kind: Any, words: Any, mention: Any, brief: Any, fallback: str) -> SlotSpec:
    """A checked SlotSpec; TemplateError says which setting is wrong and how to fix it."""
    name = str(name)
    if not _SLOT_NAME.match(name):
        raise TemplateError(f"Slot name {name!r}: use letters, digits and '_' (at most 40).")
    if kind not in SLOT_KINDS:
        raise TemplateError(f"Slot {name!r}: unknown kind {kind!r}.",
                            hint=f"Use one of: {', '.join(SLOT_KINDS)}.")
    limit = SLOT_KINDS[kind].words if words is None else words
    if isinstance(limit, bool) or not isinstance(limit, int) or not 2 <= limit <= 60:
        raise TemplateError(f"Slot {name!r}: words must be a whole number from 2 to 60, got {words!r}.")
    fallback = " ".join(str(fallback or "").split())
    if not fallback:
        raise TemplateError(f"Slot {name!r} has no fallback text.",
                            hint="Write the text to use when the model's candidates are not good "
                                 "enough between {% slot %} and {% endslot %}.")
    mention = None if is_blank(mention) else oneline(mention, 120)
    brief = None if is_blank(brief) else oneline(brief, 200)
    return SlotSpec(name, str(kind), limit, fallback, mention, brief)


def split_skeleton(text: str, slots: list[SlotSpec], template: str) -> Skeleton:
    """A rendered slot template -> Skeleton: the first line is 'Subject: ...', the rest the body."""
    text = text.strip()
    first, _, body = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise TemplateError(f"Template {template}: a slot template starts with a 'Subject:' line.",
                            template=template, line=1,
                            hint="Begin the template body with 'Subject: ...' (text or a slot).")
    subject = first.split(":", 1)[1].strip()
    body = re.sub(r"\n{3,}", "\n\n", body.strip())
    if not subject or not body:
        raise TemplateError(f"Template {template}: the subject or the body is empty.",
                            template=template)
    return Skeleton(subject=subject, body=body, slots=slots)




# --- what a past email teaches: its subject, opening and ask ----------------------------------

_KIND_NOUNS = {
    "document": r"checklist|guide|e-?book|playbook|report|cheat sheet|template|whitepaper|white paper",
    "event": r"webinar|summit|workshop|class|conference|tasting|meetup|cupping|fest(?:ival)?|expo",
}
_MENTION = re.compile(
    r"[\"“][A-Z0-9][^\"”\n]{2,59}[\"”](?:\s+(?:" + "|".join(_KIND_NOUNS.values()) + r"))?"
    r"|\b(?:the|our|your)\s+(?:[\w&'’-]+\s+){0,4}?(?:" + "|".join(_KIND_NOUNS.values()) + r")\b",
    re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[A-Z“\"0-9])")


def mention_kind(text: str) -> str | None:
    """'document' or 'event' for a mention ("the pricing guide", "the Denver CFO Summit")."""
    for kind, nouns in _KIND_NOUNS.items():
        if re.search(rf"\b(?:{nouns})\b", text, re.IGNORECASE):
            return kind
    return None


def find_mention(text: str) -> str | None:
    """The first named asset or event in a sentence (what a slot would be asked to mention)."""
    m = _MENTION.search(text)
    return m.group(0) if m else None


def body_paragraphs(body: str) -> list[str]:
    """A past email's paragraphs between its greeting and its sign-off (both left out)."""
    body = body or ""
    greeting = parse_greeting(body)
    if greeting.kind != "none" and greeting.end is not None:
        body = body[greeting.end:]  # "Hi Dana," on its own line, or before the first sentence
    paras = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    for i, para in enumerate(paras):
        if ends_body(para.splitlines()[0]):
            return paras[:i]
    return paras


@dataclass(frozen=True)
class SlotExample:
    """A slot-shaped training example taken from a past email."""

    kind: str
    text: str
    mention: str | None


def past_email_slots(subject: str, paragraphs: list[str]) -> list[SlotExample]:
    """The subject, opening sentence and closing ask of a past email's body paragraphs (greeting,
    sign-off and footer already removed by the caller)."""
    out = [SlotExample("subject", subject.strip(), find_mention(subject))]
    if paragraphs:
        first = _SENTENCE_END.split(paragraphs[0].strip())[0]
        if 3 <= len(first.split()) <= SLOT_KINDS["opening"].words + 5:
            out.append(SlotExample("opening", first, find_mention(first)))
    if len(paragraphs) > 1:
        last = " ".join(paragraphs[-1].split())
        if 4 <= len(last.split()) <= SLOT_KINDS["ask"].words + 5 and "http" not in last \
                and not last.lower().startswith("p.s"):
            out.append(SlotExample("ask", last, find_mention(last)))
    return [e for e in out if e.text]


def structure_email(subject: str, body: str, *, greeting: str, signature: str) -> tuple[str, str, list[str]]:
    """A whole email the model wrote, with the brand policy's greeting and sign-off in place of
    whatever the model wrote there: it never greets by a wrong name or signs as someone invented.

    Returns (subject, body, the model's own paragraphs): P.S. lines and anything after the
    model's sign-off are dropped with it.
    """
    subject = " ".join(subject.strip().strip("*\"“”").split())
    paras = body_paragraphs(body)
    if paras:
        if paras[0][:1].islower():  # "Hi Dana, thanks for ...": the sentence after the greeting
            paras[0] = paras[0][:1].upper() + paras[0][1:]
    paras = [p for p in paras if p.strip()]
    parts = [greeting] if greeting else []
    parts += paras
    if signature:
        parts.append(signature)
    return subject, "\n\n".join(parts), paras


EXAMPLES = 3  # brand lines shown in a slot brief: enough to show the range, short for a small model


class SlotLibrary:
    """A brand's own subjects, openings and asks (from its past emails), by kind and campaign:
    the examples a slot brief shows, in training and in generation alike."""

    def __init__(self, emails) -> None:
        self.lines: dict[tuple[str, str], list[SlotExample]] = {}
        for e in emails:
            subject, body, campaign = ((e.get("subject", ""), e.get("body", ""), e.get("campaign"))
                                       if isinstance(e, dict) else (e.subject, e.body, e.campaign))
            for x in past_email_slots(subject or "", body_paragraphs(body or "")):
                for key in ((x.kind, _campaign_key(campaign)), (x.kind, "")):
                    found = self.lines.setdefault(key, [])
                    if all(y.text != x.text for y in found):
                        found.append(x)

    def of(self, kind: str, campaign: str | None) -> list[SlotExample]:
        """The kind's lines of the campaign, or of every campaign when it has fewer than two."""
        own = self.lines.get((kind, _campaign_key(campaign)), [])
        return own if len(own) >= 2 else self.lines.get((kind, ""), [])

    def examples(self, kind: str, campaign: str | None, *, leave_out: str | None = None,
                 n: int = EXAMPLES) -> list[str]:
        """Up to `n` lines other than `leave_out` (the line a training record is about), in the
        emails' order (every brief of a campaign shows the same), varied: a line that ends like
        one already chosen (its last two words) or reads much like it is passed over, so that the
        model does not learn one tail."""
        from rapidfuzz import fuzz

        chosen: list[str] = []
        # the campaign's own lines where it has any: another campaign's opening misleads a brief
        for x in self.lines.get((kind, _campaign_key(campaign))) or self.lines.get((kind, ""), []):
            if len(chosen) >= n:
                break
            if x.text == leave_out or _names_someone(x.text, x.mention):
                continue
            tail = _tail(x.text)
            if any(_tail(c) == tail or fuzz.token_set_ratio(x.text, c) >= 75 for c in chosen):
                continue
            chosen.append(x.text)
        return chosen


# Two capitalised words in a row after a line's first word, outside quotes: a customer or a person
# ("how Bluefield Clinics closes the books"). A model shown such a line names them to everyone.
_PROPER = re.compile(r"(?<=\s)[A-Z][\w’'&.-]*(?:\s+(?:&\s+)?[A-Z][\w’'&.-]*)+"
                     r"|^[A-Z]\w*\s+[A-Z]\w*[’']s\b")


def _names_someone(text: str, mention: str | None) -> bool:
    rest = text.replace(mention, " ") if mention else text
    rest = re.sub(r"[\"“][^\"”]*[\"”]", " ", rest)
    return bool(_PROPER.search(rest))


def _tail(text: str) -> tuple[str, ...]:
    return tuple(w.strip(".,!?\"'“”’").lower() for w in text.split()[-2:])


def _campaign_key(name: str | None) -> str:
    return " ".join((name or "").lower().split())
