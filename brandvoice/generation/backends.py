"""Generation backends by name: `local` runs the base model (+ adapter) in this process in batches;
`openai` sends the same messages to an OpenAI-compatible server (vLLM, llama.cpp) for scale-out.

Another backend plugs in by name, and a job's GenerationConfig(backend=name) selects it:

    from brandvoice.generation import backends

    def open_mine(config, settings, *, adapter, base_model, brand, log) -> backends.Backend: ...
    backends.register("mine", open_mine)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from brandvoice.errors import ConfigError
from brandvoice.generation.local import LocalBackend
from brandvoice.generation.protocol import Backend, GenOutput, GenRequest, seed_for
from brandvoice.generation.remote import OpenAIBackend

if TYPE_CHECKING:  # pragma: no cover
    from brandvoice.config import Settings

__all__ = ["Backend", "GenOutput", "GenRequest", "names", "open_backend", "register", "seed_for",
           "unregister"]
BUILT_IN = ("local", "openai")
_FACTORIES: dict[str, Callable[..., Backend]] = {}


def register(name: str, factory: Callable[..., Backend]) -> None:
    """Plug in a backend under `name`: `factory(config, settings, *, adapter, base_model, brand,
    log)` returns a loaded Backend (generate(requests) -> outputs, close(), info, label)."""
    _FACTORIES[name] = factory


def unregister(name: str) -> None:
    """Forget a plugged-in backend (the built-in ones stay)."""
    if name not in BUILT_IN:
        _FACTORIES.pop(name, None)


def names() -> list[str]:
    """The backends a GenerationConfig may name."""
    return sorted(_FACTORIES)


def _local(config, settings, *, adapter, base_model, brand, log) -> Backend:
    return LocalBackend.load(config, settings, adapter=adapter, base_model=base_model, brand=brand,
                             log=log)


def _openai(config, settings, *, adapter, base_model, brand, log) -> Backend:
    return OpenAIBackend.from_config(config, settings, adapter=adapter, base_model=base_model,
                                     log=log)


register("local", _local)
register("openai", _openai)


def open_backend(config, settings: Settings, *, adapter=None, base_model: str | None = None,
                 brand: str = "", log=None) -> Backend:
    """The backend `config.backend` names, loaded and ready to generate."""
    factory = _FACTORIES.get(config.backend)
    if factory is None:
        raise ConfigError(f"Unknown generation backend {config.backend!r}.",
                          hint=f"Use one of: {', '.join(names())}.")
    return factory(config, settings, adapter=adapter, base_model=base_model, brand=brand,
                   log=log or (lambda _line: None))
