"""Sample drafts of an adapter beside its base model's: same contact, brief and seeds; kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from brandvoice import generation, prompting
from brandvoice.generation.backends import GenOutput
from brandvoice.guardrails import Verdict

BODY = ("Hi Dana,\n\nThanks for reading the close checklist. Most teams start with bank rules.\n\n"
        "Want a short walkthrough next week?\n\nThe Ledgerly team")


@dataclass
class Adapter:
    path: Path
    id: int = 7
    label: str = "ledgerly v1"
    base_model: str = "smollm2-135m-instruct"
    brand: str = "Ledgerly"
    manifest: dict = field(default_factory=dict)


class Backend:
    def __init__(self, who):
        self.who, self.info, self.label, self.seeds = who, {}, who, []

    def generate(self, requests):
        self.seeds += [r.seed for r in requests]
        return [GenOutput(text=f"Subject: From the {self.who} {r.seed % 100}\n\n{BODY}",
                          prompt=r.user, new_tokens=30) for r in requests]

    def close(self):
        pass


class Passing:
    """A guard that passes every draft."""

    policy = None

    def check_many(self, items, batch_contacts=None):
        return [Verdict.of([]) for _ in items]


def test_samples_come_from_the_adapter_and_the_base_model_and_are_kept(settings, store, tmp_path,
                                                                       plugged):
    opened = []

    def open_backend(config, settings, *, adapter=None, base_model=None, brand="", log=None):
        opened.append(Backend("adapter" if adapter is not None else f"base {base_model}"))
        return opened[-1]

    plugged("backend", "fake", open_backend)
    plugged("guard", "passing", lambda settings, brand, **kw: Passing())
    settings.guard = "passing"
    adapter = Adapter(path=tmp_path / "ledgerly" / "v1")
    assert generation.read_samples(adapter) is None
    template = prompting.get_template("after_content_download", settings)
    contact = {"key": "1", "email": "dana@acme.example", "first_name": "Dana",
               "company": "Acme", "activities": [{"type": "content_download", "detail": "Close checklist",
                                                  "timestamp": "2026-11-20T10:00:00Z"}]}
    result = generation.write_samples(store, adapter, template=template, contact=contact, n=2,
                                      config=generation.GenerationConfig(merge="no", backend="fake"))
    assert [b.who for b in opened] == ["adapter", "base smollm2-135m-instruct"]
    assert opened[0].seeds == opened[1].seeds  # the same seeds: only the model differs
    assert len(result["with_adapter"]) == 2 and len(result["base"]) == 2
    assert result["with_adapter"][0]["subject"].startswith("From the adapter")
    assert result["base"][0]["subject"].startswith("From the base")
    assert result["contact"]["first_name"] == "Dana" and "activities" not in result["contact"]
    assert generation.read_samples(adapter) == result


def test_samples_say_how_far_they_are_token_by_token(settings, store, tmp_path, plugged,
                                                     tiny_model_dir):
    """The page shows each step and the tokens as the models write them (a bare spinner once sat
    busy for minutes); the shares only grow and end at 1."""
    from brandvoice.generation.local import LocalBackend

    def open_backend(config, settings, *, adapter=None, base_model=None, brand="", log=None):
        return LocalBackend.load(config, settings, base_model=str(tiny_model_dir), brand=brand)

    plugged("backend", "tiny", open_backend)
    plugged("guard", "passing", lambda settings, brand, **kw: Passing())
    settings.guard = "passing"
    template = prompting.get_template("reengage_cold_lead", settings)
    seen: list[tuple[str, float]] = []
    generation.write_samples(
        store, Adapter(path=tmp_path / "a" / "v1"), template=template, n=2,
        contact={"key": "1", "email": "dana@acme.example", "first_name": "Dana"},
        config=generation.GenerationConfig(merge="no", backend="tiny", max_new_tokens=16,
                                           max_tries=1, dtype="float32"),
        progress=lambda what, share: seen.append((what, share)))
    shares = [s for _, s in seen]
    assert shares == sorted(shares) and shares[-1] == 1.0 and seen[-1][0] == "Done"
    writing = [s for what, s in seen if what == "Writing with the adapter"]
    assert len(writing) > 2 and 0.1 < max(writing) < 0.55  # token by token, within its share
    assert any(what == "Writing with the base model alone" for what, _ in seen)
