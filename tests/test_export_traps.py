"""The export page's traps, each closed: a profile's required format is set when it is chosen; the
variants not picked leave the approved pile (audited); a contact who already received a campaign's
follow-up is left out of the next batch and named; Excel gets a byte-order mark."""

from __future__ import annotations

import pytest
from helpers_drafts import add_variant, make_drafts
from ui_harness import fast_passwords, no_exception, page, texts  # noqa: F401 - autouse fixture

from brandvoice import delivery, review
from brandvoice.errors import ExportError

pytestmark = pytest.mark.usefixtures("fast_hashes")


def _approve(store, reviewer, ids):
    for i in ids:
        review.approve(store, reviewer, i, expected_version=review.get_draft(store, i)["row_version"])


def _state(store, draft_id):
    return review.get_draft(store, draft_id)["state"]


def test_choosing_hubspot_ticks_html_and_generic_ticks_excel(store, demo_people):
    at = page("export", demo_people[2]).run()
    no_exception(at)
    assert at.checkbox(key="x_bom_generic").value is True  # a spreadsheet: byte-order mark on
    assert at.checkbox(key="x_html_generic").value is False
    at.selectbox(key="x_profile").select("hubspot")
    at.run()
    no_exception(at)
    assert at.checkbox(key="x_html_hubspot").value is True  # HubSpot needs HTML: set on choosing
    at.checkbox(key="x_html_hubspot").uncheck()
    at.run()
    assert any("needs an HTML body" in w for w in texts(at, "warning"))
    at.selectbox(key="x_profile").select("mailchimp")
    at.run()
    assert at.checkbox(key="x_html_mailchimp").value is False  # no choice carries over
    at.selectbox(key="x_profile").select("hubspot")
    at.run()
    assert not any("needs an HTML body" in w for w in texts(at, "warning"))


def test_hubspot_export_from_the_page_is_html(store, demo_people):
    ids = make_drafts(store, 1, created_by="mark")
    _approve(store, demo_people[1], ids)
    at = page("export", demo_people[2]).run()
    at.selectbox(key="x_profile").select("hubspot")
    at.run()
    at.button(key="x_go").click()
    at.run()
    no_exception(at)
    last = at.session_state["x_last"]
    assert last["options"]["html_body"] is True
    assert "<p>" in open(last["path"], encoding="utf-8").read()


def test_generic_export_starts_with_a_bom_and_accents_survive(store, people, tmp_path):
    ids = make_drafts(store, 5)  # the helper's names include Chloé and Jürgen
    _approve(store, people["rev"], ids)
    res = delivery.export(store, people["mkt"], "generic", tmp_path / "g.csv")
    raw = (tmp_path / "g.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and res["options"]["bom"] is True
    assert "Chloé" in raw.decode("utf-8-sig") and "Jürgen" in raw.decode("utf-8-sig")
    more = make_drafts(store, 1, template="another_campaign")
    _approve(store, people["rev"], more)
    delivery.export(store, people["mkt"], "mailchimp", tmp_path / "m.csv")  # an import: no mark
    assert not (tmp_path / "m.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_newest_variant_exported_and_the_older_ones_leave_the_approved_pile(store, people,
                                                                             tmp_path):
    (a,) = make_drafts(store, 1)
    a2 = add_variant(store, a)
    a3 = add_variant(store, a)
    _approve(store, people["rev"], [a, a2, a3])
    res = delivery.export(store, people["mkt"], "generic", tmp_path / "x.csv", on_duplicate="newest")
    assert res["draft_ids"] == [a3]
    assert [_state(store, d) for d in (a, a2, a3)] == ["superseded", "superseded", "exported"]
    assert review.list_queue(store, state="approved", limit=1)[1] == 0  # nothing left waiting
    trail = review.audit_trail(store, a)
    moved = [e for e in trail["events"] if e["action"] == "supersede"]
    assert moved and moved[0]["actor"] == people["mkt"].username


def test_a_contact_already_sent_the_campaigns_follow_up_is_left_out_and_named(store, people,
                                                                             tmp_path):
    first = make_drafts(store, 3, template="after_open_day")
    _approve(store, people["rev"], first)
    delivery.export(store, people["mkt"], "generic", tmp_path / "week1.csv")
    # The same follow-up generated again a week later for the same contacts, and one new contact.
    again = make_drafts(store, 4, template="after_open_day")
    _approve(store, people["rev"], again)
    res = delivery.export(store, people["mkt"], "generic", tmp_path / "week2.csv")
    assert res["draft_ids"] == [again[3]]
    named = {s["id"]: s["reason"] for s in res["skipped"]}
    assert set(named) == set(again[:3])
    assert "contact0@example.com already received the follow-up “after_open_day”" in named[again[0]]
    assert {_state(store, d) for d in again[:3]} == {"superseded"}
    events = [e for e in review.audit_trail(store, again[0])["events"] if e["action"] == "supersede"]
    assert "campaign's follow-up" in events[0]["details"]["reason"]
    # Another campaign's follow-up to the same contacts goes out.
    other = make_drafts(store, 1, template="after_download")
    _approve(store, people["rev"], other)
    assert delivery.export(store, people["mkt"], "generic",
                           tmp_path / "other.csv")["draft_ids"] == other


def test_a_repeat_asked_for_by_id_is_refused_unless_on_purpose(store, people, tmp_path):
    first = make_drafts(store, 1, template="after_open_day")
    _approve(store, people["rev"], first)
    delivery.export(store, people["mkt"], "generic", tmp_path / "a.csv")
    again = make_drafts(store, 1, template="after_open_day")
    _approve(store, people["rev"], again)
    with pytest.raises(ExportError, match="already received the follow-up"):
        delivery.export(store, people["mkt"], "generic", tmp_path / "b.csv", draft_ids=again)
    res = delivery.export(store, people["mkt"], "generic", tmp_path / "b.csv", draft_ids=again,
                          allow_repeat=True)
    assert res["draft_ids"] == again


def test_the_page_names_the_contacts_left_out(store, demo_people):
    reviewer, marketer = demo_people[1], demo_people[2]
    first = make_drafts(store, 2, template="after_open_day", created_by="mark")
    _approve(store, reviewer, first)
    at = page("export", marketer).run()
    at.button(key="x_go").click()
    at.run()
    again = make_drafts(store, 2, template="after_open_day", created_by="mark")
    _approve(store, reviewer, again)
    at.run()
    at.button(key="x_go").click()
    at.run()
    no_exception(at)
    shown = " ".join(texts(at, "warning")) + " ".join(texts(at, "error"))
    assert "contact0@example.com already received the follow-up" in shown
