"""Check results, the per-draft verdict (worst result wins) and how they are stored."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail"]
_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass
class CheckResult:
    """One rule's outcome: `check` is tone | policy | personalization, `rule` the rule's name."""

    check: str
    rule: str
    status: Status
    message: str
    score: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-able dict."""
        return asdict(self)


def worst(statuses) -> Status:
    """The worst of some statuses ("pass" when there are none)."""
    out: Status = "pass"
    for s in statuses:
        if _RANK[s] > _RANK[out]:
            out = s
    return out


@dataclass
class Verdict:
    """All results for one draft; `status` is the worst of them."""

    status: Status
    results: list[CheckResult]
    tone_score: float | None = None

    @classmethod
    def of(cls, results: list[CheckResult], tone_score: float | None = None) -> Verdict:
        """A verdict from results (status = worst)."""
        return cls(status=worst(r.status for r in results), results=results, tone_score=tone_score)

    @property
    def problems(self) -> list[CheckResult]:
        """The results that are not passes, failures first."""
        bad = [r for r in self.results if r.status != "pass"]
        return sorted(bad, key=lambda r: -_RANK[r.status])

    def reasons(self, limit: int | None = None) -> list[str]:
        """Marketer-readable lines for the problems ("FAIL policy/banned: ...")."""
        lines = [f"{r.status.upper()} {r.check}/{r.rule}: {r.message}" for r in self.problems]
        return lines[:limit] if limit else lines

    def to_dict(self) -> dict:
        """A JSON-able dict."""
        return {"status": self.status, "tone_score": self.tone_score,
                "results": [r.to_dict() for r in self.results]}


def verdict_rows(draft_id: int, row_version: int, verdict: Verdict, now: str) -> list[dict]:
    """A verdict's results as rows of guardrail_results (for a new draft, written with it in one
    insert; `store_results` for a draft checked again)."""
    import json

    return [{"draft_id": draft_id, "row_version": row_version, "check": r.check, "rule": r.rule,
             "status": r.status, "score": None if r.score is None else float(r.score),
             "message": r.message, "details": json.loads(json.dumps(r.details, default=str)),
             "created_at": now} for r in verdict.results]


def store_results(store, conn, draft_id: int, row_version: int, verdict: Verdict) -> None:
    """Write a draft's guardrail results (for the checked text version) and its verdict/tone score.

    Runs inside the caller's transaction `conn`; results of the same text version are replaced,
    so checking a draft twice never duplicates rows. A verdict is never written onto newer text:
    when the draft's text changed after `row_version` (the version that was checked), nothing is
    written and ConflictError says so.
    """
    import sqlalchemy as sa

    from brandvoice.errors import ConflictError, NotFoundError
    from brandvoice.store import drafts, guardrail_results, lifecycle, utcnow

    current = conn.execute(sa.select(drafts.c.row_version, drafts.c.text_row_version)
                           .where(drafts.c.id == draft_id).with_for_update()).first()
    if current is None:
        raise NotFoundError(f"No draft with id {draft_id}: its guardrail results were not saved.")
    if not current.text_row_version <= row_version <= current.row_version:
        raise ConflictError(f"Draft {draft_id} changed while it was being checked (version "
                            f"{row_version} was checked; its text is now version "
                            f"{current.text_row_version}): the verdict was not saved.",
                            hint="Reload the draft and check it again.")
    conn.execute(sa.delete(guardrail_results).where(
        guardrail_results.c.draft_id == draft_id, guardrail_results.c.row_version == row_version))
    rows = verdict_rows(draft_id, row_version, verdict, utcnow())
    if rows:
        conn.execute(guardrail_results.insert(), rows)
    lifecycle.record_verdict(conn, draft_id, verdict.status, verdict.tone_score)
