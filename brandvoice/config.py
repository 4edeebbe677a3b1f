"""Settings dataclasses. Nothing is read at import time: call `Settings.from_env()`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal, get_args

from brandvoice.errors import ConfigError

Quantization = Literal["nf4", "int8", "none"]
QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)

_REPO_ROOT = Path(__file__).resolve().parent.parent


class DictConfig:
    """Mixin for job settings dataclasses stored as JSON: to_dict, and from_dict that refuses typos."""

    _label = "settings"  # "generation settings", "training settings": named in the error

    def to_dict(self) -> dict:
        """JSON-able settings (stored with the job)."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict | None):
        """Settings from a dict; unknown keys are an error (a typo must not be ignored silently)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Unknown {cls._label}: {', '.join(unknown)}.",
                              hint=f"Known settings: {', '.join(sorted(known))}.")
        return cls(**data)


def _default_data_dir(name: str) -> Path:
    """The repo's prompts/ or guardrails/ folder, else the one in the working directory."""
    here = _REPO_ROOT / name
    return here if here.is_dir() else Path.cwd() / name


@dataclass
class Settings:
    """Where runtime state lives and which defaults apply."""

    home: Path = field(default_factory=lambda: Path(".brandvoice"))
    db_url: str | None = None
    base_model: str = "smollm2-135m-instruct"
    quantization: Quantization = "nf4"
    embedder: str = "all-MiniLM-L6-v2"
    prompts_dir: Path = field(default_factory=lambda: _default_data_dir("prompts"))
    guardrails_dir: Path = field(default_factory=lambda: _default_data_dir("guardrails"))
    # Four-eyes rule: nobody approves a draft they generated, unless this is switched on.
    allow_self_approval: bool = False

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser().resolve()
        self.prompts_dir = Path(self.prompts_dir)
        self.guardrails_dir = Path(self.guardrails_dir)
        if self.quantization not in QUANTIZATIONS:
            raise ConfigError(
                f"Unknown quantization {self.quantization!r} (BRANDVOICE_QUANTIZATION).",
                hint=f"Use one of: {', '.join(QUANTIZATIONS)}.",
            )
        if self.db_url is None:
            self.db_url = f"sqlite:///{self.home / 'brandvoice.db'}"

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Settings from BRANDVOICE_* environment variables, then explicit overrides."""
        env = os.environ
        values: dict = {}
        mapping = {
            "home": "BRANDVOICE_HOME",
            "db_url": "BRANDVOICE_DB_URL",
            "base_model": "BRANDVOICE_BASE_MODEL",
            "quantization": "BRANDVOICE_QUANTIZATION",
            "embedder": "BRANDVOICE_EMBEDDER",
            "prompts_dir": "BRANDVOICE_PROMPTS",
            "guardrails_dir": "BRANDVOICE_GUARDRAILS",
        }
        for attr, var in mapping.items():
            if env.get(var):
                values[attr] = env[var]
        if env.get("BRANDVOICE_ALLOW_SELF_APPROVAL"):
            values["allow_self_approval"] = env["BRANDVOICE_ALLOW_SELF_APPROVAL"].strip().lower() in {
                "1", "true", "yes", "on"}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    # Runtime folders under home; created on demand by the code that writes them.
    @property
    def models_dir(self) -> Path:
        # Converted base models are big and shareable: BRANDVOICE_MODELS_DIR lets tests and several
        # workspaces share one converted copy.
        shared = os.environ.get("BRANDVOICE_MODELS_DIR")
        return Path(shared).expanduser().resolve() if shared else self.home / "models"

    @property
    def adapters_dir(self) -> Path:
        return self.home / "adapters"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"
