"""Validated settings: the workspace's Settings and the base of every job config (pydantic).

Unknown keys are refused (a typo must not be ignored silently), each choice is one field with its
allowed values (`Literal`), ranges live in `Field(ge=, le=)`, and a ValidationError becomes a
ConfigError with one line per bad field. Nothing is read at import time: call `Settings.from_env()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from brandvoice.errors import ConfigError

Quantization = Literal["nf4", "int8", "none"]
QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)

_REPO_ROOT = Path(__file__).resolve().parent.parent


def config_error(label: str, exc: ValidationError, model: type[BaseModel] | None = None) -> ConfigError:
    """A pydantic ValidationError as a ConfigError: unknown keys first, then one line per field."""
    unknown = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "extra_forbidden"]
    lines = []
    for e in exc.errors():
        if e["type"] == "extra_forbidden":
            continue
        where = ".".join(map(str, e["loc"]))
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{where}={e['input']!r}: {msg}" if where else msg)
    known = sorted(model.model_fields) if model is not None else []
    if unknown and not lines:
        return ConfigError(f"Unknown {label}: {', '.join(unknown)}.",
                           hint=f"Known settings: {', '.join(known)}." if known else None)
    if unknown:
        lines.insert(0, f"unknown {label}: {', '.join(unknown)}")
    return ConfigError(f"Invalid {label}:\n" + "\n".join(f"  - {line}" for line in lines),
                       hint="Fix the listed settings" + (f" (known: {', '.join(known)})." if unknown
                                                          else "."))


class Config(BaseModel):
    """A validated config: unknown keys refused, JSON round trip with to_dict/from_dict."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
    label: ClassVar[str] = "settings"  # "generation settings", "training settings": in messages

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise config_error(self.label, exc, type(self)) from None

    def to_dict(self) -> dict:
        """JSON-able settings (stored with the job)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict | None):
        """Settings from a dict; unknown keys are an error."""
        return cls(**dict(data or {}))


# kept for callers written against the dataclass era
DictConfig = Config


def _default_data_dir(name: str) -> Path:
    """The repo's prompts/ or guardrails/ folder, else the one in the working directory."""
    here = _REPO_ROOT / name
    return here if here.is_dir() else Path.cwd() / name


class Settings(Config):
    """Where runtime state lives and which defaults apply."""

    label: ClassVar[str] = "settings"
    model_config = ConfigDict(extra="forbid", validate_default=True, validate_assignment=True)

    home: Path = Field(default_factory=lambda: Path(".brandvoice"),
                       description="Folder for the database, adapters, jobs and exports.")
    db_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home.")
    base_model: str = "smollm2-135m-instruct"
    quantization: Quantization = "nf4"
    embedder: str = "all-MiniLM-L6-v2"
    prompts_dir: Path = Field(default_factory=lambda: _default_data_dir("prompts"))
    guardrails_dir: Path = Field(default_factory=lambda: _default_data_dir("guardrails"))

    @field_validator("home")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return Path(v).expanduser().resolve()

    @model_validator(mode="after")
    def _default_db(self) -> Settings:
        if self.db_url is None:
            object.__setattr__(self, "db_url", f"sqlite:///{self.home / 'brandvoice.db'}")
        return self

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
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ConfigError as exc:
            if "quantization" in str(exc):
                raise ConfigError(f"Unknown quantization {values.get('quantization')!r} "
                                  "(BRANDVOICE_QUANTIZATION).",
                                  hint=f"Use one of: {', '.join(QUANTIZATIONS)}.") from None
            raise

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
