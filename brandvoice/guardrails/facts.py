"""Facts a draft states (prices, percentages, dates, phone numbers, URLs, emails) and whether the
CRM row, its activities or the policy allow-list back them up."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
         r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
# The leading lookaheads only name the first character a match can have: they let the regex engine
# skip ahead fast and do not change what matches.
URL = re.compile(r"(?=[hw])\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
PRICE = re.compile(r"(?:[$€£]\s?\d[\d,]*(?:\.\d+)?(?:\s?[kKmM]\b)?|\b\d[\d,]*(?:\.\d+)?\s?(?:USD|EUR|GBP|dollars)\b)")
PERCENT = re.compile(r"(?=\d)(?<![\w.])\d+(?:\.\d+)?\s?(?:%|percent\b)", re.IGNORECASE)
PHONE = re.compile(r"(?=[+(\d])(?<![\w/])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?)?\d{3,4}[\s.-]\d{3,4}(?:[\s.-]\d{2,4})?(?![\w/])")
DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?"
    rf"{_MONTH}(?:,?\s+\d{{4}})?|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?)\b|\b\d{{4}}-\d{{2}}-\d{{2}}(?!\d)",
    re.IGNORECASE)
_NUM = re.compile(r"\d[\d,]*(?:\.\d+)?")
_MONTH_WORDS = frozenset({"jan", "january", "feb", "february", "mar", "march", "apr", "april", "may",
                          "jun", "june", "jul", "july", "aug", "august", "sep", "sept", "september",
                          "oct", "october", "nov", "november", "dec", "december"})
_SLASH_DATE = re.compile(r"\d/\d")
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d")
_PHONE_HINT = re.compile(r"\d[\s.-]\d{3}")  # every phone number has one: "555 2001", "555-0100"
# Runs of digits and the separators of numeric dates and phone numbers: the hints above only use
# these characters, so they are tested on the runs (a few short strings) instead of the whole text.
_DIGIT_RUNS = re.compile(r"\d[\d\s./-]*")
_MONTH_START = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
_NONDIGITS = re.compile(r"\D+")
_DIGIT_RUN = re.compile(r"\+?\d[\d ().-]{5,}\d")


def _scan(text: str, low_tokens=None, kinds=None) -> dict[str, list[re.Match]]:
    """Every fact-like match by kind (or only `kinds`); each regex runs only when a cheap test
    says it can match."""
    out: dict[str, list[re.Match]] = {}
    want = set(kinds) if kinds is not None else {"URL", "email", "price", "percentage", "date",
                                                  "phone number"}
    if "URL" in want and ("http" in text or "www." in text or "WWW." in text):
        out["URL"] = list(URL.finditer(text))
    if "email" in want and "@" in text:
        out["email"] = list(EMAIL.finditer(text))
    runs = "\0".join(_DIGIT_RUNS.findall(text))
    if not runs:
        return out
    if "price" in want and "$" in text or "€" in text or "£" in text or "USD" in text or "EUR" in text or \
            "GBP" in text or "dollars" in text:
        out["price"] = list(PRICE.finditer(text))
    if "percentage" in want and ("%" in text or "percent" in text):
        out["percentage"] = list(PERCENT.finditer(text))
    has_month = _MONTH_WORDS.intersection(low_tokens) if low_tokens is not None \
        else _MONTH_START.search(text)
    if "date" in want and (has_month or _SLASH_DATE.search(runs) or _ISO_DATE.search(runs)):
        out["date"] = list(DATE.finditer(text))
    if "phone number" in want and _PHONE_HINT.search(runs):
        out["phone number"] = list(PHONE.finditer(text))
    return out


def _num(s: str) -> str:
    m = _NUM.search(s)
    if not m:
        return ""
    return _clean_num(m.group(0))


def _clean_num(n: str) -> str:
    n = n.replace(",", "")
    return n[:-3] if n.endswith(".00") else n


def _digits(s: str) -> str:
    return _NONDIGITS.sub("", s)


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
    """A URL for comparison: lower-cased, without scheme, query (tracking parameters), fragment,
    trailing punctuation and trailing slash."""
    u = re.split(r"[?#]", u.rstrip(".,;:!?").lower(), maxsplit=1)[0]
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
    def from_texts(cls, texts, allowed_url_prefixes=(), kinds=None) -> KnownFacts:
        """Index the facts found in some source texts (only those of `kinds`, when given)."""
        texts = [str(t) for t in texts if t]
        joined = "\n".join(texts)
        found = _scan(joined, kinds=kinds)
        want = set(kinds) if kinds is not None else {"price", "percentage", "phone number"}
        numbers = set(map(_clean_num, _NUM.findall(joined))) - {""} \
            if want & {"price", "percentage"} else set()
        digits = [_digits(m.group(0)) for m in found.get("phone number", [])]
        if "phone number" in want:  # numbers written without separators ("5552001000")
            digits += [d for d in map(_digits, _DIGIT_RUN.findall(joined)) if 7 <= len(d) <= 15]
        dates = {k for k in (date_key(m.group(0)) for m in found.get("date", [])) if k}
        urls = [strip_url(m.group(0)) for m in found.get("URL", [])]
        urls += [strip_url(u) for u in allowed_url_prefixes]
        emails = {m.group(0).lower() for m in found.get("email", [])}
        return cls(numbers, digits, dates, urls, emails)

    def merged(self, other: KnownFacts) -> KnownFacts:
        """The union of two fact sets."""
        return KnownFacts(self.numbers | other.numbers, self.digits + other.digits,
                          self.dates | other.dates, self.urls + other.urls, self.emails | other.emails)


def unsupported(text: str, known, low_tokens=None) -> list[dict]:
    """Facts in `text` that `known` (KnownFacts, or a function making it) does not back up:
    [{kind, text, start, end}]. The sources are only indexed when the text states a fact."""
    found = _scan(text, low_tokens)
    kinds = [k for k in ("URL", "price", "percentage", "date", "phone number") if found.get(k)]
    if not kinds:
        return []
    if callable(known):
        known = known(kinds)
    out: list[dict] = []
    taken: list[tuple[int, int]] = []

    def overlaps(m: re.Match) -> bool:
        return any(m.start() < e and s < m.end() for s, e in taken)

    def ok(kind: str, m: re.Match) -> bool:
        if kind == "URL":
            u = strip_url(m.group(0))
            return any(u == k or u.startswith(k + "/") for k in known.urls if k)
        if kind == "email":
            return True  # email addresses are the leakage check's business
        if kind in ("price", "percentage"):
            return _num(m.group(0)) in known.numbers
        if kind == "date":
            k = date_key(m.group(0))
            return k is None or k in known.dates
        d = _digits(m.group(0))
        return len(d) < 7 or any(d in k or k.endswith(d[-7:]) for k in known.digits)

    for kind in ("URL", "email", "price", "percentage", "date", "phone number"):
        for m in found.get(kind, ()):
            if overlaps(m):
                continue
            taken.append((m.start(), m.end()))
            if not ok(kind, m):
                out.append({"kind": kind, "text": m.group(0), "start": m.start(), "end": m.end()})
    return sorted(out, key=lambda f: f["start"])
