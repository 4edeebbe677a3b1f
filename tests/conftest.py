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


PASSWORD = "correct horse"  # the password of the `people` fixture's users


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheap argon2 parameters, for tests that are about review or export, not hashing cost."""
    from argon2 import PasswordHasher

    from brandvoice import users

    monkeypatch.setattr(users, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def people(store, fast_hashes):
    """An admin, two reviewers and a marketer (password PASSWORD)."""
    from brandvoice import users as u

    admin = u.add_user(store, "root", PASSWORD, "admin")
    return {"admin": admin,
            "rev": u.add_user(store, "rita", PASSWORD, "reviewer", actor=admin),
            "rev2": u.add_user(store, "rob", PASSWORD, "reviewer", actor=admin),
            "mkt": u.add_user(store, "marketer1", PASSWORD, "marketer", actor=admin)}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """Path of a tiny local model folder (usable anywhere a base model name is accepted)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()
