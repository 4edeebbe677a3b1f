"""Dashboard: pass precision over time from reviewer decisions, whole-number count axes, reasons in
plain words."""

from __future__ import annotations

import json

from helpers_drafts import make_drafts
from ui_harness import (
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)


def _reviewed(store, reviewer):
    from brandvoice import review

    ids = make_drafts(store, 4, created_by="mark")
    review.approve(store, reviewer, ids[0], expected_version=1)
    review.reject(store, reviewer, ids[1], expected_version=1, reason_code="off-brand")
    return ids


def test_pass_precision_over_time(store, demo_people, monkeypatch):
    from brandvoice import review

    _reviewed(store, demo_people[1])
    calls = []

    def pass_precision(store_, *, by="week"):
        calls.append(by)
        return [{"period": "2026-W47", "approved": 3, "rejected": 1, "precision": 0.75},
                {"period": "2026-W48", "approved": 9, "rejected": 1, "precision": 0.9},
                {"period": "overall", "approved": 12, "rejected": 2, "precision": 12 / 14}]

    monkeypatch.setattr(review, "pass_precision", pass_precision, raising=False)
    at = page("dashboard", demo_people[1]).run()
    no_exception(at)
    assert calls == ["week"]
    values = {m.label: str(m.value) for m in at.metric}
    assert values["Pass precision"] == "86%"
    assert any("14 reviewer decisions" in c for c in texts(at, "caption"))
    spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                if "approved among passed" in c.proto.spec)
    assert spec["encoding"]["y"]["axis"]["format"] == "%"


def test_count_axes_are_whole_numbers_and_reasons_plain(store, demo_people):
    _reviewed(store, demo_people[1])
    at = page("dashboard", demo_people[1]).run()
    no_exception(at)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    counted = [s for s in specs if '"sum(drafts)"' in s or "sum_drafts" in s or '"drafts"' in s]
    assert counted and all('"tickMinStep": 1' in s or '"tickMinStep":1' in s for s in counted)
    # The data travels beside the spec (Arrow): the reason's plain words are in it.
    assert any(b"Does not sound like the brand" in d.data.data
               for c in at.get("vega_lite_chart") for d in c.proto.datasets)
