"""Choosing training emails: performance scores (Wilson bound), high-performer selection, split."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import replace
from typing import Any

from brandvoice.corpus.records import METRICS, Email, brand_key, normalize_metric
from brandvoice.errors import ConfigError

MODES = ("top", "weight", "all")


# --- performance -------------------------------------------------------------------------------


def wilson_lower_bound(successes: int, trials: int, z: float = 1.96) -> float:
    """Lower end of the Wilson score interval: a rate we are ~95% sure the email beats."""
    if trials <= 0:
        return 0.0
    p = min(max(successes / trials, 0.0), 1.0)
    denom = 1 + z * z / trials
    centre = p + z * z / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - margin) / denom)


def performance_score(email: Any, metric: str, z: float = 1.96) -> float | None:
    """Wilson lower bound of `metric` when counts are known, else the raw rate (or None)."""
    rate = email.rate(metric)
    if rate is None:
        return None
    if email.sends:
        return wilson_lower_bound(round(rate * email.sends), email.sends, z)
    return rate


# --- selection, split --------------------------------------------------------------------------


def check_rule(*, metric: str = "click_rate", quantile: float = 0.5, min_sends: int = 100,
               mode: str = "top", test_fraction: float = 0.15) -> dict:
    """Validate a selection rule (ConfigError naming the bad option); returns it normalized."""
    if mode not in MODES:
        raise ConfigError(f"Unknown selection mode {mode!r}.", hint="Use one of: " + ", ".join(MODES)
                          + " (top: best emails only; weight: all, weighted by performance).")
    metric = normalize_metric(metric)
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) or not 0 <= quantile < 1:
        raise ConfigError(f"quantile must be at least 0 and below 1, got {quantile!r}.",
                          hint="0.5 keeps the top half, 0.75 the top quarter, 0 all eligible emails.")
    if isinstance(min_sends, bool) or not isinstance(min_sends, int) or min_sends < 0:
        raise ConfigError(f"min_sends must be a whole number >= 0, got {min_sends!r}.",
                          hint="100 is a sensible minimum; use 0 to disable it.")
    if not isinstance(test_fraction, (int, float)) or not 0 <= test_fraction < 1:
        raise ConfigError(f"test_fraction must be at least 0 and below 1, got {test_fraction!r}.",
                          hint="0.15 holds out about one email in seven.")
    return {"metric": metric, "mode": mode, "quantile": float(quantile), "min_sends": min_sends}


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values (numpy's default method)."""
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def _sources(emails: list[Email], limit: int = 50) -> list[str]:
    return [e.source for e in emails[:limit]] + ([f"... {len(emails) - limit} more"]
                                                 if len(emails) > limit else [])


MIN_GROUP = 4


def _group(e: Email, per_campaign: bool) -> str:
    return (e.campaign or "").strip().lower() if per_campaign else ""


def select(emails: list[Email], *, metric: str = "click_rate", quantile: float = 0.5,
           min_sends: int = 100, mode: str = "top",
           per_campaign: bool = True) -> tuple[list[Email], dict]:
    """Keep the high performers (mode 'top') or weight all by performance (mode 'weight')."""
    rule = check_rule(metric=metric, quantile=quantile, min_sends=min_sends, mode=mode)
    metric = rule["metric"]
    rule.update(score="wilson_lower_bound", confidence=0.95, per_campaign=per_campaign)
    n = len(emails)
    if mode == "all":
        out = [replace(e, score=performance_score(e, metric)) for e in emails]
        return out, {"rule": rule, "threshold": None, "excluded": {},
                     "counts": {"input": n, "eligible": n, "selected": n},
                     "explanation": [f"Mode 'all': all {n} cleaned emails are used with their own "
                                     "weight; performance is not used."]}
    no_metric, low_sends, scored = [], [], []
    for e in emails:
        if e.rate(metric) is None:
            no_metric.append(e)
        elif min_sends and (e.sends is None or e.sends < min_sends):
            low_sends.append(e)
        else:
            scored.append(replace(e, score=performance_score(e, metric)))
    lines = _eligibility_lines(metric, min_sends, low_sends, no_metric)
    excluded = {"low_sends": _sources(low_sends), "no_metric": _sources(no_metric)}
    counts = {"input": n, "no_metric": len(no_metric), "low_sends": len(low_sends),
              "eligible": len(scored), "below_threshold": 0, "selected": 0}
    result = {"rule": rule, "threshold": None, "counts": counts, "excluded": excluded,
              "explanation": lines}
    if not scored:
        lines.append("No email is eligible, so none was selected.")
        return [], result
    rates = [e.rate(metric) for e in scored]
    if mode == "top":
        selected = _top(scored, rates, result, metric=metric, quantile=quantile, per_campaign=per_campaign)
    else:
        selected = _weighted(scored, lines, per_campaign=per_campaign)
    counts["selected"] = len(selected)
    result["rates"] = {"eligible_mean": round(sum(rates) / len(rates), 6),
                       "selected_mean": round(sum(e.rate(metric) for e in selected) / len(selected), 6)}
    return selected, result


def _eligibility_lines(metric: str, min_sends: int, low_sends: list[Email],
                       no_metric: list[Email]) -> list[str]:
    """The explanation's first lines: how emails are scored, and which were not eligible."""
    count_col = METRICS[metric]
    lines = [
        f"Metric: {metric}. Each email is scored by the lower end of the 95% Wilson interval of "
        f"its rate, so an email with few sends counts for less than its raw rate: 2 of 2 scores "
        f"{wilson_lower_bound(2, 2):.0%} (not 100%), 40 of 1,000 scores "
        f"{wilson_lower_bound(40, 1000):.1%} (not 4.0%). That alone can still favour tiny sends "
        "on low-rate metrics, so emails under min_sends are excluded first."]
    if low_sends:
        lines.append(f"{len(low_sends)} email(s) excluded for fewer than {min_sends} sends "
                     f"(or no send count), e.g. {low_sends[0].source}.")
    if no_metric:
        lines.append(f"{len(no_metric)} email(s) excluded without {metric} data (needs the sends "
                     f"and {count_col} columns, or a {metric} column).")
    return lines


def _peers(scored: list[Email], per_campaign: bool) -> tuple[dict[str, list[float]], set[str],
                                                             dict[str, list[float]]]:
    """Scores by campaign, the campaigns too small to rank, and the sorted scores of the others.

    Campaign types have very different base rates (a trial-ending email out-clicks a newsletter
    whatever its copy), so by default each campaign is ranked against its own peers; groups too
    small to rank (< MIN_GROUP eligible emails) use the overall ranking instead.
    """
    groups: dict[str, list[float]] = defaultdict(list)
    for e in scored:
        groups[_group(e, per_campaign)].append(e.score)
    small = {g for g, v in groups.items() if len(v) < MIN_GROUP}
    peers = {g: sorted(v) for g, v in groups.items() if g not in small}
    return groups, small, peers


def _top(scored: list[Email], rates: list[float], result: dict, *, metric: str, quantile: float,
         per_campaign: bool) -> list[Email]:
    """Mode 'top': the emails at or above their peers' quantile; thresholds, counts, the emails
    below and the explanation go into `result`."""
    ranked = sorted(s.score for s in scored)
    _, small, peers = _peers(scored, per_campaign)
    by_group = "per campaign" if per_campaign else "over all campaigns"
    lines = result["explanation"]
    overall = _quantile(ranked, quantile)
    cut = {g: _quantile(v, quantile) for g, v in peers.items()}
    cut.update(dict.fromkeys(small, overall))
    selected = [e for e in scored if e.score >= cut[_group(e, per_campaign)] - 1e-12]
    below = [e for e in scored if e.score < cut[_group(e, per_campaign)] - 1e-12]
    result["excluded"]["below_threshold"] = _sources(below)
    sel_rates = [e.rate(metric) for e in selected]
    result["threshold"] = round(overall, 6)
    if per_campaign:
        result["thresholds"] = {g or "(none)": round(v, 6) for g, v in sorted(cut.items())}
    result["counts"]["below_threshold"] = len(below)
    lines.append(
        f"Threshold {by_group}: the {quantile:.0%} quantile of the score among eligible emails "
        f"(overall {overall:.2%}" + ("; " + ", ".join(
            f"{g or '(none)'} {v:.2%}" for g, v in sorted(cut.items())) if per_campaign else "")
        + f"). {len(selected)} selected, {len(below)} below the threshold. Selected {metric}: "
        f"{min(sel_rates):.1%} to {max(sel_rates):.1%} (mean {sum(sel_rates) / len(sel_rates):.1%}"
        f"; all eligible: {sum(rates) / len(rates):.1%}).")
    if small and per_campaign:
        lines.append(f"Campaigns with fewer than {MIN_GROUP} eligible emails use the overall "
                     f"threshold: {', '.join(sorted(g or '(none)' for g in small))}.")
    return selected


def _weighted(scored: list[Email], lines: list[str], *, per_campaign: bool) -> list[Email]:
    """Mode 'weight': every eligible email, weighted by its percentile rank among its peers."""
    ranked = sorted(s.score for s in scored)
    groups, _, peers = _peers(scored, per_campaign)
    by_group = "per campaign" if per_campaign else "over all campaigns"
    pool = {g: peers.get(g, ranked) for g in groups}
    selected = []
    for e in scored:  # percentile rank among peers; ties share their average rank
        values = pool[_group(e, per_campaign)]
        pos = [k for k, v in enumerate(values) if v == e.score]
        pct = (sum(pos) / len(pos) / (len(values) - 1)) if len(values) > 1 else 0.5
        selected.append(replace(e, weight=round(e.weight * (0.5 + pct), 4)))
    lines.append(f"All {len(scored)} eligible emails kept; weight = 0.5 + percentile rank of the "
                 f"score {by_group} (0.5 for the weakest, 1.5 for the strongest, 1.0 on average).")
    return selected


def split(emails: list[Email], *, test_fraction: float = 0.15,
          seed: int = 0) -> tuple[list[Email], list[Email]]:
    """Deterministic held-out split per brand, stratified by score so test holds strong emails too."""
    check_rule(test_fraction=test_fraction)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(emails):
        groups[brand_key(e.brand)].append(i)
    test_ids: set[int] = set()
    for key, idx in groups.items():
        n = len(idx)
        if n < 2 or test_fraction == 0:
            continue
        k = min(n - 1, max(1, round(n * test_fraction)))
        # Order by content, not input position, so the same emails always give the same split.
        order = sorted(idx, key=lambda i: (-(emails[i].score or 0.0), -emails[i].weight,
                                           emails[i].subject, emails[i].body, emails[i].source))
        rng = random.Random(f"{seed}:{key}")
        for s in range(k):  # one pick from each of k equal strata, best first
            test_ids.add(order[rng.randrange(s * n // k, (s + 1) * n // k)])
    return ([e for i, e in enumerate(emails) if i not in test_ids],
            [e for i, e in enumerate(emails) if i in test_ids])
