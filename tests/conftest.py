"""Shared fixtures: a temporary BRANDVOICE_HOME, a tiny model built in code, a fake embedder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers_models import FakeEmbedder, build_tiny_model

REPO = Path(__file__).resolve().parent.parent
# Converted embedded models are shared between test runs (converted once by `brandvoice setup`).
os.environ.setdefault("BRANDVOICE_MODELS_DIR", str(REPO / ".brandvoice" / "models"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh BRANDVOICE_HOME (and database) for one test."""
    h = tmp_path / "bvhome"
    monkeypatch.setenv("BRANDVOICE_HOME", str(h))
    monkeypatch.delenv("BRANDVOICE_DB_URL", raising=False)
    return h


@pytest.fixture
def settings(home):
    from brandvoice.config import Settings

    return Settings.from_env()


@pytest.fixture
def store(settings):
    from brandvoice.store import Store

    s = Store(settings)
    yield s
    Store.dispose_all()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """Path of a tiny local model folder (usable anywhere a base model name is accepted)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()
