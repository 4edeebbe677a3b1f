"""Every validated config: JSON round trip, unknown keys refused, one line per bad field."""

from __future__ import annotations

import pytest

from brandvoice.config import Settings
from brandvoice.delivery import SmtpConfig
from brandvoice.errors import ConfigError
from brandvoice.generation import GenerationConfig
from brandvoice.training import TrainConfig
from brandvoice.training.trainer import upgrade_params

CONFIGS = [
    (Settings, {"home": "/tmp/bv-home"}),
    (TrainConfig, {"brand": "Ledgerly", "emails": "emails.csv", "lora_r": 8, "metric": "clicks"}),
    (GenerationConfig, {"candidates": 6, "backend": "openai", "server_url": "http://localhost:8000"}),
    (SmtpConfig, {"from_addr": "Ledgerly <team@ledgerly.example>", "security": "ssl"}),
]


@pytest.mark.parametrize("cls,values", CONFIGS, ids=[c.__name__ for c, _ in CONFIGS])
def test_round_trip_through_json(cls, values):
    import json

    cfg = cls(**values)
    again = cls.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.to_dict() == cfg.to_dict()


@pytest.mark.parametrize("cls,values", CONFIGS, ids=[c.__name__ for c, _ in CONFIGS])
def test_unknown_keys_are_refused_by_name(cls, values):
    with pytest.raises(ConfigError, match="no_such_setting"):
        cls.from_dict({**values, "no_such_setting": 1})


def test_each_bad_field_gets_its_own_line():
    with pytest.raises(ConfigError) as err:
        GenerationConfig(candidates=0, top_k=-1, dtype="fp8")
    lines = [ln for ln in str(err.value).splitlines() if ln.startswith("  - ")]
    assert [ln.split("=")[0].strip(" -") for ln in lines] == ["candidates", "top_k", "dtype"]


def test_old_training_params_keep_training_as_they_started():
    old = {"brand": "Ledgerly", "emails": "e.csv", "epochs": 1.0}  # written before params_version 2
    cfg = TrainConfig.from_dict(upgrade_params(old))
    assert cfg.min_steps == 1 and cfg.slots is False
    new = TrainConfig.from_dict(upgrade_params({**old, "params_version": 2}))
    assert new.min_steps == 30 and new.slots is True


def test_runtime_knobs_are_not_the_adapters_identity():
    cfg = TrainConfig(brand="Ledgerly", emails="e.csv", threads=2, save_steps=9)
    assert "threads" not in cfg.identity() and "save_steps" not in cfg.identity()
    assert "batch_size" not in GenerationConfig(batch_size=16).recorded()
