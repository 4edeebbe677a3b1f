"""The whole corpus pass: load, clean, select the high performers, split; and the data hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from brandvoice.corpus.clean import clean_emails, near_duplicates_of
from brandvoice.corpus.reader import read_emails
from brandvoice.corpus.records import METRICS, Corpus, Email, brand_key, normalize_metric
from brandvoice.corpus.selection import check_rule, select, split
from brandvoice.errors import ConfigError, InputError


def clean(emails: list[Email], *, metric: str = "click_rate", near_threshold: float = 92.0,
          min_sends: int = 100) -> tuple[list[Email], dict]:
    """HTML->text, tracking links, quoted replies, footers, whitespace; dedupe exact+near."""
    return clean_emails(emails, metric=normalize_metric(metric), near_threshold=near_threshold,
                        min_sends=min_sends)


def data_hash(train: list[Email], test: list[Email], rule: dict) -> str:
    """sha256 over the canonical JSON of the train+test emails (without file paths) and the rule."""
    def canon(e: Email) -> dict:
        d = e.to_dict()
        d.pop("source", None)
        return d
    payload = {"rule": rule, "train": [canon(e) for e in train], "test": [canon(e) for e in test]}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def choose(cleaned: list[Email], *, metric: str = "click_rate", quantile: float = 0.5,
           min_sends: int = 100, mode: str = "top", per_campaign: bool = True,
           name: str = "the file") -> tuple[list[Email], dict]:
    """The selection training makes (`select`), and the fallback for a file without engagement
    data: nothing can rank its emails, so all of them teach the voice, and the selection says why
    (selection["fallback"] == "no_metrics") instead of selecting none."""
    metric = normalize_metric(metric)
    if mode != "all" and cleaned and all(e.rate(metric) is None for e in cleaned):
        selected, selection = select(cleaned, metric=metric, mode="all")
        selection["explanation"].insert(0, f"No {metric.replace('_', ' ')} data in {name} (no "
                                        f"sends and {METRICS[metric]} columns): all "
                                        f"{len(cleaned)} cleaned emails are used, unranked.")
        selection["fallback"] = "no_metrics"
        return selected, selection
    return select(cleaned, metric=metric, quantile=quantile, min_sends=min_sends, mode=mode,
                  per_campaign=per_campaign)


def prepare(path: str | Path, *, brand: str, metric: str = "click_rate", quantile: float = 0.5,
            min_sends: int = 100, mode: str = "top", test_fraction: float = 0.15, seed: int = 0,
            extra: list[Email] | None = None, per_campaign: bool = True,
            rows_of: str | None = None) -> Corpus:
    """Load, clean, select and split a brand's past emails; `extra` (reviewed drafts) joins train.
    `rows_of`: the file's brand whose rows to read, when it holds several (see read_emails)."""
    if not brand or not brand_key(brand):
        raise ConfigError("A brand name is required to prepare a corpus.", hint="Pass --brand NAME.")
    rule = check_rule(metric=metric, quantile=quantile, min_sends=min_sends, mode=mode,
                      test_fraction=test_fraction)
    loaded = read_emails(path, brand=brand, rows_of=rows_of)
    cleaned, cleaning = clean(loaded.emails, metric=rule["metric"], min_sends=min_sends)
    name = Path(path).name
    if not cleaned:
        raise InputError(f"{name}: no emails left after cleaning.",
                         problems=[f"{d['source']}: {d['reason']}" for d in cleaning["dropped"]],
                         hint="The bodies were only quoted text, links or footers.")
    selected, selection = choose(cleaned, metric=rule["metric"], quantile=quantile,
                                 min_sends=min_sends, mode=mode, per_campaign=per_campaign,
                                 name=name)
    if len(selected) < 2:
        raise InputError(
            f"{name}: only {len(selected)} email(s) for {brand} passed the selection; at least 2 "
            "are needed (one is held out for evaluation).", problems=selection["explanation"],
            hint="Lower --min-sends or --quantile, use --mode weight, or add more emails.")
    train, test = split(selected, test_fraction=test_fraction, seed=seed)
    extra_report: dict[str, Any] = {"given": len(extra or []), "added": 0, "skipped": []}
    if extra:
        leaks = near_duplicates_of([e.body for e in extra], [e.body for e in test])
        for i, e in enumerate(extra):
            if i in leaks:  # a reviewed draft that copies a held-out email would leak the test set
                extra_report["skipped"].append({"source": e.source, "reason": "near-duplicate of "
                                                f"held-out {test[leaks[i]].source}"})
                continue
            train.append(replace(e, brand=e.brand or brand))
            extra_report["added"] += 1
    rule_full = {**selection["rule"], "test_fraction": test_fraction, "seed": seed}
    report = {**loaded.info, "problems": loaded.problems, "cleaning": cleaning,
              "split": {"train": len(train), "test": len(test), "test_fraction": test_fraction,
                        "seed": seed}, "extra": extra_report}
    return Corpus(brand=brand, train=train, test=test, selection=selection, report=report,
                  data_hash=data_hash(train, test, rule_full))
