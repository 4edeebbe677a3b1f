"""What each base model preset costs on this machine: training and generation, measured.

    python bench/models.py steps --preset qwen2.5-coder-0.5b-instruct   # training step variants
    python bench/models.py train --preset qwen2.5-coder-0.5b-instruct   # the demo brand, end to end
    python bench/models.py generate --preset qwen2.5-coder-0.5b-instruct  # 100 slot drafts
    python bench/models.py decode --preset qwen2.5-coder-0.5b-instruct    # transformers vs llama.cpp

`steps` times optimizer steps of the demo brand's real training examples (its fill briefs) in
several ways, in alternating rounds in one process so that a busy machine slows them alike, and
reports each as a ratio to QLoRA's (nf4 base, float32 compute, gradients through the prompt).
`train` trains the demo brand (Ledgerly) with the preset's defaults in a scratch workspace, kills
the job after a few steps and resumes it (steps lost must be 0), and records the whole time.
`generate` times a 100-contact slot job with that adapter (bench/quality.py's timing job).
`decode` answers the same fill briefs with the local transformers backend and with llama.cpp on
the preset's GGUF (the base model; an adapter would need its GGUF export), alternating.

Results: bench/results/models.json (every run, with the load average), and the per-preset summary
the CLI and the Brand voice page show: brandvoice/models/measured.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("BRANDVOICE_MODELS_DIR", str(REPO / ".brandvoice" / "models"))

RESULTS = REPO / "bench" / "results" / "models.json"
MEASURED = REPO / "brandvoice" / "models" / "measured.json"
EMAILS = REPO / "data" / "emails_ledgerly.csv"
BRAND = "Ledgerly"
VARIANTS = {  # name: (quantization, dtype, prompt_grad)
    "qlora": ("nf4", "float32", True),
    "qlora-bf16": ("nf4", "bfloat16", True),
    "lora-bf16": ("none", "bfloat16", True),
    "lora-bf16-frozen-prompt": ("none", "bfloat16", False),
}


def log(msg: str) -> None:
    print(f"[bench/models {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def record(section: str, preset: str, entry: dict) -> None:
    """Add one run to bench/results/models.json (a later run of the same section replaces it)."""
    data = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    data.setdefault(preset, {})[section] = {**entry, "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                            "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    summary = {}
    for name, runs in data.items():
        s = {}
        if "train" in runs:
            s["train_minutes"] = round(runs["train"]["seconds"] / 60, 1)
            s["train_load_avg"] = runs["train"]["load_avg"]
            s["train_threads"] = runs["train"].get("threads")
        if "generate" in runs:
            s["drafts_100_seconds"] = runs["generate"]["seconds"]
            s["drafts_k"] = runs["generate"].get("k")
            s["generate_load_avg"] = runs["generate"]["load_avg"]
        if s:
            summary[name] = s
    MEASURED.write_text(json.dumps({"machine": "2 shared CPU cores (bench/models.py)",
                                    "presets": summary}, indent=2) + "\n", encoding="utf-8")


def cmd_steps(args) -> None:
    """Optimizer steps of the demo brand's fill examples, each variant in turn, several rounds."""
    import torch

    from brandvoice import corpus, models
    from brandvoice.config import Settings
    from brandvoice.training import TrainConfig
    from brandvoice.training import data as train_data
    from brandvoice.training.trainer import build_model

    settings = Settings()
    models.quiet_bitsandbytes()
    c = corpus.prepare(EMAILS, brand=BRAND)
    tok = models.load_tokenizer(args.preset, settings)
    ex = train_data.build_examples(tok, BRAND, c.train, max_seq_len=1024, slots=True, whole=False)
    ex = sorted(ex, key=lambda e: len(e.input_ids))[len(ex) // 2 - args.examples // 2:][:args.examples]
    col = train_data.collate(tok.pad_token_id)
    tokens = sum(len(e.input_ids) for e in ex)
    times: dict[str, list[float]] = {}
    built = {}
    for name in args.variants.split(","):
        quant, dtype, grad = VARIANTS[name]
        cfg = TrainConfig(brand=BRAND, emails=str(EMAILS), base_model=args.preset,
                          quantization=quant, dtype=dtype, prompt_grad=grad)
        model = build_model(cfg, settings)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        built[name] = (model, opt, grad)
    for rnd in range(args.rounds):
        for name, (model, opt, grad) in built.items():
            t0 = time.perf_counter()
            for e in ex:
                loss = train_data.weighted_loss(model, col([{"input_ids": e.input_ids,
                                                             "labels": e.labels, "weight": 1.0}]),
                                                prompt_grad=grad)
                loss.backward()
            opt.step()
            opt.zero_grad()
            times.setdefault(name, []).append(time.perf_counter() - t0)
            log(f"round {rnd} {name}: {times[name][-1]:.1f} s ({tokens} tokens), load {load_avg()}")
    base = statistics.median(times[next(iter(built))])
    entry = {"examples": len(ex), "tokens_per_step": tokens, "rounds": args.rounds,
             "load_avg": load_avg(), "baseline": next(iter(built)),
             "variants": {n: {"median_s": round(statistics.median(t), 2),
                              "tokens_per_s": round(tokens / statistics.median(t), 1),
                              "speedup": round(base / statistics.median(t), 2),
                              "seconds": [round(x, 2) for x in t]} for n, t in times.items()}}
    record("steps", args.preset, entry)
    print(json.dumps(entry, indent=2))


def fill_requests(settings, contacts: int):
    """The fill requests of a slot job over `contacts` demo contacts (Ledgerly's download
    template, every slot kind, the brand's own lines as examples): what a job sends a backend."""
    from brandvoice import corpus, crm, prompting
    from brandvoice.generation import batch
    from brandvoice.generation.slots import SkeletonWriter

    class Recorder:
        def __init__(self):
            self.requests = []

        def generate(self, requests):
            from brandvoice.generation.protocol import GenOutput

            self.requests += requests
            return [GenOutput(text="", prompt="", new_tokens=0) for _ in requests]

    template = prompting.get_template("ledgerly_after_content_download", settings)
    people = [c for c in crm.import_contacts(REPO / "data" / "crm_hubspot_ledgerly.csv",
                                             activities=REPO / "data" / "activities_ledgerly.csv"
                                             ).contacts if not prompting.missing_fields(template, c)]
    render = batch.renderer(settings, template, BRAND, {})
    rec = Recorder()
    writer = SkeletonWriter(rec, None, brand=BRAND, template=template, k=1, seed=1234)
    library = prompting.SlotLibrary(corpus.prepare(EMAILS, brand=BRAND).train)
    writer.system = prompting.fill_system_prompt(BRAND, {
        k: library.examples(k, template.use_case) for k in prompting.SLOT_KINDS})
    writer.fill([(render(people[i % len(people)]), people[i % len(people)], i // len(people))
                 for i in range(contacts)])
    return rec.requests


def cmd_decode(args) -> None:
    """The same fill requests, greedy: the local transformers backend (batched, shared prefill)
    and llama.cpp on the preset's GGUF (one request at a time, its prompt cache reused),
    alternating rounds."""
    from brandvoice import models
    from brandvoice.config import Settings
    from brandvoice.generation import GenerationConfig
    from brandvoice.generation.local import LocalBackend

    settings = Settings()
    spec = models.resolve(args.preset)
    gguf = models.parts.assemble(spec, settings.models_dir / "gguf") if spec.parts else None
    requests = fill_requests(settings, args.contacts)
    tf = LocalBackend.load(GenerationConfig(temperature=0.0), settings, base_model=args.preset)
    from llama_cpp import Llama, StoppingCriteriaList

    from brandvoice.config import cpu_threads

    threads = cpu_threads()  # the threads the transformers backend computes with
    llm = Llama(model_path=str(gguf), n_ctx=4096, n_threads=threads, n_batch=512, verbose=False)

    def run_tf():
        out = []
        for i in range(0, len(requests), 8):  # the job's chunk size
            out += tf.generate(requests[i:i + 8])
        return sum(o.new_tokens for o in out)

    newline = {i for i in range(llm.n_vocab()) if b"\n" in llm.detokenize([i])}

    def run_llama():
        """Each request as the local backend asks it: its chat prompt, greedy, stopped after its
        n-th line (the answer's lines) or its budget."""
        n = 0
        for r in requests:
            prompt = tf.prompt_for(r)
            start = len(llm.tokenize(prompt.encode(), add_bos=False, special=True))

            def enough(ids, _logits, start=start, lines=r.lines):
                return sum(1 for t in ids[start:] if t in newline) >= lines

            res = llm.create_completion(prompt, max_tokens=r.max_new_tokens, temperature=0.0,
                                        stopping_criteria=StoppingCriteriaList([enough])
                                        if r.lines else None)
            n += res["usage"]["completion_tokens"]
        return n

    times: dict[str, list[float]] = {"transformers": [], "llama.cpp": []}
    tokens = {}
    for rnd in range(args.rounds):
        for name, fn in (("transformers", run_tf), ("llama.cpp", run_llama)):
            t0 = time.perf_counter()
            tokens[name] = fn()
            times[name].append(time.perf_counter() - t0)
            log(f"round {rnd} {name}: {times[name][-1]:.1f} s, load {load_avg()}")
    med = {k: statistics.median(v) for k, v in times.items()}
    entry = {"requests": len(requests), "contacts": args.contacts, "llama_threads": threads,
             "load_avg": load_avg(), "new_tokens": tokens,
             "seconds": {k: [round(x, 1) for x in v] for k, v in times.items()},
             "median_s": {k: round(v, 1) for k, v in med.items()},
             "llama_cpp_vs_transformers": round(med["transformers"] / med["llama.cpp"], 2)}
    record("decode", args.preset, entry)
    print(json.dumps(entry, indent=2))


def cmd_collect(_args) -> None:
    """This machine's costs per preset from the runs bench/quality.py and bench/train.py made:
    training the demo brand (Ledgerly; the newest adapter's manifest in the preset's quality
    workspace, or bench/results/train.json for the default) and 100 slot drafts (the slot jobs of
    bench/results/quality_runs.json with an adapter, per 100 drafts, at the k most drafts had)."""
    from collections import defaultdict

    from brandvoice import models

    runs = json.loads((REPO / "bench" / "results" / "quality_runs.json").read_text(encoding="utf-8"))
    jobs = defaultdict(list)
    for j in runs.get("jobs", []):
        if j["mode"] == "slots" and not str(j.get("model", "")).startswith("base:"):
            jobs[(j.get("base") or models.DEFAULT_MODEL, j["k"])].append(j)
    hundred = runs.get("hundred_contacts")
    for preset in {b for b, _ in jobs}:
        if preset == models.DEFAULT_MODEL and hundred:
            picked, k = [hundred], hundred["k"]
        else:
            k = max((kk for b, kk in jobs if b == preset),
                    key=lambda kk: sum(j["drafts"] for j in jobs[(preset, kk)]))
            picked = jobs[(preset, k)]
        drafts = sum(j["drafts"] for j in picked)
        loads = [j["load_avg"] for j in picked if j.get("load_avg") is not None]
        record("generate", preset, {
            "seconds": round(100 * sum(j["seconds"] for j in picked) / drafts, 1), "k": k,
            "drafts": drafts, "load_avg": round(statistics.median(loads), 2) if loads else None,
            "source": "bench/quality.py slot jobs (bench/results/quality_runs.json)"})
    homes = sorted((REPO / "bench").glob(".quality-home-*/adapters/ledgerly/v*/manifest.json"))
    for path in homes:
        man = json.loads(path.read_text(encoding="utf-8"))
        m = man.get("metrics") or {}
        if not m.get("train_seconds"):
            continue
        record("train", man["base_model"], {
            "seconds": m["train_seconds"], "load_avg": None, "threads": m.get("threads"),
            "tokens_per_s": m.get("tokens_per_s"), "steps": m.get("steps"),
            "source": f"the Ledgerly adapter's manifest ({man.get('created_at', '')[:10]})"})
    train = json.loads((REPO / "bench" / "results" / "train.json").read_text(encoding="utf-8"))
    end = train.get("end_to_end") or {}
    if end.get("seconds"):
        import re

        load = re.search(r"load average ([\d.]+)", str(train.get("conditions", "")))
        record("train", models.DEFAULT_MODEL, {
            "seconds": end["seconds"], "load_avg": float(load.group(1)) if load else None,
            "tokens_per_s": end.get("tokens_per_s"), "steps": end.get("steps"),
            "source": "bench/train.py (bench/results/train.json)"})
    print(MEASURED.read_text(encoding="utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("steps")
    s.add_argument("--preset", required=True)
    s.add_argument("--variants", default=",".join(VARIANTS))
    s.add_argument("--examples", type=int, default=4, help="examples per step (one step's batch)")
    s.add_argument("--rounds", type=int, default=3)
    d = sub.add_parser("decode")
    d.add_argument("--preset", required=True)
    d.add_argument("--contacts", type=int, default=16)
    d.add_argument("--rounds", type=int, default=2)
    sub.add_parser("collect", help="the training and generation costs the quality and training "
                                   "benchmarks measured, per preset -> measured.json")
    args = ap.parse_args()
    {"steps": cmd_steps, "decode": cmd_decode, "collect": cmd_collect}[args.cmd](args)


if __name__ == "__main__":
    main()
