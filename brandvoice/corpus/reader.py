"""Reading past emails: decoding, CSV/JSONL parsing and row validation into Email records."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brandvoice.corpus.records import (
    COUNTS,
    HINT_FORMAT,
    KNOWN,
    METRICS,
    REQUIRED,
    TEXTS,
    Email,
    brand_key,
)
from brandvoice.errors import InputError

ALIASES = {"subject_line": "subject", "email_subject": "subject", "title": "subject",
           "email_body": "body", "body_text": "body", "text": "body", "content": "body",
           "html_body": "body", "date": "sent_at", "send_date": "sent_at", "sent_date": "sent_at",
           "campaign_type": "campaign", "use_case": "campaign", "recipients": "sends",
           "delivered": "sends", "unique_opens": "opens", "unique_clicks": "clicks",
           "open": "opens", "click": "clicks", "reply": "replies", "conversion": "conversions"}
MAX_CELL_CHARS = 100_000      # no real email needs more; larger cells are junk or a broken quote
MAX_FILE_BYTES = 200_000_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --- raw input ---------------------------------------------------------------------------------


def decode_bytes(name: str, raw: bytes, *, hint: str = "") -> tuple[str, str]:
    """Bytes -> text: UTF-8 (BOM or not) first, then Windows-1252 for the lines that need it."""
    if not raw.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InputError(f"{name} is empty.", hint=hint or None)
    if raw[:4] == b"PK\x03\x04" or raw[:4] == b"\xd0\xcf\x11\xe0":
        raise InputError(f"{name} is a spreadsheet/ZIP file, not CSV or JSONL.",
                         hint="In your spreadsheet app use 'Save as' -> 'CSV UTF-8'.")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise InputError(f"{name} starts with a UTF-16 mark but is not valid UTF-16 ({exc}).",
                             hint="Re-save the file as CSV UTF-8.") from exc
    head = raw[:8192]
    junk = sum(b < 9 or 13 < b < 32 for b in head)
    if junk > max(8, len(head) // 20):
        raise InputError(f"{name} looks like a binary file, not text ({junk} control bytes in the "
                         "first 8 KB).", hint=hint or None)
    bom = raw.startswith(b"\xef\xbb\xbf")
    body = raw[3:] if bom else raw
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    # Not valid UTF-8 as a whole: decode line by line, so one pasted cp1252 row in a UTF-8 file
    # does not turn every other accented character into mojibake.
    out, legacy = [], []
    for n, line in enumerate(body.split(b"\n"), 1):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                out.append(line.decode("cp1252"))
                legacy.append(n)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{name} line {n}: byte 0x{line[exc.start]:02x} is neither UTF-8 nor "
                    "Windows-1252 text.", hint="Re-save the file as CSV UTF-8.") from exc
    non_ascii = sum(1 for line in out if not line.isascii())
    enc = "windows-1252" if len(legacy) == non_ascii else f"utf-8 + windows-1252 (lines {line_ranges(legacy)})"
    return "\n".join(out), enc


@contextlib.contextmanager
def field_limit(limit: int):
    """Temporarily raise csv.field_size_limit to `limit`."""
    # csv's default limit (128 KiB) would abort the whole file on one huge cell; we lift it to the
    # file size so parsing never stops mid-file, and enforce MAX_CELL_CHARS per row ourselves.
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def parse_count(value: Any) -> int:
    """A whole number from 1200, "1,200", "1 200" or "1200.0"; ValueError otherwise."""
    if value is None or isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != int(value):
            raise ValueError
        return int(value)
    s = str(value).strip().replace("_", "").replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"\d{1,3}(,\d{3})+", s):
        s = s.replace(",", "")
    f = float(s)  # "1200.0" is fine, "12.5" is not a count
    if f != int(f):
        raise ValueError
    return int(f)


def parse_rate(value: Any) -> float:
    """A rate in [0, 1] from "12.5%", 12.5 or 0.125; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError
    s = str(value).strip().replace(",", ".") if not isinstance(value, (int, float)) else value
    pct = isinstance(s, str) and s.endswith("%")
    f = float(s.rstrip("%").strip()) if isinstance(s, str) else float(s)
    if pct or f > 1:  # 12.5% or 12.5 -> 0.125; 0.125 stays
        f /= 100
    if not 0 <= f <= 1:
        raise ValueError
    return f


def line_ranges(lines: list[int]) -> str:
    """[2, 3, 4, 9] -> '2-4, 9' (shortened after a few ranges)."""
    spans: list[list[int]] = []
    for n in sorted(lines):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    parts = [f"{a}-{b}" if a != b else str(a) for a, b in spans]
    return ", ".join(parts[:6]) + (f", ... ({len(parts) - 6} more)" if len(parts) > 6 else "")


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
    text, encoding = decode_bytes(name, path.read_bytes(), hint=HINT_FORMAT)
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
                         problems=problems, hint="Fix the rows listed above. " + HINT_FORMAT)
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
            hint="Rename your columns (header row) or export again. " + HINT_FORMAT)


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
        raise InputError(f"{name} has a header row but no email rows.", hint=HINT_FORMAT)
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
            raise InputError(f"{name}: expected a list of email objects.", hint=HINT_FORMAT)
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
        raise InputError(f"{name} contains no email records.", hint=HINT_FORMAT)
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

