"""A contact's lifecycle stage, as audiences speak of it: lead, trial, customer or churned.

CRMs spell stages their own way (HubSpot "Marketing Qualified Lead", Pipedrive labels "Cold lead"
and "Customer", Salesforce "Closed - Converted", deal stages "Won" or "Trial box"). This module is
the one place that folds them onto the four stages a template's audience names.

The rule, in order:
1. The stage fields are read most explicit first: lifecycle_stage, then lead_status (Pipedrive's
   labels land there), then deal_stage. A field may hold several labels ("Customer, Wholesale").
2. The first field with a known value decides; within a field, churned > customer > trial > lead
   (a label "Customer" beside "Warm lead" is a customer).
3. A value no table knows is *unknown*, never guessed: routing then says "lifecycle stage not
   recognised: 'Partner'" and the marketer adds the spelling (`extra` maps it) or moves the group.
4. A contact whose stage fields are all blank is a lead: every CRM starts a new contact as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

STAGES = ("lead", "trial", "customer", "churned")
UNKNOWN = "unknown"
STAGE_FIELDS = ("lifecycle_stage", "lead_status", "deal_stage")
_RANK = {"lead": 0, "trial": 1, "customer": 2, "churned": 3}

# Spellings per stage, compared lower-case with punctuation folded to spaces.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "lead": (
        # HubSpot lifecycle stages (labels and internal values) and lead statuses
        "subscriber", "lead", "marketing qualified lead", "marketingqualifiedlead", "mql",
        "sales qualified lead", "salesqualifiedlead", "sql", "opportunity", "new", "open",
        "in progress", "open deal", "attempted to contact", "connected", "unqualified",
        "bad timing",
        # Pipedrive labels, Salesforce lead statuses and opportunity stages
        "hot lead", "warm lead", "cold lead", "prospect", "prospecting", "qualification",
        "needs analysis", "value proposition", "id decision makers", "perception analysis",
        "proposal", "proposal price quote", "negotiation", "negotiation review",
        "open not contacted", "working contacted", "closed not converted", "nurture",
        "appointment scheduled", "qualified to buy", "presentation scheduled",
        "decision maker bought in", "contract sent", "demo completed", "demo scheduled",
        "contacted", "qualified", "lost", "closed lost",
    ),
    "trial": ("trial", "trialing", "trialling", "in trial", "free trial", "trial started",
              "trial box", "trial user", "evaluation", "pilot"),
    "customer": ("customer", "customers", "evangelist", "won", "closed won", "closedwon",
                 "closed converted", "active customer", "client", "paying", "member",
                 "wholesale", "active subscriber", "paid"),
    "churned": ("churned", "former customer", "ex customer", "lapsed", "cancelled", "canceled",
                "paused", "inactive customer", "lost customer", "closed churned"),
}
_SPLIT = re.compile(r"\s*[,;|/]\s*")
_FOLD = re.compile(r"[^a-z0-9]+")


def fold(value: str) -> str:
    """A stage value as compared: lower case, punctuation and spacing folded."""
    return _FOLD.sub(" ", value.lower()).strip()


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    return {fold(s): stage for stage, spellings in SPELLINGS.items() for s in spellings}


@dataclass(frozen=True)
class StageReading:
    """A contact's stage and where it came from ("lifecycle_stage: Marketing Qualified Lead")."""

    stage: str  # one of STAGES, or UNKNOWN
    source: str  # the field and value that decided, or why none did

    @property
    def known(self) -> bool:
        return self.stage != UNKNOWN


def stage_of_value(value: str, extra: dict[str, str] | None = None) -> str | None:
    """The stage one field value names (several labels: the furthest stage), None for a blank,
    UNKNOWN for a value no table knows. `extra` maps more spellings (folded) to stages."""
    if not extra:
        return _stage_cached(value or "")
    return _stage(value, extra)


@lru_cache(maxsize=4096)
def _stage_cached(value: str) -> str | None:
    return _stage(value, None)  # stage values repeat on every row: fold each once


def _stage(value: str, extra: dict[str, str] | None) -> str | None:
    labels = [fold(p) for p in _SPLIT.split(value or "") if fold(p)]
    if not labels:
        return None
    index = _index()
    found = [(extra or {}).get(label) or index.get(label) for label in labels]
    known = [s for s in found if s in _RANK]
    if not known:
        return UNKNOWN
    return max(known, key=_RANK.__getitem__)


def stage_of(contact: dict, extra: dict[str, str] | None = None) -> StageReading:
    """The contact's stage by the rule in this module's docstring."""
    unknown: list[str] = []
    for name in STAGE_FIELDS:
        value = str(contact.get(name) or "").strip()
        stage = stage_of_value(value, extra)
        if stage is None:
            continue
        if stage == UNKNOWN:
            unknown.append(f"{name}: {value}")
            continue
        return StageReading(stage, f"{name}: {value}")
    if unknown:
        return StageReading(UNKNOWN, "; ".join(unknown))
    return StageReading("lead", "no stage in the CRM row: a new contact is a lead")
