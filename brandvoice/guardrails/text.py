"""Small text helpers shared by the checks: words, sentences, syllables, reading grade, phrase regexes."""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n\s*\n")
_VOWELS = re.compile(r"[aeiouy]+")


def words(text: str) -> list[str]:
    """Alphabetic words of a text."""
    return WORD.findall(text)


def sentences(text: str) -> list[str]:
    """Sentences (split on end punctuation and blank lines), stripped, empty ones dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


@lru_cache(maxsize=50_000)
def syllables(word: str) -> int:
    """Syllables in an English word, by the usual vowel-group heuristic (good to about ±1)."""
    w = word.lower().strip("'’-")
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")):
        w = w[:-1]  # silent final e: "make", "declare"
    elif w.endswith(("es", "ed")) and not w.endswith(("les", "ted", "ded")):
        w = w[:-2]
    return max(1, len(_VOWELS.findall(w)))


def fk_grade(text: str) -> float | None:
    """Flesch-Kincaid grade level; None for texts too short to grade (under 30 words)."""
    ws = words(text)
    if len(ws) < 30:
        return None
    n_sent = max(1, len(sentences(text)))
    n_syll = sum(syllables(w) for w in ws)
    return round(0.39 * len(ws) / n_sent + 11.8 * n_syll / len(ws) - 15.59, 1)


def phrase_pattern(phrases) -> re.Pattern | None:
    """One case-insensitive regex matching any phrase as whole words (spaces match any whitespace)."""
    alts = []
    for p in sorted({p.strip() for p in phrases if p and p.strip()}, key=len, reverse=True):
        body = r"\s+".join(re.escape(part) for part in p.split())
        # \b only works next to word characters: "risk-free!" or "$0" need explicit lookarounds.
        alts.append(rf"(?<![\w]){body}(?![\w])")
    return re.compile("|".join(alts), re.IGNORECASE) if alts else None


def snippet(text: str, start: int, end: int, width: int = 30) -> str:
    """The matched span with a little context, on one line."""
    left = max(0, start - width)
    right = min(len(text), end + width)
    out = ("…" if left else "") + text[left:start] + "[" + text[start:end] + "]" + text[end:right]
    return (out + ("…" if right < len(text) else "")).replace("\n", " ")
