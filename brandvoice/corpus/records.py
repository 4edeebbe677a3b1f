"""The corpus record types: Email, Corpus, the past-email columns and metric names."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from brandvoice.errors import ConfigError, InputError
from brandvoice.textio import compact_key

METRICS = {"open_rate": "opens", "click_rate": "clicks", "reply_rate": "replies",
           "conversion_rate": "conversions"}
COUNTS = ("sends", "opens", "clicks", "replies", "conversions")
TEXTS = ("brand", "campaign", "segment", "audience", "sent_at")
REQUIRED = ("subject", "body")
KNOWN = REQUIRED + TEXTS + COUNTS + tuple(METRICS)
HINT_FORMAT = ("Save the file as CSV (UTF-8) or JSONL with at least the columns subject and body; "
               "optional: " + ", ".join(TEXTS + COUNTS + tuple(METRICS)) + ".")


@dataclass
class Email:
    """One past email (or reviewed draft) with its metadata and performance counts."""

    subject: str
    body: str
    brand: str | None = None
    campaign: str | None = None
    segment: str | None = None
    audience: str | None = None
    sent_at: str | None = None
    sends: int | None = None
    opens: int | None = None
    clicks: int | None = None
    replies: int | None = None
    conversions: int | None = None
    weight: float = 1.0          # training weight (performance weighting, reviewed drafts)
    source: str = ""             # "file.csv:row 12" or "draft:123"
    score: float | None = None   # selection score: lower confidence bound of the chosen metric
    rates: dict[str, float] = field(default_factory=dict)  # rates given without send counts

    def rate(self, metric: str) -> float | None:
        """The email's rate for a metric ("open_rate", "click_rate", ...), or None if unknown."""
        metric = normalize_metric(metric)
        count = getattr(self, METRICS[metric])
        if self.sends and count is not None:
            return count / self.sends
        return self.rates.get(metric)

    def to_dict(self) -> dict:
        """A JSON-able dict (the line format of train.jsonl / heldout.jsonl)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Email:
        """Inverse of to_dict; unknown keys are ignored so older/newer files still load."""
        if not isinstance(d, dict) or "subject" not in d or "body" not in d:
            raise InputError("An email record needs 'subject' and 'body'.", hint=HINT_FORMAT)
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Corpus:
    """A brand's cleaned, selected training emails and held-out test split."""

    brand: str
    train: list[Email]
    test: list[Email]
    selection: dict
    report: dict
    data_hash: str


def normalize_metric(metric: str) -> str:
    """'click', 'clicks', 'click_rate' -> 'click_rate'; ConfigError for anything else."""
    m = str(metric).strip().lower().replace("-", "_").replace(" ", "_")
    m = {"open": "open_rate", "opens": "open_rate", "click": "click_rate", "clicks": "click_rate",
         "reply": "reply_rate", "replies": "reply_rate", "conversion": "conversion_rate",
         "conversions": "conversion_rate"}.get(m, m)
    if m not in METRICS:
        raise ConfigError(f"Unknown metric {metric!r}.", hint=f"Use one of: {', '.join(METRICS)}.")
    return m


# Brand identity for matching rows: 'Bright Bean', 'bright-bean', 'brightbean' are one brand.
brand_key = compact_key
