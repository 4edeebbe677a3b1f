"""A fair test: a seeded share of a job's contacts gets the template's own text in every slot,
recorded on each draft, so that the results compare the two arms of one campaign."""

from __future__ import annotations

import pytest
from test_slots import CONTACT, SOURCE, SlotBackend, guard, skeleton  # noqa: F401 - guard: fixture

from brandvoice import generation, prompting, worker
from brandvoice.errors import ConfigError
from brandvoice.generation import holdback
from brandvoice.generation.slots import SkeletonWriter


def test_assignment_is_seeded_per_contact_and_near_the_share():
    people = [{"key": str(i)} for i in range(4000)]
    held = [holdback.held_back(1234, c, 0.2) for c in people]
    assert held == [holdback.held_back(1234, c, 0.2) for c in people]  # a resumed job: the same
    assert 0.18 < sum(held) / len(held) < 0.22
    assert held != [holdback.held_back(99, c, 0.2) for c in people]  # another seed, other contacts
    # a larger share holds back the same contacts and more
    wider = [holdback.held_back(1234, c, 0.3) for c in people]
    assert all(w for h, w in zip(held, wider, strict=True) if h)
    assert not any(holdback.held_back(1234, c, 0.0) for c in people)
    assert holdback.held_back(1, {"email": "a@x.example"}, 1.0)  # no CRM id: keyed by address


def test_held_back_contacts_get_the_template_text_and_no_brief(guard):  # noqa: F811
    info = prompting.parse_template(SOURCE, name="t_slots")
    backend = SlotBackend({"subject": ["About the pricing guide you picked up"],
                           "opening": ["You picked up the pricing guide."]})
    w = SkeletonWriter(backend, guard, brand="Acme", template=info, k=2, seed=7, holdback=0.5)
    people = [dict(CONTACT, key=str(i), company=f"Northwind {i}") for i in range(12)]
    held = [holdback.held_back(7, c, 0.5) for c in people]
    assert 0 < sum(held) < len(people)
    filled = w.fill([(skeleton(c), c, 0) for c in people])
    for c, f, h in zip(people, filled, held, strict=True):
        sources = {ch.source for ch in f["choices"]}
        assert sources == ({"holdback"} if h else {"model"}), c["key"]
        if h:
            assert f["subject"] == "About the pricing guide" and "held back for a fair test (50%" in \
                f["choices"][0].reason
    # the model was asked only for the contacts not held back: k answers each
    assert len(backend.requests) == 2 * (len(people) - sum(held))


def test_a_slot_job_records_the_share_and_each_drafts_arm(store, settings, tmp_path, plugged,
                                                          guard):  # noqa: F811
    from helpers_drafts import user

    from brandvoice import review

    crm = tmp_path / "crm.csv"
    acts = tmp_path / "acts.csv"
    rows = [f"{i},Dana{i},d{i}@x.example,Northwind" for i in range(1, 11)]
    crm.write_text("Record ID,First Name,Email,Company Name\n" + "\n".join(rows) + "\n")
    acts.write_text("contact_id,type,timestamp,detail\n" + "".join(
        f"{i},Content download,2026-11-20T10:00:00Z,downloaded the pricing guide\n"
        for i in range(1, 11)))
    settings.prompts_dir = tmp_path
    (tmp_path / "t_slots.j2").write_text(SOURCE, encoding="utf-8")
    backend = SlotBackend({"subject": ["About the pricing guide you picked up"],
                           "opening": ["You picked up the pricing guide."]})
    plugged("backend", "slots", lambda config, settings, **kw: backend)
    plugged("guard", "test", lambda settings, brand, **kw: guard)
    settings.guard = "test"
    config = generation.GenerationConfig(candidates=1, holdback=0.4, seed=5, backend="slots")
    job_id = generation.submit(store, settings, actor=user(store), crm=crm, activities=acts,
                               template="t_slots", base_model="smollm2-135m-instruct",
                               brand="Acme", config=config)
    job = worker.run(store, job_id)
    assert job["status"] == "done", job["error"]
    drafts = [review.get_draft(store, r["id"]) for r in review.list_queue(store, job_id=job_id)[0]]
    expected = {f"d{i}@x.example": holdback.held_back(5, {"key": str(i)}, 0.4) for i in range(1, 11)}
    assert 0 < sum(expected.values()) < 10
    for d in drafts:
        assert d["settings"]["holdback"] == 0.4
        sources = {s["source"] for s in d["settings"]["slots"]}
        assert (sources == {"holdback"}) == expected[d["contact"]["email"]]
    assert job["result"]["run"]["slots_holdback"] == 2 * sum(expected.values())


def test_holdback_needs_a_slot_template_and_stays_within_half(store, settings):
    from helpers_drafts import user

    with pytest.raises(ConfigError, match="holdback=0.6: Input should be less than or equal to 0.5"):
        generation.GenerationConfig(holdback=0.6)
    with pytest.raises(ConfigError, match="writes whole emails"):
        generation.submit(store, settings, actor=user(store), crm="data/crm_hubspot_ledgerly.csv",
                          template="after_demo", base_model="smollm2-135m-instruct",
                          brand="Ledgerly", config=generation.GenerationConfig(holdback=0.2))


def test_cli_has_the_holdback_option():
    from click.testing import CliRunner

    from brandvoice.cli import main

    res = CliRunner().invoke(main, ["generate", "--help"])
    assert res.exit_code == 0 and "--holdback" in res.output
