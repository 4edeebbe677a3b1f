"""What worked: the statistics, and campaigns on the demo contacts whose results come from a known
model of who replies: the report finds the planted difference between two adapter versions and
finds none where none was planted."""

from __future__ import annotations

import json
import random

import pytest
from helpers_results import after, demo_contacts, ship, who_replies, write_csv, write_drafts

from brandvoice import results
from brandvoice.results import stats

# --- the statistics --------------------------------------------------------------------------


def test_wilson_interval_matches_the_published_values():
    # Newcombe (1998), table I: 81 of 263 -> 0.2553 to 0.3662; 0 of 10 -> 0 to 0.2775
    low, high = stats.wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = stats.wilson(0, 10)
    assert (low, round(high, 4)) == (0.0, 0.2775)
    assert stats.wilson(0, 0) == (0.0, 1.0)


def test_two_proportion_test_and_holm():
    t = stats.two_proportions(60, 500, 30, 500)  # 12% against 6%
    assert round(t.z, 3) == 3.315 and round(t.p, 5) == 0.00092  # pooled SE 0.0181
    small = stats.two_proportions(2, 40, 1, 40)  # expects 1.5 events a group: Fisher's exact test
    assert small.method == "Fisher's exact test" and small.p == 1.0
    assert round(stats.fisher_exact(3, 4, 1, 4), 4) == 0.4857  # Fisher's tea-tasting lady
    assert round(stats.fisher_exact(10, 10, 0, 10), 6) == round(2 / 184756, 6)
    assert stats.two_proportions(1, 10, 0, 0).p is None
    assert stats.holm([0.01, None, 0.04, 0.03]) == [0.03, None, 0.06, 0.06]
    assert stats.sends_needed(0.05, 0.10) == 435  # the textbook figure for 5% vs 10%, 80% power


def test_sentences_say_significant_not_yet_and_nothing_to_compare():
    a, b = {"k": 60, "n": 500}, {"k": 30, "n": 500}
    for g in (a, b):
        g.update(rate=g["k"] / g["n"], low=stats.wilson(g["k"], g["n"])[0],
                 high=stats.wilson(g["k"], g["n"])[1])
    t = stats.two_proportions(60, 500, 30, 500)
    text = stats.sentence("v2", "v1", "replies", a, b, t, t.p)
    assert text.startswith("v2 earns more replies than v1: 12.0%") and "significant" in text
    t = stats.two_proportions(33, 500, 30, 500)
    c = {"k": 33, "n": 500, "rate": 0.066, "low": stats.wilson(33, 500)[0],
         "high": stats.wilson(33, 500)[1]}
    text = stats.sentence("v2", "v1", "replies", c, b, t, t.p)
    assert text.startswith("No significant difference between v2 and v1 yet")
    assert "sends in each group would show a difference this size" in text
    assert "6.6% (4.7%–9.1%, 33 of 500) against 6.0%" in text
    assert "p = 0.696, z-test, Holm-corrected" in text
    text = stats.sentence("v2", "v1", "replies", c, b, stats.Test(None, None), None)
    assert text.startswith("Nothing to compare v2 with v1 on yet")


# --- a campaign on the demo data ----------------------------------------------------------------

CAMPAIGNS = 12
# The known model of who replies: a base rate by lifecycle stage, times the adapter's lift.
BASE = {"Customer": 0.08, "Opportunity": 0.10, "Sales Qualified Lead": 0.09,
        "Marketing Qualified Lead": 0.07, "Lead": 0.06, "Subscriber": 0.04}


def _run_campaigns(store, people, tmp_path, brand: str, lift: dict[int, float], seed: int) -> None:
    """CAMPAIGNS sends to the brand's demo contacts, each contact's draft written by v1 or v2 at
    random; replies drawn from the model; each batch's results imported as its tool file."""
    rng = random.Random(seed)
    contacts = demo_contacts(brand)
    for week in range(CAMPAIGNS):
        arm = {c["key"]: rng.choice((1, 2)) for c in contacts}
        job_id, _ = write_drafts(store, contacts, brand=brand, template="after_demo",
                                 version_of=lambda c, arm=arm: arm[c["key"]])
        batch = ship(store, people["rev"], people["mkt"], job_id, tmp_path / "exports")

        def chance(c, arm=arm):
            return BASE.get(c.get("lifecycle_stage") or "", 0.07) * lift[arm[c["key"]]]

        rows = who_replies(contacts, chance, rng)
        path = write_csv(tmp_path / f"{brand}-{week}.csv", ["email", "event", "timestamp"],
                         [list(r) for r in rows])
        res = results.import_results(store, people["mkt"], path, batches=[batch["batch_id"]])
        assert res["unmatched"] == res["invalid"] == 0 and res["matched"] == len(rows)


@pytest.fixture
def campaigns(store, people, tmp_path):
    # Ledgerly: v2 was planted to earn 2.5 times the replies of v1. Bright Bean: no difference.
    _run_campaigns(store, people, tmp_path, "Ledgerly", {1: 0.6, 2: 1.5}, seed=22)
    _run_campaigns(store, people, tmp_path, "Bright Bean", {1: 1.0, 2: 1.0}, seed=23)
    return store


def _adapters(rep: dict) -> dict:
    return next(t for t in rep["tables"] if t["dimension"] == "adapter")


def test_the_report_finds_the_planted_difference(campaigns):
    rep = results.report(campaigns, metric="reply", brand="Ledgerly")
    assert rep["drafts"] == CAMPAIGNS * len(demo_contacts("Ledgerly"))
    table = _adapters(rep)
    assert [g["group"] for g in table["groups"]] == ["ledgerly v1", "ledgerly v2"]
    assert table["reference"] == "ledgerly v1"
    (c,) = table["comparisons"]
    assert c["significant"] and c["difference"] > 0.04
    assert c["sentence"].startswith("ledgerly v2 earns more replies than ledgerly v1")
    v1, v2 = table["groups"]
    assert v1["high"] < v2["low"] or c["p_adjusted"] < 0.01


def test_the_report_finds_none_where_none_was_planted(campaigns):
    rep = results.report(campaigns, metric="reply", brand="Bright Bean")
    (c,) = _adapters(rep)["comparisons"]
    assert c["tested"] and not c["significant"]
    assert c["sentence"].startswith("No significant difference between bright-bean v2 and "
                                    "bright-bean v1 yet")
    # the other groupings have one group each: nothing is claimed there
    assert all(not t["comparisons"] for t in rep["tables"] if t["dimension"] != "adapter")


def test_rates_count_every_sent_draft_and_opens_include_replies(campaigns):
    rep = results.report(campaigns, metric="open")
    n = CAMPAIGNS * (len(demo_contacts("Ledgerly")) + len(demo_contacts("Bright Bean")))
    assert rep["drafts"] == n and rep["overall"]["open"]["n"] == n  # no bounce: all delivered
    assert rep["overall"]["open"]["k"] >= rep["overall"]["reply"]["k"] > 0
    assert rep["brands"] == ["Bright Bean", "Ledgerly"]


def test_cli_report(campaigns, monkeypatch):
    from click.testing import CliRunner

    from brandvoice.cli import main

    res = CliRunner().invoke(main, ["results", "report", "--brand", "Ledgerly", "--by", "adapter"])
    assert res.exit_code == 0, res.output
    assert "Adapter version (against ledgerly v1)" in res.output
    assert "ledgerly v2 earns more replies than ledgerly v1" in res.output
    assert "two-proportion z-test" in res.output
    res = CliRunner().invoke(main, ["results", "report", "--metric", "click", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["metric"] == "click"
    res = CliRunner().invoke(main, ["results", "report", "--metric", "nope"])
    assert res.exit_code == 2


# --- slot text, the fair test and the review outcome --------------------------------------------


def test_groups_by_slot_text_fair_test_and_review(store, people, tmp_path):
    from brandvoice import review

    contacts = demo_contacts("Ledgerly")

    def settings_of(c):
        i = contacts.index(c)
        if i % 3 == 0:  # held back: the template's text in every slot
            return {"holdback": 0.3, "slots": [{"name": "opening", "source": "holdback"}]}
        source = "model" if i % 3 == 1 else "fallback"
        return {"holdback": 0.3, "slots": [{"name": "opening", "source": source}]}

    job_id, by_email = write_drafts(store, contacts, brand="Ledgerly", template="after_demo",
                                    version_of=lambda c: 1, settings_of=settings_of)
    first = by_email[contacts[1]["email"].lower()]
    d = review.get_draft(store, first)
    review.edit(store, people["admin"], first, subject=d["subject"], body=d["body"] + " More.",
                expected_version=1)
    from helpers_drafts import mark_checked

    mark_checked(store, [first])
    review.approve(store, people["rev"], first, expected_version=2)
    batch = ship(store, people["rev"], people["mkt"], job_id, tmp_path)
    rows = [[c["email"], "reply", after(1)] for c in contacts[:6]]
    results.import_results(store, people["mkt"], write_csv(tmp_path / "r.csv",
                                                           ["email", "event", "timestamp"], rows),
                           batches=[batch["batch_id"]])
    rep = results.report(store, metric="reply")
    by = {t["dimension"]: {g["group"]: g for g in t["groups"]} for t in rep["tables"]}
    n = len(contacts)
    assert by["slot_source"]["model-written"]["n"] == len(range(1, n, 3))
    assert by["slot_source"]["template text"]["n"] == n - len(range(1, n, 3))
    assert by["holdback"]["held back: template text"]["n"] == len(range(0, n, 3))
    assert by["holdback"]["model slots"]["n"] == n - len(range(0, n, 3))
    assert by["review"]["edited by a reviewer"]["n"] == 1
    assert by["review"]["edited by a reviewer"]["k"] == 1
    holdback = next(t for t in rep["tables"] if t["dimension"] == "holdback")
    assert holdback["reference"] == "held back: template text"
    (fair,) = holdback["comparisons"]
    assert fair["test"] == "Fisher's exact test" and not fair["significant"]
    assert fair["sentence"].startswith("No significant difference between model slots and held "
                                       "back: template text yet")


def test_bad_metric_and_grouping_are_named(store):
    from brandvoice.errors import InputError

    with pytest.raises(InputError, match="Unknown metric"):
        results.report(store, metric="revenue")
    with pytest.raises(InputError, match="Unknown grouping colour"):
        results.report(store, dimensions=["colour"])

