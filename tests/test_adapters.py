"""Adapter versions: lookup by reference, publishing, base-model checks, loading, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers_drafts import user

from brandvoice.cli import main
from brandvoice.errors import ConfigError, ModelError, NotFoundError
from brandvoice.training import adapters


def _publish(store, name: str, base: str = "smollm2-135m-instruct", staging_name: str = ".staging-test",
             **metrics) -> adapters.AdapterInfo:
    staging = store.settings.adapters_dir / name / staging_name
    staging.mkdir(parents=True)
    (staging / "adapter_config.json").write_text("{}")
    manifest = {"brand": name.title(), "base_model": base, "quantization": "nf4", "data_hash": "0" * 64,
                "hyperparameters": {"lora_r": 8}, "selection": {}, "metrics": metrics}
    return adapters.register(store, store.settings, name=name, staging=staging, manifest=manifest)


def test_versions_and_references(store):
    a1 = _publish(store, "ledgerly", heldout_ppl_ratio=0.5)
    a2 = _publish(store, "ledgerly")
    b1 = _publish(store, "brightbean")
    assert (a1.version, a2.version, b1.version) == (1, 2, 1)
    assert a2.path.name == "v2" and json.loads((a2.path / "manifest.json").read_text())["version"] == 2
    assert adapters.get_adapter(store, "ledgerly").id == a2.id
    assert adapters.get_adapter(store, "Ledgerly").id == a2.id
    assert adapters.get_adapter(store, "ledgerly:v1").id == a1.id
    assert adapters.get_adapter(store, "ledgerly@1").id == a1.id
    assert adapters.get_adapter(store, str(b1.id)).label == "brightbean v1"
    assert adapters.get_adapter(store, "Bright Bean").id == b1.id
    assert a1.metrics == {"heldout_ppl_ratio": 0.5} and a1.brand == "Ledgerly"
    assert [a.label for a in adapters.list_adapters(store)] == ["brightbean v1", "ledgerly v2", "ledgerly v1"]
    with pytest.raises(NotFoundError, match="version 7"):
        adapters.get_adapter(store, "ledgerly:v7")
    with pytest.raises(NotFoundError, match="brandvoice train"):
        adapters.get_adapter(store, "nobody")
    with pytest.raises(NotFoundError, match="id 999"):
        adapters.get_adapter(store, "999")
    with pytest.raises(ConfigError):
        adapters.get_adapter(store, "!!!")


@pytest.mark.all_databases
def test_two_trainings_of_one_brand_finishing_at_once_get_two_versions(store, monkeypatch):
    import threading
    import time

    now = adapters.utcnow

    def slow_now():  # inside the transaction, before the insert: the other one reads the versions
        time.sleep(0.3)
        return now()

    monkeypatch.setattr(adapters, "utcnow", slow_now)
    barrier, versions, errors = threading.Barrier(2), [], []

    def publish(k):
        barrier.wait()
        try:
            versions.append(_publish(store, "acme", staging_name=f".staging-{k}").version)
        except Exception as exc:  # noqa: BLE001 - reported by the assert
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(k,)) for k in range(2)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert errors == [] and sorted(versions) == [1, 2]
    assert sorted(p.name for p in (store.settings.adapters_dir / "acme").iterdir()) == ["v1", "v2"]


def test_a_leftover_folder_is_never_overwritten(store):
    (store.settings.adapters_dir / "acme" / "v1").mkdir(parents=True)
    info = _publish(store, "acme")
    assert info.version == 2 and info.path.name == "v2"


def test_refuses_another_base_model(store, settings, tiny_model_dir, tmp_path):
    from helpers_models import build_tiny_model

    info = _publish(store, "acme", base=str(Path(tiny_model_dir).resolve()))
    other = build_tiny_model(tmp_path / "other-tiny")
    with pytest.raises(ModelError, match="trained on base model") as exc:
        adapters.load_for_inference(settings, info, base_model=str(other))
    assert "train a new adapter" in str(exc.value)
    with pytest.raises(ModelError, match="not 'gemma-3-270m'"):
        adapters.check_base(info, "gemma-3-270m")
    assert adapters.check_base(info, str(tiny_model_dir)) == info.base_model


def test_cli_train_list_show_and_load(store, settings, tiny_model_dir, tmp_path):
    import torch
    from test_train import write_emails

    emails = write_emails(tmp_path / "emails.csv")
    runner = CliRunner()
    args = ["train", "--emails", str(emails), "--brand", "Acme", "--base-model",
            str(tiny_model_dir), "--quantization", "none", "--max-steps", "3", "--lr", "0.005",
            "--rank", "4", "--batch-size", "2", "--quantile", "0", "--max-seq-len", "320"]
    res = runner.invoke(main, args)
    assert res.exit_code == 1 and "signed-in user" in res.output  # training needs a user
    user(store)
    env = {"BRANDVOICE_USER": "tester", "BRANDVOICE_PASSWORD": "correct horse"}
    res = runner.invoke(main, args, env=env)
    assert res.exit_code == 0, res.output
    assert "Adapter acme v1 saved" in res.output and "step 3/3" in res.output
    assert "Held-out perplexity" in res.output
    res = runner.invoke(main, ["adapters", "list"])
    assert res.exit_code == 0 and "acme v1" in res.output and "ready" in res.output
    res = runner.invoke(main, ["adapters", "show", "acme:v1"])
    assert res.exit_code == 0, res.output
    assert "lora_r=4" in res.output and "lora_alpha=8" in res.output and "data hash" in res.output
    res = runner.invoke(main, ["adapters", "show", "acme", "--json"])
    assert json.loads(res.output)["brand"] == "Acme"
    res = runner.invoke(main, ["adapters", "show", "nobody"])
    assert res.exit_code != 0 and "no a ready adapter" not in res.output and "nobody" in res.output
    res = runner.invoke(main, ["train", "--emails", str(tmp_path / "missing.csv"), "--brand", "Acme"],
                        env=env)
    assert res.exit_code != 0 and "does not exist" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["train", "--emails", str(emails), "--brand", "Acme", "--lr", "5"],
                        env=env)
    assert res.exit_code != 0 and "--lr" in res.output and "0<x<1" in res.output  # the range, named

    info = adapters.get_adapter(store, "acme")
    model, tok = adapters.load_for_inference(settings, info)
    assert type(model).__name__.startswith("Peft")
    ids = tok(["Subject:"], return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape[1] > ids["input_ids"].shape[1]
    merged, _ = adapters.load_for_inference(settings, info, merge=True)
    assert not type(merged).__name__.startswith("Peft")


def _publish_brand(store, brand: str) -> adapters.AdapterInfo:
    """Publish as training does: the folder and row are named by the brand's slug."""
    name = adapters.slugify(brand)
    staging = store.settings.adapters_dir / name / ".staging-test"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "adapter_config.json").write_text("{}")
    manifest = {"brand": brand, "base_model": "smollm2-135m-instruct", "quantization": "nf4"}
    return adapters.register(store, store.settings, name=name, staging=staging, manifest=manifest)


def test_adapters_named_before_slugs_are_found_and_numbering_goes_on(store):
    old = _publish(store, "brightbean")  # how "Bright Bean" was named before names became slugs
    new = _publish_brand(store, "Bright Bean")
    assert (new.name, new.version, new.path.parent.name) == ("bright-bean", 2, "bright-bean")
    for ref in ("Bright Bean", "bright-bean", "brightbean", "BrightBean"):
        assert adapters.get_adapter(store, ref).id == new.id
        assert [a.id for a in adapters.list_adapters(store, ref)] == [new.id, old.id]
    assert adapters.get_adapter(store, "Bright Bean:v1").id == old.id
    assert adapters.get_adapter(store, "bright-bean@2").id == new.id
    # Older names dropped accented letters ("julincastro"); the slug transliterates them.
    legacy = _publish(store, "julincastro")
    julian = _publish_brand(store, "Julián Castro")
    assert (julian.name, julian.version) == ("julian-castro", 2)
    assert adapters.get_adapter(store, "Julián Castro:v1").id == legacy.id
    assert [a.label for a in adapters.list_adapters(store, "Julián Castro")] == [
        "julian-castro v2", "julincastro v1"]
    assert adapters.slugify("Café Olé") == "cafe-ole"
