"""The one placeholder grammar: what an unfilled merge tag or template gap looks like in an email.

Rendering fills placeholders, and the guardrails (the draft's placeholders rule, a greeting that
addresses "{{first_name}}", a slot candidate) look for the ones left, all by this grammar:

    find("Hi [First Name], see {{link}}")  == ["[First Name]", "{{link}}"]
    find(text, allowed={"{{unsubscribe_url}}"})   # merge tags the email tool fills at send time
    merge_tag("*|FNAME|*") is True                 # a greeting's name that is a merge tag

Shapes: {{ ... }}, {% ... %}, a lone {{ or }}, {first_name}, *|FNAME|*, %FIRSTNAME%, [anything
short], <a short phrase>, XXX, ___. Square and angle brackets around a short phrase are never part
of a finished email in this project's corpora.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PLACEHOLDER = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|\{\{|\}\}|\{\s*[A-Za-z_][\w. ]{0,30}\}|\*\|[A-Z0-9_]+\|\*|"
    r"%[A-Z][A-Z0-9_]{2,}%|\[[^\]\n]{1,40}\]|<\s*[A-Za-z][\w .'-]{0,30}>|\b[Xx]{3,}\b|_{3,}")
# PLACEHOLDER without its "XXX" branch, the only one not opened by a fixed character: every branch
# left starts with one, so the regex engine skips to those characters (about 8x faster). Where a
# text has no "xxx" that branch matches nowhere and both find the same placeholders.
_MARKED = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|\{\{|\}\}|\{\s*[A-Za-z_][\w. ]{0,30}\}|\*\|[A-Z0-9_]+\|\*|"
    r"%[A-Z][A-Z0-9_]{2,}%|\[[^\]\n]{1,40}\]|<\s*[A-Za-z][\w .'-]{0,30}>|___+")
_XXX = re.compile(r"[Xx][Xx][Xx]")
# The characters every merge-tag shape opens or closes with: a name holding one is a tag (or part
# of one: "Hi {{first_name" cut at the greeting's punctuation).
_MARKS = re.compile(r"[{}\[\]<>|%]")


def find(text: str, allowed: Iterable[str] = frozenset()) -> list[str]:
    """The placeholders left in a text, in order, except the `allowed` ones (spaces ignored)."""
    rx = PLACEHOLDER if _XXX.search(text) else _MARKED
    return [m.group(0) for m in rx.finditer(text) if m.group(0).replace(" ", "") not in allowed]


def merge_tag(name: str) -> bool:
    """Whether a name (whom a greeting addresses) is an unfilled merge tag or part of one."""
    return bool(_MARKS.search(name)) or bool(find(name))
