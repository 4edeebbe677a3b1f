"""The one CSV/JSONL reader: past emails, CRM exports, activity logs and drafts to check.

- encoding and binary files: see `decode`;
- the delimiter (comma, semicolon, tab, pipe) is the one that splits the header into the most known
  columns, then into the most columns;
- rows are numbered as a spreadsheet shows them: the header is row 1, a quoted cell over several
  lines is still one row, blank rows are skipped but counted; JSON Lines by line, a JSON array by item;
- a cell over the size limit is a problem of its row and the file goes on; the rows an unclosed
  quote swallowed are named by their lines; a quote still open at the end of the file is an error;
- rows are streamed: memory does not grow with the file (a JSON array is the exception).
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brandvoice.errors import InputError
from brandvoice.textio.decode import detect_encoding, refuse_binary
from brandvoice.textio.names import column_key

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# The csv module's default field limit, which we never change (it is process-global): a longer cell
# is junk or an unclosed quote, and stopping there keeps the damage of a stray quote to one row.
MAX_CELL = 131_072
# A header this wide is not a CRM export or an email file but a broken or hostile one: refused
# before a row is read (each row would become a dict of that many fields).
MAX_COLUMNS = 10_000
_SAMPLE = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SAFE_INT = 2**63  # larger JSON numbers fit no store column


def clean_cell(value: str) -> str:
    """A cell without surrounding whitespace, control characters or NUL bytes."""
    value = value.strip()
    return _CONTROL.sub("", value) if _CONTROL.search(value) else value


# --- the reader ---------------------------------------------------------------------------------


@dataclass
class Table:
    """A CSV or JSON(L) file opened for reading: its format, encoding, delimiter and header.

    `rows()` (CSV) and `records()` (JSON) stream the data; per-row problems collect in `problems`
    as "row 7: ..." ("line 7" for JSON Lines, "item 7" for a JSON array).
    """

    path: Path
    what: str
    format: str
    encoding: str  # the codec the file is read with: utf-8-sig, utf-16, cp1252, ...
    encoding_label: str  # as shown to people: utf-8, windows-1252, utf-8 + windows-1252 (lines 7)
    per_line: bool = False  # UTF-8 with some Windows-1252 lines: decode line by line
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    header_row: int = 1
    known: frozenset[str] = frozenset()
    max_cell: int = MAX_CELL
    item: str = "rows"
    hint: str | None = None
    problems: list[str] = field(default_factory=list)
    span: tuple[int, int] = (0, 0)  # the file lines of the row rows() yielded last
    _twins: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def unit(self) -> str:
        return {"csv": "row", "jsonl": "line"}.get(self.format, "item")

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))

    def lines(self) -> Iterator[str]:
        """The file's text, line by line (line ends kept)."""
        if not self.per_line:
            with open(self.path, encoding=self.encoding, newline="") as fh:
                yield from fh
            return
        with open(self.path, "rb") as fh:
            for n, raw in enumerate(fh):
                if n == 0 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[3:]
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:  # checked when the file was opened: cp1252 reads it
                    yield raw.decode("cp1252")

    def rows(self, *, clean: bool = False) -> Iterator[tuple[int, list[str]]]:
        """Yield (spreadsheet row, cells) per data row; `clean` strips cells of spaces and controls.

        Blank rows are skipped; rows with a cell over the limit go to `problems`; trailing empty
        cells past the header's width (as some spreadsheets write them) are dropped.
        """
        eof = [False]

        def source() -> Iterator[str]:
            yield from self.lines()
            eof[0] = True  # the reader asked past the end: only an open quote does that

        reader = csv.reader(source(), delimiter=self.delimiter)
        width, row, data = len(self.header), 0, 0
        header_row, max_cell = self.header_row, self.max_cell  # locals: this loop runs per row
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row += 1
                self._long_cell(row, start, reader.line_num, None, exc)
                continue
            row += 1
            if row <= header_row:
                continue
            if eof[0] and cells:
                raise InputError(
                    f"{self.what} {self.name} row {row}: a quote opened in this row is never closed, "
                    f"so the row runs to the end of the file (lines {start}-{reader.line_num}).",
                    hint='Close the quote; a quote inside a quoted cell is written twice ("").')
            joined = "".join(cells)
            if not joined.strip():
                continue
            if len(joined) > max_cell and max(map(len, cells)) > max_cell:
                i = max(range(len(cells)), key=lambda k: len(cells[k]))
                self._long_cell(row, start, reader.line_num, (i, len(cells[i])), None)
                continue
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]
            if clean:
                cells = ([clean_cell(c) for c in cells] if _CONTROL.search(joined)
                         else [c.strip() for c in cells])
            self.span = (start, reader.line_num)
            data += 1
            yield row, cells
        if not data and not self.problems:
            raise InputError(f"{self.what} {self.name} has a header row but no {self.item}.",
                             hint=self.hint or "Export the file again, with its rows.")

    def _long_cell(self, row: int, start: int, end: int, cell: tuple[int, int] | None,
                   exc: csv.Error | None) -> None:
        if cell is None and "field larger" not in str(exc):
            self.problems.append(f"row {row}: unreadable ({exc})")
            return
        if cell is None:  # the csv module stopped at its own limit: the length is unknown
            what = "a cell is"
        else:
            label = self.header[cell[0]] if cell[0] < len(self.header) else "a cell"
            what = f"{label} is {cell[1]:,} characters,"
        lines = f"lines {start}-{end}" if end > start else f"line {start}"
        self.problems.append(
            f"row {row}: {what} over the {self.max_cell:,}-character limit ({lines}); shorten it, "
            "or close the quote that runs it into the following rows")

    def records(self) -> Iterator[tuple[int, dict]]:
        """Yield (line or item number, object) per JSON record; nested or huge values are problems."""
        found = False
        if self.format == "json":
            text = "".join(self.lines())
            try:
                data = json.loads(text, parse_int=_json_int, parse_constant=float)
            except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
                where = f" line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
                raise InputError(f"{self.what} {self.name}{where}: not valid JSON ({exc}).",
                                 hint="Use one JSON object per line (JSON Lines).") from exc
            if not isinstance(data, list):
                raise InputError(f"{self.what} {self.name}: expected a list of objects.",
                                 hint=self.hint)
            items: Iterable[tuple[int, Any]] = enumerate(data, 1)
        else:
            items = self._json_lines()
        for n, value in items:
            problem = self._json_problem(value)
            if problem:
                self.problems.append(f"{self.unit} {n}: {problem}")
                continue
            found = True
            yield n, value
        if not found and not self.problems:
            raise InputError(f"{self.what} {self.name} contains no {self.item}.", hint=self.hint)

    def _json_lines(self) -> Iterator[tuple[int, Any]]:
        for n, line in enumerate(self.lines(), 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line, parse_int=_json_int, parse_constant=float)
            except json.JSONDecodeError as exc:
                self.problems.append(f"line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
            except (ValueError, RecursionError) as exc:  # e.g. lists nested thousands deep
                self.problems.append(f"line {n}: not valid JSON ({type(exc).__name__}: {exc})")

    def _json_problem(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"expected a JSON object, got {type(value).__name__}"
        for key, v in value.items():
            if self.known and column_key(key) not in self.known:
                continue  # other keys are not read: whatever they hold does not matter
            if isinstance(v, dict | list):
                kind = "object" if isinstance(v, dict) else "list"
                return f"{key} is a nested JSON {kind}, not a single value"
            if isinstance(v, _HugeInt) or (isinstance(v, float) and not math.isfinite(v)):
                return f"{key} is not a usable number ({str(v)[:24]})"
            if isinstance(v, str) and len(v) > self.max_cell:
                return f"{key} is {len(v):,} characters, over the {self.max_cell:,}-character limit"
        return None

    def require_unique(self, columns: Iterable[str]) -> None:
        """InputError when one of `columns` has a twin in the header (same name, any case or spacing)."""
        for col in columns:
            twins = self._twins.get(column_key(col))
            if twins:
                raise InputError(
                    f"{self.what} {self.name}: column {twins[0]!r} appears {len(twins)} times in the "
                    f"header (row {self.header_row}), so which one to read is unclear.",
                    hint="Rename or delete the extra columns, so that each field has one column.")


class _HugeInt(str):
    """A JSON integer too large for any store column, kept as its digits."""


def _json_int(digits: str) -> int | str:
    value = int(digits) if len(digits) < 25 else None
    return value if value is not None and abs(value) < _SAFE_INT else _HugeInt(digits)


def open_table(path: str | Path, *, what: str = "File", known: Iterable[str] = (),
               unique: Iterable[str] | None = None, formats: tuple[str, ...] = ("csv", "jsonl", "json"),
               max_cell: int = MAX_CELL, max_bytes: int | None = None, item: str = "rows",
               hint: str | None = None) -> Table:
    """Open a CSV or JSON(L) file for reading by the rules above; InputError for a file it cannot read.

    `known`: the column names the caller reads (they pick the delimiter); `unique`: the names that
    must not repeat in the header (default: the known ones); `item`: what a row is ("contacts").
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path} (it does not exist or is not a file).",
                         hint="Check the path (relative paths start from the current folder).")
    size = path.stat().st_size
    if max_bytes and size > max_bytes:
        raise InputError(f"{what} {path.name} is {size / 1e6:.0f} MB; the limit is "
                         f"{max_bytes // 10**6} MB.", hint="Split the file, or keep only the columns used.")
    with open(path, "rb") as fh:
        head = fh.read(_SAMPLE)
    kinds = " or ".join(dict.fromkeys({"csv": "CSV", "jsonl": "JSONL", "json": "JSONL"}[f] for f in formats))
    refuse_binary(path, head, what, kinds, hint)
    codec, label, per_line = detect_encoding(path, head, what)
    table = Table(path, what, "csv", codec, label, per_line, known=frozenset(map(column_key, known)),
                  max_cell=max_cell, item=item, hint=hint)
    first = next((ln for ln in table.lines() if ln.strip()), None)
    if first is None:
        raise InputError(f"{what} {path.name} is empty.",
                         hint=hint or "Export it again with a header row and at least one row.")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json") or (
            suffix not in (".csv", ".tsv", ".txt") and first.lstrip()[:1] in ("{", "[")):
        table.format = "json" if first.lstrip().startswith("[") else "jsonl"
        if table.format not in formats:
            raise InputError(f"{what} {path.name} is JSON; a {kinds} file is read here.",
                             hint=hint or "Save it as CSV with a header row.")
        return table
    table.delimiter = _pick_delimiter(first.rstrip("\r\n"), table.known)
    _read_header(table, table.known if unique is None else frozenset(map(column_key, unique)))
    return table


def _pick_delimiter(header_line: str, known: frozenset[str]) -> str:
    """The delimiter that splits the header into the most known columns, then the most columns."""
    best, best_score = ",", (-1, 1)
    for delim in DELIMITERS:
        try:
            cols = next(csv.reader([header_line], delimiter=delim))
        except (csv.Error, StopIteration):
            continue
        score = (sum(column_key(c) in known for c in cols), len(cols))
        if score > best_score:
            best, best_score = delim, score
    return best


def _read_header(table: Table, unique: frozenset[str]) -> None:
    """The first non-blank row as header labels: blanks become "column N", repeats "Name (2)"."""
    numbered = enumerate(csv.reader(table.lines(), delimiter=table.delimiter), 1)
    try:  # blank rows before the header still count, as in a spreadsheet
        row, raw = next(((n, r) for n, r in numbered if any(c.strip() for c in r)), (0, []))
    except csv.Error as exc:
        raise InputError(f"{table.what} {table.name}: the header row is unreadable ({exc}).",
                         hint="The first row must hold the column names.") from exc
    table.header_row = row
    if len(raw) > MAX_COLUMNS:
        raise InputError(f"{table.what} {table.name}: the header (row {row}) has {len(raw):,} "
                         f"columns; at most {MAX_COLUMNS:,} are read.",
                         hint="Export only the columns you use, or check the delimiter.")
    header = [clean_cell(h).lstrip("\ufeff") for h in raw]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        name = name or f"column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        header[i] = name if seen[name] == 1 else f"{name} ({seen[name]})"
        table._twins.setdefault(column_key(name), []).append(header[i])
    table._twins = {k: v for k, v in table._twins.items() if len(v) > 1}
    table.header = header
    table.require_unique(k for k in unique if k in table._twins)
