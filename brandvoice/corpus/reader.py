"""Reading past emails: CSV/JSONL rows (through the one reader, textio) validated into Email records."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brandvoice import textio
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


# --- values ------------------------------------------------------------------------------------


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


# --- loading -----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    emails: list[Email]
    problems: list[str]
    info: dict


def load_emails(path: str | Path, *, brand: str | None = None,
                rows_of: str | None = None) -> tuple[list[Email], list[str]]:
    """Read past emails from CSV or JSONL; returns (emails, problems like 'row 7: body is empty')."""
    result = read_emails(path, brand=brand, rows_of=rows_of)
    return result.emails, result.problems


def file_brands(path: str | Path) -> dict[str, int]:
    """The brand column's values in a past-emails file and their row counts ({} without one)."""
    table = textio.open_table(path, what="Email file", known=(*KNOWN, *ALIASES), item="email rows",
                              max_cell=MAX_CELL_CHARS, max_bytes=MAX_FILE_BYTES, hint=HINT_FORMAT)
    records, _ = (_csv_records if table.format == "csv" else _json_records)(table, {})
    names: dict[str, str] = {}
    counts: Counter = Counter()
    for _, rec in records:
        value = str(rec.get("brand") or "").strip()
        if value and brand_key(value):
            key = brand_key(value)
            names.setdefault(key, value)
            counts[key] += 1
    return {names[k]: n for k, n in counts.most_common()}


def read_emails(path: str | Path, *, brand: str | None = None,
                rows_of: str | None = None) -> LoadResult:
    """load_emails with the details (format, encoding, delimiter, columns, other brands).

    `brand` is the name the marketer gives the brand, any characters. The rows read are those of
    `rows_of` (a value of the file's brand column) when given; else those whose brand column names
    `brand`; else, when the file names one brand only (or has no brand column), every row. The
    rows read are the brand's under the name typed (info["renamed"] records the file's name)."""
    table = textio.open_table(path, what="Email file", known=(*KNOWN, *ALIASES), item="email rows",
                              max_cell=MAX_CELL_CHARS, max_bytes=MAX_FILE_BYTES, hint=HINT_FORMAT)
    name, unit = table.name, table.unit
    info: dict[str, Any] = {"file": name, "encoding": table.encoding_label, "unit": unit}
    if table.format == "csv":
        records, problems = _csv_records(table, info)
    else:
        records, problems = _json_records(table, info)
    info["rows_read"] = len(records) + len(problems)
    wanted = _wanted_rows(records, brand, rows_of, info)
    emails: list[Email] = []
    others: dict[str, list[int]] = defaultdict(list)
    for n, rec in records:
        email, reasons = _to_email(rec, f"{name}:{unit} {n}", brand)
        if reasons:
            problems.append(f"{unit} {n}: " + "; ".join(reasons))
        elif wanted and email.brand and brand_key(email.brand) != wanted:
            others[email.brand].append(n)
        else:
            if brand:
                email.brand = brand  # the name the marketer gave the brand
            emails.append(email)
    problems.sort(key=lambda p: int(re.match(r"\D*(\d+)", p).group(1)))
    info["rows_rejected"] = len(problems)  # one problem per rejected row; other brands follow
    info["other_brands"] = {b: len(ns) for b, ns in others.items()}
    for other, ns in others.items():  # reported, not errors: a shared file holds many brands
        rows = f"{len(ns)} rows ({unit}s" if len(ns) > 1 else f"1 row ({unit}"
        problems.append(f"{rows} {textio.line_ranges(ns)}) for brand {other!r}, not {brand!r}: skipped")
    if not emails:
        if others:
            raise InputError(f"{name} has no emails for brand {rows_of or brand!r}.",
                             problems=problems, hint="Choose whose rows to read; brands in the "
                             "file: " + ", ".join(f"{b} ({len(n)})" for b, n in others.items()) + ".")
        raise InputError(f"{name}: no usable emails; all {info['rows_read']} rows were rejected.",
                         problems=problems, hint="Fix the rows listed above. " + HINT_FORMAT)
    info["rows_loaded"] = len(emails)
    return LoadResult(emails, problems, info)


def _wanted_rows(records: list[tuple[int, dict]], brand: str | None, rows_of: str | None,
                 info: dict) -> str | None:
    """The brand key whose rows are read (None: every row), and what was decided in `info`."""
    values: dict[str, str] = {}
    for _, rec in records:
        value = str(rec.get("brand") or "").strip()
        if value and brand_key(value):
            values.setdefault(brand_key(value), value)
    info["file_brands"] = list(values.values())
    if rows_of and brand_key(rows_of):
        wanted = brand_key(rows_of)
    elif brand and brand_key(brand) in values:
        wanted = brand_key(brand)
    elif len(values) == 1:
        wanted = None  # one brand in the file: every row is the brand's, under the name typed
    elif not values:
        return None
    else:
        return brand_key(brand) if brand else None  # several: the caller must choose
    if brand and wanted in values and brand_key(brand) != wanted:
        info["renamed"] = {"from": values[wanted], "to": brand}
    elif brand and wanted is None and brand_key(brand) not in values:
        info["renamed"] = {"from": next(iter(values.values())), "to": brand}
    return wanted


def _column(name: str) -> str:
    key = re.sub(r"[\s\-.]+", "_", name.replace("\ufeff", "").strip().lower())
    return ALIASES.get(key, key)


def _check_columns(name: str, cols: list[str], shown: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise InputError(
            f"{name}: missing required column(s): {', '.join(missing)}. Found columns: "
            f"{', '.join(shown) or '(none)'}. Required: {', '.join(REQUIRED)}.",
            hint="Rename your columns (header row) or export again. " + HINT_FORMAT)


def _csv_records(table: textio.Table, info: dict) -> tuple[list[tuple[int, dict]], list[str]]:
    name = table.name
    info.update(format="csv", delimiter={"\t": "tab"}.get(table.delimiter, table.delimiter))
    raw_cols = table.header
    cols = [_column(c) for c in raw_cols]
    dupes = [c for c, n in Counter(c for c in cols if c in KNOWN).items() if n > 1]
    if dupes:  # two names for one field ("subject" and "title"): which one to read is unclear
        both = [r for r, c in zip(raw_cols, cols, strict=True) if c == dupes[0]]
        raise InputError(f"{name}: column {dupes[0]!r} appears more than once in the header "
                         f"(row {table.header_row}: {', '.join(both)}).",
                         hint="Keep one column per field.")
    _check_columns(name, cols, raw_cols)
    info["columns"] = [c for c in cols if c in KNOWN]
    info["ignored_columns"] = [r for r, c in zip(raw_cols, cols, strict=True) if c not in KNOWN]
    problems: list[str] = []
    records: list[tuple[int, dict]] = []
    width = len(cols)
    for row, cells in table.rows():
        if len(cells) != width:
            extra = " (an unquoted delimiter or quote inside a cell?)" if len(cells) > width else ""
            start, end = table.span
            span = f" (the row spans lines {start}-{end})" if end - start > 50 else ""
            problems.append(f"row {row}: {len(cells)} fields but the header has {width}{extra}{span}")
            continue
        records.append((row, {c: v for c, v in zip(cols, cells, strict=True) if c in KNOWN}))
    return records, problems + table.problems


def _json_records(table: textio.Table, info: dict) -> tuple[list[tuple[int, dict]], list[str]]:
    info["format"] = table.format if table.format == "json" else "jsonl"
    records = [(n, {_column(str(k)): v for k, v in d.items()}) for n, d in table.records()]
    found = sorted({k for _, r in records for k in r})
    if records and not any(all(c in r for c in REQUIRED) for _, r in records):
        _check_columns(table.name, found, found)
    info["columns"] = [c for c in found if c in KNOWN]
    info["ignored_columns"] = [c for c in found if c not in KNOWN]
    return records, list(table.problems)


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _to_email(rec: dict, source: str, brand: str | None) -> tuple[Email | None, list[str]]:
    """One record -> Email, or the reasons it cannot be used."""
    reasons: list[str] = []
    values: dict[str, Any] = {}
    for key in ("subject", "body", *TEXTS):  # too long or nested values never get here (textio)
        v = rec.get(key)
        s = "" if v is None else str(v)
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

