"""Rates with honest uncertainty: Wilson intervals, the two-proportion test, Holm's correction, and
the plain sentence a marketer reads instead of a p-value.

The rule, as the report states it: two groups differ when a two-sided two-proportion z-test
(pooled) rejects equal rates at the 5 % level after Holm's correction over the comparisons of one
table. When a group expects fewer than 5 events or 5 non-events (where the normal approximation
fails: small campaigns, rare replies), Fisher's exact test takes its place. Intervals are 95 %
Wilson score intervals (good at the small rates of replies and clicks, where the textbook interval
runs below zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

ALPHA = 0.05
CONFIDENCE = 0.95
MIN_EXPECTED = 5
POWER = 0.8
_NORMAL = NormalDist()

RULE = ("Differences: two-sided two-proportion z-test (pooled), 5 % level, Holm-corrected over the "
        "comparisons of each table; Fisher's exact test where a group expects fewer than 5 events "
        "or non-events. Intervals: 95 % Wilson score.")


def wilson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a rate; (0, 1) without trials."""
    if trials <= 0:
        return 0.0, 1.0
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    low = 0.0 if successes <= 0 else max(0.0, centre - margin)
    high = 1.0 if successes >= trials else min(1.0, centre + margin)
    return low, high


@dataclass(frozen=True)
class Test:
    """A two-proportion comparison: its two-sided p-value and the test that gave it (or none, for
    a group without sends)."""

    p: float | None
    method: str | None  # "z-test" | "Fisher's exact test" | None
    z: float | None = None


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table (k1, n1-k1; k2, n2-k2): the
    probability, given the margins, of a table no more likely than the one observed."""
    total, events = n1 + n2, k1 + k2
    denom = math.comb(total, events)

    def prob(x: int) -> float:
        return math.comb(n1, x) * math.comb(n2, events - x) / denom

    observed = prob(k1)
    tables = range(max(0, events - n2), min(events, n1) + 1)
    return min(1.0, sum(q for q in map(prob, tables) if q <= observed * (1 + 1e-7)))


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> Test:
    """Two-sided test of k1/n1 against k2/n2: the pooled z-test, or Fisher's exact test when a
    group expects fewer than MIN_EXPECTED events or non-events."""
    if n1 <= 0 or n2 <= 0:
        return Test(None, None)
    pooled = (k1 + k2) / (n1 + n2)
    expected = min(pooled * n1, pooled * n2, (1 - pooled) * n1, (1 - pooled) * n2)
    if expected < MIN_EXPECTED:
        return Test(fisher_exact(k1, n1, k2, n2), "Fisher's exact test")
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return Test(2 * (1 - _NORMAL.cdf(abs(z))), "z-test", z)


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None and does not count as a test)."""
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    m = len(tested)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def sends_needed(p1: float, p2: float, *, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Sends per group for a two-sided test at `alpha` to detect p1 against p2 with `power`."""
    if p1 == p2 or not (0 < p1 < 1 or 0 < p2 < 1):
        return None
    za, zb = _NORMAL.inv_cdf(1 - alpha / 2), _NORMAL.inv_cdf(power)
    bar = (p1 + p2) / 2
    num = za * math.sqrt(2 * bar * (1 - bar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(num * num / (p1 - p2) ** 2)


def pct(rate: float | None) -> str:
    """A rate as people read it: 12.5%, 0.4%, 100%."""
    if rate is None:
        return "–"
    value = 100 * rate
    return f"{value:.1f}%" if value < 99.95 else "100%"


def sentence(name: str, ref: str, measure: str, a: dict, b: dict, test: Test,
             p_adjusted: float | None) -> str:
    """The plain sentence for group `a` (name) against the reference `b` (ref).

    `a` and `b` hold the counts: events (k), trials (n), rate, low, high.
    """
    rates = (f"{pct(a['rate'])} ({pct(a['low'])}–{pct(a['high'])}, {a['k']:,} of {a['n']:,}) "
             f"against {pct(b['rate'])} ({pct(b['low'])}–{pct(b['high'])}, {b['k']:,} of "
             f"{b['n']:,})")
    if test.p is None:
        return f"Nothing to compare {name} with {ref} on yet: {rates}."
    how = f"{_p(p_adjusted)}, {test.method}, Holm-corrected"
    if p_adjusted is not None and p_adjusted < ALPHA:
        more = "more" if a["rate"] > b["rate"] else "fewer"
        return (f"{name} earns {more} {measure} than {ref}: {rates}; the difference is "
                f"significant ({how}).")
    need = sends_needed(a["rate"], b["rate"])
    overlap = "the 95% intervals overlap" if a["low"] <= b["high"] and b["low"] <= a["high"] \
        else "the intervals do not overlap, but over several comparisons that is not enough"
    if need and need <= 50_000:
        tail = (f" About {need:,} sends in each group would show a difference this size, if it "
                "is real.")
    else:
        tail = " The rates are about the same so far."
    return (f"No significant difference between {name} and {ref} yet: {rates} ({overlap}; "
            f"{how}).{tail}")


def _p(p: float | None) -> str:
    if p is None:
        return "p –"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
