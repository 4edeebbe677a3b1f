"""Generation backends by name: `local` runs the base model (+ adapter) in this process in batches;
`openai` sends the same messages to an OpenAI-compatible server (vLLM, llama.cpp) for scale-out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from brandvoice.generation.local import LocalBackend
from brandvoice.generation.protocol import Backend, GenOutput, GenRequest, seed_for
from brandvoice.generation.remote import OpenAIBackend

if TYPE_CHECKING:  # pragma: no cover
    from brandvoice.config import Settings

__all__ = ["Backend", "GenOutput", "GenRequest", "open_backend", "seed_for"]


def open_backend(config, settings: Settings, *, adapter=None, base_model: str | None = None,
                 brand: str = "", log=None) -> Backend:
    """The backend `config.backend` names, loaded and ready to generate."""
    log = log or (lambda _line: None)
    if config.backend == "openai":
        return OpenAIBackend.from_config(config, settings, adapter=adapter, base_model=base_model, log=log)
    return LocalBackend.load(config, settings, adapter=adapter, base_model=base_model, brand=brand, log=log)
