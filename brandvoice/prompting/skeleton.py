"""Starting a slot template from one of the brand's best past emails.

The email's own words become the skeleton: its subject, opening sentence and closing ask become
slots (with those words as their fallbacks), its greeting and sign-off become the brand policy's,
the rest stays as the marketer's text to edit. The result is a draft for a person to read and
adjust: the email's own specifics (a customer story, a date) are still in it, and the header says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from brandvoice.errors import InputError
from brandvoice.prompting.slots import SLOT_KINDS, body_paragraphs, past_email_slots

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


def _list_tag(subject: str) -> tuple[str, str]:
    """(a leading list tag such as "[Greenrow Notes]", the rest of the subject)."""
    m = re.match(r"\s*(\[[^\]\n]{1,40}\])\s+(\S.*)$", subject)
    return (m.group(1), m.group(2).strip()) if m else ("", subject)


def skeleton_source(subject: str, body: str, *, name: str, brand: str, use_case: str,
                    origin: str = "") -> str:
    """A slot template's source drafted from one email's subject and body."""
    paras = body_paragraphs(body)
    if not paras:
        raise InputError(f"{origin or 'The email'} has no text between its greeting and sign-off.",
                         hint="Pick another past email.")
    found = {x.kind: x.text for x in past_email_slots(subject, paras)}
    tag, subject = _list_tag(subject)  # a newsletter's "[List name]" stays the template's own
    out = ["{#-", f"name: {name}", "kind: slots", f"brand: {brand}",
           f"description: Drafted from {origin or 'a past email'}; read it and replace what only "
           "that email could say.", f"use_case: {use_case}", "required_fields: first_name", "-#}",
           f'Subject: {_literal(tag) + " " if tag else ""}'
           f'{{% slot "subject", kind="subject", words={SLOT_KINDS["subject"].words} %}}'
           f"{_literal(subject)}{{% endslot %}}", "", "{{ greeting }}", ""]
    first = paras[0]
    opening = found.get("opening")
    if opening and first.startswith(opening):
        rest = first[len(opening):].strip()
        out.append(f'{{% slot "opening", kind="opening", words={SLOT_KINDS["opening"].words} %}}'
                   f"{_literal(opening)}{{% endslot %}}" + (f" {_literal(rest)}" if rest else ""))
    else:
        out.append(_literal(first))
    middle, last = paras[1:-1], paras[-1] if len(paras) > 1 else None
    for para in middle:
        out += ["", _literal(para)]
    if last is not None:
        ask = found.get("ask")
        out.append("")
        out.append(f'{{% slot "ask", kind="ask", words={SLOT_KINDS["ask"].words} %}}'
                   f"{_literal(last)}{{% endslot %}}" if ask and " ".join(last.split()) == ask
                   else _literal(last))
    out += ["", "{{ signature }}", ""]
    return "\n".join(out)


def draft_skeleton(emails: str | Path, *, brand: str, campaign: str, name: str) -> SkeletonDraft:
    """A slot template drafted from the brand's best past email of a campaign (the same selection
    training makes: cleaned, high performers first, by the lower bound of their click rate)."""
    from brandvoice import corpus

    c = corpus.prepare(emails, brand=brand)
    pool = [e for e in c.train + c.test if (e.campaign or "").strip().lower() == campaign.lower()]
    if not pool:
        campaigns = sorted({e.campaign for e in c.train + c.test if e.campaign})
        raise InputError(f"No selected past email of {brand} has the campaign {campaign!r}.",
                         hint=f"Campaigns in the file: {', '.join(campaigns) or '(none)'}.")
    best = max(pool, key=lambda e: (e.score if e.score is not None else -1.0, e.weight))
    source = skeleton_source(best.subject, best.body, name=name, brand=brand, use_case=campaign,
                             origin=best.source)
    return SkeletonDraft(source=source, subject=best.subject, origin=best.source, score=best.score)
