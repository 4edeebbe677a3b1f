"""The probe of an adapter: its own greedy answer to one fixed brief, recorded in its manifest when
it is published, with its base model's answer to the same brief.

A server that claims to serve the adapter (vLLM's multi-LoRA, llama.cpp with a GGUF adapter) is
asked the same brief greedily before a job sends it anything (generation.remote). Its answer must
follow the adapter's past the point where the adapter and its base part ways, and for at least
MIN_CHARS characters (whitespace normalised): another brand's adapter, or the base model served
under the adapter's name, takes another path there. Only a prefix is compared, because servers
compute in other precisions (bf16, a GGUF's) than the float32 the answer was recorded in, and a
greedy answer may drift late in a long continuation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brandvoice import models
from brandvoice.config import Settings
from brandvoice.prompting import shape

MIN_CHARS = 24


def greedy(model: Any, tokenizer: Any, system: str, user: str, tokens: int) -> str:
    """The model's greedy answer (new text only) to one chat brief."""
    import torch

    enc = tokenizer(models.prompt_text(tokenizer, system, user), return_tensors="pt",
                    add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=tokens, do_sample=False, num_beams=1,
                             repetition_penalty=1.0, pad_token_id=tokenizer.pad_token_id
                             or tokenizer.eos_token_id)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def record(settings: Settings, adapter_dir: Path | str, base_model: str, brand: str) -> dict:
    """The probe of the adapter in `adapter_dir` (PEFT files) on its unquantized base, in float32:
    the brief, the adapter's answer and the base model's."""
    from peft import PeftModel

    system, user = shape.probe_messages(brand)
    tok = models.load_tokenizer(base_model, settings)
    base = models.load_model(base_model, "none", settings, dtype="float32")
    model = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=False)
    model.eval()
    answer = greedy(model, tok, system, user, shape.PROBE_TOKENS)
    with model.disable_adapter():
        base_answer = greedy(model, tok, system, user, shape.PROBE_TOKENS)
    del model, base
    return {"system": system, "user": user, "max_tokens": shape.PROBE_TOKENS, "dtype": "float32",
            "answer": answer, "base_answer": base_answer}


def _norm(text: str) -> str:
    return " ".join(str(text or "").split())


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def mismatch(probe: dict, served: str) -> str | None:
    """Why `served` is not the adapter's answer to the probe, or None when it is."""
    answer, base, got = _norm(probe.get("answer")), _norm(probe.get("base_answer")), _norm(served)
    split = _common(answer, base)
    if split >= len(answer):
        return ("the adapter's own answer to the probe is its base model's, so no server can be "
                "shown to serve it (train it longer, or on more emails)")
    need = min(len(answer), max(split + 1, MIN_CHARS))
    if got[:need] == answer[:need]:
        return None
    like_base = _common(got, base) > split
    return (f"its answer to the probe starts {got[:70]!r}; the adapter's starts {answer[:70]!r}"
            + (" (the server answers as the base model does)" if like_base else ""))


def record_for(settings: Settings, info) -> dict:
    """Record the probe of an adapter published before probes were (its manifest gains it; its
    weights are untouched); returns the probe."""
    from brandvoice import textio

    found = record(settings, info.path, info.base_model, info.brand)
    manifest = dict(info.manifest or {}, probe=found)
    textio.write_json(Path(info.path) / "manifest.json", manifest)
    info.manifest = manifest
    return found
