"""The Results page: what worked (charts with intervals, a sentence per comparison), edits week by
week, and the import form with the past imports."""

from __future__ import annotations

import json

from helpers_results import after, demo_contacts, ship, write_csv, write_drafts
from ui_harness import fast_passwords, no_exception, page, texts  # noqa: F401

from brandvoice import results


def test_without_results_the_page_says_what_to_do(store, demo_people):
    at = page("results", demo_people[2]).run()
    no_exception(at)
    assert any("No results yet" in i for i in texts(at, "info"))
    assert any("No reviewer decision yet" in i for i in texts(at, "info"))
    assert any("No results imported yet" in c for c in texts(at, "caption"))
    assert at.button(key="r_go").disabled  # no file chosen


def _campaign(store, people_by_role, tmp_path):
    """Two adapter versions on the demo contacts: v2's drafts draw replies, v1's do not."""
    admin, reviewer, marketer = people_by_role
    contacts = demo_contacts("Ledgerly")
    job_id, _ = write_drafts(store, contacts, brand="Ledgerly", template="after_demo",
                             version_of=lambda c: 1 + contacts.index(c) % 2)
    batch = ship(store, reviewer, marketer, job_id, tmp_path)
    rows = [[c["email"], "reply" if i % 2 else "open", after(1)] for i, c in enumerate(contacts)]
    path = write_csv(tmp_path / "r.csv", ["email", "event", "timestamp"], rows)
    return results.import_results(store, marketer, path, batches=[batch["batch_id"]])


def test_what_worked_charts_and_sentences(store, demo_people, tmp_path):
    res = _campaign(store, demo_people, tmp_path)
    at = page("results", demo_people[1]).run()
    no_exception(at)
    values = {m.label: str(m.value) for m in at.metric}
    assert values["Measured drafts"] == str(len(demo_contacts("Ledgerly")))
    assert values["Reply rate"].endswith("%") and values["Open rate"] == "100%"
    assert any("ledgerly v2 earns more replies than ledgerly v1" in s
               for s in texts(at, "success"))
    spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart")
                if "replies per email" in c.proto.spec)
    assert spec["layer"][1]["mark"]["type"] == "rule"  # the 95% interval of each group
    assert any("two-proportion z-test" in c for c in texts(at, "caption"))
    at.radio(key="r_metric").set_value("open").run()
    no_exception(at)
    assert any("opens per email" in c.proto.spec for c in at.get("vega_lite_chart"))
    # the past imports list the file
    frames = [d.value for d in at.dataframe]
    assert any(res["import_id"] in list(f["#"]) for f in frames if "#" in f)


def test_edits_tab_shows_the_weekly_trend(store, demo_people):
    from helpers_drafts import make_drafts

    from brandvoice import review

    ids = make_drafts(store, 3, created_by="mark")
    review.approve(store, demo_people[1], ids[0], expected_version=1)
    review.reject(store, demo_people[1], ids[1], expected_version=1, reason_code="off-brand")
    at = page("results", demo_people[0]).run()
    no_exception(at)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("approved as written" in s for s in specs)
    assert any("median words changed" in s for s in specs)
    assert any(b"Does not sound like the brand" in d.data.data
               for c in at.get("vega_lite_chart") for d in c.proto.datasets)


def test_results_page_is_in_the_menu_for_every_role():
    from brandvoice.ui import nav

    for role in ("marketer", "reviewer", "admin"):
        assert "results" in [p.url for p in nav.pages_for(role)]


def test_brand_voice_trains_from_results_or_says_what_is_missing(store, demo_people, monkeypatch):
    from brandvoice import results as results_mod

    at = page("brand", demo_people[2]).run(timeout=120)
    at.selectbox(key="t_outcome").set_value("reply").run(timeout=120)
    at.button(key="t_go").click().run(timeout=120)
    no_exception(at)
    errors = " ".join(texts(at, "error"))
    assert "No sent draft of Ledgerly has a reply in the imported results yet" in errors
    assert "Import the campaign's results on the Results page first" in errors
    assert "brandvoice results" not in errors
    calls = []
    monkeypatch.setattr(results_mod, "submit_training",
                        lambda *a, metric, **k: calls.append(metric) or 7)
    monkeypatch.setattr("brandvoice.jobs.start", lambda *a, **k: 1)
    at.button(key="t_go").click().run(timeout=120)
    assert calls == ["reply"]
