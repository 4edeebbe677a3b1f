"""Benchmark QLoRA training on the embedded model: throughput vs this machine's fp32 matmul ceiling,
peak RSS per quantization variant (each in its own process), and the demo brand end to end.

    python bench/train.py            # full run (~25 min on 2 busy cores)
    python bench/train.py --quick    # fewer steps, no end-to-end run (~6 min)

Writes bench/results/train.json and its table in docs/training.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BRANDVOICE_MODELS_DIR", str(REPO / ".brandvoice" / "models"))

from benchuser import marketer  # noqa: E402

EMAILS = REPO / "data" / "emails_ledgerly.csv"
BRAND = "Ledgerly"
RESULTS = REPO / "bench" / "results" / "train.json"
DOC = Path(__file__).resolve().parent.parent / "docs" / "training.md"  # block "train"
TARGETS = {"ceiling_share": 0.40, "peak_rss_gb": 3.0, "e2e_seconds": 600, "ppl_ratio": 0.6}


def matmul_ceiling(seconds: float = 6.0, n: int = 2048) -> float:
    """Sustained fp32 GFLOP/s of torch.mm on large matrices over `seconds` (same threads as training)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        count += 1
    return count * 2 * n**3 / (time.perf_counter() - t0) / 1e9


def base_params(settings) -> int:
    """Parameters of the base model, counted from its safetensors (tied embeddings once)."""
    from safetensors import safe_open

    from brandvoice import models

    folder = Path(models.materialize(models.DEFAULT_MODEL, settings))
    total = 0
    for f in folder.glob("*.safetensors"):
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                n = 1
                for dim in st.get_slice(k).get_shape():
                    n *= dim
                total += n
    return total


class PeakRSS:
    """Samples this process's RSS with psutil (and ru_maxrss) to find the peak."""

    def __init__(self) -> None:
        import psutil

        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.thread.join()
        self.peak = max(self.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def variant(quantization: str, steps: int, threads: int) -> dict:
    """Child process: a few real training steps on the demo brand with the default settings."""
    import torch
    from transformers import TrainerCallback, TrainingArguments

    from brandvoice import corpus, models
    from brandvoice.config import Settings
    from brandvoice.training import data as train_data
    from brandvoice.training import trainer as train

    torch.set_num_threads(threads)
    with PeakRSS() as rss:
        settings = Settings.from_env()
        cfg = train.TrainConfig(brand=BRAND, emails=str(EMAILS), quantization=quantization, max_steps=steps + 1)
        c = corpus.prepare(cfg.emails, brand=BRAND)
        tok = models.load_tokenizer(cfg.base_model, settings)
        ex = train_data.build_examples(tok, BRAND, c.train, max_seq_len=cfg.max_seq_len)
        order = train_data.schedule([len(e.input_ids) for e in ex],
                                    n_items=(steps + 1) * cfg.batch_size * cfg.grad_accum,
                                    batch_size=cfg.batch_size, seed=0)
        t_load = time.perf_counter()
        model = train.build_model(cfg, settings)
        load_s = time.perf_counter() - t_load
        counter = {"tokens": 0}
        marks: list[tuple[float, int]] = []

        class Clock(TrainerCallback):
            def on_step_end(self, args, state, control, **kw):
                marks.append((time.perf_counter(), counter["tokens"]))

        with tempfile.TemporaryDirectory() as out:
            args = TrainingArguments(output_dir=out, per_device_train_batch_size=cfg.batch_size,
                                     gradient_accumulation_steps=cfg.grad_accum,
                                     learning_rate=cfg.learning_rate, max_steps=steps + 1, save_strategy="no",
                                     report_to="none", disable_tqdm=True, remove_unused_columns=False,
                                     train_sampling_strategy="sequential", use_cpu=True, logging_steps=1)
            trainer = train._trainer_class()(model=model, args=args,
                                             train_dataset=train_data.ScheduledDataset(ex, order),
                                             data_collator=train_data.collate(tok.pad_token_id),
                                             callbacks=[Clock()], counter=counter)
            trainer.train()
    # The first step (allocations, lazy init) is a warm-up and not counted.
    (t0, k0), (t1, k1) = marks[0], marks[-1]
    return {"quantization": quantization, "steps": steps, "tokens": k1 - k0, "seconds": round(t1 - t0, 2),
            "tokens_per_s": round((k1 - k0) / (t1 - t0), 2), "peak_rss_gb": round(rss.peak / 1e9, 3),
            "load_s": round(load_s, 1), "threads": torch.get_num_threads()}


def end_to_end() -> dict:
    """The demo brand trained end to end with default settings, as `brandvoice train` runs it."""
    from brandvoice import worker
    from brandvoice.config import Settings
    from brandvoice.store import Store
    from brandvoice.training import trainer as train

    with tempfile.TemporaryDirectory() as home, PeakRSS() as rss:
        settings = Settings(home=Path(home))
        store = Store(settings)
        t = time.perf_counter()
        job_id = train.submit(store, settings, train.TrainConfig(brand=BRAND, emails=str(EMAILS)),
                              marketer(store))
        job = worker.run(store, job_id)
        seconds = time.perf_counter() - t
        Store.dispose_all()
    if job["status"] != "done":
        raise SystemExit(f"end-to-end training failed: {job['error']}")
    m = job["result"]["metrics"]
    return {"seconds": round(seconds, 1), "train_seconds": m["train_seconds"], "steps": m["steps"],
            "n_train": m["n_train"], "n_heldout": m["n_heldout"], "tokens_per_s": m["tokens_per_s"],
            "heldout_ppl_base": m.get("heldout_ppl_base"), "heldout_ppl_adapter": m.get("heldout_ppl_adapter"),
            "ppl_ratio": m.get("heldout_ppl_ratio"), "final_loss": m["final_loss"],
            "peak_rss_gb": round(rss.peak / 1e9, 3)}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr or out.stdout)[-2000:]}
    return json.loads(lines[-1])


def markdown(res: dict) -> str:
    """The docs table for these results."""
    ceil = res["matmul_ceiling_gflops"]
    rows = ["| variant | tokens/s | GFLOP/s (6·N·tok/s) | share of fp32 matmul ceiling | peak RSS |",
            "|---|---:|---:|---:|---:|"]
    for v in res["variants"]:
        if "error" in v:
            rows.append(f"| {v['quantization']} LoRA | failed: {v['error'].splitlines()[-1][:80]} | | | |")
            continue
        rows.append(f"| {v['quantization']} LoRA | {v['tokens_per_s']:.1f} | {v['gflops']:.1f} | "
                    f"{100 * v['ceiling_share']:.0f} % | {v['peak_rss_gb']:.2f} GB |")
    text = "\n".join(rows) + (
        f"\n\nfp32 matmul ceiling (torch.mm 2048², sustained, median of {len(res['matmul_ceiling_samples'])} "
        f"windows between the variants, {res['machine']['torch_threads']} thread(s) like training): {ceil:.1f} "
        f"GFLOP/s; model {res['params'] / 1e6:.1f} M parameters; {res['steps_per_variant']} measured step(s) of "
        f"4 emails per variant after a warm-up step. Conditions: {res['conditions']}.\n")
    e = res.get("end_to_end")
    if e:
        text += (f"\nDemo brand ({BRAND}, {e['n_train']} training / {e['n_heldout']} held-out emails, default "
                 f"settings, nf4): end to end {e['seconds'] / 60:.1f} min ({e['steps']} steps, "
                 f"{e['tokens_per_s']:.1f} tokens/s, peak RSS {e['peak_rss_gb']:.2f} GB); held-out perplexity "
                 f"base {e['heldout_ppl_base']:.2f} → adapter {e['heldout_ppl_adapter']:.2f} "
                 f"(ratio {e['ppl_ratio']:.2f}).\n")
    checks = res["targets_met"]
    text += "\nTargets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in checks.items()) + "\n"
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Fewer steps and no end-to-end run.")
    ap.add_argument("--steps", type=int, default=None, help="Measured steps per variant.")
    ap.add_argument("--variants", default="nf4,int8,none")
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--child", choices=["variant", "e2e"], help=argparse.SUPPRESS)
    ap.add_argument("--quantization", default="nf4", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: as training picks them)")
    a = ap.parse_args()
    if a.child == "variant":
        print(json.dumps(variant(a.quantization, a.steps or 2, a.threads)))
        return
    if a.child == "e2e":
        print(json.dumps(end_to_end()))
        return

    import torch

    from brandvoice.config import Settings
    from brandvoice.training import trainer as train

    steps = a.steps or (1 if a.quick else 3)
    load_before = os.getloadavg()
    threads = train.pick_threads(a.threads)
    torch.set_num_threads(threads)
    ceilings = [matmul_ceiling()]
    variants = []
    for q in a.variants.split(","):
        print(f"variant {q} ...", flush=True)
        v = _child(["--child", "variant", "--quantization", q, "--steps", str(steps), "--threads", str(threads)])
        v.setdefault("quantization", q)
        variants.append(v)
        ceilings.append(matmul_ceiling())
    e2e = None
    if not (a.quick or a.no_e2e):
        print("end to end ...", flush=True)
        e2e = _child(["--child", "e2e"])
    ceiling = statistics.median(ceilings)
    params = base_params(Settings.from_env())
    for v in variants:
        if "error" not in v:
            v["gflops"] = round(6 * params * v["tokens_per_s"] / 1e9, 2)
            v["ceiling_share"] = round(v["gflops"] / ceiling, 3)
    load_after = os.getloadavg()
    res = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": a.quick, "steps_per_variant": steps,
        "machine": {"cpus": os.cpu_count(), "torch_threads": threads,
                    "platform": platform.platform(), "torch": torch.__version__},
        "conditions": f"shared machine, load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
                      f"on {os.cpu_count()} cores (other developers' jobs running): absolute speeds are noisy, "
                      "the ceiling was measured in the same run",
        "matmul_ceiling_gflops": round(ceiling, 2), "matmul_ceiling_samples": [round(c, 2) for c in ceilings],
        "params": params, "variants": variants, "end_to_end": e2e, "targets": TARGETS,
    }
    ok = [v for v in variants if "error" not in v]
    nf4 = next((v for v in ok if v["quantization"] == "nf4"), None)
    met = {}
    if nf4:
        met["throughput >= 40 % of ceiling (nf4)"] = nf4["ceiling_share"] >= TARGETS["ceiling_share"]
    rss = [v["peak_rss_gb"] for v in ok] + ([e2e["peak_rss_gb"]] if e2e and "error" not in e2e else [])
    if rss:
        met["peak RSS < 3 GB"] = max(rss) < TARGETS["peak_rss_gb"]
    if e2e and "error" not in e2e:
        met["demo brand < 10 min"] = e2e["seconds"] < TARGETS["e2e_seconds"]
        met["perplexity ratio <= 0.6"] = (e2e["ppl_ratio"] or 9) <= TARGETS["ppl_ratio"]
    res["targets_met"] = met
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=2))
    os.replace(tmp, RESULTS)
    table = markdown(res)
    print(table)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import docblock

    docblock.write_block(DOC, "train", table)


if __name__ == "__main__":
    main()
