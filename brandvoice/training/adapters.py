"""Trained brand-voice adapters: versions on disk and in the store, lookup by reference, loading.

An adapter version lives in `<home>/adapters/<brand-slug>/v<N>/`: the peft files, `manifest.json`
(base model, quantization, data hash, selection, hyperparameters, metrics, library versions),
`train.jsonl` and `heldout.jsonl` (the emails it learned from and was evaluated on).

The brand slug is textio's ("Bright Bean" -> bright-bean). Versions registered before were named
by a compact form ("brightbean"): lookups match a brand under any of its names, and a brand's next
version continues its numbering.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from brandvoice import models, textio
from brandvoice.config import QUANTIZATIONS, Settings
from brandvoice.errors import ConfigError, ModelError, NotFoundError
from brandvoice.store import Store, adapters, utcnow

_REF = re.compile(r"^\s*(?P<name>.+?)\s*(?:[:@]\s*v?(?P<version>\d+))?\s*$", re.IGNORECASE)


def slugify(brand: str) -> str:
    """The folder and lookup name of a brand: 'Bright Bean' -> 'bright-bean'."""
    try:
        return textio.slug(brand)
    except ConfigError:
        raise ConfigError(f"Brand name {brand!r} has no letters or digits.",
                          hint="Use a brand name such as 'Ledgerly'.") from None


def brand_keys(brand: str) -> frozenset[str]:
    """The keys under which a brand's adapters may be stored: its compact key, and that of the
    name older versions gave it (which dropped accented letters: 'Julián' -> 'julin')."""
    legacy = re.sub(r"[^a-z0-9_-]+", "", brand.strip().lower().replace(" ", ""))
    return frozenset(k for k in (textio.compact_key(brand), textio.compact_key(legacy)) if k)


def _of_brand(*names: str):
    """SQL: the adapters rows stored under any name of these brands (bright-bean, brightbean)."""
    # The SQL twin of textio.compact_key for stored names, which are slugs, older compact names
    # (letters, digits, '-', '_') or, in old test fixtures, a brand as typed.
    folded = sa.func.replace(sa.func.replace(sa.func.replace(
        sa.func.lower(adapters.c.name), "-", ""), "_", ""), " ", "")
    return folded.in_(sorted(set().union(*(brand_keys(n) for n in names))))


@dataclass
class AdapterInfo:
    """One adapter version as recorded in the store, with its manifest."""

    id: int
    name: str
    version: int
    base_model: str
    quantization: str
    path: Path
    status: str
    metrics: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    created_at: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def brand(self) -> str:
        """The brand name as the model saw it in its system prompt."""
        return self.manifest.get("brand") or self.name


def _info(row: Any) -> AdapterInfo:
    path = Path(row["path"])
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    return AdapterInfo(id=row["id"], name=row["name"], version=row["version"], base_model=row["base_model"],
                       quantization=row["quantization"], path=path, status=row["status"],
                       metrics=dict(row["metrics"] or {}), manifest=manifest, created_at=row["created_at"])


def list_adapters(store: Store, name: str | None = None) -> list[AdapterInfo]:
    """All adapter versions (optionally of one brand), by brand, newest first."""
    q = sa.select(adapters)
    if name:
        slugify(name)  # a name without letters is a ConfigError, as everywhere
        q = q.where(_of_brand(name))
    with store.read() as conn:
        rows = list(conn.execute(q).mappings())
    rows.sort(key=lambda r: (textio.compact_key(r["name"]), -r["version"], -r["id"]))
    return [_info(r) for r in rows]


def get_adapter(store: Store, ref: str | int) -> AdapterInfo:
    """Look up 'ledgerly' (latest ready), 'ledgerly:v2', 'ledgerly@2' or an id like '7'."""
    text = str(ref).strip()
    with store.read() as conn:
        if text.isdigit():
            row = conn.execute(sa.select(adapters).where(adapters.c.id == int(text))).mappings().first()
            if row is None:
                raise NotFoundError(f"No adapter with id {text}.", hint="List adapters with `brandvoice adapters list`.")
            return _info(row)
        m = _REF.match(text)
        if not m or not text:
            raise NotFoundError(f"Adapter reference {ref!r} is not valid.",
                                hint="Use a brand ('ledgerly'), a version ('ledgerly:v2') or an id ('7').")
        name = slugify(m.group("name"))
        q = sa.select(adapters).where(_of_brand(m.group("name")))
        if m.group("version"):
            q = q.where(adapters.c.version == int(m.group("version")))
        else:
            q = q.where(adapters.c.status == "ready")
        q = q.order_by(adapters.c.version.desc(), adapters.c.id.desc()).limit(1)
        row = conn.execute(q).mappings().first()
    if row is None:
        what = f"version {m.group('version')} of {name!r}" if m.group("version") else f"ready adapter for {name!r}"
        raise NotFoundError(f"There is no {what}.",
                            hint=f"Train one with `brandvoice train --brand {name} --emails FILE`, "
                                 "or list adapters with `brandvoice adapters list`.")
    return _info(row)


def register(store: Store, settings: Settings, *, name: str, staging: Path, manifest: dict,
             job_id: int | None = None) -> AdapterInfo:
    """Publish a fully written staging folder as the brand's next version (row + folder rename)."""
    brand_dir = settings.adapters_dir / name
    brand_dir.mkdir(parents=True, exist_ok=True)
    same = _of_brand(name, *([manifest["brand"]] if manifest.get("brand") else []))
    with store.tx() as conn:
        store.lock(conn, f"adapters:{name}")  # concurrent trainings of one brand get v1, v2, ...
        # Versions count on across the brand's names: v3 after an older "brightbean v2".
        latest = conn.execute(sa.select(sa.func.max(adapters.c.version)).where(same)).scalar() or 0
        version = latest + 1
        while (brand_dir / f"v{version}").exists():  # a folder left by a crash is never overwritten
            version += 1
        target = brand_dir / f"v{version}"
        manifest = dict(manifest, name=name, version=version, path=str(target))
        textio.write_json(staging / "manifest.json", manifest)
        row_id = conn.execute(adapters.insert().values(
            name=name, version=version, base_model=manifest["base_model"],
            quantization=manifest["quantization"], data_hash=manifest.get("data_hash", ""),
            hyperparameters=manifest.get("hyperparameters", {}), selection=manifest.get("selection", {}),
            metrics=manifest.get("metrics", {}), status="ready", path=str(target), job_id=job_id,
            created_at=manifest.get("created_at") or utcnow(),
        )).inserted_primary_key[0]
        # Renaming last: if it fails the row is rolled back and nothing half-published remains.
        os.replace(staging, target)
    return get_adapter(store, str(row_id))


def delete_staging(path: Path) -> None:
    """Remove a staging folder left behind by a failed save."""
    shutil.rmtree(path, ignore_errors=True)


def check_base(info: AdapterInfo, base_model: str | None) -> str:
    """The base model the adapter needs; ModelError if another one was asked for."""
    if base_model is None:
        return info.base_model
    wanted = models.resolve(base_model).name
    if wanted != info.base_model:
        raise ModelError(
            f"Adapter {info.label} was trained on base model {info.base_model!r}, not {wanted!r}; "
            "an adapter only works on the base model it was trained on.",
            hint=f"Use base model {info.base_model!r}, or train a new adapter on {wanted!r}.")
    return info.base_model


def _check_shape(info: AdapterInfo, base_path: str) -> None:
    """ModelError when the base model under the adapter's base name now has another shape (a
    local folder replaced by another model, a preset's weights changed)."""
    recorded = info.manifest.get("base_fingerprint") or {}
    found = models.fingerprint(base_path)
    if recorded and found and recorded != found:
        diff = ", ".join(f"{k} {recorded.get(k)} -> {found.get(k)}" for k in recorded
                         if recorded.get(k) != found.get(k))
        raise ModelError(f"Adapter {info.label} was trained on a base model of another shape than "
                         f"the one {info.base_model!r} names now ({diff}).",
                         hint="Point the base model at the weights the adapter was trained on, or "
                              "train a new adapter on this base.")


def load_for_inference(settings: Settings, info: AdapterInfo | None, *, base_model: str | None = None,
                       quantization: str | None = None, merge: bool = False) -> tuple[Any, Any]:
    """(model, tokenizer) ready to generate: the base model with the adapter applied (or none)."""
    if info is None:
        name = base_model or settings.base_model
        quant = quantization or settings.quantization
        tok = models.load_tokenizer(name, settings)
        model = models.load_model(name, quant, settings)
        model.eval()
        return model, tok
    if info.status != "ready":
        raise ModelError(f"Adapter {info.label} is {info.status}, not ready.", hint="Use a ready adapter version.")
    name = check_base(info, base_model)
    _check_shape(info, models.materialize(name, settings))
    quant = quantization or info.quantization
    if quant not in QUANTIZATIONS:
        raise ConfigError(f"Unknown quantization {quant!r}.", hint=f"Use one of {', '.join(QUANTIZATIONS)}.")
    if not (info.path / "adapter_config.json").is_file():
        raise ModelError(f"Adapter {info.label}: {info.path} has no adapter_config.json.",
                         hint="The folder was moved or deleted; train the adapter again.")
    models.quiet_bitsandbytes()
    from peft import PeftModel

    tok = models.load_tokenizer(name, settings)
    model = models.load_model(name, quant, settings)
    try:
        model = PeftModel.from_pretrained(model, str(info.path), is_trainable=False)
    except Exception as exc:  # noqa: BLE001 - any peft failure is an incompatible adapter
        raise ModelError(f"Could not apply adapter {info.label} from {info.path}: {exc}",
                         hint="Check that the adapter was trained on this base model.") from exc
    if merge:
        model = model.merge_and_unload()
    model.eval()
    return model, tok


def _read_jsonl(path: Path) -> list[Any]:
    from brandvoice.corpus import Email

    hint = "The adapter folder is incomplete or was edited; train it again."
    return [Email.from_dict(rec) for _, rec in textio.read_jsonl(path, what="Adapter file", hint=hint)]


def training_emails(info: AdapterInfo) -> list[Any]:
    """The emails the adapter was trained on (corpus.Email)."""
    return _read_jsonl(info.path / "train.jsonl")


def heldout_emails(info: AdapterInfo) -> list[Any]:
    """The held-out emails the adapter was evaluated on (corpus.Email)."""
    return _read_jsonl(info.path / "heldout.jsonl")
