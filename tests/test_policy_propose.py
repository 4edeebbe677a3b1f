"""A new brand's first policy from its own emails: proposed with its evidence, confirmed, written
atomically and audited; a newsletter's list tag is the brand's convention, not a placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_harness import fast_passwords, no_exception, page, texts  # noqa: F401 - autouse fixture

from brandvoice import corpus, guardrails
from brandvoice.errors import ConfigError, PermissionDenied

GREENROW = Path(__file__).resolve().parent / "data" / "onboard" / "greenrow_emails.csv"
BRAND = "Greenrow Co/op"


@pytest.fixture(autouse=True)
def own_guardrails(monkeypatch, tmp_path):
    """A copy of the shipped guardrails folder, so that a saved policy never lands in the repo."""
    import shutil

    folder = tmp_path / "guardrails"
    shutil.copytree(Path(__file__).resolve().parent.parent / "guardrails", folder)
    monkeypatch.setenv("BRANDVOICE_GUARDRAILS", str(folder))
    return folder


@pytest.fixture
def emails():
    return corpus.load_emails(GREENROW, brand=BRAND)[0]


def test_the_proposal_reads_the_brands_layout_from_its_emails(emails):
    p = guardrails.propose(BRAND, emails)
    assert p.profile["greeting"] == "Hi {first_name}," and p.profile["greeting_fallback"] == "Hi there,"
    assert p.profile["signature"] == "— Ines and the Greenrow crew"
    assert p.profile["footer"].startswith("Greenrow Co/op · 88 Millrace Road")
    assert p.tables["subject"]["tags"] == ["[Greenrow Notes]"]
    assert "https://greenrow.example/unsubscribe" in p.tables["allow"]["urls"]
    assert "Sign-off “— Ines and the Greenrow crew”: 34 of 34 emails" in p.evidence
    assert not p.missing


def test_what_the_emails_do_not_show_is_said_not_guessed():
    mixed = [{"subject": f"Note {i}", "body": f"Hello,\n\nSomething {i}.\n\n{sign}"}
             for i, sign in enumerate(["Best,\nAna", "Cheers,\nBo", "Thanks,\nCy", "Ta,\nDee"])]
    p = guardrails.propose("Mixed", mixed)
    assert "signature" not in p.profile and "footer" not in p.profile
    assert any(m.startswith("signature:") for m in p.missing)
    assert any("the law requires it" in m for m in p.missing)


def test_saving_writes_atomically_audits_and_the_guard_uses_it(store, people, settings, emails):
    text = guardrails.policy_text(guardrails.propose(BRAND, emails))
    path = guardrails.save_policy(store, people["mkt"], BRAND, text)
    assert path.name == "greenrow-co-op.toml" and path.read_text(encoding="utf-8") == text
    with store.read() as conn:
        import sqlalchemy as sa

        from brandvoice.store import audit
        row = conn.execute(sa.select(audit).where(audit.c.action == "policy_save")).mappings().one()
    assert row["actor"] == people["mkt"].username and row["details"]["brand"] == BRAND
    policy = guardrails.load_policy(settings.guardrails_dir, BRAND)
    assert policy.profile.signature == "— Ines and the Greenrow crew"
    assert policy.untagged("[Greenrow Notes] A dry July") == "A dry July"
    assert policy.untagged("[Other] A dry July") == "[Other] A dry July"


def test_a_bad_file_is_refused_and_nothing_written(store, people, settings):
    with pytest.raises(ConfigError, match="greenrow-co-op.toml.*slots.model_kinds"):
        guardrails.save_policy(store, people["mkt"], BRAND, '[slots]\nmodel_kinds = ["poem"]\n')
    assert not guardrails.policy_path(settings, BRAND).exists()
    with pytest.raises(PermissionDenied):
        guardrails.save_policy(store, people["rev"], BRAND, "[brand]\nname = 'x'\n")


def _draft(subject: str) -> tuple[str, str, dict]:
    body = ("Hi June,\n\nThanks for walking the hoop houses with us on Saturday. The plugs you "
            "asked about are ready to ship in flats of 50, and both root in fast in spring soil.\n\n"
            "Want us to hold two flats for your May jobs? Reply with a pickup day.\n\n"
            "— Ines and the Greenrow crew\n\nGreenrow Co/op · 88 Millrace Road, Asheville, NC "
            "28801 · You get this because you buy from us or asked about native plants. "
            "Unsubscribe: https://greenrow.example/unsubscribe")
    return subject, body, {"first_name": "June", "email": "june@fieldandfern.example"}


def test_a_list_tag_passes_once_the_brand_says_it_is_its_own(store, people, settings, emails):
    from brandvoice.guardrails import Guard

    item = _draft("[Greenrow Notes] Plugs for your May jobs")
    before = Guard.for_brand(settings, BRAND, tone=False).check_many([item], tone=False)[0]
    flagged = {f"{r.check}/{r.rule}" for r in before.problems}
    assert {"quality/subject", "quality/placeholders"} & flagged  # no policy yet: a placeholder
    guardrails.save_policy(store, people["mkt"], BRAND,
                           guardrails.policy_text(guardrails.propose(BRAND, emails)))
    after = Guard.for_brand(settings, BRAND, tone=False).check_many([item], tone=False)[0]
    flagged = {f"{r.check}/{r.rule}" for r in after.problems}
    assert not {"quality/subject", "quality/placeholders", "policy/footer", "policy/signature",
                "policy/required:footer"} & flagged, after.reasons()
    other = Guard.for_brand(settings, BRAND, tone=False).check_many(
        [_draft("[First Name] Plugs for your May jobs")], tone=False)[0]
    assert {"quality/subject", "quality/placeholders"} & {f"{r.check}/{r.rule}"
                                                          for r in other.problems}


def _upload(at, name: str, data: bytes):
    at.radio(key="b_emails_source").set_value("Upload a file")
    at.run()
    at.file_uploader(key="b_emails_upload").set_value((name, data, "text/csv"))
    return at.run(timeout=120)


def test_the_page_proposes_the_rules_and_the_marketer_saves_them(store, demo_people, settings):
    at = page("brand", demo_people[2]).run(timeout=120)
    at = _upload(at, "greenrow_emails.csv", GREENROW.read_bytes())
    at.text_input(key="b_brand_greenrow_emails.csv").set_value(BRAND)
    at.run(timeout=120)
    no_exception(at)
    shown = " ".join(texts(at, "markdown"))
    assert "Sign-off “— Ines and the Greenrow crew”: 34 of 34 emails" in shown
    area = next(a for a in at.text_area if a.key.startswith("p_text_"))
    assert 'signature = "— Ines and the Greenrow crew"' in area.value
    at.button(key="p_save").click()
    at.run(timeout=120)
    no_exception(at)
    assert any("Saved greenrow-co-op.toml" in s for s in texts(at, "success"))
    assert guardrails.policy_path(settings, BRAND).is_file()
    reviewer = page("brand", demo_people[1]).run(timeout=120)
    no_exception(reviewer)


def test_a_slot_must_follow_from_the_email_around_it(settings, emails):
    """Nonsense openings from the base model once passed the slot checks ("A world at war ... How
    to choose a new car?"); a line whose topic words come from nowhere in the email is refused,
    and so is another email's subject word for word."""
    from brandvoice import prompting
    from brandvoice.guardrails import Guard

    guard = Guard.for_brand(settings, BRAND, training_emails=emails, tone=False)
    e = next(x for x in emails if x.subject == "Good to see you at the open day")
    info = prompting.parse_template(prompting.skeleton_source(
        e.subject, e.body, name="t", brand=BRAND, use_case="general"), name="t")
    sk = prompting.render_skeleton(info, {"first_name": "June"}, brand=BRAND, greeting="Hi June,",
                                   signature="— Ines and the Greenrow crew")
    context = "\n".join(sk.fill({}))
    spec = {s.kind: s for s in sk.slots}
    contact = {"first_name": "June", "email": "june@fieldandfern.example"}

    def problems(kind, text):
        return guard.slot_problems(text, spec[kind], contact, campaign="general", context=context)

    for nonsense in ("A world at war is a world of change.", "How to choose a new car?",
                     "It has been the year that the meadow walk has taken off, and we are proud."):
        assert any("does not follow from the email" in p for p in problems("opening", nonsense))
    assert not problems("opening", "Thanks for spending part of your Saturday at the open day.")
    assert not problems("opening", "Thanks for walking the hoop houses with us on Saturday.")
    copied = problems("subject", "The meadow walk, and your slope")  # another past email's
    assert any("another email's subject" in p or "does not follow" in p for p in copied)
    assert not problems("subject", "Good to see you at the open day")
