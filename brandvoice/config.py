"""Validated settings: the workspace's Settings and the base of every job config (pydantic).

Unknown keys are refused (a typo must not be ignored silently), each choice is one field with its
allowed values (`Literal`), ranges live in `Field(ge=, le=)`, and a ValidationError becomes a
ConfigError with one line per bad field. `Settings` (pydantic-settings) is the one reader of the
environment: nothing else in the package reads it (`env_value`, `cpu_threads` and `quiet_openmp`
are the exceptions a user or OpenMP names, kept here). Nothing is read at import time: call
`Settings()` or `Settings.from_env()`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

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


def _env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias if field in Settings.model_fields else None
    return alias.choices[0] if isinstance(alias, AliasChoices) else f"BRANDVOICE_{field.upper()}"


def _settings_error(exc: ValidationError) -> ConfigError:
    """A ValidationError of Settings, each field named with its environment variable."""
    lines = []
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        if field.startswith("BRANDVOICE_"):
            field = next((f for f in Settings.model_fields if _env_name(f) == field), field)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown setting {field!r}")
        else:
            lines.append(f"{field}={e['input']!r} ({_env_name(field)}): {msg}")
    return ConfigError("Invalid settings:\n" + "\n".join(f"  - {line}" for line in lines),
                       hint="Fix the listed settings (or unset their environment variables); known: "
                            + ", ".join(sorted(Settings.model_fields)) + ".")


def env_value(name: str) -> str | None:
    """The value of an environment variable a user named in a setting (e.g. the API key variable
    of an OpenAI-compatible server): the one place such a variable is read."""
    return os.environ.get(name) or None


def cpu_threads() -> int:
    """Threads for model inference on this machine: OMP_NUM_THREADS when set, else min(4, cores)."""
    try:
        n = int(os.environ.get("OMP_NUM_THREADS") or 0)
    except ValueError:
        n = 0
    return n or min(4, os.cpu_count() or 1)


_PARSED: dict[tuple, Settings] = {}


def environment_settings() -> Settings:
    """`Settings()` of this process's environment, parsed once per distinct BRANDVOICE_* values and
    working directory (the app asks on every page run); a copy, so a caller's change stays its own."""
    key = (os.getcwd(), *sorted((k, v) for k, v in os.environ.items() if k.startswith("BRANDVOICE_")))
    parsed = _PARSED.get(key)
    if parsed is None:
        if len(_PARSED) > 32:
            _PARSED.clear()
        parsed = _PARSED[key] = Settings()
    return parsed.model_copy()


WORKER_SETTINGS = "BRANDVOICE_WORKER_SETTINGS"  # the whole Settings, as JSON, for a worker process


def worker_environment(settings: Settings) -> dict[str, str]:
    """The environment of a background worker started for `settings`: this process's, plus every
    settings field (secrets included) as JSON in one variable the worker reads back whole."""
    return {**os.environ, WORKER_SETTINGS: settings.to_json()}


def worker_settings() -> Settings:
    """The settings a worker was started with (`worker_environment`); a worker started by hand
    reads BRANDVOICE_* as any process does."""
    text = os.environ.get(WORKER_SETTINGS)
    return Settings.from_json(text) if text else Settings()


def quiet_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning (on a busy machine spinning made generation
    ~10x slower). Takes effect only before torch is imported."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _default_data_dir(name: str) -> Path:
    """The repo's prompts/ or guardrails/ folder, else the one in the working directory."""
    here = _REPO_ROOT / name
    return here if here.is_dir() else Path.cwd() / name


class Settings(BaseSettings):
    """Where runtime state lives and which defaults apply: the one reader of the environment.

    Each field is read from `BRANDVOICE_<FIELD>` (prompts_dir and guardrails_dir from
    BRANDVOICE_PROMPTS and BRANDVOICE_GUARDRAILS), explicit values win over the environment, and
    the result is passed down as an argument; the background worker gets the whole object
    (`to_json` / `from_json`), never a re-read of its environment.
    """

    label: ClassVar[str] = "settings"
    model_config = SettingsConfigDict(env_prefix="BRANDVOICE_", extra="forbid",
                                      validate_default=True, validate_assignment=True,
                                      populate_by_name=True, env_ignore_empty=True)

    home: Path = Field(default_factory=lambda: Path(".brandvoice"),
                       description="Folder for the database, adapters, jobs and exports.")
    db_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under home.")
    base_model: str = "smollm2-135m-instruct"
    quantization: Quantization = "nf4"
    embedder: str = Field("all-MiniLM-L6-v2", description="The tone check's embedder: a registered "
                          "name (guardrails.embedders) or a sentence-transformers model.")
    embedder_backend: Literal["auto", "openvino", "fp32"] = Field(
        "auto", description="How a sentence-transformers embedder runs: openvino when installed "
                            "(auto), or the fp32 reference.")
    prompts_dir: Path = Field(default_factory=lambda: _default_data_dir("prompts"),
                              validation_alias=AliasChoices("BRANDVOICE_PROMPTS"))
    guardrails_dir: Path = Field(default_factory=lambda: _default_data_dir("guardrails"),
                                 validation_alias=AliasChoices("BRANDVOICE_GUARDRAILS"))
    # Converted base models are big and shareable: several workspaces (and test runs) may share one
    # converted copy. Default: <home>/models.
    models_dir: Path | None = None
    guard: str = Field("brand", description="The guard generation stores verdicts from: a "
                       "registered name (generation.guards); \"brand\" = the brand's guardrails.")
    job_runner: str = Field("auto", description="How a queued job is started: a registered "
                            "name (jobs.register_runner); \"process\" = a background worker "
                            "process, \"queue\" = the job queue on PostgreSQL (run by `brandvoice "
                            "worker` on any machine), \"auto\" = the queue on PostgreSQL, else a "
                            "process.")
    job_part_size: int = Field(500, ge=1, le=100_000, description="Contacts per part of a "
                               "generate job in the queue (any worker takes any part).")
    worker_timeout: float = Field(60.0, ge=5, le=3600, description="Seconds without a heartbeat "
                                  "after which a queue worker is taken for dead and its part is "
                                  "run again by another worker.")
    raise_errors: bool = Field(False, description="Let the edges (CLI, pages) raise an unexpected "
                               "exception with its traceback instead of a short message.")
    user: str | None = Field(None, description="The CLI's acting user when --as is not given.")
    password: SecretStr | None = Field(None, description="That user's password.")
    demo_password: str = Field("brandvoice-demo", description="The demo users' password.")
    demo_seed: Literal["auto", "model", "none"] = Field(
        "auto", description="How the demo seeds its review queue: with the model (auto, model) "
                            "or not at all (none).")
    demo_wait: bool = Field(False, description="Seed the demo queue in this process, not in the "
                                               "background.")

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _settings_error(exc) from None

    @field_validator("home", "models_dir")
    @classmethod
    def _absolute(cls, v: Path | None) -> Path | None:
        return None if v is None else Path(v).expanduser().resolve()

    @model_validator(mode="after")
    def _defaults_under_home(self) -> Settings:
        if self.db_url is None:
            object.__setattr__(self, "db_url", f"sqlite:///{self.home / 'brandvoice.db'}")
        if self.models_dir is None:
            object.__setattr__(self, "models_dir", self.home / "models")
        return self

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Settings from BRANDVOICE_* environment variables, then explicit overrides."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict:
        """Every field, JSON-able, secrets included (for the worker, never for a log)."""
        out = self.model_dump(mode="json")
        out["password"] = self.password.get_secret_value() if self.password else None
        return out

    @classmethod
    def from_dict(cls, data: dict | None) -> Settings:
        """Settings from a dict (as `to_dict` wrote it); unknown keys are an error."""
        return cls(**dict(data or {}))

    def to_json(self) -> str:
        """`to_dict` as JSON: what a background worker is started with."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """Settings exactly as `to_json` wrote them (no field is read from the environment)."""
        return cls.from_dict(json.loads(text))

    def shown(self) -> dict:
        """Every field for a log line: secrets as "***" when set."""
        out = self.model_dump(mode="json")
        out["password"] = "***" if self.password else None
        return out

    # Runtime folders under home; created on demand by the code that writes them.
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
