"""Facts a draft states (prices, percentages, dates, phone numbers, URLs, emails) and whether the
CRM row, its activities or the policy allow-list back them up."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
         r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
PRICE = re.compile(r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?(?:\s?[kKmM]\b)?|\b\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP|dollars)\b)")
PERCENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:%|percent\b)", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w/])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{3,4}[\s.-]\d{3,4}(?:[\s.-]\d{2,4})?(?![\w/])")
DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"{_MONTH}(?:,?\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?)\b", re.IGNORECASE)
_NUM = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _num(s: str) -> str:
    m = _NUM.search(s)
    if not m:
        return ""
    n = m.group(0).replace(",", "")
    return n[:-2] if n.endswith(".00") else n


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def date_key(s: str) -> tuple[int, int] | None:
    """(month, day) of a written date, or None when it cannot be read."""
    s = s.lower()
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", s)
    if m:
        return int(m.group(2)), int(m.group(3))
    m = re.match(r"(\d{1,2})/(\d{1,2})", s)
    if m:  # US order (month/day) as written in most CRM exports
        return int(m.group(1)), int(m.group(2))
    month = next((i + 1 for i, name in enumerate(_MONTHS) if re.search(rf"\b{name}", s)), None)
    day = re.search(r"\b(\d{1,2})(?:st|nd|rd|th)?\b", s)
    return (month, int(day.group(1))) if month and day else None


def strip_url(u: str) -> str:
    """A URL without trailing punctuation, lower-cased, without scheme and trailing slash."""
    u = u.rstrip(".,;:!?").lower()
    u = re.sub(r"^https?://", "", u)
    return re.sub(r"^www\.", "", u).rstrip("/")


@dataclass
class KnownFacts:
    """What the sources say: numbers, digit strings, dates, URLs and email addresses."""

    numbers: set[str]
    digits: list[str]
    dates: set[tuple[int, int]]
    urls: list[str]
    emails: set[str]

    @classmethod
    def from_texts(cls, texts, allowed_url_prefixes=()) -> KnownFacts:
        """Index the facts found in some source texts."""
        numbers, digits, dates, urls, emails = set(), [], set(), [], set()
        for t in texts:
            if not t:
                continue
            t = str(t)
            numbers.update(_num(m.group(0)) for m in _NUM.finditer(t))
            d = _digits(t)
            if len(d) >= 7:
                digits.append(d)
            digits.extend(_digits(m.group(0)) for m in PHONE.finditer(t))
            dates.update(k for k in (date_key(m.group(0)) for m in DATE.finditer(t)) if k)
            urls.extend(strip_url(m.group(0)) for m in URL.finditer(t))
            emails.update(e.lower() for e in EMAIL.findall(t))
        urls.extend(strip_url(u) for u in allowed_url_prefixes)
        return cls(numbers - {""}, digits, dates, urls, emails)

    def merged(self, other: KnownFacts) -> KnownFacts:
        """The union of two fact sets."""
        return KnownFacts(self.numbers | other.numbers, self.digits + other.digits,
                          self.dates | other.dates, self.urls + other.urls, self.emails | other.emails)


def unsupported(text: str, known: KnownFacts) -> list[dict]:
    """Facts in `text` that `known` does not back up: [{kind, text, start, end}]."""
    out: list[dict] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, m: re.Match) -> None:
        taken.append((m.start(), m.end()))
        out.append({"kind": kind, "text": m.group(0), "start": m.start(), "end": m.end()})

    def overlaps(m: re.Match) -> bool:
        return any(m.start() < e and s < m.end() for s, e in taken)

    for m in URL.finditer(text):
        u = strip_url(m.group(0))
        if not any(u == k or u.startswith(k + "/") for k in known.urls if k):
            add("URL", m)
        else:
            taken.append((m.start(), m.end()))
    for m in EMAIL.finditer(text):
        taken.append((m.start(), m.end()))  # email addresses are the leakage check's business
    for kind, regex in (("price", PRICE), ("percentage", PERCENT)):
        for m in regex.finditer(text):
            if not overlaps(m) and _num(m.group(0)) not in known.numbers:
                add(kind, m)
            taken.append((m.start(), m.end()))
    for m in DATE.finditer(text):
        if overlaps(m):
            continue
        k = date_key(m.group(0))
        if k and k not in known.dates:
            add("date", m)
        taken.append((m.start(), m.end()))
    for m in PHONE.finditer(text):
        if overlaps(m):
            continue
        d = _digits(m.group(0))
        if len(d) >= 7 and not any(d in k or k.endswith(d[-7:]) for k in known.digits):
            add("phone number", m)
    return sorted(out, key=lambda f: f["start"])
