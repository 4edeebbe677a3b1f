"""Quality checks: is the text usable at all? Subject sanity, placeholders of any shape (the
grammar of prompting.placeholders), invented names, gibberish and loops, cut-off text, and the
brief's own demands (mention, word limit).

The same rules judge a slot candidate before it may enter a draft (`slot_checks.slot_problems`)
and a whole draft before it may pass (`QualityChecker.check`). Each returns plain-language problems; thresholds
are module constants with the labelled set they were calibrated on (tests/data/labelled).
"""

from __future__ import annotations

import re
from functools import lru_cache

from brandvoice.guardrails.text import (
    joined_sentences,
    joined_words,
    lower_words,
    sentences,
    words,
)
from brandvoice.prompting import find_placeholders, opens_with_salutation, parse_greeting

_SEPARATOR = re.compile(r"\s[|•·]\s|\|| -- | — .* — |::|//|\s-\s*$|^\s*-")
# A subject may end in a preposition ("The checklist you asked for", "What we are working on").
_CUT_END = re.compile(r"(?:\b(?:and|or|the|a|an|to|of|with|your|our|is|are|that|this|but|as)"
                      r"|[,:;(&/-])\s*$", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_CAPITAL = re.compile(r"(?<![\w'’.-])[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+)*")
_PARTS = re.compile(r"\n\s*\n")
_QUOTES = (('"', '"'), ("“", "”"), ("(", ")"))
MAX_SUBJECT_CHARS = 80
MAX_SUBJECT_WORDS = 12
# Share of words no word list knows above which text reads as gibberish ("tallypointer foobared");
# brand words and names from the CRM row are known. Calibrated in bench/calibrate.py.
MAX_UNKNOWN_SHARE = 0.2
MAX_SENTENCE_WORDS = 45
# Words repeated in one paragraph that make a loop ("we can help you close faster ... we can help
# you close faster"); three were too few: a title named twice ("the close checklist") is normal.
LOOP_WORDS = 5
@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """The 100,000 most frequent English words (wordfreq), lower-case."""
    from wordfreq import top_n_list

    return frozenset(top_n_list("en", 100_000))


@lru_cache(maxsize=100_000)
def _word_key(word: str) -> tuple[str, bool]:
    """A word as the word list spells it (lower-case, outer apostrophes and hyphens stripped) and
    whether the list has it, whole or every hyphenated part (cached: words repeat across drafts)."""
    low = word.lower().strip("'’-")
    common = _common_words()
    return low, low in common or all(p in common for p in low.split("-"))


@lru_cache(maxsize=100_000)
def _name_keys(token: str) -> tuple[str, str] | None:
    """A capitalised token as `new_names` looks it up (lower-case, stripped; and without a plural
    or possessive s), or None for a token that is never a made-up name."""
    low = token.lower().strip("'’-")
    if not low or token in ("I", "OK"):
        return None
    return low, low.rstrip("s").rstrip("'’")


class KnownWords:
    """Two word sets read as one (`in` looks in both), so that a draft's check need not copy the
    brand's large vocabulary to add a contact's few words."""

    __slots__ = ("first", "second")

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __contains__(self, word) -> bool:
        return word in self.first or word in self.second


def subject_problems(subject: str) -> list[str]:
    """Why a subject is not a subject: empty, too long, separators, brackets, a greeting, cut off."""
    s = subject.strip()
    if not s:
        return ["the subject is empty"]
    out = []
    if "\n" in s or len(s) > MAX_SUBJECT_CHARS or len(s.split()) > MAX_SUBJECT_WORDS:
        out.append(f"the subject is longer than {MAX_SUBJECT_WORDS} words / {MAX_SUBJECT_CHARS} "
                   "characters")
    if _SEPARATOR.search(s):
        out.append("the subject has separators (| -- :: //)")
    if re.search(r"[\[\]{}<>#@*]", s):
        out.append("the subject has brackets or markup")
    if opens_with_salutation(s):
        out.append("the subject is a greeting")
    if s.lower().startswith(("subject", "re:", "fwd:")):
        out.append("the subject starts with a label")
    if _CUT_END.search(s):
        out.append("the subject is cut off")
    if s.isupper() and len(s) > 8:
        out.append("the subject is in capitals")
    return out


def unbalanced(text: str) -> bool:
    """Quotes or parentheses that are opened and not closed."""
    if text.count('"') % 2:
        return True
    return any(text.count(a) != text.count(b) for a, b in _QUOTES[1:])


def unknown_share(text: str, known) -> float:
    """Share of words that neither the word list nor `known` (lower-case) has."""
    return _unknown_share(words(text), known)


def _unknown_share(ws: list[str], known) -> float:
    # every word starts with a letter, so none is empty once stripped; each distinct word is
    # judged once, then its occurrences are counted
    if not ws:
        return 0.0
    common = _common_words()
    unknown = set()
    for w in set(ws):
        low, listed = _word_key(w)
        if not listed and low not in known \
                and not all(p in common or p in known for p in low.split("-")):
            unknown.add(w)
    if not unknown:
        return 0.0
    return sum(map(unknown.__contains__, ws)) / len(ws)


def loops(text: str) -> str | None:
    """A word or phrase said twice in a row ("e-book e-book", "the team the team") or five words
    repeated anywhere in one part: the loop, else None. A phrase of the subject said again in the
    body, or a title named twice, is how emails are written, not a loop."""
    for part in _PARTS.split(text):
        ws = lower_words(part)
        # A phrase doubled within a sentence is doubled in the part's words too (a part's words
        # are its sentences' words, in order): sentence by sentence only when the part has one.
        sents = [lower_words(s) for s in sentences(part) or [part]] if _doubled(ws) else []
        found = _loop(ws, sents)
        if found:
            return found
    return None


def _loop(ws: list[str], sents: list[list[str]] | None = None) -> str | None:
    """The loop in one part's lower-cased words (doubled phrases looked for within each sentence
    of `sents`: "hot water. Water ..." is two sentences, not a loop), else None."""
    for sentence in sents if sents is not None else [ws]:
        found = _doubled(sentence)
        if found:
            return found
    if len(ws) <= LOOP_WORDS:  # a phrase said twice, overlapping or not, needs more words
        return None
    grams = list(zip(*(ws[j:] for j in range(LOOP_WORDS)), strict=False))
    if len(set(grams)) == len(grams):  # no phrase repeated
        return None
    seen: set[tuple[str, ...]] = set()
    for g in grams:
        if g in seen:
            return " ".join(g)
        seen.add(g)
    return None


def _doubled(ws: list[str]) -> str | None:
    """A word or a phrase of up to four words said twice in a row, else None."""
    for size in (1, 2, 3, 4):
        if not any(map(str.__eq__, ws, ws[size:])):
            continue  # no word equals the one `size` later: no phrase of that size doubles
        for i in range(len(ws) - 2 * size + 1):
            if ws[i:i + size] == ws[i + size:i + 2 * size] and \
                    (size > 1 or ws[i] not in ("that", "had", "very")):
                return " ".join(ws[i:i + 2 * size])
    return None


def new_names(text: str, known: set[str]) -> list[str]:
    """Capitalised words that do not start a sentence and that `known` (lower-case words of the CRM
    row, the brand's own emails and the allow-list) does not have: people and companies the
    writer made up."""
    return _new_names(sentences(text) or [text], known)


def _new_names(sents: list[str], known) -> list[str]:
    return _names(sents, known, None)[0]


def _names(sents: list[str], known, own: str | None) -> tuple[list[str], list[str]]:
    """(new names, foreign names) of some sentences, from one pass over their capitalised runs:
    `new_names` against `known`, and `foreign_names` against `own` (None: not looked for)."""
    own_low = " ".join(own.lower().split()) if own is not None else None
    new, foreign = [], []
    common = _common_words()
    for sent in sents:
        lead = len(sent) - len(sent.lstrip(" \"“'(—-"))
        for m in _CAPITAL.finditer(sent):
            tokens = m.group(0).split()
            starts = m.start() == lead
            for tok in tokens[1:] if starts else tokens:  # a sentence's first word is capitalised
                keys = _name_keys(tok)
                if keys is not None and keys[0] not in known and keys[1] not in known:
                    new.append(tok)
            if own_low is None:
                continue
            if starts and tokens[0].lower() in common:
                tokens = tokens[1:]  # "Hi Dana", "The Acme team": a sentence's first word
            if len(tokens) >= 2:
                run = " ".join(tokens)
                if run.lower() not in own_low:
                    foreign.append(run)
    return list(dict.fromkeys(new)), list(dict.fromkeys(foreign))


def foreign_names(text: str, own: str) -> list[str]:
    """Runs of two or more capitalised words (a company, a person: "Bluefield Clinics", "John
    Davis") that `own` (the CRM row, the mention, the allow-list, the brand) does not contain: the
    brand's emails may name other customers, a draft to this contact must not."""
    return _foreign_names(sentences(text) or [text], own)


def _foreign_names(sents: list[str], own: str) -> list[str]:
    return _names(sents, frozenset(), own)[1]


def known_words_of(texts) -> set[str]:
    """Lower-case words of some texts (CRM values, the brand's emails, the allow-list)."""
    out: set[str] = set()
    for text in texts:
        if text:
            out.update(w.lower().strip("'’-") for w in _WORD.findall(str(text)))
    return out


def long_sentences(text: str) -> list[str]:
    """Sentences over MAX_SENTENCE_WORDS words (run-ons a reader gives up on)."""
    return _long_sentences(sentences(text))


def _long_sentences(sents: list[str]) -> list[str]:
    return [s for s in sents if len(s.split()) > MAX_SENTENCE_WORDS]



_MONTHS = {m: i for i, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1) for m in names}
_DATE = re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) +
                   r")\.? (\d{1,2})(?:st|nd|rd|th)?\b", re.IGNORECASE)
# where a date's day can be: a digit after a word and a space (and a dot: "Nov. 27")
_DAY = re.compile(r"(?=\d)(?:(?<=\w )|(?<=\w\. ))")
_AHEAD = re.compile(r"\b(?:ends?|ending|will|starts?|starting|expires?|closes?|until|runs? "
                    r"through|last day|is on|see you|join us|coming up|before)\b", re.IGNORECASE)


def _may_have_date(text: str) -> bool:
    """Whether `_DATE` may match in a text: it is tried only before a number that follows a word
    (a date's day), in a window that holds the longest month name; searching the whole text
    case-insensitively for every month costs three times as much. A window's end may end a match
    the whole text would not (a false "may"), never the other way round."""
    search = _DATE.search
    return any(search(text, max(0, m.start() - 12), m.start() + 5) for m in _DAY.finditer(text))


def past_dates(text: str, today=None) -> list[str]:
    """Dates ("November 27", "Nov 27") in sentences that speak of them as ahead ("ends on",
    "will", "until") though the day has passed: a trial-ending email sent after the trial ended."""
    from datetime import date, datetime, timezone

    if not _may_have_date(text):  # most texts have none
        return []
    today = today or datetime.now(timezone.utc).date()
    out = []
    for sentence in sentences(text) or [text]:
        if not _AHEAD.search(sentence):
            continue
        for m in _DATE.finditer(sentence):
            month, day = _MONTHS[m.group(1).lower()], int(m.group(2))
            try:
                when = date(today.year, month, day)
            except ValueError:
                continue
            if (when - today).days > 183:  # "December 30" read in January: last year's
                when = when.replace(year=today.year - 1)
            elif (today - when).days > 183:  # "January 5" read in December: next year's
                when = when.replace(year=today.year + 1)
            if when < today:
                out.append(m.group(0))
    return list(dict.fromkeys(out))


class QualityChecker:
    """Draft-level quality: is it usable at all? One CheckResult per rule ("quality" check).

    `model_texts` are the parts the model wrote (a slot draft's slots); without them the whole
    draft is the model's. Names, gibberish and loops are looked for in what the model wrote: the
    marketer's skeleton is the brand's own text.
    """

    def __init__(self, vocabulary: set[str], *, allowed_placeholders: set[str] = frozenset(),
                 greeting_required: bool = True, boilerplate: tuple[str, ...] = (),
                 model_text: str = "warn", today=None, greeting_words: frozenset[str] = frozenset()):
        self.vocabulary = vocabulary
        self.allowed_placeholders = set(allowed_placeholders)
        self.greeting_required = greeting_required
        # The policy's footer and signature: the brand's own text, appended by generation.
        self.boilerplate = tuple(b.strip() for b in boilerplate if b and b.strip())
        self.model_text = model_text  # the status of model-written text nobody read yet
        self.today = today  # a datetime.date; None: the day of the check
        # the policy's words that address no one: the same greeting parse as the personalization
        # check's (whether a draft greets at all does not depend on them)
        self.greeting_words = frozenset(greeting_words)

    def own_part(self, body: str) -> str:
        """The body without the policy's footer and signature."""
        for b in self.boilerplate:
            body = body.replace(b, "")
        return body

    def check(self, subject: str, body: str, known: set[str],
              model_texts: list[str] | None = None, own_text: str = "") -> list:
        from brandvoice.guardrails.integrity import truncated
        from brandvoice.guardrails.verdict import CheckResult

        def result(rule: str, problems: list[str], ok: str, status: str = "fail") -> CheckResult:
            if problems:
                return CheckResult("quality", rule, status, "; ".join(problems)[:400],
                                   details={"problems": problems})
            return CheckResult("quality", rule, "pass", ok)

        written = model_texts if model_texts is not None else [subject, self.own_part(body)]
        text = "\n\n".join(written)
        words_known = KnownWords(known, self.vocabulary)
        found = find_placeholders(f"{subject}\n{body}", self.allowed_placeholders)
        # the words and sentences of `text` from those of its parts, which the policy and
        # personalization checks have computed already for the body
        ws, sents = joined_words(written), joined_sentences(written)
        new, foreign = _names(sents or [text], words_known, own_text or None)
        names = new + foreign
        cut = truncated(body)
        share = _unknown_share(ws, words_known)
        loop = loops(text)
        long = _long_sentences(sents)
        return [
            result("subject", [f"Subject “{subject[:60]}”: {p}" for p in subject_problems(subject)],
                   "The subject reads like a subject."),
            result("placeholders", [f"Unfilled placeholder {p}" for p in dict.fromkeys(found)],
                   "No placeholder of any shape."),
            result("names", [f"Names someone or something the CRM row, the brand's emails and the "
                             f"allow-list do not know: {', '.join(names[:5])}"] if names else [],
                   "Names only the contact, the brand and what they know."),
            result("greeting", ["The draft does not open with a greeting"]
                   if self.greeting_required
                   and parse_greeting(body, generic=self.greeting_words).kind == "none" else [],
                   "Opens with a greeting."),
            result("cut_off", [f"Stops mid-sentence: “…{cut[-60:]}”"] if cut else [],
                   "Ends where it should."),
            result("coherence", ([f"{share:.0%} of the words are in no dictionary"]
                                 if share > MAX_UNKNOWN_SHARE else [])
                   + ([f"Repeats itself (“{loop}”)"] if loop else []),
                   "Real words, no loops."),
            result("run_on", [f"A sentence of {len(s.split())} words" for s in long[:2]],
                   "No run-on sentence.", status="warn"),
            result("dates", [f"Speaks of {d} as ahead, but that day has passed"
                             for d in past_dates(f"{subject}\n{body}", self.today)],
                   "No date spoken of as ahead that has passed."),
            self._model_text(model_texts, subject, body),
        ]

    def _model_text(self, model_texts: list[str] | None, subject: str, body: str):
        """The model's own sentences, flagged for reading (policy [quality] model_text)."""
        from brandvoice.guardrails.verdict import CheckResult

        # Only text known to be the model's: generation passes it; a draft checked from a file or
        # again by a reviewer (who is reading it) has none.
        written = [t for t in model_texts or [] if t and t.strip()]
        if not written or self.model_text == "pass":
            return CheckResult("quality", "model_text", "pass",
                               "No text here is known to be the model's, unread." if not written
                               else "The brand's policy trusts the model's text.")
        what = f"{len(written)} part{'s' if len(written) > 1 else ''} of this email"
        return CheckResult("quality", "model_text", self.model_text,
                           f"The model wrote {what}: read it for facts the checks cannot see "
                           "(an invented request, a vote, a discount) before approving.")
