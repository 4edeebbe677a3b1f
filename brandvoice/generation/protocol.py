"""What the job loop asks of a model backend, and the seed rule shared by all of them.

A backend turns a list of `GenRequest` (system message, user brief, seed) into a list of `GenOutput`
(raw text, token counts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class GenRequest:
    """One completion to produce: the chat messages and the seed of this (contact, variant, attempt)."""

    system: str
    user: str
    seed: int
    tag: Any = None  # the caller's handle on the slot; backends pass it through untouched
    prime: str = "Subject:"  # what the answer starts with (a whole email: its subject line)
    max_new_tokens: int | None = None  # None: the generation settings' max_new_tokens
    lines: int = 0  # > 0: the answer ends with its n-th line of text (a fill answer: one per hole)

    @property
    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@dataclass
class GenOutput:
    """The raw answer of the model for one request."""

    text: str
    prompt: str  # the exact text (or JSON messages) the model continued
    new_tokens: int
    finish_reason: str = "stop"  # stop | length
    details: dict[str, Any] = field(default_factory=dict)
    mean_logprob: float | None = None  # mean log-probability of the new tokens, where known

    def __post_init__(self) -> None:
        # A small or broken model can emit a NUL byte; no email wants one, and PostgreSQL's text
        # columns refuse it (the whole chunk of drafts would fail), so it shows as U+FFFD.
        if "\x00" in self.text:
            self.text = self.text.replace("\x00", "\ufffd")


class Backend(Protocol):
    """What the job loop needs from a backend."""

    label: str  # shown in logs and stored with each draft's settings
    info: dict[str, Any]  # JSON-able facts about how it serves (merged adapter, server, model)

    def generate(self, requests: list[GenRequest]) -> list[GenOutput]:
        """Answer every request, in order."""
        ...

    def close(self) -> None:
        """Release models, threads and connections."""
        ...


def seed_for(base_seed: int, contact_key: str, variant: int, attempt: int) -> int:
    """The sampling seed of one (contact, variant, attempt): independent of batch order and size."""
    digest = hashlib.sha256(f"{base_seed}|{contact_key}|{variant}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
