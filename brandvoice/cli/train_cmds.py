"""`brandvoice train ...` and `brandvoice adapters list|show`."""

from __future__ import annotations

import json

import click

from brandvoice.cli.auth import acting
from brandvoice.cli.base import echo_table, group, main, settings, store
from brandvoice.cli.options import config_options, given
from brandvoice.training.trainer import TrainConfig

TRAIN_FIELDS = ["base_model", "quantization", "epochs", "max_steps", "min_steps", "learning_rate",
                "lora_r", "lora_alpha", "batch_size", "max_seq_len", "metric", "quantile",
                "min_sends", "mode", "seed", "slots", "include_approved", "rows_of"]
RENAMED = {"learning_rate": "lr", "lora_r": "rank", "lora_alpha": "alpha"}  # the short names


def _progress_line(pending: dict) -> None:
    m = pending.get("metrics") or {}
    if "step" not in m:
        return
    total = m.get("max_steps") or pending.get("total") or 0
    width = 24
    filled = int(width * m["step"] / total) if total else 0
    eta = m.get("eta_s") or 0
    click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] step {m['step']}/{total}  loss {m['loss']:.3f}  "
               f"{m.get('tokens_per_s', 0):.0f} tok/s  ETA {int(eta // 60)}:{int(eta % 60):02d} ", nl=False)


@main.command("train")
@click.option("--emails", required=True, type=click.Path(dir_okay=False), help="Past emails (CSV or JSONL).")
@click.option("--brand", required=True, help="Brand name, as the model should write for it.")
@config_options(TrainConfig, TRAIN_FIELDS, rename=RENAMED)
@click.option("--from-results", "from_results", type=click.Choice(["reply", "click", "open"]),
              help="Also learn from the brand's sent drafts that drew this outcome in the imported "
                   "campaign results (their final text); measured drafts without it are left out.")
@click.option("--background", is_flag=True, help="Run in a background process and return the job id.")
@acting
def train_cmd(actor, emails: str, brand: str, from_results: str | None, background: bool,
              **options) -> None:
    """Fine-tune a brand-voice adapter on past emails (QLoRA)."""
    from brandvoice import corpus, jobs, review, worker

    s = settings()
    # an unreadable file, or one holding several brands none named `brand`, is named now
    corpus.load_emails(emails, brand=brand, rows_of=options.get("rows_of"))
    values = given(options, TRAIN_FIELDS)
    values.setdefault("base_model", s.base_model)
    values.setdefault("quantization", s.quantization)
    if "lora_r" in values and "lora_alpha" not in values:
        values["lora_alpha"] = 2 * values["lora_r"]
    config = TrainConfig(brand=brand, emails=emails, **values)
    st = store()
    if from_results:
        from brandvoice import results

        job_id = results.submit_training(st, s, config, actor, metric=from_results)
    else:
        job_id = review.submit_training(st, s, config, actor)
    if background:
        pid = jobs.start(s, job_id)
        click.echo(f"Training job {job_id} {jobs.where(pid)}; follow it with `brandvoice jobs show {job_id}`.")
        return
    click.echo(f"Training job {job_id}: {brand} on {config.base_model} ({config.quantization}).")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our one progress line, not a bar per weight file
    job = worker.run(st, job_id, echo=_progress_line)
    click.echo("")
    if job["status"] != "done":
        raise click.ClickException(f"Job {job_id} {job['status']}" + (f": {job['error']}" if job["error"] else "")
                                   + f"\nResume it with `brandvoice jobs resume {job_id}`.")
    res = job["result"]
    m = res["metrics"]
    click.echo(f"Adapter {res['adapter']} saved to {res['path']}")
    click.echo(f"{m['steps']} steps in {m['train_seconds']:.0f} s ({m['tokens_per_s']:.0f} tokens/s), "
               f"final loss {m['final_loss']:.3f}")
    if "heldout_ppl_adapter" in m:
        click.echo(f"Held-out perplexity: base {m['heldout_ppl_base']:.2f} -> adapter "
                   f"{m['heldout_ppl_adapter']:.2f} (x{m['heldout_ppl_ratio']:.2f})")


adapters_group = group("adapters", "Trained brand-voice adapters: list, show, export for a server.")


@adapters_group.command("list")
@click.option("--brand", default=None, help="Only this brand's versions.")
def adapters_list(brand: str | None) -> None:
    """List adapter versions, newest first per brand."""
    from brandvoice import training

    rows = []
    for a in training.list_adapters(store(), brand):
        rows.append({"id": a.id, "adapter": a.label, "status": a.status, "base_model": a.base_model,
                     "quant": a.quantization, "train": a.metrics.get("n_train"),
                     "ppl base->adapter": (f"{a.metrics['heldout_ppl_base']:.1f}->{a.metrics['heldout_ppl_adapter']:.1f}"
                                           if "heldout_ppl_adapter" in a.metrics else ""),
                     "created_at": a.created_at[:19]})
    echo_table(rows, ["id", "adapter", "status", "base_model", "quant", "train", "ppl base->adapter", "created_at"])


@adapters_group.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print the whole manifest as JSON.")
def adapters_show(ref: str, as_json: bool) -> None:
    """Show one adapter (REF: 'ledgerly', 'ledgerly:v2' or an id) and its manifest."""
    from brandvoice import training

    a = training.get_adapter(store(), ref)
    if as_json:
        click.echo(json.dumps(a.manifest, indent=2, default=str))
        return
    man = a.manifest
    click.echo(f"{a.label} (id {a.id}, {a.status}) at {a.path}")
    click.echo(f"brand: {a.brand}   base model: {a.base_model} ({a.quantization})   created: {a.created_at}")
    click.echo(f"data hash: {man.get('data_hash', '')}   emails: {man.get('emails_file', '')}")
    rule = (man.get("selection") or {}).get("rule")
    if rule:
        click.echo(f"selection rule: {json.dumps(rule)}")
    hp = man.get("hyperparameters") or {}
    click.echo("hyperparameters: " + ", ".join(f"{k}={hp[k]}" for k in (
        "lora_r", "lora_alpha", "lora_dropout", "learning_rate", "epochs", "max_steps", "batch_size",
        "max_seq_len", "seed") if k in hp))
    click.echo("metrics: " + json.dumps(a.metrics))
    if man.get("feedback_draft_ids"):
        click.echo(f"learned from reviewed drafts: {man['feedback_draft_ids']}")
    learned = man.get("results") or {}
    if learned:
        click.echo(f"learned from campaign results ({learned.get('metric')}): imports "
                   f"{learned.get('import_ids')}, drafts {learned.get('draft_ids')}")


@adapters_group.command("export")
@click.argument("refs", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["vllm", "gguf"]), required=True,
              help="vllm: a PEFT folder per adapter (--lora-modules); gguf: a LoRA GGUF per adapter "
                   "for llama.cpp's server (--lora).")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write to.")
@click.option("--max-lora-rank", type=int, default=None,
              help="vllm: the server's --max-lora-rank; an adapter of a higher rank is refused.")
def adapters_export(refs: tuple[str, ...], fmt: str, out: str, max_lora_rank: int | None) -> None:
    """Write what a server needs to serve adapters by name (REFS: 'ledgerly', 'ledgerly:v2' or ids;
    default: each brand's newest ready version), and print how to start it."""
    from pathlib import Path

    from brandvoice.generation import serving

    done = serving.export(store(), settings(), list(refs), fmt=fmt, out=Path(out),
                          max_lora_rank=max_lora_rank)
    for a in done["adapters"]:
        click.echo(f"{a['adapter']}: served as {a['name']} from {a['path']}")
    if done.get("server_config"):
        click.echo(f"llama-cpp-python server config: {done['server_config']}\n  {done['server_command']}")
    click.echo("Start the server with:")
    for line in done["commands"]:
        click.echo(f"  {line}")
    click.echo("Then generate with --backend openai --server-url http://HOST:PORT: each adapter is "
               "checked (its name, its answer to the probe) before a draft is written.")


@adapters_group.command("probe")
@click.argument("ref")
def adapters_probe(ref: str) -> None:
    """Record the probe of an adapter published by an earlier version (REF: 'ledgerly:v2' or an
    id): its own answer to a fixed brief, which a server serving it must give."""
    from brandvoice import training
    from brandvoice.training import probe

    info = training.get_adapter(store(), ref)
    found = probe.record_for(settings(), info)
    click.echo(f"{info.label}: probe recorded; its answer starts {found['answer'][:60]!r}.")
