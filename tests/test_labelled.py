"""The labelled drafts (tests/data/labelled/drafts.jsonl): read and scored with QUALITY.md, split
once by the hash of each draft's key into a calibration part (which the guardrails' thresholds are
chosen on, bench/calibrate.py) and a test part (reported against the targets). Figures are not
tested here against their last recorded value: the split is, and what calibration may read."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "tests" / "data" / "labelled" / "drafts.jsonl"
CALIBRATION = REPO / "bench" / "results" / "calibration.json"
sys.path.insert(0, str(REPO / "bench"))

import labelled  # noqa: E402 - bench/labelled.py, the frozen split


def _rows() -> list[dict]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_labelled_set_covers_brands_modes_models_and_origins():
    rows = _rows()
    assert len(rows) >= 150
    assert len({r["key"] for r in rows}) == len(rows)
    for r in rows:
        assert r["score"] in (1, 2, 3, 4, 5) and r["reason"].strip(), r["key"]
        assert r["brand"] in ("Ledgerly", "Bright Bean") and r["subject"] and r["body"], r["key"]
        for s in r.get("slots") or []:
            assert s["source"] in ("model", "fallback", "template"), r["key"]
            if s["source"] == "model":
                assert s["good"] in (True, False), r["key"]
    pipeline = [r for r in rows if r["origin"] == "pipeline"]
    assert {r["brand"] for r in pipeline} == {"Ledgerly", "Bright Bean"}
    assert {r["mode"] for r in pipeline} == {"slots", "email"}
    assert Counter(r["origin"] for r in rows).keys() >= {"pipeline", "heldout", "rewrite"}
    scores = Counter(r["score"] for r in rows)
    assert scores[1] + scores[2] and scores[4] + scores[5]  # both sides, to calibrate on


def test_rule_checks_fail_every_labelled_draft_with_a_placeholder_or_a_wrong_greeting():
    """The cheap rules alone (no embedder) on the labelled drafts: what code can see, it sees."""
    from calibrate import model_texts

    from brandvoice.config import Settings
    from brandvoice.guardrails import Guard
    from brandvoice.prompting import find_placeholders as placeholders

    settings = Settings.from_env()
    for brand in ("Ledgerly", "Bright Bean"):
        guard = Guard.for_brand(settings, brand, tone=False)
        rows = [r for r in _rows() if r["brand"] == brand]
        verdicts = guard.rules_only([(r["subject"], r["body"], r["contact"], model_texts(r))
                                     for r in rows], batch_contacts=[r["contact"] for r in rows])
        for r, v in zip(rows, verdicts, strict=True):
            if placeholders(f"{r['subject']}\n{r['body']}"):
                assert v.status == "fail", r["key"]


# Keys and the part the split put them in when it was frozen: the rule may never move them.
FROZEN = {"00b963b32ca1aacd": "calibration", "00c2d7e7b081162e": "test",
          "022962c97fcf5145": "calibration", "a-draft-added-later": "calibration",
          "draft-of-2027": "test"}


def test_the_split_is_frozen_by_the_hash_of_the_key():
    assert {k: labelled.part_of(k) for k in FROZEN} == FROZEN
    for r in _rows():  # the hash of the key alone: not the order, the score or the verdict
        assert labelled.part_of(r["key"]) == labelled.part_of(str(r["key"]))
    cal, test = labelled.load("calibration"), labelled.load("test")
    keys = [r["key"] for r in _rows()]
    assert {r["key"] for r in cal} | {r["key"] for r in test} == set(keys)
    assert not {r["key"] for r in cal} & {r["key"] for r in test}
    assert len(cal) + len(test) == len(keys)
    assert 0.5 <= len(cal) / len(keys) <= 0.7  # about 60 / 40
    assert {r["part"] for r in cal} == {"calibration"} and {r["part"] for r in test} == {"test"}
    with pytest.raises(ValueError):
        labelled.load("heldout")


def test_a_new_draft_lands_in_its_part_and_moves_no_other(tmp_path):
    rows = _rows()
    path = tmp_path / "drafts.jsonl"
    before = {r["key"]: labelled.part_of(r["key"]) for r in rows}
    new = {**rows[0], "key": "a-draft-added-later"}
    path.write_text("".join(json.dumps(r) + "\n" for r in [new, *rows[::-1]]), encoding="utf-8")
    after = {r["key"]: r["part"] for part in labelled.PARTS for r in labelled.load(part, path)}
    assert after.pop("a-draft-added-later") == FROZEN["a-draft-added-later"]
    assert after == before


class RecordingGuard:
    """Stands in for a brand's Guard: passes every draft and records what it was shown."""

    def __init__(self, seen: list):
        self.seen = seen
        self.tone = type("Tone", (), {"k": 5})()
        self.policy = type("Policy", (), {"tone": {}, "model_text": "warn"})()
        self.quality = type("Quality", (), {"model_text": "warn"})()

    def check_many(self, items, batch_contacts=None):
        from brandvoice.guardrails import Verdict

        self.seen.extend(items)
        return [Verdict.of([]) for _ in items]


def test_calibration_reads_the_calibration_part_only():
    import calibrate

    seen: list = []
    brands = calibrate.Brands.__new__(calibrate.Brands)  # no corpus, no embedder
    brands.guards = {"Ledgerly": RecordingGuard(seen), "Bright Bean": RecordingGuard(seen)}
    brands.set_tone = lambda recall: None
    best, tried, n = calibrate.calibrate(brands)
    assert n == len(labelled.load("calibration")) and len(tried) > 1
    test_bodies = {r["body"] for r in labelled.load("test")} - \
        {r["body"] for r in labelled.load("calibration")}
    assert seen and not {body for _, body, *_ in seen} & test_bodies
    with pytest.raises(ValueError, match="test part|only the calibration part"):
        calibrate.sweep(brands, labelled.load("test")[:1], (0.2, "warn"))


def test_the_shipped_settings_are_the_ones_calibration_chose():
    """bench/results/calibration.json holds the setting the sweep chose on the calibration part;
    the code and the policies ship exactly that, and the test part is reported against the
    targets (met or not, as its figures say)."""
    import calibrate

    from brandvoice.config import Settings
    from brandvoice.guardrails import load_policy, quality

    recorded = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    chosen = recorded["chosen"]
    assert quality.MAX_UNKNOWN_SHARE == chosen["max_unknown_share"]
    for brand in ("Ledgerly", "Bright Bean"):
        policy = load_policy(Settings().guardrails_dir, brand)
        assert policy.model_text == chosen["model_text"]
        tone = policy.tone
        assert (tone.get("min_recall") if tone.get("target") == "recall" else None) \
            == chosen["tone_min_recall"]
    test = recorded["test"]
    assert test["n"] == len(labelled.load("test"))
    assert recorded["calibration"]["n"] == len(labelled.load("calibration"))
    assert recorded["targets"] == calibrate.TARGETS == {"pass_precision": 0.9, "catch_rate": 0.95}
    assert recorded["targets_met"] == calibrate.met(test)
