"""Personalization checks against the CRM row a draft was written from: greeting and company,
other people's data (leakage), invented facts, copying (memorization), prompt injection from CRM
notes, and degeneration. Placeholders are the quality checks' (one grammar, prompting.placeholders)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import groupby

from brandvoice.guardrails.facts import EMAIL, KnownFacts, unsupported
from brandvoice.guardrails.integrity import (
    INJECTION,
    contact_texts,
    degeneration,
    injection,
    split_instructions,
)
from brandvoice.guardrails.quality import known_words_of
from brandvoice.guardrails.text import PhraseMatcher, norm_words, snippet, tokenize
from brandvoice.guardrails.verdict import CheckResult
from brandvoice.prompting import opens_signoff, parse_greeting
from brandvoice.textio import compact_key

_NAME_LINE = re.compile(r"^\W{0,3}([A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+){1,2})\W*$")
# first names that are also everyday words are only matched as part of a full name
_COMMON_WORDS = {"will", "may", "mark", "bill", "june", "april", "august", "rose", "grace", "hope",
                 "joy", "faith", "summer", "page", "chase", "drew", "dean", "amber", "frank",
                 "sue", "pat", "art", "jack", "max", "ray", "guy", "victor", "sunny", "bean"}


def _contact_names(c: dict) -> tuple[str, str]:
    return (str(c.get("first_name") or "").strip(), str(c.get("last_name") or "").strip())


def contact_id(c: dict, i: int = 0) -> str:
    """A stable identity for a contact snapshot (CRM key, else email, else position)."""
    return str(c.get("key") or c.get("email") or f"row{i}")


def _subject_body(e) -> tuple[str, str]:
    if isinstance(e, dict):
        return str(e.get("subject") or ""), str(e.get("body") or "")
    return str(getattr(e, "subject", "") or ""), str(getattr(e, "body", "") or "")


@dataclass
class BatchIndex:
    """Names, email addresses and companies of every contact in a batch, indexed once."""

    contacts: list[dict]
    full_names: dict[str, set[str]] = field(default_factory=dict)   # lower full name -> contact ids
    first_names: dict[str, set[str]] = field(default_factory=dict)
    emails: dict[str, set[str]] = field(default_factory=dict)
    companies: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for i, c in enumerate(self.contacts):
            cid = contact_id(c, i)
            first, last = _contact_names(c)
            if first and last:
                self.full_names.setdefault(f"{first} {last}".lower(), set()).add(cid)
            if len(first) >= 3 and first.lower() not in _COMMON_WORDS:
                self.first_names.setdefault(first, set()).add(cid)
            if c.get("email"):
                self.emails.setdefault(str(c["email"]).lower(), set()).add(cid)
            if c.get("company") and len(str(c["company"]).strip()) >= 3:
                self.companies.setdefault(str(c["company"]).strip().lower(), set()).add(cid)
        self.full_re = PhraseMatcher(self.full_names)
        # first names match case-sensitively: "Will" the person, not "will" the verb
        self.first_re = PhraseMatcher(self.first_names, case_sensitive=True)
        self.company_re = PhraseMatcher(self.companies)


@dataclass
class TrainingIndex:
    """The training emails as n-grams (for copying) and the people they name (for leakage)."""

    emails: list
    n: int = 12
    generic: frozenset[str] = frozenset()  # the policy's greeting words that address no one

    def __post_init__(self) -> None:
        grams: dict[int, set[int]] = {}
        self.names: set[str] = set()
        self.addresses: set[str] = set()
        self.sources: list[str] = []
        for idx, e in enumerate(self.emails):
            _subject, body = _subject_body(e)
            src = e.get("source", "") if isinstance(e, dict) else getattr(e, "source", "")
            self.sources.append(str(src or ""))
            ws = norm_words(body)
            for gram in zip(*(ws[k:] for k in range(self.n)), strict=False):
                grams.setdefault(hash(gram), set()).add(idx)
            self.addresses.update(a.lower() for a in EMAIL.findall(body))
            lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
            for k, line in enumerate(lines):
                g = parse_greeting(line, generic=self.generic)
                if g.salutation:  # a bare "Priya," line deep in a body is as often a sign-off
                    self.names.update(n for n in g.names() if len(n.split()) <= 3)
                m = _NAME_LINE.match(line)
                if m and k > 0 and (opens_signoff(lines[k - 1]) or line.lstrip()[:1] in "—-"):
                    self.names.add(m.group(1))
        # Copying means memorizing one email: word runs that several past emails share (sign-off,
        # footer, a standing call to action) are the brand's boilerplate, not copying.
        self.grams = {h: ids for h, ids in grams.items() if len(ids) == 1}
        self._owner = {h: next(iter(ids)) for h, ids in self.grams.items()}  # n-gram -> its one email
        self.names_re = PhraseMatcher(self.names, case_sensitive=True)

    def longest_copy(self, body: str) -> tuple[int, int | None, str]:
        """Longest run of words shared with one training email: (words, email index, the text)."""
        ws = norm_words(body)
        best, best_idx, best_at = 0, None, 0
        n, owner = self.n, self._owner
        hashes = list(map(hash, zip(*(ws[k:] for k in range(n)), strict=False)))
        if owner.keys().isdisjoint(hashes):  # most drafts share no n-gram with a single past email
            return 0, None, ""
        # Every kept n-gram belongs to exactly one email: a copied run is a stretch of consecutive
        # n-grams of the same email, k n-grams covering n + k - 1 words. The first longest run wins.
        at = 0
        for i, stretch in groupby(map(owner.get, hashes)):
            k = len(list(stretch))
            if i is not None and n + k - 1 > best:
                best, best_idx, best_at = n + k - 1, i, at
            at += k
        return best, best_idx, " ".join(ws[best_at:best_at + best])


class _ContactFacts:
    """What one contact's CRM row says: its trusted texts, instruction-like sentences (never
    trusted) and, per kind of fact, the facts it backs up (merged with the policy allow-list)."""

    __slots__ = ("contact", "trusted", "instructions", "_policy_known", "_known", "_words")

    def __init__(self, contact: dict, checker: PersonalizationChecker):
        self.contact = contact
        self.trusted, self.instructions = split_instructions(contact_texts(contact),
                                                             checker.injection_re)
        self._policy_known = checker.policy_known
        self._known: dict[tuple[str, ...], KnownFacts] = {}
        self._words: set[str] | None = None

    @property
    def words(self) -> set[str]:
        """Lower-case words of the contact's trusted texts (names, company, activities)."""
        if self._words is None:
            self._words = known_words_of(self.trusted)
        return self._words

    def known(self, kinds: list[str]) -> KnownFacts:
        """The facts of `kinds` the contact and the allow-list back up (indexed once per kinds)."""
        key = tuple(kinds)
        out = self._known.get(key)
        if out is None:
            out = self._known[key] = KnownFacts.from_texts(self.trusted, kinds=kinds).merged(
                self._policy_known)
        return out


class PersonalizationChecker:
    """Runs the personalization checks; built once per brand (policy + training emails)."""

    def __init__(self, policy=None, training_emails=()):
        cfg = policy.personalization if policy is not None else {}
        self.n = int(cfg.get("ngram", 12))
        self.max_list_items = int(cfg.get("max_list_items", 12))
        self.max_repeats = int(cfg.get("max_repeats", 1))
        self.greeting_words = frozenset(w.lower() for w in cfg.get("greeting_words", []))
        self.injection_re = PhraseMatcher([*INJECTION, *cfg.get("injection_phrases", [])])
        self.allowed_placeholders = {p.replace(" ", "") for p in cfg.get("allowed_placeholders", [])}
        allow = policy.raw.get("allow", {}) if policy is not None else {}
        self.policy_known = KnownFacts.from_texts(policy.allowed_facts if policy else [],
                                                  allow.get("urls", []))
        self.allowed_emails = policy.allowed_emails if policy else set()
        self.allowed_names = policy.allowed_names if policy else set()
        # The brand's own footer and sign-off (its profile) are never a copy of a past email.
        profile = policy.profile if policy is not None else None
        self.boilerplate = [r for r in (getattr(profile, "footer_re", None),
                                        getattr(profile, "signature_re", None)) if r is not None]
        emails = list(training_emails or [])
        self.training = TrainingIndex(emails, n=self.n, generic=self.greeting_words) if emails else None
        # Words the brand's own emails use (products, customers it quotes), without the names of
        # the people those emails greeted or were signed by: a slot may use the first, never the second.
        people = known_words_of(self.training.names) if self.training is not None else set()
        self.vocabulary = known_words_of(f"{s}\n{b}" for s, b in map(_subject_body, emails)) - people
        self.vocabulary |= known_words_of([*(policy.allowed_facts if policy else []),
                                           *(self.allowed_names or []), policy.brand if policy else ""])

    def check(self, subject: str, body: str, contact: dict,
              batch: BatchIndex | None = None, memo: dict | None = None,
              written: list[str] | None = None) -> list[CheckResult]:
        """All personalization checks on one draft.

        `memo` (a dict the caller keeps for one batch of drafts) shares what is derived from a
        contact alone (its trusted texts, instructions and known facts) between its drafts.
        `written`: the parts the model wrote, when the rest is the marketer's skeleton (a slot
        draft); facts and copying are then judged on those parts, since the skeleton is the
        brand's own approved text.
        """
        contact = contact or {}
        text = f"{subject}\n\n{body}"
        facts = self.contact_facts(contact, memo)
        own = text if written is None else "\n\n".join(written)
        return [
            self._greeting(body, contact),
            self._company(text, contact, batch),
            self._leakage(text, contact, batch),
            self._facts(own, facts),
            self._copying(body if written is None else own),
            injection(self, text, facts.instructions),
            degeneration(self, body),
        ]

    def _greeting(self, body: str, contact: dict) -> CheckResult:
        first = _contact_names(contact)[0]
        g = parse_greeting(body, generic=self.greeting_words)
        line = g.line.strip()
        if g.kind == "none":
            return CheckResult("personalization", "greeting", "pass", "No greeting line to check.")
        if g.blank:
            return CheckResult("personalization", "greeting", "fail",
                               f"Empty greeting: “{line[:40]}” has a blank where the name "
                               "should be.")
        if g.placeholder:
            return CheckResult("personalization", "greeting", "fail",
                               f"The greeting has an unfilled placeholder: “{line[:60]}”.")
        if g.kind == "generic":
            name = g.who or line.rstrip(",!:.").strip()  # "Hello," alone: the salutation
            if first:
                said = f"with “{name}” and no name" if not g.who else f"“{name}”"
                return CheckResult("personalization", "greeting", "warn",
                                   f"Greets {said} although the contact's first name ({first}) "
                                   "is known.", details={"greeting": name})
            return CheckResult("personalization", "greeting", "pass", f"Generic greeting “{name}”.")
        if g.kind == "company":
            return self._team_greeting(g.name, contact)
        if g.titled:  # "Dear Dr. Lee,": the surname is what can be checked
            return self._titled_greeting(g.who, contact)
        if first and g.who.split()[0].lower() == first.split()[0].lower():
            return CheckResult("personalization", "greeting", "pass", f"Greets {first} by name.")
        expected = first or "not in the CRM row"
        return CheckResult("personalization", "greeting", "fail",
                           f"Greets “{g.who}” but the contact's first name is {expected}.",
                           details={"greeting": g.who, "expected": first})

    @staticmethod
    def _team_greeting(company: str, contact: dict) -> CheckResult:
        own = str(contact.get("company") or "").strip()
        a, b = compact_key(company), compact_key(own)
        if a and b and (a in b or b in a):  # "Kestrel team" for Kestrel Logistics
            return CheckResult("personalization", "greeting", "pass", f"Greets the {own} team.")
        return CheckResult("personalization", "greeting", "fail",
                           f"Greets the “{company}” team but the contact's company is "
                           f"{own or 'not in the CRM row'}.",
                           details={"greeting": f"{company} team", "expected": own})

    @staticmethod
    def _titled_greeting(who: str, contact: dict) -> CheckResult:
        last = _contact_names(contact)[1]
        surname = who.split()[-1]
        if last and surname.lower() == last.split()[-1].lower():
            return CheckResult("personalization", "greeting", "pass", f"Greets {who} by name.")
        return CheckResult("personalization", "greeting", "fail",
                           f"Greets “{who}” but the contact's last name is "
                           f"{last or 'not in the CRM row'}.",
                           details={"greeting": who, "expected": last})

    def _company(self, text: str, contact: dict, batch: BatchIndex | None) -> CheckResult:
        own = str(contact.get("company") or "").strip().lower()
        others = []
        if batch is not None:
            for _term, match, _s, _e in batch.company_re.finditer(text):
                found = match.lower()
                if found != own and not (own and (found in own or own in found)):
                    others.append(match)
        if others:
            return CheckResult("personalization", "company", "fail",
                               f"Mentions another contact's company: {', '.join(dict.fromkeys(others))}"
                               f" (this contact works at {contact.get('company') or 'an unknown company'}).",
                               details={"companies": others})
        return CheckResult("personalization", "company", "pass", "No other contact's company named.")

    def _leakage(self, text: str, contact: dict, batch: BatchIndex | None) -> CheckResult:
        me = contact_id(contact)
        own_email = str(contact.get("email") or "").lower()
        first, last = (n.lower() for n in _contact_names(contact))
        own = {first, last, f"{first} {last}".strip()} - {""}
        hits: list[str] = []
        for addr in (EMAIL.findall(text) if "@" in text else ()):
            a = addr.lower()
            if a == own_email or a in self.allowed_emails:
                continue
            if (batch is not None and a in batch.emails and me not in batch.emails[a]) or \
                    (self.training is not None and a in self.training.addresses):
                hits.append(addr)
        if batch is not None:
            for matcher, table in ((batch.full_re, batch.full_names), (batch.first_re, batch.first_names)):
                for term, found, _s, _e in matcher.finditer(text):
                    owners = table.get(term, set())
                    if me not in owners and found.lower() not in own \
                            and found.lower() not in self.allowed_names:
                        hits.append(found)
        if self.training is not None:
            for _term, found, _s, _e in self.training.names_re.finditer(text):
                low = found.lower()
                if low not in own and low not in self.allowed_names and low.split()[0] != first:
                    hits.append(found)
        if hits:
            return CheckResult("personalization", "leakage", "fail",
                               "Contains another person's name or email address: "
                               f"{', '.join(dict.fromkeys(hits))}. Never send one contact's data "
                               "to another.", details={"found": list(dict.fromkeys(hits))})
        return CheckResult("personalization", "leakage", "pass", "No other person's data.")

    def contact_facts(self, contact: dict, memo: dict | None = None) -> _ContactFacts:
        """What the contact's row says (memoised per batch in `memo`)."""
        if memo is None:
            return _ContactFacts(contact, self)
        hit = memo.get(id(contact))
        if hit is None or hit.contact is not contact:  # the entry holds the contact: ids stay unique
            hit = memo[id(contact)] = _ContactFacts(contact, self)
        return hit

    def _facts(self, text: str, contact_facts: _ContactFacts) -> CheckResult:
        bad = [f for f in unsupported(text, contact_facts.known, tokenize(text).set_low)
               if f["text"].replace(" ", "") not in self.allowed_placeholders]
        if not bad:
            return CheckResult("personalization", "facts", "pass",
                               "Every price, date, number and link is backed by the CRM row or "
                               "the allow-list.")
        hard = [f for f in bad if f["kind"] != "date"]
        listed = "; ".join(f"{f['kind']} “{f['text']}”" for f in bad[:6])
        return CheckResult("personalization", "facts", "fail" if hard else "warn",
                           f"States facts found neither in the CRM row nor in the allow-list: "
                           f"{listed}. Check them, or add them to the policy's [allow] list.",
                           details={"facts": [{**f, "context": snippet(text, f["start"], f["end"])}
                                              for f in bad]})

    def _copying(self, body: str) -> CheckResult:
        if self.training is None:
            return CheckResult("personalization", "copying", "pass", "No training emails to compare.")
        for pattern in self.boilerplate:  # the brand's footer and sign-off, as the profile knows them
            body = pattern.sub("\n", body)
        length, idx, copied = self.training.longest_copy(body)
        if idx is None:
            return CheckResult("personalization", "copying", "pass",
                               f"No run of {self.n}+ words copied from a past email.", score=0.0)
        status = "fail" if length >= 2 * self.n else "warn"
        src = self.training.sources[idx] or f"training email #{idx + 1}"
        return CheckResult("personalization", "copying", status,
                           f"Copies {length} consecutive words from one past email ({src}): "
                           f"“{copied[:120]}”.", score=float(length),
                           details={"words": length, "email": idx, "source": src})


__all__ = ["BatchIndex", "PersonalizationChecker", "TrainingIndex", "contact_id"]
