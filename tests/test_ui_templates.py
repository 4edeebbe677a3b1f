"""Templates page: Discard puts the saved text back, Save refuses unknown filters and tests, slot
templates are shown with their slots."""

from __future__ import annotations

import shutil

import pytest
from ui_harness import (
    REPO,
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)


@pytest.fixture
def prompts(tmp_path, monkeypatch):
    folder = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", folder)
    monkeypatch.setenv("BRANDVOICE_PROMPTS", str(folder))
    return folder


def _open(demo_people, name: str):
    at = page("templates", demo_people[2]).run()
    at.selectbox(key="t_name").set_value(name)
    return at.run()


def test_discard_restores_the_saved_text(store, demo_people, prompts):
    at = _open(demo_people, "after_demo")
    saved = (prompts / "after_demo.j2").read_text(encoding="utf-8")
    assert at.button(key="t_discard").disabled
    at.text_area[0].input(saved + "\n- Mention the weather.")
    at.run()
    assert not at.button(key="t_discard").disabled
    at.button(key="t_discard").click()
    at.run()
    no_exception(at)
    assert at.text_area[0].value == saved
    assert any("discarded" in s for s in texts(at, "success"))
    assert (prompts / "after_demo.j2").read_text(encoding="utf-8") == saved


@pytest.mark.parametrize("addition, named", [
    ("{% if company %}{{ company|shout }}{% endif %}", "no filter named 'shout'"),
    ("{% if company is shouty %}x{% endif %}", "no test named 'shouty'"),
])
def test_save_refuses_unknown_filters_and_tests(store, demo_people, prompts, addition, named):
    at = _open(demo_people, "after_demo")
    saved = (prompts / "after_demo.j2").read_text(encoding="utf-8")
    at.text_area[0].input(saved + addition)
    at.run()
    assert any(named in e for e in texts(at, "error"))  # said while typing, with the line
    at.button(key="t_save").click()
    at.run()
    no_exception(at)
    assert any(named in e for e in texts(at, "error"))
    assert (prompts / "after_demo.j2").read_text(encoding="utf-8") == saved


def test_slot_templates_show_their_slots_and_the_email(store, demo_people, prompts):
    at = _open(demo_people, "ledgerly_after_demo")
    no_exception(at)
    assert any("Slot template" in m and "for Ledgerly" in m for m in texts(at, "markdown"))
    slots = next(d.value for d in at.dataframe if "slot" in d.value.columns)
    assert list(slots["slot"]) == ["subject", "opening", "ask"]
    assert list(slots["kind"]) == ["subject", "opening", "ask"]
    assert slots["at most (words)"][0] == 8 and slots["at most (words)"][2] == 30
    assert slots["fallback text"][0] == "Your Ledgerly demo, in three lines"
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "Slot “opening”" in html and "Here is a short recap for the" in html
    assert "Hi " in html  # the brand policy's greeting, with the contact's first name
    assert not at.text_input  # the brand comes from the template's header
