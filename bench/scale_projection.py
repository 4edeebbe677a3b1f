"""Projection (an estimate, not a measurement) of generation on one GPU server, per base preset:
generated tokens/s per GPU and contacts per hour, and how many queue workers keep one GPU busy.

What is measured here: the prompt length of the template the scale benchmark uses (rendered for
its contacts, tokenized with the embedded SmolLM2 tokenizer) and, from bench/results, the new
tokens per draft (bench/generate.py) and a queue worker's CPU time per draft (bench/scale.py).
What is assumed, with its source in SOURCES: each GPU's dense bf16 peak and memory bandwidth
(vendor datasheets), each model's parameters and KV-cache shape (model cards, the Qwen2.5
report), 2 FLOPs per parameter per token (Kaplan et al. 2020), and a utilisation of the peak in
continuous-batching decoding (UTILISATION; vLLM reaches batch sizes of hundreds through
PagedAttention, Kwon et al. 2023). The roofline bound is the larger of the compute time and the
KV-cache read time per email; the result is an order of magnitude, to be replaced by a measured
figure on the first GPU machine.

Usage: python bench/scale_projection.py [--out bench/results/scale_projection.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

SOURCES = {
    "l4": "NVIDIA L4 Tensor Core GPU datasheet (2023): 121 TFLOPS FP16/BF16 dense, 300 GB/s.",
    "a100": "NVIDIA A100 Tensor Core GPU datasheet (2021): 312 TFLOPS BF16 dense, 1,555 GB/s (40 GB).",
    "smollm2": "HuggingFaceTB/SmolLM2-135M-Instruct model card and config.json (135M parameters, "
               "30 layers, 3 KV heads of 64).",
    "qwen": "Qwen2.5 Technical Report (arXiv:2412.15115), Table 1, and the model cards: 0.5B = 494M "
            "parameters, 24 layers, 2 KV heads of 64; 1.5B = 1.54B, 28 layers, 2 KV heads of 128.",
    "flops": "Kaplan et al. 2020, Scaling Laws for Neural Language Models (arXiv:2001.08361): "
             "a forward pass costs about 2 FLOPs per parameter per token.",
    "vllm": "Kwon et al. 2023, Efficient Memory Management for LLM Serving with PagedAttention "
            "(arXiv:2309.06180): continuous batching of hundreds of sequences per GPU.",
}
GPUS = {"L4": {"bf16_tflops": 121.0, "bandwidth_gb_s": 300.0},
        "A100-40GB": {"bf16_tflops": 312.0, "bandwidth_gb_s": 1555.0}}
MODELS = {  # parameters, layers, KV heads, head size
    "smollm2-135m-instruct": {"params": 134.5e6, "layers": 30, "kv_heads": 3, "head_dim": 64},
    "qwen2.5-coder-0.5b-instruct": {"params": 494e6, "layers": 24, "kv_heads": 2, "head_dim": 64},
    "qwen2.5-coder-1.5b-instruct": {"params": 1.54e9, "layers": 28, "kv_heads": 2, "head_dim": 128},
}
UTILISATION = 0.3  # share of the dense peak reached in batched decoding (assumed)
LORA_FACTOR = 0.8  # throughput kept when each request carries its own LoRA adapter (assumed)


def prompt_tokens(n: int = 50) -> float:
    """Mean prompt length (tokens) of the scale benchmark's template over its first contacts."""
    import csv
    import tempfile

    from scale import write_crm

    from brandvoice import crm, models, prompting
    from brandvoice.config import Settings
    from brandvoice.prompting import shape

    settings = Settings(models_dir=REPO / ".brandvoice" / "models")
    tok = models.load_tokenizer("smollm2-135m-instruct", settings)
    template = prompting.get_template("reengage_cold_lead", settings)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_crm(Path(tmp) / "c.csv", n)
        with open(path, encoding="utf-8") as fh:
            assert sum(1 for _ in csv.reader(fh)) == n + 1
        contacts = crm.import_contacts(str(path)).contacts
    lengths = [len(tok(models.prompt_text(tok, shape.system_prompt("Ledgerly"),
                                          prompting.render(template, c, brand="Ledgerly")))["input_ids"])
               for c in contacts]
    return sum(lengths) / len(lengths)


def project(prompt: float, new: float, cpu_per_draft: float | None) -> list[dict]:
    rows = []
    for gpu, g in GPUS.items():
        for model, m in MODELS.items():
            flops = 2 * m["params"] * (prompt + new)  # per email: prefill and decode
            compute_s = flops / (UTILISATION * g["bf16_tflops"] * 1e12)
            kv_per_token = 2 * m["layers"] * m["kv_heads"] * m["head_dim"] * 2  # K and V, bf16
            # each generated token reads the KV cache of its context (prompt + half the answer)
            memory_s = new * kv_per_token * (prompt + new / 2) / (g["bandwidth_gb_s"] * 1e9)
            per_email = max(compute_s, memory_s) / LORA_FACTOR
            emails_s = 1 / per_email
            row = {"gpu": gpu, "model": model, "bound": "compute" if compute_s >= memory_s else "memory",
                   "new_tokens_per_s": round(emails_s * new), "contacts_per_hour": round(emails_s * 3600, -3)}
            if cpu_per_draft:
                row["worker_cores_to_keep_up"] = round(emails_s * cpu_per_draft, 1)
            rows.append(row)
    return rows


def table(result: dict) -> str:
    """The projection as a markdown table (bench/docs.py writes it into docs/scale.md)."""
    lines = ["| GPU | base preset | bound by | new tokens/s (estimate) | contacts per hour "
             "(estimate) | worker cores to keep up |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['gpu']} | {r['model']} | {r['bound']} | {r['new_tokens_per_s']:,} | "
                     f"{int(r['contacts_per_hour']):,} | {r.get('worker_cores_to_keep_up', '–')} |")
    m, a = result["measured"], result["assumed"]
    lines += ["", f"Measured: {m['prompt_tokens_mean']} prompt tokens and "
              f"{m['new_tokens_per_draft']} new tokens per draft, {m['worker_cpu_s_per_draft']} "
              f"worker CPU seconds per draft. Assumed: {a['utilisation_of_peak']:.0%} of the "
              f"dense bf16 peak, {a['lora_throughput_factor']:.0%} of that with LoRA adapters."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "scale_projection.json"))
    args = ap.parse_args()
    results = REPO / "bench" / "results"
    gen = json.loads((results / "generate.json").read_text())["local_best"]
    new = gen["new_tokens"] / gen["drafts"]
    scale = json.loads((results / "scale.json").read_text()) if (results / "scale.json").is_file() else {}
    one = next((r for r in scale.get("runs", []) if r["workers"] == 1 and "killed" not in r), None)
    cpu = sum(one["worker_cpu_s"].values()) / one["contacts"] if one else None
    prompt = prompt_tokens()
    out = {
        "what": "an estimate: generation on one GPU per base preset (see the script's docstring)",
        "command": "python bench/scale_projection.py",
        "measured": {"prompt_tokens_mean": round(prompt, 1), "new_tokens_per_draft": round(new, 1),
                     "worker_cpu_s_per_draft": round(cpu, 4) if cpu else None},
        "assumed": {"utilisation_of_peak": UTILISATION, "lora_throughput_factor": LORA_FACTOR,
                    "gpus": GPUS, "models": MODELS},
        "sources": SOURCES,
        "rows": project(prompt, new, cpu),
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out["rows"], indent=1))


if __name__ == "__main__":
    main()
