"""Serving many brands' adapters from one OpenAI-compatible server: what each server needs.

- vLLM (`--enable-lora --lora-modules NAME=DIR ...`) loads PEFT folders as they are: one folder per
  adapter, named as the remote backend asks for it ('<brand>-v<N>'). vLLM refuses adapters whose
  rank exceeds its `--max-lora-rank` (one of VLLM_RANKS, 16 by default) and does not apply
  `modules_to_save` or DoRA weights: those are refused here, before a server is started.
- llama.cpp (`llama-server -m BASE.gguf --lora ADAPTER.gguf`, or llama-cpp-python's server with
  one model entry per adapter) loads a LoRA GGUF: general.type "adapter", adapter.type "lora",
  adapter.lora.alpha, and for each adapted base tensor `<gguf name>.lora_a` (rank x in) and
  `.lora_b` (out x rank). The base's tensor names and the row order of llama's q/k projections
  (llama.cpp permutes them for its rotary layout) come from the base's config.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from brandvoice import models, textio
from brandvoice.config import Settings
from brandvoice.errors import ConfigError, ModelError
from brandvoice.generation.remote import adapter_model_name

VLLM_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)  # the values vLLM's --max-lora-rank takes
# Hugging Face architectures whose LoRA we write as GGUF: (gguf arch, q/k rows permuted)
GGUF_ARCHS = {"LlamaForCausalLM": ("llama", True), "Qwen2ForCausalLM": ("qwen2", False)}
WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")


def lora_config(info) -> dict[str, Any]:
    """The adapter's PEFT config, refused (ConfigError) where a server cannot apply it."""
    path = Path(info.path) / "adapter_config.json"
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"Adapter {info.label}: cannot read {path}: {exc}",
                         hint="The folder was moved or deleted; train the adapter again.") from exc
    if str(cfg.get("peft_type", "LORA")).upper() != "LORA":
        raise ConfigError(f"Adapter {info.label} is a {cfg.get('peft_type')} adapter, not LoRA: "
                          "servers load LoRA adapters only.")
    if cfg.get("modules_to_save"):
        raise ConfigError(f"Adapter {info.label} saves whole modules ({', '.join(cfg['modules_to_save'])} "
                          "in modules_to_save), which vLLM and llama.cpp do not load: served, it "
                          "would not be the adapter that was trained.",
                          hint="Train it without modules_to_save (brandvoice never sets it).")
    if cfg.get("use_dora"):
        raise ConfigError(f"Adapter {info.label} is a DoRA adapter (use_dora), which vLLM and "
                          "llama.cpp do not serve.", hint="Train it as a plain LoRA adapter.")
    return cfg


def rank_of(cfg: dict) -> int:
    """The largest rank of any adapted module (r, or a rank_pattern entry)."""
    return max([int(cfg.get("r") or 0), *map(int, (cfg.get("rank_pattern") or {}).values())])


def _weights(info) -> Path:
    for name in WEIGHTS:
        if (Path(info.path) / name).is_file():
            return Path(info.path) / name
    raise ModelError(f"Adapter {info.label}: no adapter weights in {info.path}.",
                     hint="The folder was moved or deleted; train the adapter again.")


def _fresh(target: Path) -> Path:
    """A staging folder next to `target`, renamed over it by `_publish`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))


def _publish(staging: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    staging.rename(target)


def export_vllm(infos: list, out: Path, *, max_lora_rank: int | None = None) -> dict[str, Any]:
    """One PEFT folder per adapter under `out`, named as served; returns what was written and the
    `vllm serve` command per base model."""
    out = Path(out)
    written, by_base = [], {}
    for info in infos:
        cfg = lora_config(info)
        rank = rank_of(cfg)
        if max_lora_rank is not None and rank > max_lora_rank:
            raise ConfigError(f"Adapter {info.label} has LoRA rank {rank}, above the server's "
                              f"--max-lora-rank {max_lora_rank}: vLLM would refuse to load it.",
                              hint=f"Start vLLM with --max-lora-rank {_vllm_rank(info, rank)}.")
        name = adapter_model_name(info)
        target = out / name
        staging = _fresh(target)
        shutil.copy2(Path(info.path) / "adapter_config.json", staging / "adapter_config.json")
        weights = _weights(info)
        shutil.copy2(weights, staging / weights.name)
        _publish(staging, target)
        written.append({"adapter": info.label, "name": name, "path": str(target), "rank": rank})
        by_base.setdefault(info.base_model, []).append((name, target, rank))
    commands = []
    for base, items in by_base.items():
        rank = max(r for _, _, r in items)
        modules = " ".join(f"{n}={p}" for n, p, _ in items)
        commands.append(f"vllm serve {_vllm_base(base)} --enable-lora --max-lora-rank "
                        f"{_vllm_rank(None, rank)} --max-loras {len(items)} --lora-modules {modules}")
    return {"format": "vllm", "adapters": written, "commands": commands}


def _vllm_rank(info, rank: int) -> int:
    for allowed in VLLM_RANKS:
        if rank <= allowed:
            return allowed
    raise ConfigError(f"Adapter {info.label if info else ''} has LoRA rank {rank}; vLLM serves "
                      f"ranks up to {VLLM_RANKS[-1]}.", hint="Train it with a smaller lora_r.")


def _vllm_base(base: str) -> str:
    spec = models.resolve(base)
    return spec.hub_id or spec.source


def base_config(settings: Settings, base_model: str) -> tuple[dict, Path | None]:
    """The base model's config.json (and its GGUF file, where it came from one)."""
    folder = Path(models.materialize(base_model, settings))
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"No config.json for base model {base_model} in {folder}: {exc}",
                         hint="A GGUF adapter needs the base's config.json: `brandvoice setup`, or "
                              "a local model folder.") from exc
    source = folder / "brandvoice_source.json"
    gguf = json.loads(source.read_text(encoding="utf-8")).get("gguf") if source.is_file() else None
    return config, Path(gguf) if gguf else None


def _permute(rows, n_head: int, n_kv: int | None):
    """llama.cpp's order of the rows of a llama q or k projection (its rotary layout)."""
    heads = n_kv if n_kv is not None and n_kv != n_head else n_head
    shape = rows.shape
    return rows.reshape(heads, 2, shape[0] // heads // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)


def lora_tensors(info, config: dict) -> tuple[str, list[tuple[str, Any]]]:
    """(gguf architecture, [(tensor name, float32 array)]) of an adapter on a base of `config`."""
    import gguf
    from safetensors.numpy import load_file

    arch_name = (config.get("architectures") or ["?"])[0]
    if arch_name not in GGUF_ARCHS:
        raise ConfigError(f"Adapter {info.label}: its base is a {arch_name}; GGUF adapters are "
                          f"written for {', '.join(GGUF_ARCHS)}.", hint="Serve it with vLLM.")
    arch, permuted = GGUF_ARCHS[arch_name]
    names = gguf.get_tensor_name_map(next(k for k, v in gguf.MODEL_ARCH_NAMES.items() if v == arch),
                                     int(config["num_hidden_layers"]))
    weights = _weights(info)
    if weights.suffix != ".safetensors":
        raise ConfigError(f"Adapter {info.label}: {weights.name} is not safetensors.",
                          hint="Train it again (adapters are saved as safetensors).")
    pairs: dict[str, dict[str, Any]] = {}
    for key, value in load_file(str(weights)).items():
        side = "a" if ".lora_A." in key else "b" if ".lora_B." in key else None
        if side is None:
            raise ConfigError(f"Adapter {info.label}: tensor {key} is not a LoRA A or B matrix.")
        hf = key.removeprefix("base_model.model.").split(".lora_")[0]
        pairs.setdefault(hf, {})[side] = value.astype("float32")
    out = []
    for hf, ab in sorted(pairs.items()):
        name = names.get_name(hf)
        if name is None or name.startswith(("token_embd", "output")):
            raise ConfigError(f"Adapter {info.label}: module {hf} has no place in a GGUF LoRA for "
                              f"{arch} (embeddings and the output head are not adapted there).",
                              hint="Train with target_modules on the attention and MLP projections.")
        b = ab["b"]
        if permuted and hf.endswith(("q_proj", "k_proj")):
            n_head = int(config["num_attention_heads"])
            b = _permute(b, n_head, n_head if hf.endswith("q_proj") else
                         config.get("num_key_value_heads"))
        out += [(f"{name}.weight.lora_a", ab["a"]), (f"{name}.weight.lora_b", b.copy())]
    return arch, out


def write_gguf_adapter(path: Path, arch: str, alpha: float, tensors: list, label: str) -> None:
    """A LoRA GGUF as llama.cpp's converter lays it out."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_name(label)
    for name, array in tensors:
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def export_gguf(settings: Settings, infos: list, out: Path) -> dict[str, Any]:
    """One LoRA GGUF per adapter under `out`, a llama-cpp-python server config naming each one,
    and a llama.cpp server command per adapter."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, entries, commands = [], [], []
    for info in infos:
        cfg = lora_config(info)
        if cfg.get("alpha_pattern"):
            raise ConfigError(f"Adapter {info.label} has per-module alphas (alpha_pattern); a "
                              "GGUF adapter carries one.", hint="Serve it with vLLM.")
        config, base_gguf = base_config(settings, info.base_model)
        arch, tensors = lora_tensors(info, config)
        name = adapter_model_name(info)
        target = out / f"{name}.gguf"
        staging = _fresh(target)
        write_gguf_adapter(staging / target.name, arch, cfg["lora_alpha"], tensors, info.label)
        (staging / target.name).replace(target)
        shutil.rmtree(staging, ignore_errors=True)
        base = str(base_gguf) if base_gguf else f"<{info.base_model} as GGUF>"
        written.append({"adapter": info.label, "name": name, "path": str(target), "arch": arch,
                        "tensors": len(tensors), "base_gguf": base})
        entries.append({"model": base, "model_alias": name, "lora_path": str(target)})
        commands.append(f"llama-server -m {base} --lora {target} --alias {name}")
    server_config = out / "llama_cpp_server.json"
    textio.write_json(server_config, {"models": entries})
    return {"format": "gguf", "adapters": written, "commands": commands,
            "server_config": str(server_config),
            "server_command": f"python -m llama_cpp.server --config_file {server_config}"}


def export(store, settings: Settings, refs: list[str], *, fmt: str, out: Path,
           max_lora_rank: int | None = None) -> dict[str, Any]:
    """`brandvoice adapters export`: the adapters named (default: each brand's newest ready
    version) as vLLM folders or llama.cpp GGUF files under `out`."""
    from brandvoice import training

    if refs:
        infos = [training.get_adapter(store, ref) for ref in refs]
    else:
        newest: dict[str, Any] = {}
        for info in training.list_adapters(store):
            if info.status == "ready" and info.name not in newest:
                newest[info.name] = info
        infos = list(newest.values())
    if not infos:
        raise ConfigError("There is no ready adapter to export.",
                          hint="Train one first (`brandvoice train --brand NAME --emails FILE`).")
    for info in infos:
        if info.status != "ready":
            raise ConfigError(f"Adapter {info.label} is {info.status}, not ready.")
    if fmt == "vllm":
        return export_vllm(infos, out, max_lora_rank=max_lora_rank)
    if fmt == "gguf":
        return export_gguf(settings, infos, out)
    raise ConfigError(f"Unknown export format {fmt!r}.", hint="Use vllm or gguf.")
