"""The one prompt/answer shape shared by training and generation.

Training shows the model (system, brief) -> "Subject: ...\n\n<body>"; generation renders a Jinja
template into the same kind of brief and parses the answer back with `parse_email`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def system_prompt(brand: str) -> str:
    """The system message for a brand."""
    return (
        f"You are the email copywriter for {brand}. Write in {brand}'s own voice. "
        "Answer with the email only: a first line 'Subject: ...', a blank line, then the body."
    )


def brief_header(campaign: str | None = None, segment: str | None = None,
                 audience: str | None = None) -> str:
    """The metadata lines every brief starts with, in training and in generation alike."""
    lines = [f"Campaign: {campaign or 'general'}"]
    if segment:
        lines.append(f"Segment: {segment}")
    if audience:
        lines.append(f"Audience: {audience}")
    return "\n".join(lines)


# Generation primes the answer with this prefix (the model continues after "Subject:"), which keeps
# even a base model without an adapter in the subject/body shape that training teaches.
# The fixed probe of an adapter: its greedy answer to this one brief (PROBE_TOKENS tokens) is
# recorded when it is published; a server that claims to serve it must answer the same.
PROBE_TOKENS = 32


def probe_messages(brand: str) -> tuple[str, str]:
    """(system, user) of the probe brief for a brand's adapters."""
    user = brief_header("follow-up after a demo", "customer", "finance lead") + \
        "\nTask: write this email."
    return system_prompt(brand or "our company"), user


ANSWER_PREFIX = "Subject:"


def format_email(subject: str, body: str) -> str:
    """The answer text the model learns and is expected to produce."""
    return f"Subject: {subject.strip()}\n\n{body.strip()}"


_SUBJECT = re.compile(r"^\s*(?:\*\*)?subject(?:\*\*)?\s*[:\-]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class ParsedEmail:
    subject: str
    body: str
    problems: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # brand elements appended after generation

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_email(text: str, *, max_subject_chars: int = 200, min_body_words: int = 8) -> ParsedEmail:
    """Split model output into subject and body; `problems` says why it is malformed, if it is."""
    problems: list[str] = []
    text = (text or "").replace("\r\n", "\n").strip()
    m = _SUBJECT.search(text)
    if m and m.start() < 200:
        subject = m.group(1).strip().strip('"')
        body = text[m.end():].strip()
        if text[: m.start()].strip():  # chatter before the subject line is dropped, not kept
            problems.append("text before the subject line")
    else:
        problems.append("no 'Subject:' line")
        first, _, rest = text.partition("\n")
        subject, body = first.strip(), rest.strip()
    if not subject:
        problems.append("empty subject")
    elif len(subject) > max_subject_chars:
        problems.append(f"subject longer than {max_subject_chars} characters")
    if len(body.split()) < min_body_words:
        problems.append(f"body shorter than {min_body_words} words")
    return ParsedEmail(subject=subject, body=body, problems=problems)
