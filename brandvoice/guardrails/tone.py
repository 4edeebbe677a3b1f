"""Tone similarity: how close a draft sounds to the brand's own high-performing emails.

The brand profile is the embeddings of the emails an adapter learned from (or emails given
directly). A draft's score is the mean cosine similarity of its k nearest brand emails; the three
nearest are the explanation. The pass threshold is calibrated: brand emails the profile has not
seen (held-out) should pass, other brands' emails and generic off-brand copy should fail.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brandvoice import textio
from brandvoice.errors import InputError
from brandvoice.guardrails.embedder import embedder_id
from brandvoice.guardrails.verdict import CheckResult

_FOOTER_LINE = re.compile(r"unsubscribe|opt[ -]out|manage (?:your )?preferences", re.IGNORECASE)


def _sb(e) -> tuple[str, str]:
    if isinstance(e, dict):
        return str(e.get("subject") or ""), str(e.get("body") or "")
    if isinstance(e, tuple | list):
        return str(e[0]), str(e[1])
    return str(getattr(e, "subject", "") or ""), str(getattr(e, "body", "") or "")


def email_text(subject: str, body: str) -> str:
    """The text that is embedded: subject and body, without unsubscribe/footer lines."""
    kept = [ln for ln in body.splitlines() if not _FOOTER_LINE.search(ln)]
    return f"{subject.strip()}\n\n" + "\n".join(kept).strip()


def texts_of(emails) -> list[str]:
    """email_text of each email (Email objects, dicts or (subject, body) pairs)."""
    return [email_text(*_sb(e)) for e in emails]


def hash_texts(texts: list[str]) -> str:
    """sha256 over texts (order matters)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def cache_path(embedder, texts: list[str], cache_dir: Path) -> Path:
    """Where the embeddings of these texts by this embedder are cached."""
    folder = textio.slug(embedder_id(embedder))[:80]  # "all-MiniLM-L6-v2@openvino-bf16" -> all-minilm-...
    return Path(cache_dir) / "tone" / folder / f"{hash_texts(texts)}.npy"


def embed_cached(embedder, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """Embeddings of texts, cached on disk by embedder + text hash (written atomically)."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    path = None
    if cache_dir is not None:
        path = cache_path(embedder, texts, cache_dir)
        if path.is_file():
            try:
                arr = np.load(path)
                if arr.shape[0] == len(texts):
                    return arr
            except (OSError, ValueError):
                pass  # a damaged cache file is recomputed
    arr = np.asarray(embedder.encode(texts, batch_size=32, normalize_embeddings=True), dtype=np.float32)
    if path is not None:
        buf = io.BytesIO()
        np.save(buf, arr)
        textio.atomic_write(path, buf.getvalue())
    return arr


def topk_scores(emb: np.ndarray, profile: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean of the k best cosines, indices of the 3 nearest, their cosines) per row of emb."""
    sims = emb @ profile.T
    k = max(1, min(k, profile.shape[0]))
    part = np.partition(-sims, k - 1, axis=1)[:, :k]
    scores = (-part).mean(axis=1)
    n3 = min(3, profile.shape[0])
    nearest = np.argsort(-sims, axis=1)[:, :n3]
    return scores, nearest, np.take_along_axis(sims, nearest, axis=1)


def calibrate(pos: np.ndarray, neg: np.ndarray, *, target: str = "f1", min_recall: float = 0.9,
              warn_band: float | None = None) -> dict:
    """Pick the threshold: best F1 (target "f1") or best precision with recall >= min_recall.

    The threshold sits halfway between the chosen score and the next lower score (widest margin
    for the same decisions); precision and recall are measured at that threshold.
    """
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        raise InputError("Cannot calibrate the tone threshold without brand and off-brand emails.",
                         hint="Give the brand at least 3 past emails.")
    all_scores = np.sort(np.concatenate([pos, neg]))
    best = None
    for t in np.unique(pos):
        tp, fp = int((pos >= t).sum()), int((neg >= t).sum())
        precision, recall = tp / (tp + fp), tp / len(pos)
        f1 = 2 * precision * recall / (precision + recall)
        if target == "recall":
            if recall < min_recall:
                continue
            key = (precision, recall)
        else:
            key = (f1, precision)
        if best is None or key > best[0]:
            best = (key, t, precision, recall, f1)
    if best is None:  # no threshold reaches the recall floor: take the lowest brand score
        t = float(pos.min())
        tp, fp = len(pos), int((neg >= t).sum())
        best = ((0, 0), t, tp / (tp + fp), 1.0, 2 * tp / (2 * tp + fp))
    _, t, precision, recall, f1 = best
    below = all_scores[all_scores < t]
    threshold = float((t + below[-1]) / 2) if len(below) else float(t)
    if warn_band is None:  # down to the lowest unseen brand email, at most 0.1 below
        warn_band = float(np.clip(threshold - pos.min(), 0.02, 0.1))
    warn_threshold = threshold - warn_band
    return {
        "threshold": round(threshold, 4), "warn_threshold": round(warn_threshold, 4),
        "precision": round(float(precision), 4), "recall": round(float(recall), 4),
        "f1": round(float(f1), 4), "target": target, "min_recall": min_recall,
        "n_positive": int(len(pos)), "n_negative": int(len(neg)),
        "negatives_in_warn_band": int(((neg >= warn_threshold) & (neg < threshold)).sum()),
        "positive_mean": round(float(pos.mean()), 4), "negative_mean": round(float(neg.mean()), 4),
    }


@dataclass
class ToneProfile:
    """A brand's embedded emails and its calibrated threshold."""

    brand: str
    embedder: str
    data_hash: str
    labels: list[str]
    embeddings: np.ndarray
    k: int
    calibration: dict = field(default_factory=dict)
    path: str = ""

    @property
    def threshold(self) -> float:
        """Score at or above which a draft passes."""
        return float(self.calibration["threshold"])

    @property
    def warn_threshold(self) -> float:
        """Score below which a draft fails (between the two it warns)."""
        return float(self.calibration["warn_threshold"])

    def results(self, draft_embeddings: np.ndarray) -> list[CheckResult]:
        """One tone result per draft embedding."""
        if len(draft_embeddings) == 0:
            return []
        scores, nearest, sims = topk_scores(draft_embeddings, self.embeddings, self.k)
        out = []
        for score, idx, sim in zip(scores, nearest, sims, strict=True):
            score = round(float(score), 4)
            near = [{"email": self.labels[i], "similarity": round(float(s), 3)}
                    for i, s in zip(idx, sim, strict=True)]
            details = {"threshold": self.threshold, "warn_threshold": self.warn_threshold,
                       "k": self.k, "nearest": near, "embedder": self.embedder,
                       "precision": self.calibration.get("precision"),
                       "recall": self.calibration.get("recall")}
            closest = "; ".join(f"“{n['email']}” ({n['similarity']:.2f})" for n in near)
            if score >= self.threshold:
                status, msg = "pass", f"Sounds like {self.brand} (tone {score:.2f}, passes at " \
                                      f"{self.threshold:.2f}). Closest past emails: {closest}."
            elif score >= self.warn_threshold:
                status, msg = "warn", f"Borderline {self.brand} tone ({score:.2f}; passes at " \
                                      f"{self.threshold:.2f}). Compare with: {closest}."
            else:
                status, msg = "fail", f"Does not sound like {self.brand} (tone {score:.2f}; " \
                                      f"passes at {self.threshold:.2f}). Compare with: {closest}."
            out.append(CheckResult("tone", "similarity", status, msg, score=score, details=details))
        return out


def _label(e) -> str:
    subject, _ = _sb(e)
    src = e.get("source") if isinstance(e, dict) else getattr(e, "source", "")
    return subject[:80] + (f" [{src}]" if src else "")


def build_profile(brand: str, train, heldout, negatives, embedder, *, cache_dir: Path | None,
                  k: int = 5, target: str = "f1", min_recall: float = 0.9,
                  warn_band: float | None = None) -> ToneProfile:
    """Embed the brand's emails (cached), score held-out and off-brand emails, calibrate."""
    train, heldout = list(train), list(heldout or [])
    if len(train) < 3:
        raise InputError(f"The tone profile of {brand} needs at least 3 past emails "
                         f"(got {len(train)}).", hint="Train on (or pass) more of the brand's emails.")
    t_texts, h_texts, n_texts = texts_of(train), texts_of(heldout), texts_of(negatives)
    data_hash = hash_texts(t_texts)
    profile = embed_cached(embedder, t_texts, cache_dir)
    neg = embed_cached(embedder, n_texts, cache_dir)
    neg_scores = topk_scores(neg, profile, k)[0] if len(n_texts) else np.zeros(0)
    method = "held-out"
    pos_scores = topk_scores(embed_cached(embedder, h_texts, cache_dir), profile, k)[0] \
        if h_texts else np.zeros(0)
    if len(pos_scores) < 5:
        # Too few held-out emails: add leave-one-out scores of the training emails (each scored
        # against the profile without itself), which the profile has not seen either.
        sims = profile @ profile.T
        np.fill_diagonal(sims, -np.inf)
        kk = max(1, min(k, len(train) - 1))
        loo = (-np.partition(-sims, kk - 1, axis=1)[:, :kk]).mean(axis=1)
        pos_scores = np.concatenate([pos_scores, loo])
        method = "held-out + leave-one-out" if h_texts else "leave-one-out"
    cal = calibrate(pos_scores, neg_scores, target=target, min_recall=min_recall, warn_band=warn_band)
    cal.update({"method": method, "k": k, "data_hash": data_hash,
                "negatives_hash": hash_texts(n_texts), "n_profile": len(train)})
    return ToneProfile(brand=brand, embedder=embedder_id(embedder), data_hash=data_hash,
                       labels=[_label(e) for e in train], embeddings=profile, k=k, calibration=cal,
                       path=str(cache_path(embedder, t_texts, cache_dir)) if cache_dir else "")


def load_offbrand(guardrails_dir: Path) -> list[dict]:
    """The generic off-brand sample emails shipped in guardrails/offbrand_samples.jsonl."""
    path = Path(guardrails_dir) / "offbrand_samples.jsonl"
    if not path.is_file():
        return []
    out = []
    hint = "One JSON object per line with subject and body."
    for i, rec in textio.read_jsonl(path, what="Off-brand samples", hint=hint):
        if not rec.get("body"):
            raise InputError(f"{path} line {i} needs a 'body'.", hint="Add subject and body fields.")
        out.append({"subject": rec.get("subject", ""), "body": rec["body"],
                    "source": f"{path.name}:line {i}"})
    return out
