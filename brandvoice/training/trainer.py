"""QLoRA fine-tuning of a base model on a brand's past emails, as a resumable job.

`submit()` records a `train` job; `run_job()` (worker.HANDLERS["train"]) prepares the corpus once
(frozen in the job folder so that a rerun trains on the same data), trains LoRA adapters on the
4-bit base with transformers' Trainer (checkpoints every `save_steps`, resumed after a kill or a
cancel), evaluates held-out perplexity of base vs adapter, and publishes the adapter as the brand's
next version. torch/transformers/peft are imported inside functions.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from brandvoice import jobs, models, textio
from brandvoice.config import Settings
from brandvoice.errors import ConfigError, InputError
from brandvoice.store import Store, utcnow
from brandvoice.training import adapters, probe

# The run's settings live in `training.config`; named here too, where the job and its callers
# (the CLI, the demo, tests that swap in a tiny model) have always found them.
from brandvoice.training.config import PARAMS_VERSION, SLOT_SHAPE, TrainConfig, upgrade_params
from brandvoice.users import User, require


def submit(store: Store, settings: Settings, config: TrainConfig, actor: User,
           *, feedback: list[Any] | None = None, results: dict[str, Any] | None = None) -> int:
    """Check the inputs and record a queued training job as `actor` (marketer or admin; audited);
    returns its id.

    `feedback`: reviewed drafts (corpus.Email) that join the training side; the caller collects
    them (review.submit_training), and the job keeps them so that a rerun trains on the same data.
    `results`: which campaign results chose some of them (import and draft ids, the metric), for
    the adapter's manifest (results.submit_training).
    """
    require(store, actor, "train", action="train adapters")
    path = Path(config.emails).expanduser()
    if not path.is_file():
        raise InputError(f"Past-emails file {config.emails} does not exist.",
                         hint="Pass --emails with the path of a CSV or JSONL export of past emails.")
    models.resolve(config.base_model)  # unknown names fail now, not in the background
    adapters.slugify(config.brand)
    params = dict(config.to_dict(), emails=str(path.resolve()), params_version=PARAMS_VERSION)
    if feedback:
        params["feedback"] = [e.to_dict() for e in feedback]
    if results:
        params["results"] = results
    return jobs.create(store, "train", params, created_by=actor.username)


# --- the run ------------------------------------------------------------------------------------


def prepare_data(config: TrainConfig, job_dir: Path, feedback: list[dict] | None = None) -> dict[str, Any]:
    """The job's corpus, prepared on the first run and frozen in the job folder for reruns."""
    from brandvoice import corpus

    frozen = job_dir / "corpus.json"
    if frozen.is_file():
        data = json.loads(frozen.read_text(encoding="utf-8"))
    else:
        extra = [corpus.Email.from_dict(d) for d in feedback or []] or None
        c = corpus.prepare(config.emails, brand=config.brand, metric=config.metric, quantile=config.quantile,
                           min_sends=config.min_sends, mode=config.mode,
                           test_fraction=config.test_fraction, seed=config.seed, extra=extra,
                           rows_of=config.rows_of)
        data = {"brand": c.brand, "train": [e.to_dict() for e in c.train], "test": [e.to_dict() for e in c.test],
                "selection": c.selection, "report": c.report, "data_hash": c.data_hash}
        textio.write_json(frozen, data)
    data["train"] = [corpus.Email.from_dict(d) for d in data["train"]]
    data["test"] = [corpus.Email.from_dict(d) for d in data["test"]]
    data["feedback_draft_ids"] = sorted(int(e.source.split(":", 1)[1]) for e in data["train"]
                                        if e.source.startswith("draft:") and e.source[6:].isdigit())
    return data


def eta_seconds(step_tokens: list[int], done_steps: int, tokens_done: int, elapsed: float) -> float:
    """Seconds left: the tokens of the steps still to run (the schedule is fixed up front) at the
    tokens per second this run has reached. Steps differ in length (a batch of long emails takes
    longer than one of short slot briefs), so counting steps alone misleads."""
    left = sum(step_tokens[done_steps:])
    return left * elapsed / max(tokens_done, 1)


def _progress_callback(reporter: jobs.Reporter, trainer_ref: dict[str, Any], step_tokens: list[int]):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        """Reports step, loss, tokens/s and ETA to the job; turns a cancel request into a clean stop."""

        def __init__(self) -> None:
            self.cancelled = False
            self.t0 = time.monotonic()
            self.step0: int | None = None

        def on_train_begin(self, args, state, control, **kw):
            self.t0, self.step0 = time.monotonic(), state.global_step
            trainer_ref["tokens"] = 0

        def on_log(self, args, state, control, logs=None, **kw):
            if logs is None or "loss" not in logs:
                return
            elapsed = max(time.monotonic() - self.t0, 1e-6)
            eta = eta_seconds(step_tokens, state.global_step, trainer_ref["tokens"], elapsed)
            metrics = {"step": state.global_step, "max_steps": state.max_steps, "loss": round(logs["loss"], 4),
                       "lr": logs.get("learning_rate"), "epoch": round(state.epoch or 0, 3),
                       "tokens_per_s": round(trainer_ref["tokens"] / elapsed, 1), "eta_s": round(eta, 1)}
            try:
                reporter.update(done=state.global_step, total=state.max_steps, metrics=metrics,
                                point={"step": state.global_step, "loss": round(logs["loss"], 4)})
            except jobs.JobCancelled:
                # Stop after this step and keep a checkpoint, so that `jobs resume` continues here.
                self.cancelled = True
                control.should_training_stop = True
                control.should_save = True

    return Progress()


def _trainer_class():
    from transformers import Trainer

    from brandvoice.training import data as train_data

    class WeightedTrainer(Trainer):
        """Trainer with the weighted, prompt-masked loss of train_data (and a token counter)."""

        def __init__(self, *args, counter: dict[str, Any], prompt_grad: bool = True, **kwargs):
            super().__init__(*args, **kwargs)
            self.counter, self.prompt_grad = counter, prompt_grad
            # Our loss is a per-micro-batch mean; let Trainer divide by the accumulation steps.
            self.model_accepts_loss_kwargs = False

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            self.counter["tokens"] += int(inputs["attention_mask"].sum())
            loss = train_data.weighted_loss(model, inputs, prompt_grad=self.prompt_grad)
            return (loss, None) if return_outputs else loss

    return WeightedTrainer


def build_model(config: TrainConfig, settings: Settings) -> Any:
    """The base model, quantized as configured, with fresh LoRA adapters (seeded)."""
    import torch

    models.quiet_bitsandbytes()
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    model = models.load_model(config.base_model, config.quantization, settings, dtype=config.dtype)
    model.config.use_cache = False
    if config.quantization != "none":
        # Gradient checkpointing off: these models are small, and recomputation costs a third more time.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    torch.manual_seed(config.seed)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=config.target_modules, bias="none", task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise ConfigError(f"LoRA target modules {config.target_modules!r} do not fit this model: {exc}",
                          hint="Use 'all-linear' or module names printed by the model.") from exc


def pick_threads(requested: int = 0) -> int:
    """CPU threads for torch: as asked, else the cores that other processes leave free (at least 1).

    On an oversubscribed machine every parallel op waits for its slowest thread, which the scheduler
    may have parked: measured here under a load of 8 on 2 cores, 1 thread trained 4x faster than 2.
    """
    if requested:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores, round(cores - busy)))


SMALL_SET = 20  # training emails below which the adapter learns the voice only roughly


def small_set_notes(n_train: int, n_heldout: int) -> list[str]:
    """What to expect from a small training set, in words (shown with the job and the adapter)."""
    notes = []
    if n_train < SMALL_SET:
        notes.append(f"Only {n_train} training emails (fewer than {SMALL_SET}): the adapter will pick "
                     "up the brand's phrases and formats, not its full range; expect its slots to fall "
                     "back to your template's text more often. Add past emails to do better.")
    if n_heldout < 5:
        notes.append(f"Only {n_heldout} held-out emails: the perplexity comparison is a rough signal, "
                     "not a measurement.")
    return notes


def plan_steps(config: TrainConfig, n_train: int) -> int:
    """Optimizer steps for the run: max_steps, else epochs over the training examples, at least
    min_steps (a small brand's few emails still get enough steps to learn from)."""
    if config.max_steps:
        return config.max_steps
    per_step = config.batch_size * config.grad_accum
    return max(config.min_steps, math.ceil(config.epochs * n_train / per_step))


def run_job(store: Store, job_id: int, reporter: jobs.Reporter) -> dict[str, Any]:
    """Train (or resume) job `job_id` and publish the adapter; returns the result record."""
    models.quiet_bitsandbytes()  # before transformers' trainer imports peft, and peft bitsandbytes
    import torch
    from transformers import PrinterCallback

    from brandvoice.training import data as train_data

    settings = store.settings
    params = upgrade_params(jobs.get(store, job_id)["params"])
    feedback = params.pop("feedback", None)
    results = params.pop("results", None)
    config = TrainConfig.from_dict(params)
    job_dir = settings.jobs_dir / str(job_id)
    ckpt_dir = job_dir / "checkpoints"
    data, notes = _job_data(config, job_dir, feedback, reporter)
    if results:  # the drafts chosen by their results that made it into the training side
        learned = set(data["feedback_draft_ids"])
        data["results"] = {**results, "draft_ids": [i for i in results.get("draft_ids", [])
                                                    if i in learned]}

    tok = models.load_tokenizer(config.base_model, settings)
    tasks = dict(slots=config.slots, whole=config.whole_emails, examples=config.slot_examples)
    train_ex = train_data.build_examples(tok, config.brand, data["train"], max_seq_len=config.max_seq_len,
                                         seed=config.seed, **tasks)
    # held out: the same tasks, so that perplexity measures what the run learns
    test_ex = train_data.build_examples(tok, config.brand, data["test"], max_seq_len=config.max_seq_len,
                                        seed=config.seed, **tasks)
    max_steps = plan_steps(config, len(train_ex))
    per_step = config.batch_size * config.grad_accum
    order = train_data.schedule([len(e.input_ids) for e in train_ex], n_items=max_steps * per_step,
                                batch_size=config.batch_size, seed=config.seed)
    step_tokens = [sum(len(train_ex[i].input_ids) for i in order[s:s + per_step])
                   for s in range(0, len(order), per_step)]
    threads = pick_threads(config.threads) if models.device() == "cpu" else torch.get_num_threads()
    torch.set_num_threads(threads)
    reporter.log(f"{len(train_ex)} examples, {max_steps} steps, {threads} CPU thread(s).")
    model = build_model(config, settings)
    counter: dict[str, Any] = {"tokens": 0}
    progress = _progress_callback(reporter, counter, step_tokens)
    args = _training_args(config, ckpt_dir, max_steps)
    trainer = _trainer_class()(
        model=model, args=args, train_dataset=train_data.ScheduledDataset(train_ex, order),
        data_collator=train_data.collate(tok.pad_token_id), callbacks=[progress], counter=counter,
        prompt_grad=config.prompt_grad,
    )
    trainer.remove_callback(PrinterCallback)  # progress goes to the job record, not stdout
    output, resume, train_seconds = _train(trainer, progress, ckpt_dir, max_steps, reporter, job_id)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    metrics: dict[str, Any] = {
        "steps": trainer.state.global_step, "train_loss": output.training_loss,
        "final_loss": losses[-1] if losses else None, "train_seconds": round(train_seconds, 1),
        "tokens_per_s": round(counter["tokens"] / max(train_seconds, 1e-6), 1),
        "n_train": len(data["train"]), "n_examples": len(train_ex), "n_heldout": len(test_ex),
        "threads": threads, "notes": notes,
        "truncated": sum(e.truncated for e in train_ex), "resumed_from": Path(resume).name if resume else None,
    }
    if config.evaluate and test_ex:
        metrics.update(_heldout_metrics(model, test_ex, tok.pad_token_id, reporter))
    info = save_adapter(store, settings, config, model, data, metrics, job_id=job_id)
    shutil.rmtree(ckpt_dir, ignore_errors=True)  # published: the checkpoints are no longer needed
    reporter.log(f"Saved adapter {info.label} at {info.path}.")
    return {"adapter_id": info.id, "adapter": info.label, "version": info.version, "path": str(info.path),
            "metrics": metrics}


def _job_data(config: TrainConfig, job_dir: Path, feedback: list[dict] | None,
              reporter: jobs.Reporter) -> tuple[dict[str, Any], list[str]]:
    """The job's frozen corpus, and the small-set notes, both logged to the job."""
    data = prepare_data(config, job_dir, feedback)
    reporter.log(f"{len(data['train'])} training and {len(data['test'])} held-out emails for {config.brand} "
                 f"(data {data['data_hash'][:12]}).")
    notes = small_set_notes(len(data["train"]), len(data["test"]))
    for note in notes:
        reporter.log(note)
    return data, notes


def _training_args(config: TrainConfig, ckpt_dir: Path, max_steps: int) -> Any:
    """transformers' TrainingArguments for the run: our schedule, checkpoints every save_steps."""
    import torch
    from transformers import TrainingArguments

    use_cpu = models.device() == "cpu"
    return TrainingArguments(
        output_dir=str(ckpt_dir), per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, learning_rate=config.learning_rate,
        max_steps=max_steps, lr_scheduler_type="linear", warmup_steps=math.ceil(config.warmup_ratio * max_steps),
        weight_decay=0.0, max_grad_norm=1.0, logging_steps=1, save_strategy="steps",
        save_steps=config.save_steps, save_total_limit=2, seed=config.seed, data_seed=config.seed,
        report_to="none", disable_tqdm=True, remove_unused_columns=False, dataloader_num_workers=0,
        train_sampling_strategy="sequential", use_cpu=use_cpu,
        bf16=models.compute_dtype() == torch.bfloat16 and not use_cpu,
    )


def _train(trainer: Any, progress: Any, ckpt_dir: Path, max_steps: int, reporter: jobs.Reporter,
           job_id: int) -> tuple[Any, str | None, float]:
    """Run the trainer from the last checkpoint, if any; returns its output, that checkpoint and the
    seconds it took. A cancel request stops it after a checkpoint and raises JobCancelled."""
    from transformers.trainer_utils import get_last_checkpoint

    resume = get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
    if resume:
        reporter.log(f"Resuming from {Path(resume).name}.")
    reporter.update(done=0 if not resume else None, total=max_steps, force=True)
    started = time.monotonic()
    output = trainer.train(resume_from_checkpoint=resume)
    if progress.cancelled:
        raise jobs.JobCancelled(f"Job {job_id} was cancelled at step {trainer.state.global_step}; "
                                "resume it with `brandvoice jobs resume`.")
    return output, resume, time.monotonic() - started


def _heldout_metrics(model: Any, test_ex: list[Any], pad_token_id: int, reporter: jobs.Reporter) -> dict[str, Any]:
    """Held-out perplexity of the adapter and of the base model (the adapter switched off)."""
    from brandvoice.training import data as train_data

    reporter.log("Evaluating held-out perplexity (adapter, then base).")
    adapted = train_data.perplexity(model, test_ex, pad_token_id)
    with model.disable_adapter():
        base = train_data.perplexity(model, test_ex, pad_token_id)
    return dict(heldout_tokens=adapted["tokens"], heldout_ppl_adapter=round(adapted["perplexity"], 3),
                heldout_ppl_base=round(base["perplexity"], 3),
                heldout_ppl_ratio=round(adapted["perplexity"] / base["perplexity"], 4))


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("torch", "transformers", "peft", "bitsandbytes", "accelerate"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def save_adapter(store: Store, settings: Settings, config: TrainConfig, model: Any, data: dict[str, Any],
                 metrics: dict[str, Any], *, job_id: int | None = None) -> adapters.AdapterInfo:
    """Write the adapter, manifest and data files to a staging folder and publish it as a new version."""
    name = adapters.slugify(config.brand)
    spec = models.resolve(config.base_model)
    source_path = Path(models.materialize(spec, settings))
    source_info: dict[str, Any] = {"kind": spec.kind, "source": spec.source, "path": str(source_path)}
    if (source_path / "brandvoice_source.json").is_file():
        source_info.update(json.loads((source_path / "brandvoice_source.json").read_text()))
    brand_dir = settings.adapters_dir / name
    brand_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=brand_dir))
    try:
        model.save_pretrained(str(staging))
        for fname, emails in (("train.jsonl", data["train"]), ("heldout.jsonl", data["test"])):
            textio.atomic_write(staging / fname, "".join(
                json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in emails))
        hyper = config.identity()
        hyper.pop("brand")
        manifest = {
            "brand": config.brand, "base_model": spec.name, "base_source": source_info,
            "base_fingerprint": models.fingerprint(str(source_path)),
            "quantization": config.quantization, "data_hash": data["data_hash"],
            "emails_file": config.emails, "selection": data["selection"], "report": data["report"],
            "hyperparameters": hyper, "slot_shape": SLOT_SHAPE if config.slots else None,
            "metrics": metrics, "feedback_draft_ids": data["feedback_draft_ids"],
            "results": data.get("results"),
            "versions": _versions(), "job_id": job_id, "created_at": utcnow(),
            # what a server serving it must answer (generation.remote checks it before a job)
            "probe": probe.record(settings, staging, config.base_model, config.brand),
        }
        return adapters.register(store, settings, name=name, staging=staging, manifest=manifest, job_id=job_id)
    finally:
        if staging.exists():
            adapters.delete_staging(staging)

