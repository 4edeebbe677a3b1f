"""Past emails -> validated, cleaned, selected and split training records (the corpus)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from brandvoice.corpus_clean import (
    clean_emails,
    decode_bytes,
    field_limit,
    line_ranges,
    near_duplicates_of,
    parse_count,
    parse_rate,
    performance_score,
    wilson_lower_bound,
)
from brandvoice.errors import ConfigError, InputError

METRICS = {"open_rate": "opens", "click_rate": "clicks", "reply_rate": "replies",
           "conversion_rate": "conversions"}
MODES = ("top", "weight", "all")
COUNTS = ("sends", "opens", "clicks", "replies", "conversions")
TEXTS = ("brand", "campaign", "segment", "audience", "sent_at")
REQUIRED = ("subject", "body")
KNOWN = REQUIRED + TEXTS + COUNTS + tuple(METRICS)
ALIASES = {"subject_line": "subject", "email_subject": "subject", "title": "subject",
           "email_body": "body", "body_text": "body", "text": "body", "content": "body",
           "html_body": "body", "date": "sent_at", "send_date": "sent_at", "sent_date": "sent_at",
           "campaign_type": "campaign", "use_case": "campaign", "recipients": "sends",
           "delivered": "sends", "unique_opens": "opens", "unique_clicks": "clicks",
           "open": "opens", "click": "clicks", "reply": "replies", "conversion": "conversions"}
MAX_CELL_CHARS = 100_000      # no real email needs more; larger cells are junk or a broken quote
MAX_FILE_BYTES = 200_000_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HINT_FORMAT = ("Save the file as CSV (UTF-8) or JSONL with at least the columns subject and body; "
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
    source: str = ""             # "file.csv:line 12" or "draft:123"
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
            raise InputError("An email record needs 'subject' and 'body'.", hint=_HINT_FORMAT)
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


def brand_key(brand: str | None) -> str:
    """Brand identity for matching: 'Bright Bean', 'bright-bean', 'brightbean' are one brand."""
    return re.sub(r"[^a-z0-9]", "", (brand or "").lower())


# --- loading -----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    emails: list[Email]
    problems: list[str]
    info: dict


def load_emails(path: str | Path, *, brand: str | None = None) -> tuple[list[Email], list[str]]:
    """Read past emails from CSV or JSONL; returns (emails, problems like 'line 7: body is empty')."""
    result = read_emails(path, brand=brand)
    return result.emails, result.problems


def read_emails(path: str | Path, *, brand: str | None = None) -> LoadResult:
    """load_emails with the details (format, encoding, delimiter, columns, other brands)."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InputError(f"Email file not found: {path}", hint="Check the path and file name.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"{name} is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES // 10**6} MB.",
                         hint="Split the file, or keep only the columns brandvoice uses.")
    text, encoding = decode_bytes(name, path.read_bytes(), hint=_HINT_FORMAT)
    is_json = path.suffix.lower() in (".jsonl", ".ndjson", ".json") or (
        path.suffix.lower() not in (".csv", ".tsv", ".txt") and text.lstrip()[:1] in "{[")
    info: dict[str, Any] = {"file": name, "encoding": encoding}
    if is_json:
        records, problems = _json_records(name, text, info)
    else:
        records, problems = _csv_records(name, text, info)
    info["rows_read"] = len(records) + len(problems)
    emails: list[Email] = []
    others: dict[str, list[int]] = defaultdict(list)
    unit = info.get("unit", "line")
    for line, rec in records:
        email, reasons = _to_email(rec, f"{name}:{unit} {line}", brand)
        if reasons:
            problems.append(f"{unit} {line}: " + "; ".join(reasons))
        elif brand and email.brand and brand_key(email.brand) != brand_key(brand):
            others[email.brand].append(line)
        else:
            emails.append(email)
    problems.sort(key=lambda p: int(re.match(r"\D*(\d+)", p).group(1)))
    info["other_brands"] = {b: len(lines) for b, lines in others.items()}
    for other, lines in others.items():  # reported, not errors: a shared file holds many brands
        rows = f"{len(lines)} rows (lines" if len(lines) > 1 else "1 row (line"
        problems.append(f"{rows} {line_ranges(lines)}) for brand {other!r}, not {brand!r}: skipped")
    if not emails:
        if others:
            raise InputError(f"{name} has no emails for brand {brand!r}.", problems=problems,
                             hint="Brands in the file: " + ", ".join(
                                 f"{b} ({len(n)})" for b, n in others.items()) + ".")
        raise InputError(f"{name}: no usable emails; all {info['rows_read']} rows were rejected.",
                         problems=problems, hint="Fix the rows listed above. " + _HINT_FORMAT)
    info["rows_loaded"] = len(emails)
    return LoadResult(emails, problems, info)


def _column(name: str) -> str:
    key = re.sub(r"[\s\-.]+", "_", name.replace("\ufeff", "").strip().lower())
    return ALIASES.get(key, key)


def _pick_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most known column names."""
    best, best_score = ",", (-1, -1)
    for d in (",", ";", "\t", "|"):
        cols = next(csv.reader([header_line], delimiter=d))
        score = (sum(_column(c) in KNOWN for c in cols), len(cols))
        if score > best_score:
            best, best_score = d, score
    return best


def _check_columns(name: str, cols: list[str], shown: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputError(
            f"{name}: missing required column(s): {', '.join(missing)}. Found columns: "
            f"{', '.join(shown) or '(none)'}. Required: {', '.join(REQUIRED)}.",
            hint="Rename your columns (header row) or export again. " + _HINT_FORMAT)


def _csv_records(name: str, text: str, info: dict) -> tuple[list[tuple[int, dict]], list[str]]:
    header_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delim = _pick_delimiter(header_line)
    info.update(format="csv", delimiter={"\t": "tab"}.get(delim, delim))
    problems: list[str] = []
    records: list[tuple[int, dict]] = []
    with field_limit(len(text) + 1):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        header: list[str] = []
        for header in reader:
            if any(c.strip() for c in header):
                break
        raw_cols = [c.strip() for c in header]
        cols = [_column(c) for c in raw_cols]
        dupes = [c for c, n in Counter(c for c in cols if c).items() if n > 1]
        if dupes:
            raise InputError(f"{name}: column {dupes[0]!r} appears more than once in the header.",
                             hint="Keep one column per field.")
        _check_columns(name, cols, raw_cols)
        info["columns"] = [c for c in cols if c in KNOWN]
        info["ignored_columns"] = [r for r, c in zip(raw_cols, cols, strict=True) if c not in KNOWN]
        prev = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                problems.append(f"line {prev + 1}: unreadable CSV ({exc})")
                prev = reader.line_num
                continue
            start, prev = prev + 1, reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(cols):
                extra = " (an unquoted delimiter or quote inside a cell?)" if len(row) > len(cols) else ""
                span = f" (record spans lines {start}-{prev})" if prev - start > 50 else ""
                problems.append(f"line {start}: {len(row)} fields but the header has "
                                f"{len(cols)}{extra}{span}")
                continue
            records.append((start, {c: v for c, v in zip(cols, row, strict=True) if c in KNOWN}))
    if not records and not problems:
        raise InputError(f"{name} has a header row but no email rows.", hint=_HINT_FORMAT)
    return records, problems


def _json_records(name: str, text: str, info: dict) -> tuple[list[tuple[int, dict]], list[str]]:
    info["format"] = "jsonl"
    problems: list[str] = []
    items: list[tuple[int, Any]] = []
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array file; rows are numbered as items
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg}).",
                             hint="Use one JSON object per line (JSONL).") from exc
        info.update(format="json", unit="item")
        if not isinstance(data, list):
            raise InputError(f"{name}: expected a list of email objects.", hint=_HINT_FORMAT)
        items = list(enumerate(data, 1))
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(f"line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
    records = []
    for n, d in items:
        if not isinstance(d, dict):
            problems.append(f"{info.get('unit', 'line')} {n}: expected a JSON object, got "
                            f"{type(d).__name__}")
            continue
        records.append((n, {_column(str(k)): v for k, v in d.items()}))
    if not records and not problems:
        raise InputError(f"{name} contains no email records.", hint=_HINT_FORMAT)
    found = sorted({k for _, r in records for k in r})
    if records and not any(all(c in r for c in REQUIRED) for _, r in records):
        _check_columns(name, found, found)
    info["columns"] = [c for c in found if c in KNOWN]
    info["ignored_columns"] = [c for c in found if c not in KNOWN]
    return records, problems


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _to_email(rec: dict, source: str, brand: str | None) -> tuple[Email | None, list[str]]:
    """One record -> Email, or the reasons it cannot be used."""
    reasons: list[str] = []
    values: dict[str, Any] = {}
    for key in ("subject", "body", *TEXTS):
        v = rec.get(key)
        if isinstance(v, (dict, list)):
            reasons.append(f"{key} is not text")
            continue
        s = "" if v is None else str(v)
        if len(s) > MAX_CELL_CHARS:
            reasons.append(f"{key} is {len(s):,} characters (limit {MAX_CELL_CHARS:,}; an unclosed "
                           "quote may have swallowed the following rows)")
            continue
        if _CONTROL.search(s):
            bad = ord(_CONTROL.search(s).group(0))
            reasons.append(f"{key} contains binary data (control byte 0x{bad:02x})")
            continue
        values[key] = s.strip() if key != "body" else s.strip("\n\r ")
    for key in REQUIRED:
        if key in values and not values[key].strip():
            reasons.append(f"{key} is empty")
    for key in COUNTS:
        if _blank(rec.get(key)):
            values[key] = None
            continue
        try:
            values[key] = parse_count(rec[key])
            if values[key] < 0:
                raise ValueError
        except (ValueError, OverflowError):
            reasons.append(f"{key} {str(rec[key])[:40]!r} is not a whole number")
    rates: dict[str, float] = {}
    for metric in METRICS:
        if not _blank(rec.get(metric)):
            try:
                rates[metric] = parse_rate(rec[metric])
            except (ValueError, TypeError):
                reasons.append(f"{metric} {str(rec[metric])[:40]!r} is not a rate (use 12.5% or 0.125)")
    if reasons:
        return None, reasons
    sends = values.get("sends")
    for metric, rate in list(rates.items()):
        count = METRICS[metric]
        if values.get(count) is None and sends is not None:
            values[count] = round(rate * sends)  # counts win over rates; rates fill the gaps
            del rates[metric]
        elif values.get(count) is not None:
            del rates[metric]
    if sends is not None:
        for key in COUNTS[1:]:
            if values.get(key) is not None and values[key] > sends:
                reasons.append(f"{key} ({values[key]:,}) > sends ({sends:,})")
    if reasons:
        return None, reasons
    for key in TEXTS:
        values[key] = values.get(key) or None
    values["brand"] = values["brand"] or brand
    return Email(**values, source=source, rates=rates), []


# --- cleaning, selection, split ----------------------------------------------------------------


def clean(emails: list[Email], *, metric: str = "click_rate", near_threshold: float = 92.0,
          min_sends: int = 100) -> tuple[list[Email], dict]:
    """HTML->text, tracking links, quoted replies, footers, whitespace; dedupe exact+near."""
    return clean_emails(emails, metric=normalize_metric(metric), near_threshold=near_threshold,
                        min_sends=min_sends)


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
    excluded = {"low_sends": _sources(low_sends), "no_metric": _sources(no_metric)}
    counts = {"input": n, "no_metric": len(no_metric), "low_sends": len(low_sends),
              "eligible": len(scored), "below_threshold": 0, "selected": 0}
    result = {"rule": rule, "threshold": None, "counts": counts, "excluded": excluded,
              "explanation": lines}
    if not scored:
        lines.append("No email is eligible, so none was selected.")
        return [], result
    ranked = sorted(s.score for s in scored)
    rates = [e.rate(metric) for e in scored]
    # Campaign types have very different base rates (a trial-ending email out-clicks a newsletter
    # whatever its copy), so by default each campaign is ranked against its own peers; groups too
    # small to rank (< MIN_GROUP eligible emails) use the overall ranking instead.
    groups: dict[str, list[float]] = defaultdict(list)
    for e in scored:
        groups[_group(e, per_campaign)].append(e.score)
    small = {g for g, v in groups.items() if len(v) < MIN_GROUP}
    peers = {g: sorted(v) for g, v in groups.items() if g not in small}
    by_group = "per campaign" if per_campaign else "over all campaigns"
    if mode == "top":
        overall = _quantile(ranked, quantile)
        cut = {g: _quantile(v, quantile) for g, v in peers.items()}
        cut.update(dict.fromkeys(small, overall))
        selected = [e for e in scored if e.score >= cut[_group(e, per_campaign)] - 1e-12]
        below = [e for e in scored if e.score < cut[_group(e, per_campaign)] - 1e-12]
        excluded["below_threshold"] = _sources(below)
        sel_rates = [e.rate(metric) for e in selected]
        result["threshold"] = round(overall, 6)
        if per_campaign:
            result["thresholds"] = {g or "(none)": round(v, 6) for g, v in sorted(cut.items())}
        counts["below_threshold"] = len(below)
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
    else:
        pool = {g: peers.get(g, ranked) for g in groups}
        selected = []
        for e in scored:  # percentile rank among peers; ties share their average rank
            values = pool[_group(e, per_campaign)]
            pos = [k for k, v in enumerate(values) if v == e.score]
            pct = (sum(pos) / len(pos) / (len(values) - 1)) if len(values) > 1 else 0.5
            selected.append(replace(e, weight=round(e.weight * (0.5 + pct), 4)))
        lines.append(f"All {len(scored)} eligible emails kept; weight = 0.5 + percentile rank of the "
                     f"score {by_group} (0.5 for the weakest, 1.5 for the strongest, 1.0 on average).")
    counts["selected"] = len(selected)
    result["rates"] = {"eligible_mean": round(sum(rates) / len(rates), 6),
                       "selected_mean": round(sum(e.rate(metric) for e in selected) / len(selected), 6)}
    return selected, result


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


def data_hash(train: list[Email], test: list[Email], rule: dict) -> str:
    """sha256 over the canonical JSON of the train+test emails (without file paths) and the rule."""
    def canon(e: Email) -> dict:
        d = e.to_dict()
        d.pop("source", None)
        return d
    payload = {"rule": rule, "train": [canon(e) for e in train], "test": [canon(e) for e in test]}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def prepare(path: str | Path, *, brand: str, metric: str = "click_rate", quantile: float = 0.5,
            min_sends: int = 100, mode: str = "top", test_fraction: float = 0.15, seed: int = 0,
            extra: list[Email] | None = None, per_campaign: bool = True) -> Corpus:
    """Load, clean, select and split a brand's past emails; `extra` (reviewed drafts) joins train."""
    if not brand or not brand_key(brand):
        raise ConfigError("A brand name is required to prepare a corpus.", hint="Pass --brand NAME.")
    rule = check_rule(metric=metric, quantile=quantile, min_sends=min_sends, mode=mode,
                      test_fraction=test_fraction)
    loaded = read_emails(path, brand=brand)
    cleaned, cleaning = clean(loaded.emails, metric=rule["metric"], min_sends=min_sends)
    name = Path(path).name
    if not cleaned:
        raise InputError(f"{name}: no emails left after cleaning.",
                         problems=[f"{d['source']}: {d['reason']}" for d in cleaning["dropped"]],
                         hint="The bodies were only quoted text, links or footers.")
    selected, selection = select(cleaned, metric=rule["metric"], quantile=quantile,
                                 min_sends=min_sends, mode=mode, per_campaign=per_campaign)
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
    report = {**loaded.info, "rows_rejected": sum(p.startswith(("line ", "item ")) for p in loaded.problems),
              "problems": loaded.problems, "cleaning": cleaning,
              "split": {"train": len(train), "test": len(test), "test_fraction": test_fraction,
                        "seed": seed}, "extra": extra_report}
    return Corpus(brand=brand, train=train, test=test, selection=selection, report=report,
                  data_hash=data_hash(train, test, rule_full))


__all__ = ["Corpus", "Email", "LoadResult", "METRICS", "clean", "data_hash", "load_emails",
           "normalize_metric", "performance_score", "prepare", "read_emails", "select", "split",
           "wilson_lower_bound"]
