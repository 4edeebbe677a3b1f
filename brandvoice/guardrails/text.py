"""Small text helpers shared by the checks: words, sentences, syllables, reading grade, phrase regexes."""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n\s*\n")
_VOWELS = re.compile(r"[aeiouy]+")
_NORM_WORD = re.compile(r"[a-z0-9']+")


@lru_cache(maxsize=64)
def words(text: str) -> list[str]:
    """Alphabetic words of a text."""
    return WORD.findall(text)


def lowered(ws: list[str]) -> list[str]:
    """Words (of `words`) lower-cased."""
    # words hold ASCII letters, apostrophes and hyphens only: lower-casing them joined is the same
    # as one by one, in one call
    return "\0".join(ws).lower().split("\0") if ws else []


@lru_cache(maxsize=64)
def lower_words(text: str) -> list[str]:
    """The words of a text, lower-cased."""
    return lowered(words(text))


def joined_words(parts: list[str]) -> list[str]:
    """words("\n\n".join(parts)) from each part's cached words: no word spans white space."""
    return [w for part in parts for w in words(part)]


def joined_sentences(parts: list[str]) -> list[str]:
    """sentences("\n\n".join(parts)), from each part's cached sentences where that is the same.

    The blank line between two parts always ends a sentence. It differs only where a part ends
    with a quote or bracket: after end punctuation that closes its sentence in the joined text
    ("Go." + "\n\n"), while in the part alone it stays (nothing follows it).
    """
    if any(part[-1:] in ("\"", "'", ")", "]") for part in parts[:-1]):
        return sentences("\n\n".join(parts))
    return [s for part in parts for s in sentences(part)]


@lru_cache(maxsize=64)
def norm_words(text: str) -> list[str]:
    """Lower-cased words and numbers (shared by the copying and degeneration checks)."""
    return _NORM_WORD.findall(text.lower())


@lru_cache(maxsize=64)
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
    n_syll = sum(map(syllables, ws))
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


# Words keep inner hyphens, apostrophes and dots ("risk-free", "don't", "ledgerly.example"); a
# possessive "'s" is its own token ("Dana's" -> "Dana", "'s"); each punctuation mark is a token.
_TOKEN = re.compile(r"\w+(?:['’.-](?![sS]\b)\w+)*|['’][sS]\b|[^\w\s]")


# split() with the tokens captured; every token starts with a non-space (the lookahead skips fast)
_TOKEN_SPLIT = re.compile(f"(?=\\S)({_TOKEN.pattern})")


class Tokens:
    """A text's tokens (original and lower-cased) and their sets; offsets computed on demand."""

    __slots__ = ("text", "orig", "low", "set_orig", "set_low", "_parts", "_spans", "_chunks",
                 "_chunk_tokens", "_chunk_at")

    def __init__(self, text: str):
        self.text = text
        self._parts: list[str] | None = None
        self._spans: list[tuple[int, int]] | None = None
        self._chunk_at: tuple[list[int], list[int]] | None = None
        # No token holds white space, so a text's tokens are those of its white-space separated
        # chunks, one after the other; chunks ("Dana,", "the", "free.") repeat across drafts and
        # are tokenized once each. Where lower-casing is not one character for one (rare
        # scripts), the text takes the one-pass path below.
        self._chunks = text.split()
        chunks = self._chunk_tokens = list(map(_chunk_tokens, self._chunks))
        if all(chunks):
            self.orig = [t for orig, _ in chunks for t in orig]
            self.low = [t for _, low in chunks for t in low]
        else:
            # one regex pass: [gap, token, gap, token, ..., gap]; the gaps (white space) give the
            # offsets
            self._parts = _TOKEN_SPLIT.split(text)
            self.orig = self._parts[1::2]
            self.low = self._lowered(text, self.orig)
        self.set_orig = frozenset(self.orig)
        self.set_low = frozenset(self.low)

    @staticmethod
    def _lowered(text: str, orig: list[str]) -> list[str]:
        """The tokens of the lower-cased text (with ’ as ')."""
        # Lower-casing never changes whether a character is a word character or whitespace, so when
        # every character maps to one character the lower-cased text splits exactly like the
        # original; tokens hold no whitespace, so they can be lower-cased in one joined string (it
        # has every character of the text but whitespace). The Greek capital sigma is the one
        # context-dependent case (its final form), so it takes the regex path like texts whose
        # length changes when lower-cased.
        joined = " ".join(orig)
        low_joined = joined.lower()
        if orig and len(low_joined) == len(joined) and "Σ" not in joined:
            out = low_joined.replace("’", "'").split(" ")
            if len(out) == len(orig):
                return out
        out = _TOKEN.findall(text.lower().replace("’", "'"))
        if len(out) != len(orig):  # a few characters change length when lower-cased
            out = [t.lower().replace("’", "'") for t in orig]
        return out

    @property
    def parts(self) -> list[str]:
        """[gap, token, gap, token, ..., gap]: the text split at its tokens (computed when a match
        needs offsets)."""
        if self._parts is None:
            self._parts = _TOKEN_SPLIT.split(self.text)
        return self._parts

    @property
    def spans(self) -> list[tuple[int, int]]:
        """(start, end) of every token in the text."""
        if self._spans is None:
            lengths = [0] * (2 * len(self.orig) + 1)
            lengths[0::2] = map(len, self.parts[0::2])
            lengths[1::2] = map(len, self.orig)
            ends = list(accumulate(lengths))
            self._spans = list(zip(ends[0::2], ends[1::2], strict=False))  # the last gap has no token
        return self._spans

    def start(self, i: int) -> int:
        """Where token `i` starts (without computing every offset: matches are few)."""
        if self._spans is not None:
            return self._spans[i][0]
        if self._parts is not None:
            return sum(map(len, self._parts[:2 * i + 1]))
        # the token's chunk, where that starts, and the chunk's tokens before it
        if self._chunk_at is None:
            self._chunk_at = (list(accumulate(map(len, map(itemgetter(0), self._chunk_tokens)))), [])
        ends, starts = self._chunk_at
        c = bisect_right(ends, i)
        if c >= len(starts):  # where the chunks up to this one start, found once
            pos = starts[-1] + len(self._chunks[len(starts) - 1]) if starts else 0
            find = self.text.find
            for chunk in self._chunks[len(starts):c + 1]:  # between chunks is only white space
                pos = find(chunk, pos)
                starts.append(pos)
                pos += len(chunk)
        first = ends[c - 1] if c else 0
        return starts[c] + sum(map(len, self._chunk_tokens[c][0][:i - first]))


@lru_cache(maxsize=100_000)
def _chunk_tokens(chunk: str) -> tuple[tuple[str, ...], tuple[str, ...]] | tuple[()]:
    """The tokens of a chunk of text without white space, and lower-cased (with ’ as '); () where
    lower-casing changes its length or depends on context (final sigma)."""
    low_chunk = chunk.lower()
    if len(low_chunk) != len(chunk) or "Σ" in chunk:
        return ()
    # one character for one: the lower-cased tokens are the tokens lower-cased, one by one
    orig = tuple(_TOKEN.findall(chunk))
    return orig, tuple(t.lower().replace("’", "'") for t in orig)


@lru_cache(maxsize=256)
def tokenize(text: str) -> Tokens:
    """The tokens of a text (cached: the policy and personalization checks share them)."""
    return Tokens(text)


class PhraseMatcher:
    """Whole-word phrase matching over tokens: cost depends on the text, not on how many phrases.

    Case-insensitive by default; `case_sensitive=True` matches the phrase's capitalization exactly
    ("Will" the person, not "will" the verb).
    """

    def __init__(self, phrases, *, case_sensitive: bool = False):
        self.case_sensitive = case_sensitive
        self.first: dict[str, list[tuple[str, ...]]] = {}
        self.phrases: dict[tuple[str, ...], str] = {}
        for p in phrases:
            p = (p or "").strip()
            if not p:
                continue
            t = tokenize(p)
            key = tuple(t.orig if case_sensitive else t.low)
            if key and key not in self.phrases:
                self.phrases[key] = p
                self.first.setdefault(key[0], []).append(key)
        for alts in self.first.values():
            alts.sort(key=len, reverse=True)
        self.first_set = frozenset(self.first)
        # a phrase can only match a text that has all its tokens: a set test skips the scan for
        # phrases with a common first word ("to the next level") in most texts
        self.needs = {key: frozenset(key) for key in self.phrases if len(key) > 1}
        # the phrases lower-cased, single-spaced: a plain substring test that rules texts out fast
        self.lowered = tuple(sorted({" ".join(p.lower().split()) for p in self.phrases.values()}))

    def __bool__(self) -> bool:
        return bool(self.phrases)

    def search(self, text: str):
        """The first match, or None."""
        return next(iter(self.finditer(text)), None)

    def finditer(self, text: str) -> list[tuple[str, str, int, int]]:
        """Matches as (phrase as configured, matched text, start, end), in text order, no overlaps."""
        if not self.phrases:
            return []
        t = tokenize(text)
        heads = self.first_set.intersection(t.set_orig if self.case_sensitive else t.set_low)
        if not heads:
            return []
        toks, present = (t.orig, t.set_orig) if self.case_sensitive else (t.low, t.set_low)
        found = []
        needs = self.needs
        for head in heads:
            alts = [key for key in self.first[head] if len(key) == 1 or needs[key] <= present]
            if not alts:
                continue
            i = -1
            while True:
                try:
                    i = toks.index(head, i + 1)  # C-speed scan to the next occurrence
                except ValueError:
                    break
                for key in alts:
                    if len(key) == 1 or tuple(toks[i:i + len(key)]) == key:
                        found.append((i, i + len(key) - 1, key))
                        break
        if not found:
            return []
        found.sort()
        out, last = [], -1
        for i, j, key in found:
            if i > last:
                start, end = t.start(i), t.start(j) + len(t.orig[j])
                out.append((self.phrases[key], text[start:end], start, end))
                last = j
        return out
