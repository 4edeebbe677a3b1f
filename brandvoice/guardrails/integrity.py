"""Prompt-injection echo from CRM free text, and degeneration (repeats, runaway lists, cut endings)."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache, partial

from brandvoice.guardrails.facts import EMAIL, PERCENT, PRICE, URL
from brandvoice.guardrails.text import PhraseMatcher, norm_words, sentences
from brandvoice.guardrails.verdict import CheckResult

# Phrases that mark CRM free text as instructions to the writer rather than facts about the contact.
INJECTION = [
    "ignore previous instructions", "ignore all previous instructions", "ignore the above",
    "ignore your instructions", "ignore all instructions", "disregard previous instructions",
    "disregard the above", "disregard your instructions", "forget your instructions",
    "new instructions", "system prompt", "you are now", "pretend to be", "as an ai",
    "developer mode", "jailbreak", "do not follow", "instead write", "instead say",
    "in the email say", "in the email write", "tell them that", "tell the customer",
    "include this link", "include the link", "include this url", "offer them", "promise them",
    "reply with", "respond with", "write in all caps", "reveal your", "say that",
]
# Phrases a marketing email never legitimately contains.
_STRONG = PhraseMatcher([
    "ignore previous instructions", "ignore all previous instructions", "ignore your instructions",
    "disregard previous instructions", "system prompt", "as an ai language model", "as an ai model",
    "developer mode", "my instructions", "i cannot comply", "jailbreak",
])
_QUOTED = re.compile(r"[\"“']([^\"“”']{6,120})[\"”']")
_NONWORD = re.compile(r"\W+")
_SPACE_NONWORD = partial(_NONWORD.sub, " ")
_MARK = "\u01c2\u01c2"  # "ǂǂ": two click letters (word characters, no case) between sentences
_CUT_WORD = re.compile(r"\b(?:and|or|the|to|of|with)$")
_BULLET = re.compile(r"^\s*(?:[-*•·▪–]|\d{1,3}[.)])\s+")
_END_OK = (".", "!", "?", "…", ")", '"', "'", "”", "’", ":", "*", ">")
_CONNECTORS = {"and", "or", "the", "a", "an", "to", "of", "with", "for", "in", "on", "but", "our",
               "your", "we", "is", "are", "that", "this", "at", "by", "from", "as", "so", "if"}
_FOOTERISH = re.compile(r"unsubscribe|https?://|www\.|@|\d{3,}|^\W*(?:p\.?s\.?|—|-)", re.IGNORECASE)


def contact_texts(contact: dict) -> list[str]:
    """Every text value of a contact snapshot: fields, custom fields and activities."""
    texts: list[str] = []
    for key, value in contact.items():
        if key in ("activities", "custom", "source"):
            continue
        if value is not None and not isinstance(value, dict | list):
            texts.append(str(value))
    texts.extend(str(v) for v in (contact.get("custom") or {}).values() if v is not None)
    for a in contact.get("activities") or []:
        if isinstance(a, dict):
            texts.extend(str(v) for v in a.values() if v is not None)
    return texts


def split_instructions(texts: list[str], injection_re) -> tuple[list[str], list[str]]:
    """(trusted texts, instruction-like sentences): facts inside instructions are not trusted."""
    if not injection_re:
        return texts, []
    joined = " ".join(" ".join(texts).lower().split())
    # a plain substring test first (every token match is also a substring match of the
    # single-spaced phrase): most CRM rows contain no instruction-like text at all
    if not any(p in joined for p in injection_re.lowered) or not injection_re.search(joined):
        return texts, []
    trusted, instructions = [], []
    for t in texts:
        if injection_re and injection_re.search(t):
            for s in sentences(t):
                (instructions if injection_re.search(s) else trusted).append(s)
        else:
            trusted.append(t)
    return trusted, instructions


def _windows(text: str, n: int = 5) -> set[tuple[str, ...]]:
    ws = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(ws[i:i + n]) for i in range(len(ws) - n + 1)}


def injection(checker, text: str, instructions: list[str]) -> CheckResult:
    """Fail when the draft echoes or obeys instruction-like CRM free text, or talks like a chatbot."""
    strong = [found for _t, found, _s, _e in _STRONG.finditer(text)]
    if strong:
        return CheckResult("personalization", "injection", "fail",
                           f"The draft contains assistant/instruction text: “{strong[0]}”.",
                           details={"found": strong})
    if not instructions:
        return CheckResult("personalization", "injection", "pass",
                           "The CRM notes contain no instructions to echo.")
    draft_windows = _windows(text)
    lowered = text.lower()
    for s in instructions:
        echoed = _windows(s) & draft_windows
        payload = [m.group(0) for rx in (URL, EMAIL, PRICE, PERCENT) for m in rx.finditer(s)]
        payload += [q for q in _QUOTED.findall(s)]
        obeyed = [p for p in payload if p.lower().rstrip(".,") in lowered]
        if echoed or obeyed:
            what = "repeats" if echoed else "follows"
            return CheckResult("personalization", "injection", "fail",
                               f"The draft {what} instructions hidden in the CRM notes "
                               f"(“{s[:100]}”). CRM text is data, never instructions.",
                               details={"instruction": s, "echoed": [" ".join(w) for w in echoed][:3],
                                        "obeyed": obeyed})
    return CheckResult("personalization", "injection", "pass",
                       "The CRM notes contain instruction-like text; the draft does not follow it.",
                       details={"instructions": instructions})


def _normal_sentences(body: str) -> list[str]:
    """Each sentence of a body lower-cased, its non-word runs one space, stripped: words are
    separated by single spaces. Normalized in one pass over the sentences joined by a mark that
    is a word (so it survives) and that no email holds (else sentence by sentence)."""
    sents = sentences(body)
    if not sents or _MARK[0] in body:
        return [_SPACE_NONWORD(s.lower()).strip() for s in sents]
    return list(map(str.strip, _SPACE_NONWORD(f" {_MARK} ".join(sents).lower()).split(_MARK)))


def degeneration(checker, body: str) -> CheckResult:
    """Fail on repeated sentences, word loops and cut-off endings; warn on runaway lists."""
    sents = _normal_sentences(body)
    repeated = []
    # no sentence said twice (most drafts): none is said more than max_repeats (>= 1) times
    if checker.max_repeats < 1 or len(set(sents)) < len(sents):
        counts = Counter(s for s in sents if s.count(" ") >= 3)  # four words or more
        repeated = [s for s, c in counts.items() if c > checker.max_repeats]
    if repeated:
        return CheckResult("personalization", "degeneration", "fail",
                           f"Repeats the same sentence: “{repeated[0][:80]}”.",
                           details={"repeated": repeated})
    ws = norm_words(body)
    grams = list(zip(ws, ws[1:], ws[2:], ws[3:], strict=False))
    # a 4-word run seen 4 times leaves at least 3 duplicates: count only when there are that many
    if len(grams) - len(set(grams)) >= 3:
        gram, n = Counter(grams).most_common(1)[0]
        if n >= 4:
            return CheckResult("personalization", "degeneration", "fail",
                               f"Loops on the same words (“{' '.join(gram)}” {n} times).",
                               details={"loop": " ".join(gram), "count": n})
    run = longest = 0
    # a list longer than the limit needs more lines than the limit: most bodies have fewer
    for line in body.splitlines() if body.count("\n") >= checker.max_list_items else ():
        if _BULLET.match(line):
            run += 1
            longest = max(longest, run)
        elif line.strip():
            run = 0
    if longest > checker.max_list_items:
        return CheckResult("personalization", "degeneration", "warn",
                           f"A list runs to {longest} items (limit {checker.max_list_items}).",
                           details={"list_items": longest})
    cut = truncated(body)
    if cut:
        return CheckResult("personalization", "degeneration", "fail",
                           f"The email seems cut off mid-sentence: “…{cut[-60:]}”.",
                           details={"last_line": cut})
    return CheckResult("personalization", "degeneration", "pass",
                       "No repetition, runaway lists or cut-off endings.")


@lru_cache(maxsize=64)  # the degeneration and the quality checks both ask, draft by draft
def truncated(body: str) -> str | None:
    """The last line of the main text if it stops mid-sentence, else None.

    Sign-offs, signatures and footers (short lines, links, addresses) may end without punctuation,
    so the check looks at the last line of prose above them.
    """
    lines = [ln for ln in map(str.strip, body.strip().splitlines()) if ln]
    if not lines:
        return None
    last = lines[-1]
    if last.endswith((",", "-", "–", "(", "&")) or \
            last.endswith(("and", "or", "the", "to", "of", "with")) and _CUT_WORD.search(last):
        return last
    while lines and (len(lines[-1].split()) <= 6 or _FOOTERISH.search(lines[-1])):
        lines.pop()
    if not lines:
        return None
    last = lines[-1]
    if last.endswith(_END_OK) or not last[-1].isalnum():  # emoji and symbols end a line fine
        return None
    return last if len(last.split()) > 6 or last.split()[-1].lower() in _CONNECTORS else None
