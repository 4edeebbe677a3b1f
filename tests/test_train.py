"""Training on a tiny model: masking, weighting, config, schedule, jobs, resume and cancel."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from helpers_drafts import user

from brandvoice import jobs, models, worker
from brandvoice.errors import ConfigError, InputError
from brandvoice.training import adapters
from brandvoice.training import data as train_data
from brandvoice.training import trainer as train

SENTENCES = [
    "Thanks for your time today at the demo.", "Our close checklist now runs in half the time.",
    "Finance teams told us the reconciliation step was the slowest.", "Here is the pricing guide you asked for.",
    "Reply with a date and we will set up a call.", "The new report shows cash by entity in one view.",
    "Your trial ends on Friday, and your data stays yours.", "We fixed the export bug you reported last week.",
    "Three customers cut their month-end close by four days.", "The webinar recording is below.",
    "Ask us anything about the audit trail.", "We added approvals for journal entries over a limit.",
    "Bank feeds now sync every hour instead of every day.", "Your controller can invite the team in two clicks.",
    "We wrote a short guide to accruals for new hires.", "The integration with your ERP is live.",
]
NAMES = ["Dana", "Sam", "Priya", "Lee", "Omar", "Ruth", "Kai", "Ines", "Bo", "Mara", "Tom", "Zoe"]


def write_emails(path: Path, n: int = 14, *, brand: str = "Acme", seed: int = 0) -> Path:
    """A small past-emails CSV with distinct bodies and varied click counts."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["brand", "subject", "body", "campaign", "segment", "audience", "sends", "opens", "clicks"])
        for i in range(n):
            picked = rng.sample(SENTENCES, 3)
            body = f"Hi {NAMES[i % len(NAMES)]},\n\n" + " ".join(picked) + f"\n\nNote {i}: {rng.random():.6f}\n\nBest regards, the team"
            w.writerow([brand, f"Update {i}: {picked[0][:30]}", body, "follow-up", "enterprise", "IT leaders",
                        1000, 400 + i, 20 + 3 * i])
    return path


def tiny_config(tiny_model_dir: Path, emails: Path, **kw) -> train.TrainConfig:
    opts = {"brand": "Acme", "emails": str(emails), "base_model": str(tiny_model_dir), "quantization": "none",
            "max_steps": 6, "batch_size": 2, "save_steps": 2, "learning_rate": 5e-3, "lora_r": 4,
            "lora_alpha": 8, "max_seq_len": 320, "min_sends": 100, "quantile": 0.0}
    opts.update(kw)
    return train.TrainConfig(**opts)


def run_train(store, config: train.TrainConfig) -> dict:
    job_id = train.submit(store, store.settings, config, user(store))
    return worker.run(store, job_id)


@pytest.fixture
def emails_csv(tmp_path) -> Path:
    return write_emails(tmp_path / "emails.csv")


def _tok(tiny_model_dir):
    return models.load_tokenizer(str(tiny_model_dir))


def test_config_validation_lists_every_bad_field(tmp_path):
    with pytest.raises(ConfigError) as exc:
        train.TrainConfig(brand="", emails="x.csv", quantization="fp8", lora_r=0, learning_rate=2.0,
                          mode="best", metric="likes", target_modules=[])
    text = str(exc.value)
    for fieldname in ("brand", "quantization", "lora_r", "learning_rate", "mode", "metric", "target_modules"):
        assert fieldname in text
    assert train.TrainConfig(brand="A", emails="x.csv", metric="clicks").metric == "click_rate"
    with pytest.raises(ConfigError, match="lora_rank"):
        train.TrainConfig.from_dict({"brand": "A", "emails": "x", "lora_rank": 8})
    cfg = train.TrainConfig(brand="A", emails="x.csv", max_steps=3)
    assert train.TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_submit_refuses_missing_file(store, tmp_path):
    from brandvoice.errors import PermissionDenied

    with pytest.raises(PermissionDenied, match="only marketers or admins can train adapters"):
        train.submit(store, store.settings, train.TrainConfig(brand="A", emails=str(tmp_path / "x")),
                     user(store, "rita", "reviewer"))
    with pytest.raises(InputError, match="does not exist"):
        train.submit(store, store.settings, train.TrainConfig(brand="A", emails=str(tmp_path / "nope.csv")),
                     user(store))


def test_prompt_tokens_are_masked(tiny_model_dir, emails_csv):
    from brandvoice import corpus

    tok = _tok(tiny_model_dir)
    emails, _ = corpus.load_emails(emails_csv)
    ex = train_data.build_examples(tok, "Acme", emails[:3], max_seq_len=512)
    for e, email in zip(ex, emails[:3], strict=True):
        prompt, full = train_data.email_texts(tok, "Acme", email)
        n_masked = sum(1 for t in e.labels if t == train_data.IGNORE)
        assert e.labels[:n_masked] == [train_data.IGNORE] * n_masked
        assert tok.decode(e.input_ids[:n_masked]) == prompt
        target = tok.decode([t for t in e.labels if t != train_data.IGNORE])
        assert target.startswith(f"Subject: {email.subject}") and "<|im_end|>" in target
        assert email.body.splitlines()[0] in target
    cut = train_data.build_examples(tok, "Acme", emails[:1], max_seq_len=len(ex[0].input_ids) - 5)[0]
    assert cut.truncated and len(cut.input_ids) == len(ex[0].input_ids) - 5
    with pytest.raises(InputError, match="max_seq_len"):
        train_data.build_examples(tok, "Acme", emails[:1], max_seq_len=40)


def test_weights_scale_the_loss(tiny_model_dir, emails_csv):
    import torch
    from transformers import AutoModelForCausalLM

    from brandvoice import corpus

    tok = _tok(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    emails, _ = corpus.load_emails(emails_csv)
    emails[0].weight, emails[1].weight = 3.0, 1.0
    ex = train_data.build_examples(tok, "Acme", emails[:2], max_seq_len=512)
    assert [round(e.weight, 6) for e in ex] == [1.5, 0.5]  # normalised to mean 1
    col = train_data.collate(tok.pad_token_id)

    def feats(items):
        return col([{"input_ids": e.input_ids, "labels": e.labels, "weight": e.weight} for e in items])

    with torch.no_grad():
        both = train_data.weighted_loss(model, feats(ex))
        ce0, _ = train_data.token_losses(model, feats(ex[:1]))
        ce1, _ = train_data.token_losses(model, feats(ex[1:]))
        expected = (1.5 * ce0.sum() + 0.5 * ce1.sum()) / (ce0.numel() + ce1.numel())
        assert torch.allclose(both, expected, rtol=1e-4)
        # Only email tokens count: the fast path equals the model's own loss on the same labels.
        one = feats(ex[:1])
        ref = model(input_ids=one["input_ids"], attention_mask=one["attention_mask"], labels=one["labels"]).loss
        assert torch.allclose(ce0.mean(), ref, rtol=1e-4)
    emails[0].weight = -1.0
    with pytest.raises(InputError, match="weight"):
        train_data.build_examples(tok, "Acme", [emails[0]], max_seq_len=512)


def test_schedule_is_seeded_full_epochs_and_length_grouped():
    lengths = [10, 200, 15, 190, 12, 210, 11, 205]
    a = train_data.schedule(lengths, n_items=20, batch_size=2, seed=3)
    assert a == train_data.schedule(lengths, n_items=20, batch_size=2, seed=3)
    assert a != train_data.schedule(lengths, n_items=20, batch_size=2, seed=4)
    assert sorted(a[:8]) == list(range(8)) and sorted(a[8:16]) == list(range(8))
    # with a window covering the epoch, each batch pairs a short with a short, a long with a long
    for b in range(0, 8, 2):
        assert (lengths[a[b]] > 100) == (lengths[a[b + 1]] > 100)
    with pytest.raises(InputError):
        train_data.schedule([], n_items=4, batch_size=2, seed=0)


def test_train_job_publishes_versions_with_manifest(store, tiny_model_dir, emails_csv):
    job = run_train(store, tiny_config(tiny_model_dir, emails_csv))
    assert job["status"] == "done", job["error"]
    info = adapters.get_adapter(store, "acme")
    assert (info.version, info.status, info.label) == (1, "ready", "acme v1")
    assert info.path == store.settings.adapters_dir / "acme" / "v1"
    for f in ("adapter_config.json", "adapter_model.safetensors", "manifest.json", "train.jsonl", "heldout.jsonl"):
        assert (info.path / f).is_file(), f
    man = info.manifest
    assert man["base_model"] == str(Path(tiny_model_dir).resolve()) and man["quantization"] == "none"
    assert len(man["data_hash"]) == 64 and man["selection"]["rule"]["metric"] == "click_rate"
    assert man["hyperparameters"]["lora_r"] == 4 and man["hyperparameters"]["max_steps"] == 6
    assert {"torch", "transformers", "peft"} <= set(man["versions"]) and man["created_at"]
    # the probe a server serving it must answer (generation.remote): the adapter's own answer
    # (a tiny random model's greedy answer may be empty: the probe is recorded all the same)
    assert isinstance(man["probe"]["answer"], str) and isinstance(man["probe"]["base_answer"], str)
    assert man["probe"]["max_tokens"] == 32 and "Acme" in man["probe"]["system"]
    assert man["report"]["split"]["test"] == len(adapters.heldout_emails(info)) >= 1
    assert len(adapters.training_emails(info)) == man["metrics"]["n_train"]
    m = info.metrics
    assert m["steps"] == 6 and m["heldout_ppl_base"] > 0 and m["heldout_ppl_adapter"] > 0
    # a high learning rate on a random tiny model must beat the untrained base on held-out text
    assert m["heldout_ppl_ratio"] < 1.0
    final = jobs.get(store, job["id"])
    assert final["progress"] == 1.0 and len(final["history"]) == 6 and final["metrics"]["tokens_per_s"] > 0
    assert not (store.settings.jobs_dir / str(job["id"]) / "checkpoints").exists()

    second = run_train(store, tiny_config(tiny_model_dir, emails_csv, max_steps=2))
    assert second["status"] == "done" and second["result"]["version"] == 2
    assert adapters.get_adapter(store, "Acme").version == 2
    assert adapters.get_adapter(store, "acme:v1").id == info.id
    assert [a.version for a in adapters.list_adapters(store, "acme")] == [2, 1]
    assert not list((store.settings.adapters_dir / "acme").glob(".staging-*"))


def _adapter_tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def test_killed_job_resumes_to_the_same_weights(store, tiny_model_dir, emails_csv, monkeypatch):
    import torch

    cfg = tiny_config(tiny_model_dir, emails_csv, max_steps=7, lora_dropout=0.1)
    ref = run_train(store, cfg)
    assert ref["status"] == "done"
    ref_tensors = _adapter_tensors(Path(ref["result"]["path"]))

    real = train._trainer_class

    def crashing():
        cls = real()

        class Crash(cls):
            def training_step(self, *a, **kw):
                if self.state.global_step == 5:
                    raise RuntimeError("simulated kill")
                return super().training_step(*a, **kw)
        return Crash

    monkeypatch.setattr(train, "_trainer_class", crashing)
    job_id = train.submit(store, store.settings, cfg, user(store))
    crashed = worker.run(store, job_id)
    assert crashed["status"] == "failed" and "simulated kill" in crashed["error"]
    ckpts = sorted(p.name for p in (store.settings.jobs_dir / str(job_id) / "checkpoints").iterdir())
    assert ckpts == ["checkpoint-2", "checkpoint-4"]
    monkeypatch.setattr(train, "_trainer_class", real)
    jobs.resume(store, user(store), job_id)
    resumed = worker.run(store, job_id)
    assert resumed["status"] == "done", resumed["error"]
    assert resumed["result"]["metrics"]["resumed_from"] == "checkpoint-4"
    got = _adapter_tensors(Path(resumed["result"]["path"]))
    assert got.keys() == ref_tensors.keys()
    for k in ref_tensors:
        assert torch.allclose(got[k], ref_tensors[k], atol=1e-6), k


def test_cancel_stops_cleanly_and_can_resume(store, tiny_model_dir, emails_csv, monkeypatch):
    class Eager(jobs.Reporter):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.interval = 0.0

    monkeypatch.setattr(jobs, "Reporter", Eager)
    job_id = train.submit(store, store.settings, tiny_config(tiny_model_dir, emails_csv, max_steps=6),
                          user(store))
    seen = []

    def echo(pending):
        step = (pending.get("metrics") or {}).get("step")
        if step == 3 and not seen:
            seen.append(step)
            jobs.cancel(store, user(store), job_id)

    job = worker.run(store, job_id, echo=echo)
    assert job["status"] == "cancelled"
    assert adapters.list_adapters(store) == []
    assert (store.settings.jobs_dir / str(job_id) / "checkpoints" / "checkpoint-3").is_dir()
    jobs.resume(store, user(store), job_id)
    again = worker.run(store, job_id)
    assert again["status"] == "done" and again["result"]["metrics"]["resumed_from"] == "checkpoint-3"
    assert again["result"]["metrics"]["steps"] == 6


def test_include_approved_learns_from_reviewed_drafts(store, tiny_model_dir, emails_csv, monkeypatch):
    from brandvoice import corpus, review

    drafts = [corpus.Email(subject="Approved note", body="Hi Kai, the approved draft text about bank feeds and approvals.",
                           brand="Acme", campaign="follow-up", weight=2.0, source="draft:41"),
              corpus.Email(subject="Edited note", body="Hi Ines, an edited draft about the audit trail and exports.",
                           brand="Acme", campaign="follow-up", weight=2.5, source="draft:42")]
    monkeypatch.setattr(review.feedback, "feedback_examples",
                        lambda store, brand: list(drafts) if brand == "Acme" else [])
    cfg = tiny_config(tiny_model_dir, emails_csv, max_steps=2, include_approved=True)
    job = worker.run(store, review.submit_training(store, store.settings, cfg, user(store)))
    assert job["status"] == "done", job["error"]
    info = adapters.get_adapter(store, "acme")
    assert info.manifest["feedback_draft_ids"] == [41, 42]
    assert {e.source for e in adapters.training_emails(info)} >= {"draft:41", "draft:42"}


def test_frozen_corpus_is_reused_on_rerun(store, tiny_model_dir, emails_csv):
    cfg = tiny_config(tiny_model_dir, emails_csv)
    job_id = train.submit(store, store.settings, cfg, user(store))
    job_dir = store.settings.jobs_dir / str(job_id)
    first = train.prepare_data(cfg, job_dir)
    write_emails(emails_csv, n=20, seed=9)  # the file changes after the job started
    again = train.prepare_data(cfg, job_dir)
    assert again["data_hash"] == first["data_hash"]
    assert json.loads((job_dir / "corpus.json").read_text())["data_hash"] == first["data_hash"]


def test_a_frozen_prompt_gives_the_same_loss_and_trains_the_adapter(tiny_model_dir, emails_csv):
    """Reading the prompt without gradients computes the same per-token losses (the forward pass
    is the same), and the adapter still gets gradients from the answer's positions."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from brandvoice import corpus

    tok = _tok(tiny_model_dir)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)),
                           LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
    emails, _ = corpus.load_emails(emails_csv)
    ex = train_data.build_examples(tok, "Acme", emails[:3], max_seq_len=512, slots=True)
    col = train_data.collate(tok.pad_token_id)
    batch = col([{"input_ids": e.input_ids, "labels": e.labels, "weight": e.weight} for e in ex])
    with torch.no_grad():
        full, rows_full = train_data.token_losses(model, batch)
        frozen, rows_frozen = train_data.frozen_prompt_losses(model, batch)
    assert torch.equal(rows_full, rows_frozen)
    assert torch.allclose(full, frozen, rtol=1e-4, atol=1e-5)  # right padding, several rows alike
    loss = train_data.weighted_loss(model, batch, prompt_grad=False)
    loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if "lora_" in n]
    assert grads and all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)
