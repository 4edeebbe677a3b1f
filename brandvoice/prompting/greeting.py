"""The one greeting grammar: the salutations, the words that address no one, whom a body's first
line addresses (and where that is in the body), and the greeting line written for a contact.

Training briefs read a past email's greeting for the CRM fields it reveals ("Hi Dana," ->
first_name Dana, "Hi Kestrel Logistics team," -> company), the personalization guardrail checks a
draft's greeting against the contact, the quality rules refuse a subject that greets, and the demo
re-addresses past emails. All read it here:

    g = parse_greeting("Hi again, Dana,\\n\\nThanks for ...")
    g.kind == "person"; g.salutation == "Hi"; g.who == "Dana"; g.name == "Dana"
    body[g.span[0]:g.span[1]] == "Dana"; body[:g.end] == "Hi again, Dana,"

Kinds: "person" (a name, a title and surname, several names, or an unfilled merge tag), "company"
(a company's team), "generic" ("Hi there", "Hello,", "Hi ,", lower-case words) and "none".
`greeting_line(contact, "Hi {first_name},", "Hi there,")` writes the brand profile's greeting.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from brandvoice.prompting.filters import first_name_or
from brandvoice.prompting.placeholders import merge_tag

SALUTATIONS = r"(?:hi|hello|hey|hiya|howdy|dear|greetings|good\s+(?:morning|afternoon|evening|day))\b"
_SALUTATION = re.compile(SALUTATIONS + r"(?:\s+again\b)?", re.IGNORECASE)
_OPENS = re.compile(r"^\W*" + SALUTATIONS, re.IGNORECASE)
# Between the salutation and the name: spaces, a comma or a dash ("Hello, Dana", "Hi — Dana").
_GAP = re.compile(r"[\s,—–-]*")
_BLANK = re.compile(r"\s+[,!:;.]")  # "Hi ," / "Dear  ,": a blank where the name was
# Who the greeting addresses ends at the first punctuation mark or a spaced dash.
_WHO_END = re.compile(r"\s*(?:[,!:;.?—–]|\s-(?:\s|$)|$)")
_TITLE_DOT = re.compile(r"(?:mr|mrs|ms|mx|dr|prof|st)\.\s+(?=\w)", re.IGNORECASE)
_TRAIL = re.compile(r"\s*[,!:;.?—–-]*")
_WORD = re.compile(r"^[^\W\d_]+(?:['’\-][^\W\d_]+)*$")
_TAG = re.compile(r"<[^>]*>")
_HTML = re.compile(r"</[a-z]|<(?:br|p|div|html|body|span|table|td|tr|strong|em|b|i)\b", re.IGNORECASE)
_EDGE = "*_#> \t\r\xa0"  # emphasis and quote marks around a line in plain-text or Markdown mail
GENERIC = frozenset({
    "there", "all", "everyone", "everybody", "team", "folks", "friend", "friends", "you", "both",
    "guys", "y'all", "yall", "again", "colleague", "colleagues", "customer", "sir", "madam",
    "partner", "partners", "reader", "readers", "member", "members", "valued", "and", "to", "from",
    "the", "hi", "hello", "hey", "coffee lover", "coffee lovers", "sir or madam"})
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "madam", "mister"})
_GROUP_WORDS = frozenset({"team", "teams", "crew", "folks", "people", "friends", "family"})
# First lines of the bare "Name," shape that are not names.
_NOT_NAMES = GENERIC | {"thanks", "thank", "cheers", "congratulations", "congrats", "welcome",
                        "greetings", "good", "great", "quick", "so", "well", "ok", "okay", "yes",
                        "no", "sorry", "update", "reminder", "note", "ps", "fyi", "regards",
                        "subject", "re", "fwd"}


def opens_with_salutation(text: str) -> bool:
    """Whether a text (a subject, a slot) starts with a salutation: "Hi Dana", "Good morning"."""
    return bool(_OPENS.match(text))


def greeting_line(contact: dict, template: str = "Hi {first_name},", fallback: str = "Hi there,") -> str:
    """A greeting for a contact: `template` with the contact's first name, or `fallback` when the
    CRM row has no usable first name (the brand profile's greeting and greeting_fallback)."""
    first = first_name_or(contact or {}, "")
    if not first:
        return fallback
    return template.replace("{first_name}", first)


def readdress(body: str, first_name: str) -> str:
    """A body with its greeting addressed to `first_name` ("Hi there," -> "Hi Dana,"; "Hello," ->
    "Hello Dana,"; a bare "Priya," -> "Hi Dana,"); "Hi Dana," put first when it has none."""
    g = parse_greeting(body)
    if g.kind == "none" or g.span is None:
        return f"Hi {first_name},\n\n{body}"
    start, end = g.span
    if not g.salutation:  # a bare "Dana," line
        name = f"Hi {first_name}"
    else:
        name = first_name if g.who else f" {first_name}"
    return body[:start] + name + body[end:]


@dataclass(frozen=True)
class Greeting:
    """A body's greeting: its kind, salutation, whom it addresses, and where that is in the body."""

    kind: str = "none"  # "person", "company", "generic" or "none"
    salutation: str = ""  # "Hi", "Good morning", "Hi again"; "" for a bare "Dana,"
    who: str = ""  # as written: "Dana Reyes", "Dr. Lee", "Kestrel Logistics team", "there", ""
    name: str = ""  # the first name of one person, or the company of a team; "" otherwise
    line: str = ""  # the greeting line, without tags and emphasis
    blank: bool = False  # a salutation, then an empty name slot ("Hi ,")
    span: tuple[int, int] | None = None  # where `who` is (or would go) in the body; None for HTML
    end: int | None = None  # where the greeting ends in the body (after its punctuation)

    @property
    def placeholder(self) -> bool:
        """Whether `who` is an unfilled merge tag ("{{first_name}}", "[First Name]", "*|FNAME|*")."""
        return merge_tag(self.who)

    @property
    def titled(self) -> bool:
        """Whether `who` starts with a title ("Dr. Lee", "Ms Lee"): then it names a surname."""
        first = self.who.split()[0].lower().rstrip(".") if self.who else ""
        return first in TITLES

    def names(self) -> list[str]:
        """The people a person greeting names ("Dana and Lee" -> ["Dana", "Lee"]; titles dropped)."""
        if self.kind != "person" or self.placeholder:
            return []
        parts = re.split(r"\s*(?:,|&|\band\b)\s*", self.who)
        out = []
        for part in parts:
            words = part.split()
            if words and words[0].lower().rstrip(".") in TITLES:
                words = words[1:]
            if words and all(_is_word(w) for w in words):
                out.append(" ".join(words))
        return out


def _is_word(token: str) -> bool:
    return bool(_WORD.match(token)) and token[:1].isupper()


def _first_line(body: str) -> tuple[str, int | None]:
    """The first non-empty line and its offset in the body (None when tags had to be removed)."""
    if _HTML.search(body):
        text = html.unescape(_TAG.sub("\n", body)).replace("\xa0", " ").replace("\r", "\n")
        line = next((ln for ln in (" ".join(x.split()).strip(_EDGE) for x in text.split("\n")) if ln), "")
        return line, None
    at = 0
    for raw in body.split("\n"):
        line = raw.strip(_EDGE)
        if line:
            return line.replace("\xa0", " "), at + len(raw) - len(raw.lstrip(_EDGE))
        at += len(raw) + 1
    return "", None


def parse_greeting(body: str, *, generic: Iterable[str] = ()) -> Greeting:
    """The greeting of a body's first non-empty line; `generic`: more words that address no one."""
    return _parse(body or "", generic if isinstance(generic, frozenset) else frozenset(generic))


@lru_cache(maxsize=256)  # the personalization and the quality checks both read a draft's greeting
def _parse(body: str, generic: frozenset[str]) -> Greeting:
    line, at = _first_line(body)
    sal = _SALUTATION.match(line)
    if sal is None:
        return _bare(line, at)
    gap = _GAP.match(line, sal.end())
    start = gap.end()
    title = _TITLE_DOT.match(line, start)  # "Dr. Lee": the title's dot does not end the name
    who_end = _WHO_END.search(line, title.end() if title else start)
    who = line[start:who_end.start()].strip()
    span = (start, start + len(who))
    blank = not who and bool(_BLANK.match(line, sal.end()))
    if not who:  # the slot is right after the salutation ("Hello,"), or the blank there ("Hi ,")
        span = (sal.end(), sal.end() + (len(line[sal.end():]) - len(line[sal.end():].lstrip()))
                if blank else sal.end())
    end = _TRAIL.match(line, who_end.start()).end()
    kind, name = _classify(who, generic)
    return Greeting(kind, " ".join(sal.group(0).split()), who, name, line, blank,
                    (at + span[0], at + span[1]) if at is not None else None,
                    at + end if at is not None else None)


def _bare(line: str, at: int | None) -> Greeting:
    """A bare "Dana," line: one capitalised word and a comma (or dash) right after it, nothing else."""
    m = re.fullmatch(r"(\S+?)\s*(?:,|—|–)", line)
    if not m or not _is_word(m.group(1)) or m.group(1).lower() in _NOT_NAMES:
        return Greeting(line=line)
    who = m.group(1)
    return Greeting("person", "", who, who, line, False,
                    (at, at + len(who)) if at is not None else None,
                    at + len(line) if at is not None else None)


@lru_cache(maxsize=32)
def _lowered_set(words: frozenset[str]) -> frozenset[str]:
    return frozenset(w.lower() for w in words)


def _lowered(words: Iterable[str]):
    """The words lower-cased (computed once for the frozenset a checker passes for every draft)."""
    if isinstance(words, frozenset):
        return _lowered_set(words)
    return {w.lower() for w in words}


def _classify(who: str, generic: Iterable[str]) -> tuple[str, str]:
    """(kind, name) for whom a greeting addresses."""
    tokens = who.split()
    if not tokens:
        return "generic", ""
    if merge_tag(who):
        return "person", ""  # a merge tag left in: it stood for a person's name
    low = who.lower()
    if low in GENERIC or low in _lowered(generic):  # "there", a brand's "bean team"
        return "generic", ""
    if tokens[-1].lower() in _GROUP_WORDS:
        company = tokens[1:-1] if tokens[0].lower() == "the" else tokens[:-1]
        # "Hi Kestrel Logistics team," names the recipient's company; "Hi sales team," does not.
        if 0 < len(company) <= 4 and all(_is_word(t) or t == "&" for t in company) \
                and company[-1] != "&" and company[0].lower() not in GENERIC:
            return "company", " ".join(company)
        return "generic", ""
    if who[0].islower() or tokens[0].lower() in GENERIC:  # "hey friend", "Hi there Dana"
        return "generic", ""
    if tokens[0].lower().rstrip(".") in TITLES:
        return "person", ""  # a title and a surname: no first name to learn
    # "Hi Dana," or "Hi Dana Reyes,": the first word is the first name; "Hi Dana and Lee," is not one person.
    if len(tokens) <= 2 and all(_is_word(t) for t in tokens):
        return "person", tokens[0]
    return "person", ""
