"""Slot mode: the model writes only the slots of a skeleton, best of k candidates per slot.

For a chunk of pending drafts, each contact's email becomes one fill brief (prompting.fill, the
shape training uses): the email with a hole for every slot the model writes, answered with one
line per hole. The same brief for the same variant is generated once, k answers in one batch
(seeded by the brief). Each hole's candidate is checked for this contact (`Guard.slot_problems`:
mention, length, placeholders, names, facts, assistant-speak, shape); among those that pass, the
one the others agree with most (and the model was surest of) is kept. A slot with no passing
candidate keeps the marketer's fallback, and the draft says so.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from brandvoice import prompting
from brandvoice.generation import holdback as fair_test
from brandvoice.generation.protocol import GenOutput, GenRequest, seed_for

# A slot's token budget: about 1.6 tokens per English word here, plus room for a stop.
TOKENS_PER_WORD = 1.6
_LABEL = re.compile(r"^\W*(?:subject(?: line)?|opening(?: sentence)?|ask|answer|slot)\s*[:\-]\s*",
                    re.IGNORECASE)


@dataclass
class Candidate:
    """One model answer for one slot brief."""

    text: str
    raw: str
    mean_logprob: float | None
    problems: list[str] = field(default_factory=list)
    agreement: float = 0.0


@dataclass
class SlotChoice:
    """What went into one slot of one draft, and why."""

    name: str
    kind: str
    text: str
    # "model" | "fallback" (no candidate passed) | "template" (kept by the policy) | "holdback"
    # (the contact is held back for a fair test: the template's text, the model not asked)
    source: str
    reason: str
    candidates: list[dict]

    def to_dict(self) -> dict:
        """A JSON-able dict (stored with the draft's settings)."""
        return {"name": self.name, "kind": self.kind, "text": self.text, "source": self.source,
                "reason": self.reason, "candidates": self.candidates}


def clean(raw: str, kind: str, limit: int) -> str:
    """A model answer as slot text: its first line, labels and wrapping quotes removed; a sentence
    slot over the word limit is cut at its last sentence end within the limit."""
    line = next((ln for ln in raw.strip().splitlines() if ln.strip()), "").strip()
    line = _LABEL.sub("", line).strip()
    if len(line) > 1 and line[0] in "\"“'" and line[-1] in "\"”'" and line.count(line[0]) <= 2:
        line = line[1:-1].strip()
    line = " ".join(line.split())
    if kind != "subject" and len(line.split()) > limit:
        cut = " ".join(line.split()[:limit])
        end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
        if cut.endswith((".", "?", "!")):
            return cut
        if end > 0:
            return cut[: end + 1]
    return line.rstrip() if kind != "subject" else line.rstrip(" .")


# Time adverbials a sentence reads well without ("... missed you yesterday." -> "... missed you.");
# counts of days ("three days left") carry the sentence and are not cut.
_WHEN_ADVERBIAL = re.compile(
    r",?\s+(?:(?:on|this|next|last)\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday)s?\b|,?\s+(?:today|tonight|yesterday|tomorrow|this (?:morning|afternoon|evening|week|"
    r"month)|last (?:week|month|night)|next (?:week|month))\b", re.IGNORECASE)


def drop_when(text: str) -> str:
    """The text without its time adverbials (never the first word: "Yesterday, ..." stays)."""
    out = _WHEN_ADVERBIAL.sub("", text)
    out = re.sub(r"\s+([.,!?;:])", r"\1", out)
    return " ".join(out.split())


def agreement(texts: list[str]) -> list[float]:
    """For each text, its mean similarity (0..1) to the others: the consensus among candidates
    (minimum Bayes risk), which small models' sampled answers are most reliable by."""
    from rapidfuzz import fuzz

    out = []
    for i, a in enumerate(texts):
        others = [fuzz.token_sort_ratio(a, b) / 100 for j, b in enumerate(texts) if j != i and b]
        out.append(sum(others) / len(others) if others else 0.0)
    return out


def pick(cands: list[Candidate]) -> Candidate | None:
    """The passing candidate with the most agreement (then the highest mean log-probability)."""
    ok = [c for c in cands if not c.problems]
    if not ok:
        return None
    return max(ok, key=lambda c: (round(c.agreement, 2), c.mean_logprob or -99.0, -len(c.text)))


def kept(spec) -> SlotChoice:
    """A slot the brand policy keeps in the template's words (the model is not asked)."""
    return SlotChoice(spec.name, spec.kind, spec.fallback, "template",
                      f"the brand policy keeps the template's text for {spec.kind} slots "
                      "([slots] model_kinds)", [])


def held(spec, share: float) -> SlotChoice:
    """A slot of a contact held back for a fair test: the template's text, the model not asked."""
    return SlotChoice(spec.name, spec.kind, spec.fallback, fair_test.SOURCE,
                      f"held back for a fair test ({share:.0%} of the job's contacts get the "
                      "template's text)", [])


def _why_not(cands: list[Candidate]) -> str:
    counts: dict[str, int] = {}
    for c in cands:
        for p in c.problems[:1]:
            key = p.split(":")[0].split("(")[0].strip()
            counts[key] = counts.get(key, 0) + 1
    top = ", ".join(f"{n} {why}" for why, n in sorted(counts.items(), key=lambda kv: -kv[1])[:3])
    return f"no candidate passed ({top})" if top else "no candidate"


@dataclass
class FillBrief:
    """One distinct fill brief of a chunk (a contact's holes), with the model's answers split by
    hole: k candidates for each hole."""

    user: str
    variant: int
    holes: list
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)


class SkeletonWriter:
    """Fills the slots of a chunk's skeletons: one brief per contact (every hole the model writes,
    in the email's own context: prompting.fill), k answers each, all in one backend call."""

    def __init__(self, backend, guard, *, brand: str, template, k: int, seed: int,
                 examples: int = prompting.FILL_EXAMPLES, holdback: float = 0.0):
        self.backend, self.guard, self.brand, self.template = backend, guard, brand, template
        self.k, self.seed, self.holdback = k, seed, holdback
        self.system = prompting.fill_system_prompt(brand, self.examples(examples))
        self.tokens = 0
        # the brand policy's [slots] model_kinds: the kinds the model may write (None: all)
        self.model_kinds = getattr(getattr(guard, "policy", None), "slot_model_kinds", None)

    def examples(self, n: int) -> dict[str, list[str]]:
        """The brand's own lines of each kind for this template's campaign (its past emails, as the
        guard knows them), varied; none when `n` is 0 or the brand has no past emails here."""
        library = getattr(self.guard, "slot_library", None)
        if not n or library is None:
            return {}
        return {kind: library.examples(kind, self.template.use_case, n=n)
                for kind in prompting.SLOT_KINDS}

    def writes(self, spec) -> bool:
        """Whether the model writes this slot (the brand policy may keep the template's text)."""
        return self.model_kinds is None or spec.kind in self.model_kinds

    def brief_of(self, skeleton, specs: list, contact: dict) -> tuple[str, list]:
        """The fill brief for one contact: the email with a hole for each of `specs` (the other
        slots show the template's text), and the holes."""
        holes = prompting.holes_for(specs)
        marks = {s.name: h.mark for s, h in zip(specs, holes, strict=True)}
        subject, body = skeleton.fill({**{s.name: s.fallback for s in skeleton.slots}, **marks})
        user = prompting.fill_brief(subject, body, holes, contact=prompting.fill_contact(contact),
                                    campaign=self.template.use_case)
        return user, holes

    def generate(self, briefs: dict[tuple[str, int], FillBrief]) -> None:
        """k answers for every distinct brief, in one backend call; each answer split by hole."""
        reqs = []
        for (user, variant), b in briefs.items():
            digest = hashlib.sha256(user.encode()).hexdigest()[:16]
            budget = prompting.fill_budget(b.holes, TOKENS_PER_WORD)
            reqs += [GenRequest(system=self.system, user=user, tag=(user, variant), prime="",
                                max_new_tokens=budget, lines=len(b.holes),
                                seed=seed_for(self.seed, digest, variant, i))
                     for i in range(self.k)]
        outs: list[GenOutput] = self.backend.generate(reqs) if reqs else []
        for req, out in zip(reqs, outs, strict=True):
            b = briefs[req.tag]
            self.tokens += out.new_tokens
            texts = prompting.parse_fill(out.text, b.holes)
            for h in b.holes:
                raw = texts.get(h.name, "")
                b.candidates.setdefault(h.name, []).append(
                    Candidate(clean(raw, h.kind, h.words) if raw else "", raw, out.mean_logprob,
                              problems=[] if raw else ["no line for this slot in the answer"]))
        for b in briefs.values():
            for cands in b.candidates.values():
                for c, a in zip(cands, agreement([c.text for c in cands]), strict=True):
                    c.agreement = a

    def problems(self, text: str, spec, contact: dict, memo: dict, context: str = "") -> list[str]:
        """The slot checks' problems with one candidate (none without a guard)."""
        if self.guard is None:
            return []
        return self.guard.slot_problems(text, spec, contact, memo, campaign=self.template.use_case,
                                        context=context)

    def choose(self, spec, contact: dict, candidates: list[Candidate], memo: dict,
               context: str = "") -> SlotChoice:
        """The best passing candidate for this contact's slot, else the fallback. A candidate that
        says when ("Sorry we missed you yesterday") without the CRM row saying so is tried again
        without the time words, as a reviewer would cut them."""
        cands = []
        for c in candidates:
            if c.problems:  # the answer had no line for this slot
                cands.append(c)
                continue
            problems = self.problems(c.text, spec, contact, memo, context)
            text = c.text
            if any(p.startswith("says when") for p in problems):
                cut = drop_when(c.text)
                if cut != c.text and not (again := self.problems(cut, spec, contact, memo, context)):
                    text, problems = cut, again
            cands.append(Candidate(text, c.raw, c.mean_logprob, agreement=c.agreement,
                                   problems=problems))
        best = pick(cands)
        listed = [{"text": c.text, "problems": c.problems, "agreement": round(c.agreement, 3),
                   "mean_logprob": None if c.mean_logprob is None else round(c.mean_logprob, 3)}
                  for c in cands]
        if best is None:
            return SlotChoice(spec.name, spec.kind, spec.fallback, "fallback", _why_not(cands),
                              listed)
        return SlotChoice(spec.name, spec.kind, best.text, "model",
                          f"agreement {best.agreement:.2f} among {len(cands)} candidates", listed)

    def fill(self, items: list[tuple[Any, dict, int]]) -> list[dict[str, Any]]:
        """For (skeleton, contact, variant) items: subject, body, parts and slot choices each."""
        briefs: dict[tuple[str, int], FillBrief] = {}
        keys: list[tuple[tuple[str, int], dict[str, str]] | None] = []
        for skeleton, contact, variant in items:
            held_back = fair_test.held_back(self.seed, contact, self.holdback)
            specs = [s for s in skeleton.slots if self.writes(s) and not held_back]
            if not specs:
                keys.append(None)
                continue
            user, holes = self.brief_of(skeleton, specs, contact)
            key = (user, variant)
            briefs.setdefault(key, FillBrief(user, variant, holes))
            keys.append((key, {s.name: h.name for s, h in zip(specs, holes, strict=True)}))
        self.generate(briefs)
        memo: dict = {}
        out = []
        for (skeleton, contact, _variant), entry in zip(items, keys, strict=True):
            choices = []
            context = "\n".join(skeleton.fill({}))  # the email around the slots
            held_back = fair_test.held_back(self.seed, contact, self.holdback)
            for spec in skeleton.slots:
                if held_back:
                    choices.append(held(spec, self.holdback))
                    continue
                if entry is None or spec.name not in entry[1]:
                    choices.append(kept(spec))
                    continue
                cands = briefs[entry[0]].candidates.get(entry[1][spec.name], [])
                choices.append(self.choose(spec, contact, cands, memo, context))
            texts = {c.name: c.text for c in choices if c.source == "model"}
            sources = {c.name: c.source for c in choices}
            subject, body = skeleton.fill(texts)
            prompt = {"system": self.system, "user": entry[0][0]} if entry else {}
            out.append({"subject": subject, "body": body, "choices": choices,
                        "parts": skeleton.parts(texts, sources),
                        "prompts": json.dumps(prompt, ensure_ascii=False)})
        return out
