"""Training from outcomes: the brand's sent drafts chosen by their real results, with the text the
customer received; the adapter's manifest records the imports and drafts it learned from."""

from __future__ import annotations

import pytest
from helpers_drafts import make_drafts, mark_checked
from helpers_results import after, write_csv
from test_train import tiny_config, write_emails

from brandvoice import delivery, results, review, worker
from brandvoice.errors import InputError
from brandvoice.training import adapters

pytestmark = pytest.mark.usefixtures("fast_hashes")


def _sent_with_replies(store, people, tmp_path, brand="Acme"):
    """Six drafts of the brand: the first edited by a reviewer; all exported; 0, 1 and 2 replied,
    4 bounced; one more approved draft never exported."""
    ids = make_drafts(store, 7, brand=brand)
    d = review.get_draft(store, ids[0])
    r = review.edit(store, people["admin"], ids[0], subject=d["subject"],
                    body=d["body"] + "\n\nP.S. The reviewer's line.", expected_version=1)
    mark_checked(store, [ids[0]])
    review.approve(store, people["rev"], ids[0], expected_version=r["row_version"])
    review.bulk_approve_passed(store, people["rev"], ids[1:])
    delivery.export(store, people["mkt"], "generic", tmp_path / "out.csv", draft_ids=ids[:6])
    rows = [[f"contact{i}@example.com", "reply", after(1)] for i in (0, 1, 2)]
    rows.append(["contact4@example.com", "bounce", after(1)])
    res = results.import_results(store, people["mkt"], write_csv(
        tmp_path / "r.csv", ["email", "event", "timestamp"], rows))
    return ids, res["import_id"]


def test_outcome_examples_are_the_replied_drafts_final_text(store, people, tmp_path):
    ids, import_id = _sent_with_replies(store, people, tmp_path)
    examples, record = results.outcome_examples(store, "Acme", metric="reply")
    assert [e.source for e in examples] == [f"draft:{i}" for i in ids[:3]]
    assert examples[0].body.endswith("P.S. The reviewer's line.")  # what the customer received
    assert all(e.weight == 3.0 and e.sends == 1 and e.replies == 1 for e in examples)
    assert record == {"metric": "reply", "import_ids": [import_id], "draft_ids": ids[:3],
                      "measured": 6, "selected": 3, "left_out": 3}
    with pytest.raises(InputError, match="reply, click or open"):
        results.outcome_examples(store, "Acme", metric="bounce")


def test_measured_drafts_without_the_outcome_leave_the_feedback(store, people, tmp_path):
    ids, _ = _sent_with_replies(store, people, tmp_path)
    config = tiny_config(tmp_path, write_emails(tmp_path / "e.csv"), include_approved=True)
    feedback, record = results.training_feedback(store, config, metric="reply")
    weights = {e.source: e.weight for e in feedback}
    # replied: outcome weight; never measured (not exported): the review's weight; the rest: out
    assert weights == {f"draft:{ids[0]}": 3.0, f"draft:{ids[1]}": 3.0, f"draft:{ids[2]}": 3.0,
                       f"draft:{ids[6]}": 2.0}
    without = tiny_config(tmp_path, tmp_path / "e.csv", include_approved=False)
    assert {e.source for e in results.training_feedback(store, without, metric="reply")[0]} == {
        f"draft:{i}" for i in ids[:3]}


def test_nothing_to_learn_from_is_a_clear_error(store, people, tmp_path):
    config = tiny_config(tmp_path, write_emails(tmp_path / "e.csv"))
    with pytest.raises(InputError, match="No sent draft of Acme has a reply"):
        results.submit_training(store, store.settings, config, people["mkt"], metric="reply")


def test_the_adapter_records_the_results_it_learned_from(store, people, tmp_path, tiny_model_dir):
    ids, import_id = _sent_with_replies(store, people, tmp_path)
    config = tiny_config(tiny_model_dir, write_emails(tmp_path / "e.csv"), max_steps=2)
    job_id = results.submit_training(store, store.settings, config, people["mkt"], metric="reply")
    job = worker.run(store, job_id)
    assert job["status"] == "done", job["error"]
    info = adapters.get_adapter(store, "acme")
    learned = info.manifest["results"]
    assert learned["metric"] == "reply" and learned["import_ids"] == [import_id]
    assert learned["draft_ids"] == ids[:3] and learned["left_out"] == 3
    trained = {e.source: e for e in adapters.training_emails(info)}
    assert {f"draft:{i}" for i in ids[:3]} <= set(trained)
    assert trained[f"draft:{ids[0]}"].body.endswith("P.S. The reviewer's line.")


def test_cli_train_from_results_is_refused_without_results(store, people, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from brandvoice.cli import main

    monkeypatch.setenv("BRANDVOICE_USER", "marketer1")
    monkeypatch.setenv("BRANDVOICE_PASSWORD", "correct horse")
    emails = write_emails(tmp_path / "e.csv")
    res = CliRunner().invoke(main, ["train", "--emails", str(emails), "--brand", "Acme",
                                    "--from-results", "reply", "--background"])
    assert res.exit_code == 1 and "No sent draft of Acme has a reply" in res.output
