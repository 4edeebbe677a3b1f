"""CRM values appear only inside a brief's data blocks, for every shipped template: a whole-email
brief's <crm_data>; a slot template's fill brief's <crm_data>, <email> and <slots>. Training briefs
alike."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from brandvoice import prompting
from brandvoice.generation.slots import SkeletonWriter

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
FIELDS = ("first_name", "last_name", "company", "job_title", "lifecycle_stage", "lead_status",
          "deal_stage", "phone", "city", "country", "notes")
TYPES = ("demo_attended", "content_download", "webinar_attended", "event_attended",
         "meeting_no_show", "trial_started", "trial_ending", "pricing_page_visit", "email_reply")


def _marker(what: str) -> str:
    return "Zq" + re.sub(r"[^a-z]", "", what.lower()) + "Qz"


def marked_contact() -> dict:
    """A contact whose every value is a marker that cannot occur in a template's own text."""
    c = {f: _marker(f) for f in FIELDS}
    c.update(key="k1", email="zqemailqz@example.com",
             custom={"Industry": _marker("custom industry"), "Plan": _marker("custom plan")},
             activities=[{"type": t, "timestamp": f"2026-11-{10 + i:02d}T10:00:00Z",
                          "detail": _marker(f"detail {t}")} for i, t in enumerate(TYPES)])
    return c


def markers(c: dict) -> list[str]:
    found = [v for k, v in c.items() if k in FIELDS]
    found += list(c["custom"].values()) + [a["detail"] for a in c["activities"]]
    return found


def outside(text: str, blocks: tuple[str, ...]) -> str:
    """The brief with every data block cut out."""
    for tag in blocks:
        text = re.sub(rf"<{tag}>.*?</{tag}>", "", text, flags=re.DOTALL)
    return text


def fill_brief_of(info, contact: dict) -> str:
    sk = prompting.render_skeleton(info, contact, brand="Acme", extra={"now": NOW},
                                   greeting=prompting.greeting_line(contact), signature="The team")
    writer = SkeletonWriter(None, None, brand="Acme", template=info, k=1, seed=1, examples=0)
    return writer.brief_of(sk, sk.slots, contact)[0]


@pytest.mark.parametrize("info", prompting.list_templates(), ids=lambda i: i.name)
def test_no_crm_value_of_a_shipped_template_stands_outside_a_data_block(info):
    contact = marked_contact()
    if info.kind == "slots":
        brief, blocks = fill_brief_of(info, contact), ("crm_data", "email", "slots")
    else:
        brief, blocks = prompting.render(info, contact, brand="Acme",
                                         extra={"now": NOW}), ("crm_data",)
    rest = outside(brief, blocks)
    leaked = [m for m in markers(contact) if m in rest]
    assert not leaked, f"{info.name}: {leaked} outside the data blocks:\n{rest}"
    assert any(m in brief for m in markers(contact))  # the data does reach the brief


def test_training_briefs_keep_contact_data_in_the_block():
    brief = prompting.training_brief("demo follow-up", _marker("segment"), _marker("audience"),
                                     body=f"Hi {_marker('name').capitalize()},\n\nThanks.")
    rest = outside(brief, ("crm_data",))
    assert _marker("segment") not in rest and _marker("audience") not in rest
    assert _marker("segment") in brief and _marker("audience") in brief
