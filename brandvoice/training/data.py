"""Training records for the brand-voice adapter: tokenized (prompt, email) pairs, batches and the loss.

The loss is on the email tokens only: the prompt (system message + brief) is masked with -100. Each
example carries its Email.weight, normalised so that the mean weight over the training set is 1: a
weight-2 email counts as much as the same email seen twice. torch is imported inside functions.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brandvoice import models, prompting
from brandvoice.errors import InputError
from brandvoice.prompting import briefs, shape

if TYPE_CHECKING:  # pragma: no cover
    import torch

IGNORE = -100


@dataclass
class Example:
    """One tokenized training or evaluation record."""

    input_ids: list[int]
    labels: list[int]
    weight: float
    source: str
    truncated: bool = False

    @property
    def n_target(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)


def email_texts(tokenizer: Any, brand: str, email: Any) -> tuple[str, str]:
    """(prompt, prompt + email) for one past email, in the shape generation uses."""
    brief = briefs.training_brief(email.campaign, email.segment, email.audience, email.body)
    return models.training_text(tokenizer, shape.system_prompt(brand), brief,
                                shape.format_email(email.subject, email.body))


@dataclass(frozen=True)
class SlotRecord:
    """A slot-shaped training record: the fill brief (system, user), its answer, weight, source."""

    system: str
    brief: str
    answer: str
    weight: float
    source: str


# Each past email that names an asset ("the month-end close checklist") is also shown with another
# asset of the same kind from the brand's own emails, everywhere in the email and its answer: the
# adapter learns to write the mention the brief gives, not the one it memorised.
SWAPS_PER_EXAMPLE = 1


def slot_records(brand: str, emails: list[Any], *, seed: int = 0,
                 examples: int = prompting.FILL_EXAMPLES) -> list[SlotRecord]:
    """Each past email as a fill brief (prompting.fill, the shape generation asks in): its subject,
    opening sentence and closing ask are the holes, its own lines the answer; plus mention swaps.

    Half the records (seeded) keep only some holes, the other lines standing as text: a brand
    policy may let the model write some kinds only. The system message shows `examples` of the
    brand's other lines of each kind for the email's campaign (never the email's own)."""
    library = prompting.SlotLibrary(emails)
    pool = _mention_pool(emails)
    rng = random.Random(seed)
    out: list[SlotRecord] = []
    for e in emails:
        found = prompting.past_email_slots(e.subject, prompting.body_paragraphs(e.body))
        if len(found) > 1 and rng.random() < 0.5:
            found = rng.sample(found, rng.randint(1, len(found) - 1))
            found.sort(key=lambda x: list(prompting.SLOT_KINDS).index(x.kind))
        made = prompting.past_email_holes(e.subject, e.body, found)
        if made is None:
            continue
        own = set(made[3].values())
        shown = {kind: [t for t in library.examples(kind, e.campaign, n=examples + len(own))
                        if t not in own][:examples] for kind in prompting.SLOT_KINDS} \
            if examples else {}
        system = prompting.fill_system_prompt(brand, shown)
        out.append(_fill_record(system, e, made, float(e.weight), f"{e.source}#fill"))
        mention = next((x.mention for x in found if x.mention), None)
        kind = prompting.mention_kind(mention) if mention else None
        others = [m for m in pool.get(kind or "", []) if m.lower() != (mention or "").lower()]
        for other in rng.sample(others, min(SWAPS_PER_EXAMPLE, len(others))):
            swapped = _swap(made, mention, other)
            out.append(_fill_record(system, e, swapped, float(e.weight) / 2,
                                    f"{e.source}#fill-swap"))
    return out


def _mention_pool(emails: list[Any]) -> dict[str, list[str]]:
    """The assets and events the brand's emails name, by kind (document, event)."""
    pool: dict[str, list[str]] = {}
    for e in emails:
        for x in prompting.past_email_slots(e.subject, prompting.body_paragraphs(e.body)):
            kind = prompting.mention_kind(x.mention) if x.mention else None
            if kind and x.mention.lower() not in {m.lower() for m in pool.get(kind, [])}:
                pool.setdefault(kind, []).append(x.mention)
    return pool


def _swap(made: tuple, mention: str, other: str) -> tuple:
    """A fill record's parts with `mention` replaced by `other` everywhere (case kept)."""
    pattern = re.compile(re.escape(mention), re.IGNORECASE)

    def sub(text: str) -> str:
        return pattern.sub(lambda m: _like(other, m.group(0)), text)

    subject, body, holes, answers = made
    holes = [dataclasses.replace(h, mention=sub(h.mention) if h.mention else None) for h in holes]
    return sub(subject), sub(body), holes, {k: sub(v) for k, v in answers.items()}


def _like(mention: str, original: str) -> str:
    """`mention` capitalised the way the original stood in its sentence."""
    if original[:1].isupper() and mention[:1].islower():
        return mention[:1].upper() + mention[1:]
    if original[:1].islower() and mention[:1].isupper() and mention.split()[0].lower() in (
            "the", "our", "your"):
        return mention[:1].lower() + mention[1:]
    return mention


def _fill_record(system: str, email: Any, made: tuple, weight: float, source: str) -> SlotRecord:
    subject, body, holes, answers = made
    user = prompting.fill_brief(subject, body, holes, campaign=email.campaign,
                                contact=prompting.fill_contact(
                                    prompting.past_email_contact(email.body, email.audience)))
    return SlotRecord(system, user, prompting.fill_answer(holes, answers), weight, source)


def _ids(tokenizer: Any, text: str) -> list[int]:
    # The chat template already contains any special tokens the model needs.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def build_examples(tokenizer: Any, brand: str, emails: list[Any], *, max_seq_len: int,
                   normalise_weights: bool = True, slots: bool = False, whole: bool = True,
                   seed: int = 0, examples: int = prompting.FILL_EXAMPLES) -> list[Example]:
    """Tokenize emails into examples with the prompt masked; long emails are cut at max_seq_len.

    `whole`: each email as a whole-email example; `slots`: each email's fill record (its subject,
    opening and ask written into the email's own context), with `examples` brand lines shown.
    """
    out: list[Example] = []
    problems: list[str] = []
    texts = [(email_texts(tokenizer, brand, e), float(e.weight), e.source, e) for e in emails] \
        if whole else []
    if slots:
        texts += [(models.training_text(tokenizer, r.system, r.brief, r.answer), r.weight, r.source, r)
                  for r in slot_records(brand, emails, seed=seed, examples=examples)]
    for (prompt, full), weight, source, email in texts:
        p_ids, f_ids = _ids(tokenizer, prompt), _ids(tokenizer, full)
        # Tokens are masked up to where prompt and full text stop agreeing (a BPE merge across the
        # boundary would otherwise leak a prompt token into the target, or hide an email token).
        n = 0
        while n < min(len(p_ids), len(f_ids)) and p_ids[n] == f_ids[n]:
            n += 1
        if n >= max_seq_len - 8:
            if isinstance(email, SlotRecord):  # an extra: a slot brief too long is left out
                continue
            problems.append(f"{source or getattr(email, 'subject', '')!r}: the prompt alone is {n} "
                            f"tokens, more than max_seq_len={max_seq_len} allows")
            continue
        truncated = len(f_ids) > max_seq_len
        f_ids = f_ids[:max_seq_len]
        labels = [IGNORE] * n + f_ids[n:]
        out.append(Example(f_ids, labels, weight, source, truncated))
    if problems:
        raise InputError("Some emails do not fit the maximum sequence length.", problems=problems,
                         hint="Raise max_seq_len (--max-seq-len) or shorten the campaign/segment/audience fields.")
    if normalise_weights and out:
        if any(e.weight < 0 or not math.isfinite(e.weight) for e in out):
            raise InputError("Training weights must be finite and not negative.",
                             problems=[f"{e.source}: weight {e.weight}" for e in out
                                       if e.weight < 0 or not math.isfinite(e.weight)])
        mean = sum(e.weight for e in out) / len(out)
        if mean <= 0:
            raise InputError("Every training email has weight 0.", hint="Give some emails a positive weight.")
        for e in out:
            e.weight = e.weight / mean
    return out


def schedule(lengths: list[int], *, n_items: int, batch_size: int, seed: int,
             group_size: int = 8) -> list[int]:
    """A fixed, seeded order of example indices for the whole run, length-grouped per epoch.

    Each epoch is a fresh seeded permutation; within windows of `group_size` batches examples are
    sorted by length, so a batch holds similar lengths (little padding) while the data stays shuffled.
    Being fixed up front, a resumed run sees exactly the batches an uninterrupted one would.
    """
    if not lengths:
        raise InputError("No training emails left after selection.",
                         hint="Lower --min-sends or the quantile, or add more past emails.")
    order: list[int] = []
    epoch = 0
    while len(order) < n_items:
        rng = random.Random(seed * 1_000_003 + epoch)
        perm = list(range(len(lengths)))
        rng.shuffle(perm)
        window = batch_size * group_size
        epoch_order: list[int] = []
        for start in range(0, len(perm), window):
            chunk = sorted(perm[start:start + window], key=lambda i: -lengths[i])
            batches = [chunk[b:b + batch_size] for b in range(0, len(chunk), batch_size)]
            rng.shuffle(batches)
            epoch_order.extend(i for b in batches for i in b)
        order.extend(epoch_order)
        epoch += 1
    return order[:n_items]


class ScheduledDataset:
    """A map-style dataset that walks the examples in the precomputed schedule order."""

    def __init__(self, examples: list[Example], order: list[int]):
        self.examples, self.order = examples, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int) -> dict[str, Any]:
        e = self.examples[self.order[i]]
        return {"input_ids": e.input_ids, "labels": e.labels, "weight": e.weight}


def collate(pad_id: int):
    """A data collator that right-pads a batch to its longest example."""
    import torch

    def _collate(features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), pad_id, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, f in enumerate(features):
            n = len(f["input_ids"])
            ids[row, :n] = torch.tensor(f["input_ids"])
            labels[row, :n] = torch.tensor(f["labels"])
            mask[row, :n] = 1
        weights = torch.tensor([float(f.get("weight", 1.0)) for f in features], dtype=torch.float32)
        return {"input_ids": ids, "labels": labels, "attention_mask": mask, "weights": weights}

    return _collate


def token_losses(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-target-token cross-entropy and the row index of each target token.

    The output layer runs only on positions that predict an email token: on a 49k vocabulary it is a
    fifth of the model's compute, wasted on prompt and padding positions.
    """
    import torch
    import torch.nn.functional as F

    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(base.config, "final_logit_softcapping", None) or not hasattr(base, "get_decoder"):
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        sel_logits = logits[:, :-1][keep]
    else:
        hidden = base.get_decoder()(input_ids=batch["input_ids"],
                                    attention_mask=batch["attention_mask"]).last_hidden_state
        sel_logits = base.get_output_embeddings()(hidden[:, :-1][keep])
    ce = F.cross_entropy(sel_logits.float(), labels[keep], reduction="none")
    rows = torch.arange(labels.shape[0], device=labels.device)[:, None].expand_as(labels)[keep]
    return ce, rows


def frozen_prompt_losses(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """token_losses, with each row's prompt read without gradients: its keys and values are
    computed once under no_grad and the answer attends to them, so the backward pass covers the
    answer's positions only. The adapter still shapes the prompt's keys and values (it is applied
    in that pass) but learns only through the answer positions. A fill brief is ~90 % prompt: on a
    CPU this is most of the backward pass."""
    import torch
    import torch.nn.functional as F
    from transformers import DynamicCache

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, head = base.get_decoder(), base.get_output_embeddings()
    ces, rows = [], []
    for r in range(batch["input_ids"].shape[0]):
        n_tokens = int(batch["attention_mask"][r].sum())  # right padding: real tokens first
        ids, labels = batch["input_ids"][r:r + 1, :n_tokens], batch["labels"][r, :n_tokens]
        answer = (labels != IGNORE).nonzero()
        if not len(answer):
            continue
        cut = max(int(answer[0]) - 1, 0)  # the last prompt position predicts the first answer token
        cache = DynamicCache(config=base.config)
        if cut:
            with torch.no_grad():
                decoder(input_ids=ids[:, :cut], cache=cache, use_cache=True)
        hidden = decoder(input_ids=ids[:, cut:-1], cache=cache, use_cache=True,
                         position_ids=torch.arange(cut, n_tokens - 1, device=ids.device)[None]
                         ).last_hidden_state[0]
        targets = labels[cut + 1:]
        keep = targets != IGNORE
        ces.append(F.cross_entropy(head(hidden[keep]).float(), targets[keep], reduction="none"))
        rows.append(torch.full((int(keep.sum()),), r, device=ids.device))
    if not ces:
        empty = batch["input_ids"].new_zeros(0)
        return empty.float(), empty
    return torch.cat(ces), torch.cat(rows)


def weighted_loss(model: Any, batch: dict[str, torch.Tensor], *, prompt_grad: bool = True) -> torch.Tensor:
    """Mean token loss with each token weighted by its example's (normalised) weight; without
    `prompt_grad`, the prompt is read without gradients (frozen_prompt_losses)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    frozen = not prompt_grad and hasattr(base, "get_decoder") and not getattr(
        base.config, "final_logit_softcapping", None)
    ce, rows = frozen_prompt_losses(model, batch) if frozen else token_losses(model, batch)
    if ce.numel() == 0:
        return ce.sum()
    w = batch["weights"].to(ce.dtype)[rows]
    return (ce * w).sum() / ce.numel()


def perplexity(model: Any, examples: list[Example], pad_id: int, *, batch_size: int = 4) -> dict[str, float]:
    """Token-weighted perplexity over the email tokens of `examples` (weights ignored)."""
    import torch

    if not examples:
        return {"perplexity": float("nan"), "tokens": 0, "loss": float("nan")}
    ordered = sorted(examples, key=lambda e: len(e.input_ids))
    col = collate(pad_id)
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(ordered), batch_size):
            feats = [{"input_ids": e.input_ids, "labels": e.labels} for e in ordered[start:start + batch_size]]
            ce, _ = token_losses(model, col(feats))
            total += float(ce.sum())
            count += int(ce.numel())
    if was_training:
        model.train()
    loss = total / max(count, 1)
    return {"perplexity": math.exp(loss), "tokens": count, "loss": loss}
