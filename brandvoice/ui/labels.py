"""Plain words for the app: guardrail checks and rules, rejection reasons, job phases.

One mapping, used by every page; the technical name stays available as a tooltip (reviewers who
read the guardrail files or the CLI's output can match the two).
"""

from __future__ import annotations

CHECKS: dict[str, str] = {
    "tone": "Tone",
    "policy": "Brand rules",
    "personalization": "Personalization",
    "quality": "Quality",
    "format": "Format",
    "contact": "Contact facts",
}

# (check, rule) -> what the rule makes sure of, as a reviewer would say it.
RULES: dict[tuple[str, str], str] = {
    ("tone", "similarity"): "Sounds like the brand",
    ("policy", "banned"): "No banned words",
    ("policy", "competitor"): "No competitor names",
    ("policy", "claims"): "No claims that need approval",
    ("policy", "signature"): "Signed off as the brand",
    ("policy", "footer"): "Has the brand's footer",
    ("policy", "length"): "Subject and body not too long or short",
    ("policy", "spam"): "No spam-trigger phrases",
    ("policy", "exclamations"): "Not too many exclamation marks",
    ("policy", "caps"): "No shouting in capitals",
    ("policy", "reading_level"): "Easy to read",
    ("personalization", "greeting"): "Greets the contact by the right name",
    ("personalization", "company"): "Names the right company",
    ("personalization", "placeholders"): "No unfilled placeholders",
    ("personalization", "leakage"): "No other contact's name or email",
    ("personalization", "facts"): "No invented prices, dates, numbers or links",
    ("personalization", "copying"): "Not copied from a past email",
    ("personalization", "injection"): "Ignores instructions hidden in CRM notes",
    ("personalization", "degeneration"): "No repeated, looping or cut-off text",
    ("quality", "subject"): "The subject reads like a subject",
    ("quality", "placeholders"): "No placeholders of any shape",
    ("quality", "names"): "No invented people or names",
    ("quality", "greeting"): "Opens with a greeting",
    ("quality", "cut_off"): "Does not stop mid-sentence",
    ("quality", "coherence"): "Makes sense (real words, no loops)",
    ("quality", "run_on"): "No run-on sentences",
    ("quality", "dates"): "No past date spoken of as ahead",
    ("quality", "model_text"): "Text the model wrote, read by a person",
    ("format", "parse"): "Came out as an email (subject and body)",
    ("contact", "stage"): "Speaks to the contact as the customer or prospect they are",
    ("contact", "activity"): "Says of their activities only what the record holds",
    ("contact", "recency"): "Time words agree with the activity's date",
    ("contact", "stale"): "No thanks for an old activity as if it were new",
    ("contact", "trial_date"): "Gives the trial's date on record",
}

STATUS = {"pass": "passed", "warn": "needs a look", "fail": "failed"}
VERDICTS = {"pass": "Passed every check", "warn": "Needs a look", "fail": "Failed a check",
            None: "Not checked yet"}

# Rejection reasons (review.REASON_CODES) as a reviewer picks them.
REASONS: dict[str, str] = {
    "incoherent": "Does not make sense",
    "off-brief": "Ignores the brief",
    "wrong-name": "Wrong name, person or company",
    "cut-off": "Cut off",
    "placeholder": "Unfilled placeholder",
    "invented-facts": "Invented facts (price, date, link, promise)",
    "wrong-facts": "Wrong or invented facts",
    "off-brand": "Does not sound like the brand",
    "tone": "Wrong tone",
    "compliance": "Compliance or legal problem",
    "other": "Other (say why)",
}

# A generate job's phases (jobs' metrics["phase"]) as the progress line says them.
PHASES: dict[str, str] = {
    "starting": "Starting: reading the contacts",
    "loading the model": "Loading the model (the first drafts follow in a moment)",
    "loading the guardrails": "Loading the guardrails (tone profile and brand rules)",
    "writing": "Writing drafts",
    "done": "Done",
}

TEMPLATE_KINDS = {
    "slots": "slot template: the model writes only the marked slots",
    "email": "whole email: the model writes all of it",
}


def rule_label(check: str | None, rule: str | None) -> str:
    """The plain words of a guardrail rule (its technical name when there are none yet)."""
    check, rule = check or "", rule or ""
    if rule.startswith("required:"):  # an element the brand policy requires: "required:footer"
        element = rule.split(":", 1)[1]
        return RULES.get((check, element), f"Has the brand's {element.replace('_', ' ')}")
    return RULES.get((check, rule), (rule or check or "check").replace("_", " "))


def verdict_line(verdict: str | None, reasons: list[dict] | None = None) -> str:
    """A verdict in words, its first reason first: "Needs a look: No unfilled placeholders (+1)"."""
    words = VERDICTS.get(verdict, verdict or "")
    if verdict in ("warn", "fail") and reasons:
        first = reasons[0]
        more = f" (+{len(reasons) - 1})" if len(reasons) > 1 else ""
        return f"{words}: {rule_label(first.get('check'), first.get('rule'))}{more}"
    return words


def check_label(check: str | None) -> str:
    """The plain words of a guardrail check."""
    return CHECKS.get(check or "", (check or "").replace("_", " ").capitalize())


def technical(check: str | None, rule: str | None) -> str:
    """The technical name of a rule, as the guardrail files and the CLI spell it."""
    return f"{check}/{rule}" if rule else str(check)


def reason_label(code: str) -> str:
    """The plain words of a rejection reason code."""
    return REASONS.get(code, code.replace("-", " ").capitalize())


def phase_label(phase: str | None) -> str:
    """The plain words of a job phase."""
    return PHASES.get(phase or "", (phase or "").capitalize())
