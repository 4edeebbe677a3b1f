"""The settings of a training run (`TrainConfig`) and the job params that record them.

`TrainConfig` is validated like every config (unknown keys refused); `upgrade_params()` reads the
params of jobs recorded by older versions, so that a resumed job trains exactly as it started.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from brandvoice import models
from brandvoice.config import Config, Quantization
from brandvoice.errors import ConfigError

MODES = ("top", "weight", "all")
METRICS = ("open_rate", "click_rate", "reply_rate", "conversion_rate")
PARAMS_VERSION = 3  # of the job params; upgrade_params() reads older ones
SLOT_SHAPE = "fill"  # the slot brief an adapter learns (prompting.fill); recorded in its manifest


class TrainConfig(Config):
    """Everything that decides a training run; stored as the job's params (runtime knobs aside)."""

    label: ClassVar[str] = "training settings"
    RUNTIME: ClassVar[frozenset[str]] = frozenset({"threads", "save_steps"})  # not the adapter's

    brand: str = Field(description="The brand the adapter writes for.")
    emails: str = Field(description="Past emails (CSV or JSONL).")
    rows_of: str | None = Field(None, description="The file's brand (its brand column) whose rows "
                                "to learn from, when the file holds several brands; default: the "
                                "rows naming `brand`, or every row of a one-brand file.")
    base_model: str = models.DEFAULT_MODEL
    quantization: Quantization = Field("nf4", description="Base weights while training (nf4 = QLoRA).")
    # QLoRA's own recipe computes in bfloat16; on a CPU with AVX512-BF16 an nf4 step ran 2.97x the
    # float32-compute step (bench/models.py steps), so "auto" uses it wherever it is native.
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="Compute precision of the base; auto = bfloat16 where the hardware "
        "does it natively (GPUs, CPUs with AVX512-BF16 or AMX), LoRA weights stay float32.")
    lora_r: int = Field(16, ge=1, le=512, description="LoRA rank.")
    lora_alpha: int = Field(32, ge=1, le=4096, description="LoRA alpha (scale = alpha / r).")
    # dropout costs 13 % of a CPU step and a copy of every LoRA input (bench/results/train.json)
    lora_dropout: float = Field(0.0, ge=0.0, le=0.9)
    target_modules: Literal["all-linear"] | list[str] = "all-linear"
    # Ledgerly (78 emails, slots on): 1 epoch (40 steps) left the slots mostly unusable; 3 epochs
    # (118 steps) wrote good openings and subjects for the campaigns with many past emails.
    epochs: float = Field(3.0, gt=0, le=100, description="Passes over the training examples.")
    max_steps: int = Field(0, ge=0, description="Optimizer steps; > 0 overrides epochs.")
    # Measured on a real brand with 15 training emails: 4 steps (1 epoch) left drafts no classifier
    # attributed to the brand; 23 steps got 90 %. Below this floor a small set barely moves the model.
    min_steps: int = Field(30, ge=1, description="At least this many optimizer steps.")
    slots: bool = Field(True, description="Learn the slots (subject, opening, ask) of slot templates.")
    whole_emails: bool = Field(True, description="Learn to write whole emails too (whole-email "
                               "templates); off, a run reads only the slot task's short briefs.")
    prompt_grad: bool = Field(True, description="Backpropagate through the prompt; off, the prompt "
                              "is read without gradients and only the answer's positions are "
                              "trained (faster on a CPU: a brief is mostly prompt).")
    slot_examples: int = Field(3, ge=0, le=8, description="The brand's own lines of each kind shown "
                               "in every slot brief (0: none); generation shows as many.")
    # 2e-3 with rank 16: the held-out perplexity ratio of bench/results/train.json (x0.22)
    learning_rate: float = Field(2e-3, gt=0, lt=1)
    batch_size: int = Field(1, ge=1, le=256, description="Examples per forward pass.")
    grad_accum: int = Field(4, ge=1, le=256, description="Forward passes per optimizer step.")
    max_seq_len: int = Field(512, ge=32, le=32768, description="Longer emails are cut here (tokens).")
    warmup_ratio: float = Field(0.0, ge=0.0, le=0.9)  # LoRA's B starts at zero: gentle early steps
    seed: int = Field(0, ge=0)
    # A LoRA checkpoint is the adapter and its optimizer state (tens of MB): after every step, a
    # killed run loses no finished step.
    save_steps: int = Field(1, ge=1, description="Checkpoint every N steps (resume after a kill).")
    threads: int = Field(0, ge=0, description="Torch CPU threads; 0 = the cores not busy elsewhere.")
    metric: str = Field("click_rate", description="Selection metric.")
    quantile: float = Field(0.5, ge=0.0, le=0.99, description="Keep emails above this quantile.")
    min_sends: int = Field(100, ge=0, description="Ignore the metric of emails sent fewer times.")
    mode: Literal["top", "weight", "all"] = "top"
    test_fraction: float = Field(0.15, ge=0.01, le=0.5)
    include_approved: bool = Field(False, description="Also learn from approved and edited drafts.")
    evaluate: bool = True

    @model_validator(mode="before")
    @classmethod
    def _preset_defaults(cls, data):
        """A preset's measured training defaults (models.ModelSpec.train_defaults) fill the
        settings the caller left unset."""
        if isinstance(data, dict) and data.get("base_model") in models.PRESETS:
            for key, value in models.PRESETS[data["base_model"]].train_defaults.items():
                data.setdefault(key, value)
        return data

    @model_validator(mode="after")
    def _something_to_learn(self) -> TrainConfig:
        if not (self.slots or self.whole_emails):
            raise ValueError("slots and whole_emails are both off: nothing to learn")
        return self

    @field_validator("brand", "emails")
    @classmethod
    def _required(cls, v: str, info) -> str:
        if not str(v or "").strip():
            raise ValueError(f"{info.field_name} is required")
        return v

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        from brandvoice.corpus import normalize_metric

        try:
            return normalize_metric(v)
        except ConfigError:
            raise ValueError(f"not one of {', '.join(METRICS)}") from None

    @field_validator("target_modules")
    @classmethod
    def _modules(cls, v):
        if isinstance(v, list) and not (v and all(isinstance(m, str) and m for m in v)):
            raise ValueError("use 'all-linear' or module names such as ['q_proj', 'v_proj']")
        return v

    def identity(self) -> dict:
        """The settings that decide the adapter (runtime knobs left out): its manifest's record."""
        return {k: v for k, v in self.to_dict().items() if k not in self.RUNTIME}


def upgrade_params(params: dict) -> dict:
    """Job params as this version reads them: version 1 (no `params_version`) predates min_steps
    and slot examples, so a resumed old job keeps training exactly as it started."""
    params = dict(params)
    version = params.pop("params_version", 1)
    if version < 2:
        params.setdefault("min_steps", 1)
        params.setdefault("slots", False)
    if version < 3:  # before the fill brief: slot briefs showed no brand lines, fp32 compute
        params.setdefault("slot_examples", 0)
        params.setdefault("dtype", "float32")
        params.setdefault("prompt_grad", True)
    return params
