"""Starting a slot template from one of the brand's best past emails.

The email's own words become the skeleton: its subject, opening sentence and closing ask become
slots (with those words as their fallbacks), its greeting and sign-off become the brand policy's,
the rest stays as the marketer's text to edit. The result is a draft for a person to read and
adjust: the email's own specifics (a customer story, a date) are still in it, and the header says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from brandvoice.errors import InputError
from brandvoice.prompting.slots import _SENTENCE_END, SLOT_KINDS, body_paragraphs, past_email_slots

_JINJA = re.compile(r"\{[{%#]|[}%#]\}")


@dataclass(frozen=True)
class SkeletonDraft:
    """A slot template's source and the past email it was drafted from."""

    source: str
    subject: str
    origin: str  # "emails.csv:row 14"
    score: float | None


def _literal(text: str) -> str:
    """Text printed as it is by Jinja (a past email may contain braces)."""
    return _JINJA.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


@dataclass(frozen=True)
class Mark:
    """A slot marked in a past email: the email's own words it replaces (the subject, or a sentence
    of the body), and what the draft keeps when no candidate is good enough (default: those words)."""

    kind: str  # a SLOT_KINDS key
    text: str
    fallback: str = ""
    words: int | None = None
    mention: str | None = None


def list_tag(subject: str) -> tuple[str, str]:
    """(a leading list tag such as "[Greenrow Notes]", the rest of the subject)."""
    m = re.match(r"\s*(\[[^\]\n]{1,40}\])\s+(\S.*)$", subject)
    return (m.group(1), m.group(2).strip()) if m else ("", subject)


def sentences(body: str) -> list[str]:
    """The sentences of a past email between its greeting and sign-off, in order (what a slot can
    replace), spacing made single."""
    out = []
    for para in body_paragraphs(body):
        out += [x for x in _SENTENCE_END.split(" ".join(para.split())) if x.strip()]
    return out


def default_marks(subject: str, body: str) -> list[Mark]:
    """The slots training teaches from a past email: its subject (without a list tag), opening
    sentence and closing ask, each with the email's own words as its fallback."""
    paras = body_paragraphs(body)
    out = []
    for x in past_email_slots(list_tag(subject)[1], paras):
        out.append(Mark(x.kind, x.text))
    return out


def _slot(name: str, mark: Mark) -> str:
    words = mark.words or SLOT_KINDS[mark.kind].words
    args = f'"{name}", kind="{mark.kind}", words={int(words)}'
    if mark.mention:
        args += f", mention={json.dumps(mark.mention, ensure_ascii=False)}"
    return f"{{% slot {args} %}}{_literal(mark.fallback or mark.text)}{{% endslot %}}"


def _names(marks: list[Mark]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for m in marks:
        seen[m.kind] = seen.get(m.kind, 0) + 1
        out.append(m.kind if seen[m.kind] == 1 else f"{m.kind}_{seen[m.kind]}")
    return out


def _mark_paragraph(para: str, marks: list[tuple[str, Mark]], used: set[int]) -> str:
    """A paragraph with the marked sentences it holds as slots, the rest printed as it is."""
    text = " ".join(para.split())
    pieces: list[tuple[int, int, str]] = []
    for i, (name, mark) in enumerate(marks):
        at = text.find(" ".join(mark.text.split())) if i not in used else -1
        if at < 0 or any(a < at + len(mark.text) and at < b for a, b, _ in pieces):
            continue
        used.add(i)
        pieces.append((at, at + len(" ".join(mark.text.split())), _slot(name, mark)))
    if not pieces:
        return _literal(para)
    out, pos = [], 0
    for a, b, slot in sorted(pieces):
        out += [_literal(text[pos:a]), slot]
        pos = b
    return "".join(out) + _literal(text[pos:])


def skeleton_source(subject: str, body: str, *, name: str, brand: str, use_case: str,
                    origin: str = "", marks: list[Mark] | None = None,
                    required_fields: tuple[str, ...] = ("first_name",)) -> str:
    """A slot template's source drafted from one email's subject and body: the `marks` (default:
    `default_marks`) become slots, the greeting and sign-off the brand profile's."""
    paras = body_paragraphs(body)
    if not paras:
        raise InputError(f"{origin or 'The email'} has no text between its greeting and sign-off.",
                         hint="Pick another past email.")
    marks = default_marks(subject, body) if marks is None else list(marks)
    unknown = [m.kind for m in marks if m.kind not in SLOT_KINDS]
    if unknown:
        raise InputError(f"Unknown slot kind(s): {', '.join(unknown)}.",
                         hint=f"Use {', '.join(SLOT_KINDS)}.")
    named = list(zip(_names(marks), marks, strict=True))
    tag, rest = list_tag(subject)  # a newsletter's "[List name]" stays the template's own
    subject_marks = [(n, m) for n, m in named if m.kind == "subject"]
    head = _literal(tag) + " " if tag else ""
    subject_line = head + (_slot(*subject_marks[0]) if subject_marks else _literal(rest))
    out = ["{#-", f"name: {name}", "kind: slots", f"brand: {brand}",
           f"description: Drafted from {origin or 'a past email'}; read it and replace what only "
           "that email could say.", f"use_case: {use_case}",
           f"required_fields: {', '.join(required_fields)}", "-#}",
           f"Subject: {subject_line}", "", "{{ greeting }}", ""]
    body_marks = [(n, m) for n, m in named if m.kind != "subject"]
    used: set[int] = set()
    out.append("\n\n".join(_mark_paragraph(p, body_marks, used) for p in paras))
    missing = [m.text for i, (_, m) in enumerate(body_marks) if i not in used]
    if missing:
        raise InputError("These marked sentences are not in the email's text: "
                         + "; ".join(f"“{t[:60]}”" for t in missing) + ".",
                         hint="Mark a sentence as the email has it.")
    out += ["", "{{ signature }}", ""]
    return "\n".join(out)


MAX_SKELETON_WORDS = 250  # a long newsletter makes a poor follow-up skeleton: one slot in 2,700 words


def _fit(e) -> tuple:
    """How well a past email suits a skeleton, best first: its performance score (when the file has
    metrics), then all three slots found, then a follow-up's length (not a long newsletter)."""
    words = len(e.body.split())
    return (e.score if e.score is not None else -1.0, len(default_marks(e.subject, e.body)),
            words <= MAX_SKELETON_WORDS, -abs(words - 120), e.weight)


def draft_skeleton(emails: str | Path, *, brand: str, name: str,
                   campaign: str | None = None) -> SkeletonDraft:
    """A slot template drafted from the brand's best past email of a campaign (any campaign when
    none is given or the file has no campaign column): the same selection training makes (cleaned,
    high performers first by the lower bound of their click rate); without metrics, the email with
    all three slots closest to a follow-up's length."""
    from brandvoice import corpus

    c = corpus.prepare(emails, brand=brand)
    every = c.train + c.test
    pool = [e for e in every if not campaign
            or (e.campaign or "general").strip().lower() == campaign.strip().lower()]
    if not pool:
        campaigns = sorted({e.campaign or "general" for e in every})
        raise InputError(f"No selected past email of {brand} has the campaign {campaign!r}.",
                         hint=f"Campaigns in the file: {', '.join(campaigns)} (or leave the "
                              "campaign out).")
    best = max(pool, key=_fit)
    source = skeleton_source(best.subject, best.body, name=name, brand=brand,
                             use_case=campaign or best.campaign or "general", origin=best.source)
    return SkeletonDraft(source=source, subject=best.subject, origin=best.source, score=best.score)
