"""Bringing a new brand in: past emails in any common shape (with or without a brand column, with or
without metrics), the brand named whatever the marketer types, what the page read and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_harness import fast_passwords, no_exception, page, texts  # noqa: F401 - autouse fixture

from brandvoice import corpus
from brandvoice.errors import InputError

DATA = Path(__file__).resolve().parent / "data" / "onboard"
GREENROW = DATA / "greenrow_emails.csv"  # date, subject_line, email_body: no brand, no metrics


def _with_brand_column(tmp_path: Path, brands: list[str]) -> Path:
    """The Greenrow emails with a brand column cycling over `brands`, as JSONL."""
    import json

    emails, _ = corpus.load_emails(GREENROW)
    out = tmp_path / "emails.jsonl"
    out.write_text("".join(json.dumps({"brand": brands[i % len(brands)], "subject": e.subject,
                                       "body": e.body}) + "\n" for i, e in enumerate(emails)),
                   encoding="utf-8")
    return out


def test_a_file_without_brand_column_or_metrics_is_all_the_brands(tmp_path):
    c = corpus.prepare(GREENROW, brand="Greenrow Co/op")
    assert len(c.train) + len(c.test) == 34
    assert {e.brand for e in c.train + c.test} == {"Greenrow Co/op"}
    assert c.selection["fallback"] == "no_metrics"
    assert "all 34 cleaned emails are used, unranked" in c.selection["explanation"][0]


def test_the_typed_name_names_a_one_brand_files_rows(tmp_path):
    path = _with_brand_column(tmp_path, ["Greenrow"])
    loaded = corpus.read_emails(path, brand="Greenrow Co/op")
    assert len(loaded.emails) == 34 and {e.brand for e in loaded.emails} == {"Greenrow Co/op"}
    assert loaded.info["renamed"] == {"from": "Greenrow", "to": "Greenrow Co/op"}
    assert not [p for p in loaded.problems if "skipped" in p]


def test_several_brands_need_a_choice_of_whose_rows(tmp_path):
    path = _with_brand_column(tmp_path, ["Greenrow", "Other Shop"])
    assert corpus.file_brands(path) == {"Greenrow": 17, "Other Shop": 17}
    with pytest.raises(InputError, match="no emails for brand 'Greenrow Co/op'") as err:
        corpus.read_emails(path, brand="Greenrow Co/op")
    assert "Greenrow (17)" in err.value.hint and "Other Shop (17)" in err.value.hint
    loaded = corpus.read_emails(path, brand="Greenrow Co/op", rows_of="Greenrow")
    assert len(loaded.emails) == 17 and {e.brand for e in loaded.emails} == {"Greenrow Co/op"}
    assert "17 rows" in " ".join(loaded.problems) and "Other Shop" in " ".join(loaded.problems)
    same = corpus.read_emails(path, brand="greenrow")  # the file's own name, any spelling
    assert len(same.emails) == 17 and "renamed" not in same.info


def test_train_config_carries_whose_rows(tmp_path):
    from brandvoice import training

    path = _with_brand_column(tmp_path, ["Greenrow", "Other Shop"])
    config = training.TrainConfig(brand="Greenrow Co/op", emails=str(path), rows_of="Greenrow")
    c = corpus.prepare(config.emails, brand=config.brand, rows_of=config.rows_of)
    assert len(c.train) + len(c.test) == 17


def _upload(at, name: str, data: bytes):
    at.radio(key="b_emails_source").set_value("Upload a file")
    at.run()
    at.file_uploader(key="b_emails_upload").set_value((name, data, "text/csv"))
    return at.run(timeout=120)


def test_the_page_says_what_it_read_and_selects_every_email_without_metrics(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    at = _upload(at, "greenrow_emails.csv", GREENROW.read_bytes())
    at.text_input(key="b_brand_greenrow_emails.csv").set_value("Greenrow Co/op")
    at.run(timeout=120)
    no_exception(at)
    said = " ".join(texts(at, "info"))
    assert "Read 34 rows of greenrow_emails.csv" in said and "subject, body" in said
    assert "No brand column: every row is read as Greenrow Co/op's" in said
    assert "every email is used, unranked" in said
    assert "No campaign column" in said
    metrics = {m.label: str(m.value) for m in at.metric}
    assert metrics["Selected for training"] == "34"
    assert not at.button(key="t_go").disabled
    assert not texts(at, "warning") or not any("brand" in w.lower() for w in texts(at, "warning"))


def test_the_page_picks_whose_rows_in_a_shared_file(store, demo_people, tmp_path):
    path = _with_brand_column(tmp_path, ["Greenrow", "Other Shop"])
    at = page("brand", demo_people[2]).run(timeout=120)
    at = _upload(at, "shared.jsonl", path.read_bytes())
    at.text_input(key="b_brand_shared.jsonl").set_value("Greenrow Co/op")
    at.run(timeout=120)
    no_exception(at)
    assert at.selectbox(key="b_rows_of_shared.jsonl").value == "Greenrow"
    assert {m.label: str(m.value) for m in at.metric}["Selected for training"] == "17"
    assert "its rows are read as Greenrow Co/op's" in " ".join(texts(at, "info"))


@pytest.fixture
def own_prompts(monkeypatch, tmp_path):
    """A copy of the shipped prompts folder: a saved template never lands in the repo."""
    import shutil

    folder = tmp_path / "prompts"
    shutil.copytree(Path(__file__).resolve().parent.parent / "prompts", folder)
    monkeypatch.setenv("BRANDVOICE_PROMPTS", str(folder))
    return folder


def test_marks_make_a_slot_template_with_the_emails_own_fallbacks():
    from brandvoice import prompting

    emails, _ = corpus.load_emails(GREENROW, brand="Greenrow Co/op")
    e = next(x for x in emails if x.subject == "Good to see you at the open day")
    marks = prompting.default_marks(e.subject, e.body)
    assert [m.kind for m in marks] == ["subject", "opening", "ask"]
    assert marks[1].text == "Thanks for walking the hoop houses with us on Saturday."
    own = prompting.sentences(e.body)[3]  # a middle sentence the marketer marks instead
    source = prompting.skeleton_source(
        e.subject, e.body, name="greenrow_open_day", brand="Greenrow Co/op", use_case="general",
        marks=[marks[0], prompting.Mark("opening", own, fallback=own, mention="plugs")])
    info = prompting.parse_template(source, name="greenrow_open_day")
    assert info.kind == "slots"
    assert f'mention="plugs" %}}{own}{{% endslot %}}' in source
    assert "Want us to hold two flats" in source  # the ask stays the brand's text
    news = next(x for x in emails if x.subject.startswith("[Greenrow Notes]"))
    source = prompting.skeleton_source(news.subject, news.body, name="n", brand="Greenrow Co/op",
                                       use_case="newsletter")
    assert source.splitlines()[8].startswith('Subject: [Greenrow Notes] {% slot "subject"')
    with pytest.raises(InputError, match="not in the email's text"):
        prompting.skeleton_source(e.subject, e.body, name="x", brand="B", use_case="general",
                                  marks=[prompting.Mark("opening", "A sentence it never had.")])


def test_the_page_makes_and_saves_a_slot_template_from_a_past_email(store, demo_people,
                                                                    own_prompts):
    from brandvoice import prompting
    from brandvoice.config import Settings

    at = page("brand", demo_people[2]).run(timeout=120)
    at = _upload(at, "greenrow_emails.csv", GREENROW.read_bytes())
    at.text_input(key="b_brand_greenrow_emails.csv").set_value("Greenrow Co/op")
    at.run(timeout=120)
    no_exception(at)
    box = at.selectbox(key="n_email")
    pick = next(i for i in box.options if "Good to see you at the open day" in str(i))
    box.set_value(box.options.index(pick) if isinstance(pick, str) else pick)
    at.run(timeout=120)
    no_exception(at)
    fallback = next(t for t in at.text_input if t.key.startswith("n_fb_opening_"))
    assert fallback.value == "Thanks for walking the hoop houses with us on Saturday."
    at.text_input(key=next(t.key for t in at.text_input if t.key.startswith("n_name_"))) \
        .set_value("greenrow_after_open_day")
    at.run(timeout=120)
    area = next(a for a in at.text_area if a.key.startswith("n_src_"))
    assert '{% slot "opening", kind="opening", words=25 %}Thanks for walking' in area.value
    at.button(key="n_save").click()
    at.run(timeout=120)
    no_exception(at)
    assert any("Saved greenrow_after_open_day" in s for s in texts(at, "success"))
    info = prompting.get_template("greenrow_after_open_day", Settings.from_env())
    assert info.kind == "slots" and info.brand == "Greenrow Co/op"


def test_signing_in_to_an_empty_workspace_says_that_no_user_exists(store, fast_hashes):
    from brandvoice import users
    from brandvoice.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="No user exists yet") as err:
        users.authenticate(store, "marketer", "whatever-password")
    assert "users add" in err.value.hint
    users.add_user(store, "admin", "correct horse battery", "admin")
    with pytest.raises(PermissionDenied, match="Wrong username or password"):
        users.authenticate(store, "marketer", "whatever-password")


def test_the_skeleton_command_needs_no_campaign_and_skips_long_newsletters(tmp_path):
    import csv

    from brandvoice import prompting

    long_news = tmp_path / "with_newsletter.csv"
    newsletter = "[Greenrow Notes] Everything we grew this year"
    body = "Hi there,\n\n" + " ".join(["The meadow grew tall this year."] * 400) + \
        "\n\n— Ines and the Greenrow crew"
    with GREENROW.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    with long_news.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([rows[0], ["2025-12-02", newsletter, body], *rows[1:]])
    assert corpus.load_emails(long_news)[0][0].subject == newsletter  # first, as the issue had it
    draft = prompting.draft_skeleton(long_news, brand="Greenrow Co/op", name="greenrow_first")
    assert draft.subject != newsletter
    info = prompting.parse_template(draft.source, name="greenrow_first")
    assert {s.kind for s in prompting.render_skeleton(
        info, {"first_name": "June"}, brand="Greenrow Co/op", greeting="Hi June,",
        signature="— Ines").slots} == {"subject", "opening", "ask"}
    assert "use_case: general" in draft.source
