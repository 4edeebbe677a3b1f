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
