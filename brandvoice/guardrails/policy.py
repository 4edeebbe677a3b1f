"""Brand policy checks: banned words, competitors, claims needing approval, required elements (the
brand profile's sign-off and footer among them), length, spam triggers, exclamations and ALL CAPS,
reading level. Policies live in guardrails/*.toml."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from brandvoice.guardrails.policy_file import load_raw, slug
from brandvoice.guardrails.slot_checks import MIN_SLOT_SHAPE
from brandvoice.guardrails.text import PhraseMatcher, fk_grade, snippet, words
from brandvoice.guardrails.verdict import CheckResult
from brandvoice.prompting import BrandProfile

# (?=...) names the first character of a match: the engine skips ahead fast; matches are unchanged
_PERCENT = re.compile(r"(?=\d)(?<![\w.])\d+(?:\.\d+)?\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)
_PERCENT_WORD = re.compile(r"per ?cent", re.IGNORECASE)  # every percentage has "%" or this
_CAPS = re.compile(r"(?=[A-Z])\b[A-Z][A-Z0-9'’]{2,}\b")


@dataclass
class RequiredElement:
    """Something every draft must contain (signature, footer), as a compiled regex."""

    name: str
    regex: re.Pattern
    where: str = "body"
    message: str = ""
    severity: str = "fail"


@dataclass
class Policy:
    """A brand's merged policy, with its regexes compiled once."""

    brand: str | None
    raw: dict
    files: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = lambda name: self.raw.get(name, {})  # noqa: E731
        b, c, s, st = t("banned"), t("claims"), t("spam"), t("style")
        self.banned_re = PhraseMatcher([*b.get("words", []), *b.get("phrases", [])])
        self.competitor_re = PhraseMatcher(b.get("competitors", []))
        self.banned_severity = b.get("severity", "fail")
        self.claims_re = PhraseMatcher(c.get("terms", []))
        # Idioms that hold a claim word without making a claim ("feel free" offers nothing).
        self.claims_idioms = PhraseMatcher(c.get("idioms", []))
        self.claims_percentages = c.get("percentages", True)
        self.claims_severity = c.get("severity", "warn")
        self.spam_re = PhraseMatcher(s.get("words", []))
        self.spam_warn_at, self.spam_fail_at = s.get("warn_at", 1), s.get("fail_at", 3)
        self.max_exclamations = st.get("max_exclamations", 1)
        self.max_caps_words = st.get("max_caps_words", 1)
        self.caps_allow = {w.upper() for w in st.get("caps_allow", [])}
        self.style_severity = st.get("severity", "warn")
        self.length = t("length")
        self.reading = t("reading")
        # The brand's layout (prompting owns it): its sign-off and footer are required elements,
        # in place of requirements of the same name the brand inherits (the default's footer).
        self.profile = BrandProfile.from_table(self.brand, t("brand"), self.files)
        own = _profile_elements(self.profile)
        self.required = own + [
            RequiredElement(name=r["name"], where=r.get("where", "body"), message=r.get("message", ""),
                            severity=r.get("severity", "fail"),
                            regex=re.compile(r["pattern"]) if "pattern" in r
                            else re.compile(re.escape(r["literal"]), re.IGNORECASE))
            for r in self.raw.get("required", []) if r["name"] not in {e.name for e in own}]
        allow = t("allow")
        self.allowed_facts: list[str] = [*allow.get("facts", []), *allow.get("prices", []),
                                         *allow.get("urls", []), *allow.get("phones", [])]
        self.allowed_emails = {e.lower() for e in allow.get("emails", [])}
        self.allowed_names = {n.lower() for n in allow.get("names", [])}
        self.tone = t("tone")
        # What a draft's model-written text is worth before a person read it (see default.toml).
        self.model_text: str = t("quality").get("model_text", "warn")
        # The slot kinds the model may write for this brand (None: every kind); the others keep
        # the template's text. Set from reading the model's slots (see default.toml).
        kinds = t("slots").get("model_kinds")
        self.slot_model_kinds: frozenset[str] | None = None if kinds is None else frozenset(kinds)
        # How close a slot candidate must stand to one of the brand's own lines of its kind
        # (slot_checks.MIN_SLOT_SHAPE by default; a brand on a larger, measured base model lowers it).
        self.slot_min_shape: float = float(t("slots").get("min_shape", MIN_SLOT_SHAPE))
        # What a model's slot must not say: a helpful assistant's lines, not the brand's.
        self.slot_assistant_re = PhraseMatcher(t("slots").get("assistant_phrases", []))
        self.personalization = t("personalization")
        # A newsletter's subjects start with its list's name ("[Greenrow Notes] ..."): the brand's
        # convention, not a placeholder; the checks that read a subject's words read it without.
        self.subject_tags: tuple[str, ...] = tuple(t("subject").get("tags", []))

    def untagged(self, subject: str) -> str:
        """The subject without the brand's list tag it starts with (as it is when it has none)."""
        s = subject.lstrip()
        for tag in self.subject_tags:
            if s.lower().startswith(tag.lower()) and s[len(tag):].strip():
                return s[len(tag):].strip()
        return subject

    def check(self, subject: str, body: str) -> list[CheckResult]:
        """All policy rules on one draft; one result per rule."""
        text = f"{subject}\n\n{body}"
        return [
            self._phrases("banned", self.banned_re, text, self.banned_severity,
                          "Uses words the brand never uses", "No banned words or phrases."),
            self._phrases("competitor", self.competitor_re, text, "fail",
                          "Names a competitor", "No competitor names."),
            self._claims(text),
            *self._required(subject, body),
            self._lengths(subject, body),
            self._spam(text),
            self._exclamations(text),
            self._caps(text),
            self._reading(body),
        ]

    # -- rules ----------------------------------------------------------------------------------
    @staticmethod
    def _spans(matcher: PhraseMatcher, text: str) -> list[dict]:
        return [{"term": term, "text": found, "start": start, "end": end,
                 "context": snippet(text, start, end)} for term, found, start, end in matcher.finditer(text)]

    def _phrases(self, rule, regex, text, severity, bad, good) -> CheckResult:
        spans = self._spans(regex, text)
        if not spans:
            return CheckResult("policy", rule, "pass", good)
        found = ", ".join(dict.fromkeys(f"“{s['text']}”" for s in spans))
        return CheckResult("policy", rule, severity, f"{bad}: {found} (in “{spans[0]['context']}”).",
                           details={"matches": spans})

    def _claims(self, text: str) -> CheckResult:
        idioms = [(start, end) for _, _, start, end in self.claims_idioms.finditer(text)] \
            if self.claims_idioms else []
        # A fact of the allow-list ("85-95%", "14-day trial") is a claim the brand has approved.
        lowered = text.lower()
        for fact in self.allowed_facts:
            f = fact.lower()
            at = lowered.find(f) if f else -1
            while at >= 0:
                idioms.append((at, at + len(f)))
                at = lowered.find(f, at + 1)
        spans = self._spans(self.claims_re, text)
        if self.claims_percentages and ("%" in text or _PERCENT_WORD.search(text)):
            spans += [{"text": m.group(0), "start": m.start(), "end": m.end(),
                       "context": snippet(text, m.start(), m.end())} for m in _PERCENT.finditer(text)]
        spans = [s for s in spans if not any(a <= s["start"] and s["end"] <= b for a, b in idioms)]
        if not spans:
            return CheckResult("policy", "claims", "pass", "No claims that need approval.")
        found = ", ".join(dict.fromkeys(f"“{s['text']}”" for s in spans))
        return CheckResult("policy", "claims", self.claims_severity,
                           f"Makes a claim that needs approval before sending: {found}.",
                           details={"matches": sorted(spans, key=lambda s: s["start"])})

    def _required(self, subject: str, body: str) -> list[CheckResult]:
        out = []
        for r in self.required:
            target = body if r.where == "body" else subject if r.where == "subject" \
                else f"{subject}\n\n{body}"
            if r.regex.search(target):
                out.append(CheckResult("policy", f"required:{r.name}", "pass", f"Has the {r.name}."))
            else:
                msg = r.message or f"Missing the required {r.name}."
                out.append(CheckResult("policy", f"required:{r.name}", r.severity, msg,
                                       details={"pattern": r.regex.pattern, "where": r.where}))
        return out

    def _lengths(self, subject: str, body: str) -> CheckResult:
        lim = self.length
        severity = lim.get("severity", "warn")
        n_subj, n_body = len(subject.strip()), len(words(body))
        details = {"subject_chars": n_subj, "body_words": n_body}
        if not subject.strip():
            return CheckResult("policy", "length", "fail", "The subject line is empty.", details=details)
        if not body.strip():
            return CheckResult("policy", "length", "fail", "The email body is empty.", details=details)
        problems = []
        if n_subj > lim.get("subject_max_chars", 10**9):
            problems.append(f"subject is {n_subj} characters (limit {lim['subject_max_chars']})")
        if n_subj < lim.get("subject_min_chars", 0):
            problems.append(f"subject is {n_subj} characters (minimum {lim['subject_min_chars']})")
        if n_body > lim.get("body_max_words", 10**9):
            problems.append(f"body is {n_body} words (limit {lim['body_max_words']})")
        if n_body < lim.get("body_min_words", 0):
            problems.append(f"body is {n_body} words (minimum {lim['body_min_words']})")
        if problems:
            return CheckResult("policy", "length", severity, "Length: " + "; ".join(problems) + ".",
                               details=details)
        return CheckResult("policy", "length", "pass", "Subject and body lengths are within limits.",
                           details=details)

    def _spam(self, text: str) -> CheckResult:
        spans = self._spans(self.spam_re, text)
        n = len(spans)
        if n < self.spam_warn_at or not n:
            return CheckResult("policy", "spam", "pass", "No spam-trigger words.", score=float(n))
        status = "fail" if n >= self.spam_fail_at else "warn"
        found = ", ".join(dict.fromkeys(f"“{s['text']}”" for s in spans))
        return CheckResult("policy", "spam", status,
                           f"{n} spam-filter trigger word(s): {found}; these hurt deliverability.",
                           score=float(n), details={"matches": spans})

    def _exclamations(self, text: str) -> CheckResult:
        n = text.count("!")
        if n <= self.max_exclamations:
            return CheckResult("policy", "exclamations", "pass", "Exclamation marks within limit.",
                               score=float(n))
        return CheckResult("policy", "exclamations", self.style_severity,
                           f"{n} exclamation marks (limit {self.max_exclamations}).", score=float(n))

    def _caps(self, text: str) -> CheckResult:
        shouted = [m.group(0) for m in _CAPS.finditer(text)
                   if m.group(0).upper().strip("'’") not in self.caps_allow
                   and not any(ch.isdigit() for ch in m.group(0))]
        if len(shouted) <= self.max_caps_words:
            return CheckResult("policy", "caps", "pass", "No shouting in ALL CAPS.",
                               score=float(len(shouted)))
        return CheckResult("policy", "caps", self.style_severity,
                           f"{len(shouted)} words in ALL CAPS (limit {self.max_caps_words}): "
                           f"{', '.join(dict.fromkeys(shouted))}.", score=float(len(shouted)),
                           details={"words": shouted})

    def _reading(self, body: str) -> CheckResult:
        grade = fk_grade(body)
        hi, lo = self.reading.get("max_grade"), self.reading.get("min_grade")
        severity = self.reading.get("severity", "warn")
        if grade is None:
            return CheckResult("policy", "reading_level", "pass", "Too short to grade reading level.")
        if hi is not None and grade > hi:
            return CheckResult("policy", "reading_level", severity,
                               f"Reads at grade {grade:g}; the brand aims for {hi:g} or lower. "
                               "Use shorter sentences and plainer words.", score=grade)
        if lo is not None and grade < lo:
            return CheckResult("policy", "reading_level", severity,
                               f"Reads at grade {grade:g}; below the brand's minimum of {lo:g}.",
                               score=grade)
        return CheckResult("policy", "reading_level", "pass",
                           f"Reading level grade {grade:g}.", score=grade)


def _profile_elements(profile: BrandProfile) -> list[RequiredElement]:
    """The profile's sign-off and footer as required elements (a draft that lost one fails)."""
    out = []
    for name, text, regex in (("signature", profile.signature, profile.signature_re),
                              ("footer", profile.footer, profile.footer_re)):
        if text and regex is not None:
            shown = " ".join(text.split())
            what = "sign-off" if name == "signature" else "footer"
            out.append(RequiredElement(name=name, regex=regex,
                                       message=f"Missing the {what} “{shown}”: add it back."))
    return out


def load_policy(directory: Path | str, brand: str | None = None) -> Policy:
    """The policy for a brand: default.toml merged with <brand-slug>.toml from `directory`."""
    raw, files = load_raw(Path(directory), brand)
    return Policy(brand=brand, raw=raw, files=files)


__all__ = ["Policy", "load_policy", "slug"]
