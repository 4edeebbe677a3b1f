"""Routing before generating: every contact of a campaign to the one template that fits, or to
"no template fits" with the reason.

A campaign is a set of templates. `plan` reads no model and writes nothing: for each contact it
asks every template's audience (prompting.audience) whether the contact fits, and picks the fit
whose followed-up activity is the newest (the contact's latest step decides which email they
get); ties go to the template listed first. A contact no template fits gets the reason of the
template that came closest (no matching activity < lifecycle stage < too old < missing field).
Opted-out rows of the import are in the plan too, with their reason.

The marketer may then exclude a group or move it to another template (`moves`, `excludes`, by
group id: a template's name, or "none:<reason>"). A moved contact still needs the new template's
required fields; one that lacks them stays unrouted ("missing field"). The plan a job runs is
computed again from the same inputs and choices at submit, so what the marketer saw is what runs.

Why in generation: a plan is what a generate job runs, and moves and excludes are choices about
what customers receive, checked and audited where the job is submitted (generation.campaign).
Matching one contact to one template stays with the template (prompting.audience).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from brandvoice.crm.stages import stage_of
from brandvoice.errors import InputError
from brandvoice.prompting import REASONS, Fit, TemplateInfo, fit, missing_fields
from brandvoice.prompting.audience import STEP, by_type

NONE = "none:"  # prefix of the group ids of contacts no template fits
SAMPLES = 5


@dataclass
class Route:
    """Where one contact goes: a template, or none with the reason."""

    key: str
    name: str
    row: int | None
    template: str | None
    reason: str | None = None  # a key of prompting.REASONS when template is None
    detail: str = ""
    stage: str = ""
    activity: dict | None = None
    by: str = "audience"  # audience | moved (by the marketer)
    origin: str | None = None  # the group a moved contact came from

    @property
    def group(self) -> str:
        return self.template if self.template else NONE + str(self.reason)

    def record(self, as_of: datetime, campaign: list[str]) -> dict:
        """What a draft keeps of its route: which template, why, and from which activity."""
        act = self.activity or {}
        return {"template": self.template, "by": self.by, "from": self.origin,
                "campaign": list(campaign), "as_of": _iso(as_of), "stage": self.stage,
                "activity": {k: act.get(k) for k in ("type", "timestamp", "detail")} if act else None}


@dataclass
class Plan:
    """Who gets which template, and who gets none and why."""

    templates: list[str]
    as_of: datetime
    routes: list[Route]
    problems: int = 0  # rows the import could not read (not contacts, not in the plan)
    moves: dict[str, str] = field(default_factory=dict)
    excludes: list[str] = field(default_factory=list)

    def routed(self) -> list[Route]:
        return [r for r in self.routes if r.template]

    def counts(self) -> dict[str, Counter]:
        """Contacts per template (campaign order) and per reason."""
        per_t = Counter({t: 0 for t in self.templates})
        per_r: Counter = Counter()
        for r in self.routes:
            if r.template:
                per_t[r.template] += 1
            else:
                per_r[r.reason] += 1
        return {"templates": per_t, "reasons": per_r}

    def groups(self) -> dict[str, list[Route]]:
        """Routes by group id, templates first (campaign order), then reasons."""
        out: dict[str, list[Route]] = {t: [] for t in self.templates}
        for r in self.routes:
            out.setdefault(r.group, []).append(r)
        return out

    def to_dict(self, samples: int = SAMPLES) -> dict[str, Any]:
        """The plan as data: counts, and sample contacts per group (CLI --json, the page)."""
        counts = self.counts()
        groups = []
        for gid, routes in self.groups().items():
            reason = gid[len(NONE):] if gid.startswith(NONE) else None
            groups.append({"group": gid, "template": None if reason else gid, "reason": reason,
                           "label": group_label(gid), "contacts": len(routes),
                           "samples": [_sample(r) for r in routes[:samples]]})
        return {"as_of": _iso(self.as_of), "templates": self.templates,
                "contacts": len(self.routes), "routed": len(self.routed()),
                "per_template": dict(counts["templates"]),
                "per_reason": {REASONS[k]: v for k, v in counts["reasons"].items()},
                "groups": groups, "row_problems": self.problems,
                "moves": self.moves, "excludes": self.excludes}


def group_label(gid: str) -> str:
    """A group id as the plan shows it: the template's name, or "no template: <reason>"."""
    if gid.startswith(NONE):
        return f"no template: {REASONS.get(gid[len(NONE):], gid[len(NONE):])}"
    return gid


def _sample(r: Route) -> dict:
    act = r.activity or {}
    return {"key": r.key, "name": r.name, "row": r.row, "stage": r.stage,
            "activity": f"{str(act.get('timestamp') or '')[:10]} {act.get('type', '')}: "
                        f"{act.get('detail') or ''}".strip() if act else "",
            "why": r.detail or ("moved from " + group_label(r.origin) if r.by == "moved" else "")}


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _name(c: dict) -> str:
    return " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x) or str(c.get("email"))


def route_contact(contact: dict, templates: list[TemplateInfo], now: datetime,
                  stage_extra: dict[str, str] | None = None) -> Route:
    """The best-fitting template for one contact, or none with the closest template's reason."""
    stage = stage_of(contact, stage_extra)
    best = best_when = None
    closest = None
    index = by_type(contact)
    for info in templates:
        f = fit(info.audience, contact, stage, now, index=index)
        if f.ok:  # the fields last: most contacts fail a template on its audience already
            lacking = missing_fields(info, contact)
            if lacking:
                f = Fit(False, "missing_field", "missing " + ", ".join(lacking), f.activity, f.when)
        if f.ok:
            when = f.when.timestamp() if f.when else float("-inf")
            if best is None or when > best_when:
                best, best_when = (info, f), when
        elif closest is None or STEP.get(f.reason, 0) > STEP.get(closest.reason, 0):
            closest = f
    src = contact.get("source") or {}
    base = {"key": str(contact.get("key")), "name": _name(contact), "row": src.get("row"),
            "stage": stage.stage}
    if best is not None:
        return Route(**base, template=best[0].name, activity=best[1].activity)
    if closest is None:
        return Route(**base, template=None, reason="no_activity", detail="the campaign has no template")
    return Route(**base, template=None, reason=closest.reason, detail=closest.detail,
                 activity=closest.activity)


def plan(contacts: list[dict], templates: list[TemplateInfo], *, now: datetime,
         opted_out: list[dict] = (), problems: int = 0, moves: dict[str, str] | None = None,
         excludes: list[str] | set[str] = (), stage_extra: dict[str, str] | None = None) -> Plan:
    """Route every contact (and list every opted-out row), then apply the marketer's moves and
    excludes; InputError when a move names a template outside the campaign."""
    if not templates:
        raise InputError("A campaign needs at least one template.",
                         hint="Pick the templates of the campaign (`--template NAME`, repeatable).")
    names = [t.name for t in templates]
    if len(set(names)) != len(names):
        raise InputError("A campaign lists a template twice.", hint="Name each template once.")
    by_name = {t.name: t for t in templates}
    moves = dict(moves or {})
    bad = [f"{g} -> {t}" for g, t in moves.items() if t not in by_name]
    if bad:
        raise InputError(f"A group can move only to a template of the campaign: {', '.join(bad)}.",
                         hint=f"Templates of this campaign: {', '.join(names)}.")
    routes = [route_contact(c, templates, now, stage_extra) for c in contacts]
    by_key = {str(c.get("key")): c for c in contacts}
    for r in routes:
        gid = r.group
        if gid in excludes:
            r.template, r.reason, r.detail, r.origin = None, "excluded", group_label(gid), gid
        elif gid in moves and moves[gid] != r.template:
            _move(r, by_key[r.key], by_name[moves[gid]], gid)
    for row in opted_out:
        routes.append(Route(key=str(row.get("email") or f"row {row.get('row')}"),
                            name=str(row.get("email") or ""), row=row.get("row"), template=None,
                            reason="opted_out", detail=str(row.get("reason") or "")))
    return Plan(names, now, routes, problems, moves, sorted(excludes))


def _move(r: Route, contact: dict, target: TemplateInfo, gid: str) -> None:
    """Move one contact to `target` (the marketer's choice), if it has the fields it needs."""
    lacking = missing_fields(target, contact)
    if lacking:
        r.template, r.reason = None, "missing_field"
        r.detail = f"moved to {target.name}, which needs {', '.join(lacking)}"
        return
    r.template, r.reason, r.detail, r.by, r.origin = target.name, None, "", "moved", gid
    followed = [f.type for f in target.audience.follows]
    if followed:  # the activity the template will speak of, as a draft's route records it
        r.activity = next((a for a in contact.get("activities") or []
                           if isinstance(a, dict) and a.get("type") in followed), None)


def opted_out_rows(excluded: list[dict]) -> list[dict]:
    """The import's excluded rows that opted out (duplicates and bad emails are not contacts)."""
    return [e for e in excluded if str(e.get("reason", "")).startswith("opted out")]
