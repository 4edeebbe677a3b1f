"""Brand voice page: the brand checked before training, rows as the spreadsheet numbers them, what
cleaning removed, what to expect from a small set, adapters explained, sample drafts shown."""

from __future__ import annotations

import json

from ui_harness import (
    fast_passwords,  # noqa: F401 - autouse fixture
    no_exception,
    page,
    texts,
)

HEADER = "subject,body,sends,opens,clicks,campaign\n"



def _upload(at, name: str, data: bytes):
    at.radio(key="b_emails_source").set_value("Upload a file")
    at.run()
    at.file_uploader(key="b_emails_upload").set_value((name, data, "text/csv"))
    return at.run(timeout=120)


def _small_file(n: int, *, bad_row: bool = False) -> bytes:
    lines = [f"Tip {i}: close faster,\"Hi there,\n\nTip number {i} about closing the books "
             f"on time, with detail {i * 7}.\n\nThe Ledgerly team\",{200 + i},{80 + i},"
             f"{10 + i},newsletter" for i in range(n)]
    if bad_row:
        lines.insert(2, "No body here,,300,10,1,newsletter")
    return (HEADER + "\n".join(lines) + "\n").encode()


def _train_tab_caption(at) -> str:
    return " ".join(texts(at, "caption"))


def test_brand_is_checked_before_training_starts(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    key = "b_brand_emails_ledgerly.csv"
    assert not at.button(key="t_go").disabled  # Ledgerly, guessed from the demo file
    for bad, why in (("", "Type the brand's name"), ("****", "has no letters or digits"),
                     ("Acme\x07", "control characters")):
        at.text_input(key=key).set_value(bad)
        at.run(timeout=120)
        no_exception(at)
        assert at.button(key="t_go").disabled, bad
        assert why in _train_tab_caption(at), (bad, _train_tab_caption(at))
        assert not any("emails of ****" in m for m in texts(at, "markdown"))
    for fine in ("Greenrow Co/op", "Acme <b>Labs</b> & Sons #1", "Ça Va! 100%"):
        at.text_input(key=key).set_value(fine)
        at.run(timeout=120)
        no_exception(at)
        assert not at.button(key="t_go").disabled, fine  # any characters name a brand
        assert any(f"emails of **{fine}**" in m for m in texts(at, "markdown")), fine


def test_small_sets_say_what_to_expect_before_training(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    at = _upload(at, "tiny.csv", _small_file(10))
    at.text_input(key="b_brand_tiny.csv").set_value("Ledgerly")
    at.selectbox(key="b_mode").set_value("all")
    at.run(timeout=120)
    no_exception(at)
    warning = " ".join(texts(at, "warning"))
    assert "What to expect" in warning and "fewer than 20" in warning
    assert "held-out emails: the perplexity comparison is a rough signal" in warning
    assert not at.button(key="t_go").disabled  # a warning, not a refusal


def test_rejected_rows_are_named_as_the_spreadsheet_numbers_them(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    at = _upload(at, "with-bad-row.csv", _small_file(6, bad_row=True))
    no_exception(at)
    problems = " ".join(texts(at.expander[0], "markdown")) if at.expander else ""
    # The header is row 1 and each multi-line email is one row: the bad one is row 4.
    assert "row 4: body is empty" in problems, problems


def test_cleaning_lists_what_it_removed_and_why(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    no_exception(at)
    box = next(e for e in at.expander if e.label.startswith("What cleaning changed"))
    text = " ".join(texts(box, "markdown"))
    assert "row 87: removed, a near duplicate of row 32" in text
    assert "row 34: removed, the same email as row 33" in text
    assert "Footer line removed from 78 emails" in text and "Quoted replies cut from 6" in text
    assert box.label == "What cleaning changed (4 emails removed)"
    values = {m.label: str(m.value) for m in at.metric}
    assert values["Removed in cleaning"] == "4"


def test_count_charts_have_whole_number_ticks(store, demo_people):
    at = page("brand", demo_people[2]).run(timeout=120)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    bars = next(s for s in specs if "Emails per campaign" in json.dumps(s.get("title", "")))
    assert bars["encoding"]["x"]["axis"]["tickMinStep"] == 1


def _adapter(store, tmp_path, metrics: dict) -> object:
    from brandvoice.store import adapters, utcnow
    from brandvoice.training import get_adapter

    folder = tmp_path / "ledgerly" / "v1"
    folder.mkdir(parents=True)
    with store.tx() as conn:
        aid = conn.execute(adapters.insert().values(
            name="ledgerly", version=1, base_model="smollm2-135m-instruct", quantization="nf4",
            data_hash="0" * 64, hyperparameters={}, selection={}, metrics=metrics,
            status="ready", path=str(folder), created_at=utcnow())).inserted_primary_key[0]
    return get_adapter(store, str(aid))


def test_adapters_explain_perplexity_notes_and_samples(store, demo_people, tmp_path):
    metrics = {"n_train": 8, "n_heldout": 2, "steps": 30, "heldout_ppl_base": 80.0,
               "heldout_ppl_adapter": 24.0, "heldout_ppl_ratio": 0.3,
               "notes": ["Only 8 training emails (fewer than 20): expect fallbacks."]}
    adapter = _adapter(store, tmp_path, metrics)
    parts = [{"where": "subject", "kind": "slot", "name": "subject", "text": "Your demo recap",
              "source": "model"},
             {"where": "body", "kind": "text", "text": "Hi Dana,\n\n"},
             {"where": "body", "kind": "slot", "name": "opening", "text": "Thanks for the demo.",
              "source": "fallback"}]
    sample = {"subject": "Your demo recap", "body": "Hi Dana,\n\nThanks for the demo.",
              "parts": parts, "verdict": "warn", "failed": []}
    (adapter.path / "samples.json").write_text(json.dumps({
        "adapter": adapter.label, "base_model": "smollm2-135m-instruct",
        "template": "ledgerly_after_demo", "contact": {"first_name": "Dana", "company": "Acme"},
        "with_adapter": [sample], "base": [{**sample, "parts": None, "subject": "<b>Hi</b>",
                                             "verdict": "fail",
                                             "failed": ["quality/cut_off"]}],
        "created_at": "2026-12-01T10:00:00.000000Z"}), encoding="utf-8")
    at = page("brand", demo_people[2]).run(timeout=120)
    no_exception(at)
    table = at.dataframe[-1].value if False else next(
        d.value for d in at.dataframe if "what it says" in d.value.columns)
    row = table.iloc[0]
    assert row["perplexity base → adapter"] == "80.0 → 24.0"
    assert row["what it says"] == ("3.3× less surprised than the base model by the held-out "
                                   "emails (only 2 held out: a rough signal)")
    assert "fewer than 20" in row["notes"]
    assert any("fewer than 20" in w for w in texts(at, "warning"))
    html = " ".join(str(h.proto.body) for h in at.get("html"))
    assert "<mark" in html and "Your demo recap" in html and "dashed" in html
    assert "&lt;b&gt;Hi&lt;/b&gt;" in html  # a draft's text is never markup
    assert any("Does not stop mid-sentence" in c for c in texts(at, "caption"))


def test_a_failed_start_never_shows_an_old_jobs_outcome(store, demo_people, monkeypatch):
    from brandvoice import jobs, review
    from brandvoice.errors import InputError

    old = jobs.create(store, "train", {"brand": "Ledgerly"}, created_by="mark")
    from brandvoice.store import jobs as table

    with store.tx() as conn:
        conn.execute(table.update().where(table.c.id == old).values(
            status="done", finished_at="2026-11-30T10:00:00.000000Z"))
    at = page("brand", demo_people[2]).run(timeout=120)
    assert any(f"Job #{old} finished" in c for c in texts(at, "caption"))

    def refuse(*a, **kw):
        raise InputError("No usable email in emails_ledgerly.csv for Ledgerly.",
                         hint="Lower --min-sends or --quantile, use --mode weight, or add more "
                              "emails.")

    monkeypatch.setattr(review, "submit_training", refuse)
    at.button(key="t_go").click()
    at.run(timeout=120)
    no_exception(at)
    errors = " ".join(texts(at, "error"))
    assert "No usable email" in errors and "Min sends" in errors and "--min-sends" not in errors
    assert not any(f"Job #{old} finished" in c for c in texts(at, "caption"))


def test_the_base_model_is_chosen_with_its_measured_cost_and_its_own_defaults(store, demo_people):
    """The train form offers the installed presets with what they cost on this machine class
    (measured by bench/models.py); choosing one starts from that preset's training defaults."""
    from brandvoice import models

    at = page("brand", demo_people[2]).run(timeout=120)
    no_exception(at)
    box = at.selectbox(key="t_base")
    assert box.value == models.DEFAULT_MODEL and models.DEFAULT_MODEL in box.options[0]
    installed = [p for p in models.describe_presets(store.settings) if p.installed]
    assert len(box.options) >= len(installed)
    qwen = next((p for p in installed if p.name.startswith("qwen")), None)
    if qwen is None:  # CI installs no larger preset: the caption says how to
        assert "brandvoice models install" in _train_tab_caption(at)
        return
    box.set_value(qwen.name)
    at.run(timeout=120)
    no_exception(at)
    assert at.select_slider(key=f"t_lr_{qwen.name}").value == 2e-4  # the preset's own default
