"""Local batched generation: base model (+ LoRA adapter, merged where it checks out) in this process.

Batches use left padding and the KV cache. Sampling is done per row with the row's own seeded
`torch.Generator` (a logits processor that draws the token and hands greedy decoding a one-hot), so a
draft depends on its own seed, not on the other rows of its batch. What holds: the same job (same
contacts, batch size, dtype, machine) reproduces its drafts exactly. In float32 a draft is also
independent of which other contacts share its batch and of the batch size (tested); in bfloat16
(dtype 'auto' on CPUs with AVX512-BF16/AMX, 1.3-2x faster) padded batched matmuls round differently,
so a resumed or re-chunked batch can word a draft differently.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from brandvoice import models
from brandvoice.config import quiet_openmp
from brandvoice.errors import ConfigError
from brandvoice.generation.protocol import GenOutput, GenRequest
from brandvoice.prompting import shape

if TYPE_CHECKING:  # pragma: no cover
    from brandvoice.config import Settings

PROBE_TOKENS = shape.PROBE_TOKENS


def _sampler_class():
    import torch
    from transformers import (
        LogitsProcessor,
        LogitsProcessorList,
        TemperatureLogitsWarper,
        TopPLogitsWarper,
    )

    class PerRowSampler(LogitsProcessor):
        """Samples each row with its own generator; returns logits on which greedy picks that token."""

        def __init__(self, seeds: list[int], temperature: float, top_k: int, top_p: float):
            self.generators = [torch.Generator("cpu").manual_seed(int(s)) for s in seeds]
            self.logprobs: list[list[float]] = [[] for _ in seeds]  # of each picked token
            self.top_k = top_k
            warpers = [TemperatureLogitsWarper(temperature)]
            if top_p < 1.0:
                warpers.append(TopPLogitsWarper(top_p))
            self.warpers = LogitsProcessorList(warpers)

        def __call__(self, input_ids, scores):
            # Top-k first, then temperature and top-p on the k survivors only: the same distribution
            # as warping the whole vocabulary, without sorting ~50k logits per row and step.
            scores = scores.float()
            full = torch.log_softmax(scores, dim=-1)  # the model's own distribution (before warping)
            vocab, idx = scores.shape[-1], None
            if self.top_k and self.top_k < scores.shape[-1]:
                scores, idx = scores.topk(self.top_k, dim=-1)
            probs = torch.softmax(self.warpers(input_ids, scores), dim=-1).cpu()
            # One uniform draw per row from the row's own generator, inverse-CDF sampling.
            u = torch.stack([torch.rand((), generator=g) for g in self.generators]).unsqueeze(1)
            cdf = probs.cumsum(dim=-1)
            picks = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=probs.shape[-1] - 1)
            # Never pick a token the warpers removed (possible only at float ties on the boundary).
            bad = (probs.gather(1, picks) == 0).squeeze(1)
            if bad.any():
                picks[bad] = probs[bad].argmax(dim=-1, keepdim=True)
            picks = picks.to(scores.device)
            if idx is not None:
                picks = idx.gather(1, picks)
            for row, lp in enumerate(full.gather(1, picks).squeeze(1).tolist()):
                self.logprobs[row].append(lp)
            out = torch.full((picks.shape[0], vocab), float("-inf"), device=picks.device)
            out.scatter_(1, picks, 0.0)
            return out

    return PerRowSampler


def _is_peft(model: Any) -> bool:
    return hasattr(model, "merge_adapter") and hasattr(model, "peft_config")


def _is_quantized(model: Any) -> bool:
    base = getattr(model, "base_model", model)
    inner = getattr(base, "model", base)
    return any(bool(getattr(m, flag, False)) for m in (model, base, inner)
               for flag in ("is_loaded_in_4bit", "is_loaded_in_8bit", "is_quantized"))


def _generate(model: Any, tokenizer: Any, prompts: list[str], seeds: list[int] | None, *,
              max_new_tokens: int | list[int], temperature: float, top_k: int, top_p: float,
              repetition_penalty: float, lines: int | list[int] = 0,
              prefix: str = "", on_step=None) -> list[tuple[str, int, str, float | None]]:
    """(text, new tokens, finish reason, mean log-probability) per prompt; greedy when seeds is
    None or temperature is 0 (no log-probabilities then).

    `max_new_tokens` may be given per prompt: one decoding loop then serves prompts of different
    budgets (a row stops at its own). `prefix` is text every prompt starts with (the system turn):
    it is read once for the whole batch, not once per row. `on_step(step, budget)` is called after
    every decoding step (progress from the first token, not after the batch)."""
    import torch
    from transformers import GenerationConfig as HFGenerationConfig
    from transformers import LogitsProcessorList

    stops = models.stop_token_ids(tokenizer)
    budgets = max_new_tokens if isinstance(max_new_tokens, list) else [max_new_tokens] * len(prompts)
    dev = next(model.parameters()).device
    enc, prefix_len = _encode(tokenizer, prompts, prefix)
    enc = {k: v.to(dev) for k, v in enc.items()}
    gconf = HFGenerationConfig(max_new_tokens=max(budgets), do_sample=False, use_cache=True,
                               repetition_penalty=repetition_penalty, eos_token_id=stops,
                               pad_token_id=tokenizer.pad_token_id)
    processors = LogitsProcessorList()
    sampler = None
    if seeds is not None and temperature > 0:
        sampler = _sampler_class()(seeds, temperature, top_k, top_p)
        processors.append(sampler)
    prompt_len = enc["input_ids"].shape[1]
    per_row = lines if isinstance(lines, list) else [lines] * len(prompts)
    criteria = [_Lines(tokenizer, prompt_len, per_row)] if any(per_row) else []
    if len(set(budgets)) > 1:
        criteria.append(_Budgets(prompt_len, budgets))
    if on_step is not None:
        criteria.append(_Steps(prompt_len, max(budgets), on_step))
    with torch.inference_mode():
        cache = _shared_prefill(model, prompts, enc, prefix_len)
        out = model.generate(**enc, generation_config=gconf, logits_processor=processors,
                             stopping_criteria=criteria,
                             **({"cache": cache} if cache is not None else {}))
    new = [row[:budget] for row, budget in zip(out[:, prompt_len:].tolist(), budgets, strict=True)]
    results = []
    for r, row in enumerate(new):
        end = next((i for i, t in enumerate(row) if t in stops), None)
        brk = criteria[0].break_at(row, per_row[r]) if criteria and per_row[r] else None
        if brk is not None and (end is None or brk < end):  # stopped at its last line's end
            tokens = row[:brk + 1]
            text = tokenizer.decode(tokens, skip_special_tokens=True)  # clean() drops the break
            end = brk
        else:
            tokens = row if end is None else row[: end + 1]
            text = tokenizer.decode(row if end is None else row[:end], skip_special_tokens=True)
        lps = sampler.logprobs[r][:len(tokens)] if sampler is not None else []
        mean = sum(lps) / len(lps) if lps else None
        results.append((text, len(tokens), "length" if end is None else "stop", mean))
    return results


class _Lines:
    """Stops a row at the line break that ends its n-th line of text (blank lines not counted): a
    fill answer has one line per hole, and one rambling row would otherwise hold the whole batch."""

    _ids: dict[int, frozenset[int]] = {}

    def __init__(self, tokenizer: Any, prompt_len: int, counts: list[int]):
        key = id(tokenizer)
        if key not in self._ids:
            vocab = tokenizer.get_vocab().values()
            self._ids[key] = frozenset(i for i in vocab if "\n" in tokenizer.decode([i]))
        self.breaks, self.prompt_len, self.counts = self._ids[key], prompt_len, counts
        self.spaces = frozenset(i for i in self.breaks if not tokenizer.decode([i]).strip())

    def break_at(self, row: list[int], n: int) -> int | None:
        """Index of the line break that ends the row's n-th line of text, if any."""
        seen_text, done = False, 0
        for i, t in enumerate(row):
            if t in self.breaks and seen_text:
                done += 1
                if done >= n:
                    return i
                seen_text = False
            seen_text = seen_text or t not in self.spaces
        return None

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        rows = input_ids[:, self.prompt_len:].tolist()
        return torch.tensor([bool(n) and self.break_at(r, n) is not None
                             for r, n in zip(rows, self.counts, strict=True)],
                            dtype=torch.bool, device=input_ids.device)


class _Budgets:
    """Stops each row at its own token budget (rows of different budgets share one loop)."""

    def __init__(self, prompt_len: int, budgets: list[int]):
        self.prompt_len, self.budgets = prompt_len, budgets

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        done = input_ids.shape[1] - self.prompt_len
        return torch.tensor([done >= b for b in self.budgets], dtype=torch.bool,
                            device=input_ids.device)


class _Steps:
    """Reports each decoding step (`callback(step, budget)`); never stops a row."""

    def __init__(self, prompt_len: int, budget: int, callback):
        self.prompt_len, self.budget, self.callback = prompt_len, budget, callback

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        self.callback(input_ids.shape[1] - self.prompt_len, self.budget)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def _encode(tokenizer: Any, prompts: list[str], prefix: str) -> tuple[dict, int]:
    """Input ids and attention mask, and how many leading tokens every row shares.

    Without a shared prefix the rows are left-padded. With one, the padding goes between the
    prefix and each row's own text ([prefix][pad...][rest]): the prefix sits at the same
    positions in every row, so its keys and values are computed once (`_shared_prefill`). The
    positions the model sees come from the mask, so a row reads exactly as if left-padded."""
    import torch

    ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    head = tokenizer(prefix, add_special_tokens=False)["input_ids"] if prefix else []
    n = len(head) if head and all(r[:len(head)] == head and len(r) > len(head) for r in ids) else 0
    width = max(len(r) for r in ids)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rows = [r[:n] + [pad] * (width - len(r)) + r[n:] for r in ids]
    mask = [[1] * n + [0] * (width - len(r)) + [1] * (len(r) - n) for r in ids]
    return {"input_ids": torch.tensor(rows), "attention_mask": torch.tensor(mask)}, n


def _shared_prefill(model: Any, prompts: list[str], enc: dict, prefix_len: int = 0) -> Any:
    """The KV cache of every prompt but its last token, or None (generate reads the prompts).

    What rows share is read once: the `prefix_len` tokens every row starts with (the system turn,
    about 40 % of a slot brief), and each distinct prompt (best of k sends every brief k times);
    the cache is then copied to the rows. On a CPU reading the prompts was half of a slot job."""
    import torch
    from transformers import DynamicCache

    unique = list(dict.fromkeys(prompts))
    width = enc["input_ids"].shape[1]
    if (len(unique) == len(prompts) and not prefix_len) or width < 2:
        return None
    first = {p: prompts.index(p) for p in unique}
    rows = torch.tensor([first[p] for p in unique], device=enc["input_ids"].device)
    ids, mask = enc["input_ids"][rows, :-1], enc["attention_mask"][rows, :-1]
    # Positions as generate makes them from the mask, so the copies continue alike.
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    cache = DynamicCache(config=model.config)
    if prefix_len:
        model(input_ids=ids[:1, :prefix_len], position_ids=positions[:1, :prefix_len],
              cache=cache, use_cache=True)
        cache.batch_repeat_interleave(len(unique))
    if width - 1 > prefix_len:
        model(input_ids=ids[:, prefix_len:], attention_mask=mask, position_ids=positions[:, prefix_len:],
              cache=cache, use_cache=True)
    cache.batch_select_indices(torch.tensor([unique.index(p) for p in prompts], device=ids.device))
    return cache


def inference_dtype(choice: str):
    """torch dtype for 'auto' | 'float32' | 'bfloat16'; auto = bf16 where the hardware does it natively."""
    import torch

    if choice == "float32":
        return torch.float32
    if choice == "bfloat16":
        return torch.bfloat16
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    try:  # CPUs with AVX512-BF16 / AMX: bf16 matmuls ran 1.3-2x faster than fp32 in bench/generate.py
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    return torch.bfloat16 if native else torch.float32


def probe_prompt(tokenizer: Any, brand: str) -> str:
    """The fixed prompt the merged adapter is checked on (the probe of `shape.probe_messages`)."""
    return models.prompt_text(tokenizer, *shape.probe_messages(brand))


def try_merge(model: Any, tokenizer: Any, *, mode: str, brand: str = "", log=None) -> tuple[Any, dict]:
    """Merge a LoRA adapter into its base if its greedy output matches the unmerged adapter's.

    Returns (model to serve, facts). On a mismatch the adapter is unmerged again and the reason logged.
    """
    log = log or (lambda _line: None)
    if mode == "no":
        return model, {"merged": False, "reason": "merge disabled (merge='no')"}
    if not _is_peft(model):
        return model, {"merged": False, "reason": "no adapter to merge"}
    if _is_quantized(model):
        reason = "the base is quantized; merging needs an unquantized base (quantization='none')"
        if mode == "yes":
            raise ConfigError(f"Cannot merge the adapter: {reason}.",
                              hint="Use --merge auto/no, or generate with quantization 'none'.")
        log(f"Serving the unmerged adapter: {reason}.")
        return model, {"merged": False, "reason": reason}
    prompt = probe_prompt(tokenizer, brand)
    kw = dict(max_new_tokens=PROBE_TOKENS, temperature=0.0, top_k=0, top_p=1.0, repetition_penalty=1.0)
    t0 = time.perf_counter()
    reference = _generate(model, tokenizer, [prompt], None, **kw)[0][0]  # text
    t1 = time.perf_counter()
    model.merge_adapter()
    merged = _generate(model, tokenizer, [prompt], None, **kw)[0][0]
    t2 = time.perf_counter()
    facts = {"probe_unmerged_s": round(t1 - t0, 3), "probe_merged_s": round(t2 - t1, 3)}
    if merged != reference:
        model.unmerge_adapter()
        at = next((i for i, (a, b) in enumerate(zip(reference, merged, strict=False)) if a != b),
                  min(len(reference), len(merged)))
        reason = (f"greedy output of the merged copy differs from the unmerged adapter at character {at} "
                  f"({reference[at:at + 20]!r} vs {merged[at:at + 20]!r})")
        log(f"Serving the unmerged adapter: {reason}.")
        return model, {"merged": False, "reason": reason, **facts}
    # Weights already carry the merged update: unload() drops the LoRA wrappers without merging again.
    served = model.unload()
    log(f"Serving a merged copy of the adapter (greedy check on a fixed prompt passed; "
        f"probe {facts['probe_unmerged_s']} s unmerged vs {facts['probe_merged_s']} s merged).")
    return served, {"merged": True, "reason": "greedy check passed", **facts}


class LocalBackend:
    """Base model (+ adapter) loaded once in this process; batched generation."""

    def __init__(self, model: Any, tokenizer: Any, config, *, label: str, info: dict | None = None):
        self.model, self.tokenizer, self.config = model, tokenizer, config
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.label = label
        self.info = {"backend": "local", **(info or {})}
        self.on_step = None  # callback(step, budget) after each decoding step: live progress

    @classmethod
    def load(cls, config, settings: Settings, *, adapter=None, base_model: str | None = None,
             brand: str = "", log=None) -> LocalBackend:
        """Load the base model and adapter once; merge the adapter where the check allows."""
        log = log or (lambda _line: None)
        # Sleeping (not spinning) OpenMP workers: on a shared or oversubscribed CPU spinning threads
        # made batch-1 decoding ~10x slower in our measurements. Effective only before torch loads.
        quiet_openmp()
        models.quiet_bitsandbytes()
        t0 = time.perf_counter()
        if adapter is not None:
            from brandvoice.training import adapters

            model, tokenizer = adapters.load_for_inference(
                settings, adapter, base_model=base_model, quantization=config.quantization, merge=False)
            label = adapter.label
        else:
            name = base_model or settings.base_model
            tokenizer = models.load_tokenizer(name, settings)
            model = models.load_model(name, config.quantization, settings)
            label = f"base:{name}"
        model.eval()
        dtype = None
        if not _is_quantized(model):
            dtype = inference_dtype(config.dtype)
            model.to(dtype)
        log(f"Loaded {label} ({config.quantization}, {dtype}) in {time.perf_counter() - t0:.1f} s.")
        model, facts = try_merge(model, tokenizer, mode=config.merge, brand=brand, log=log)
        facts["dtype"] = str(dtype).replace("torch.", "") if dtype is not None else config.quantization
        return cls(model, tokenizer, config, label=label, info=facts)

    def prompt_for(self, req: GenRequest) -> str:
        """The exact text the model continues: chat template applied, answer primed with
        `req.prime` ("Subject:" for a whole email)."""
        return models.prompt_text(self.tokenizer, req.system, req.user) + req.prime

    def generate(self, requests: list[GenRequest]) -> list[GenOutput]:
        """Batched `generate` calls, answers in order: one call for the line-counted requests (each
        row stops at its own budget), one per token budget for the others, one per system prompt.

        One call per slot kind instead made a slot job decode its subjects, openings and asks one
        after another; on a CPU a decoding step for 24 rows cost 1.6x the step for 8."""
        if not requests:
            return []
        c = self.config
        out: list[GenOutput | None] = [None] * len(requests)
        groups: dict[tuple[int, bool, str], list[int]] = {}
        for i, r in enumerate(requests):
            budget = 0 if r.lines else r.max_new_tokens or c.max_new_tokens
            groups.setdefault((budget, bool(r.lines), r.system), []).append(i)
        for (_, _lined, system), idx in groups.items():
            prompts = [self.prompt_for(requests[i]) for i in idx]
            rows = _generate(self.model, self.tokenizer, prompts, [requests[i].seed for i in idx],
                             max_new_tokens=[requests[i].max_new_tokens or c.max_new_tokens
                                             for i in idx],
                             temperature=c.temperature, top_k=c.top_k, top_p=c.top_p,
                             repetition_penalty=c.repetition_penalty,
                             lines=[requests[i].lines for i in idx],
                             prefix=models.prompt_prefix(self.tokenizer, system),
                             on_step=self.on_step)
            for i, prompt, (text, n, reason, lp) in zip(idx, prompts, rows, strict=True):
                out[i] = GenOutput(text=requests[i].prime + text, prompt=prompt, new_tokens=n,
                                   finish_reason=reason, mean_logprob=lp)
        return out  # type: ignore[return-value]

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed."""
        self.model = None
