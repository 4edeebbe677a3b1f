"""The tone check with the real embedded all-MiniLM-L6-v2 (fast path and fp32 reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
pytestmark = pytest.mark.integration


@pytest.mark.skipif(not (DATA / "emails_ledgerly.csv").exists(), reason="demo emails missing")
def test_real_embedder_tells_the_demo_brands_apart(settings):
    from brandvoice import corpus
    from brandvoice.guardrails import Guard
    from brandvoice.guardrails.embedder import load_embedder
    from brandvoice.guardrails.tone import email_text

    led = corpus.prepare(DATA / "emails_ledgerly.csv", brand="Ledgerly")
    bb = corpus.prepare(DATA / "emails_brightbean.csv", brand="Bright Bean")
    fast = load_embedder(settings)
    g = Guard.for_brand(settings, "Ledgerly", embedder=fast, training_emails=led.train,
                        heldout_emails=led.test, negative_emails=bb.train)
    cal = g.tone.calibration
    assert cal["recall"] >= 0.8 and cal["precision"] >= 0.8, cal
    own = g.check(led.test[0].subject, led.test[0].body, {})
    other = g.check(bb.test[0].subject, bb.test[0].body, {})
    own_tone, other_tone = (next(r for r in v.results if r.check == "tone") for v in (own, other))
    assert own_tone.status in ("pass", "warn") and other_tone.status == "fail"
    assert own.tone_score > other.tone_score
    # the default (fast) path agrees with the fp32 sentence-transformers reference
    if fast.backend != "fp32":
        ref = load_embedder(settings, backend="fp32")
        texts = [email_text(e.subject, e.body) for e in led.test[:3] + bb.test[:2]]
        cos = (fast.encode(texts) * ref.encode(texts)).sum(axis=1)
        assert np.all(cos > 0.999), cos
