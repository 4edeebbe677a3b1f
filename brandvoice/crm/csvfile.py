"""Reading CSV exports as CRM tools write them: encoding, delimiter and junk detection, streamed rows."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from brandvoice.errors import InputError

DELIMITERS = (",", ";", "\t", "|")
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# A CRM cell longer than 128 KiB is junk (the csv module's default limit, which we do not change: it
# is process-global). Checked here too, in case other code has raised the global limit.
FIELD_LIMIT = 131072
_SAMPLE = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or zip archive (.xlsx/.zip); export the sheet as CSV",
    b"%PDF": "a PDF document; export the contacts as CSV",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls); save it as CSV",
    b"\x1f\x8b": "a gzip archive; unpack it first",
    b"SQLite format": "a SQLite database; export the table as CSV",
}


@dataclass
class CsvFile:
    """A CSV file opened for streaming: its detected encoding, delimiter and header."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]
    problems: list[str] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return _DELIM_NAMES.get(self.delimiter, repr(self.delimiter))

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (row number, cells) per data row; blank rows skipped, unparseable ones in `problems`.

        Rows are numbered as a spreadsheet shows them: the header is row 1, and a quoted value that
        spans several lines still counts as one row.
        """
        with open(self.path, encoding=self.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            row = 0
            try:  # skip to the header (already read by open_csv)
                while True:
                    row += 1
                    if any(c.strip() for c in next(reader)):
                        break
            except (StopIteration, csv.Error):
                return
            while True:
                row += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    self.problems.append(
                        f"{self.path.name} row {row} (line {reader.line_num}): unreadable ({exc}); cells "
                        f"are limited to {FIELD_LIMIT} characters, so shorten or remove that value")
                    continue
                joined = "".join(cells)
                if not joined.strip():
                    continue
                if len(joined) > FIELD_LIMIT and max(map(len, cells)) > FIELD_LIMIT:
                    self.problems.append(
                        f"{self.path.name} row {row}: a cell is longer than {FIELD_LIMIT} characters; "
                        "shorten or remove that value")
                    continue
                if _CONTROL.search(joined):  # rare: check the row once, clean cells only when needed
                    yield row, [clean_cell(c) for c in cells]
                else:
                    yield row, [c.strip() for c in cells]


def clean_cell(value: str) -> str:
    """A cell without surrounding whitespace, control characters or NUL bytes."""
    value = value.strip()
    if _CONTROL.search(value):
        value = _CONTROL.sub("", value)
    return value


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    # Decode the whole file incrementally (constant memory) so that a stray Windows-1252 byte on
    # row 90,000 is noticed before any row is used, not half-way through an import.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:  # Excel on Windows writes cp1252; five bytes are undefined there, latin-1 maps every byte.
        with open(path, encoding="cp1252") as fh:
            while fh.read(1 << 20):
                pass
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _check_not_binary(path: Path, head: bytes) -> None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{path.name} is not a CSV file: it looks like {what}.",
                             hint="Export the contacts from your CRM as CSV (comma, semicolon or tab).")
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 13))
    if b"\x00" in head or controls > max(8, len(head) // 100):
        raise InputError(f"{path.name} is not a text CSV file: it contains binary data "
                         f"({controls} control bytes in the first {len(head)} bytes).",
                         hint="Export the contacts from your CRM as CSV and try again.")


def _sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most columns (comma wins ties)."""
    best, best_n = ",", 1
    for delim in DELIMITERS:
        try:
            n = len(next(csv.reader([header_line], delimiter=delim)))
        except (csv.Error, StopIteration):
            continue
        if n > best_n:
            best, best_n = delim, n
    return best


def open_csv(path: str | Path, *, what: str = "CSV file") -> CsvFile:
    """Open a CSV export: checks it exists, is text, is not empty, and reads its header."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist or is not a file.",
                         hint="Check the path (relative paths start from the current folder).")
    with open(path, "rb") as fh:
        head = fh.read(_SAMPLE)
    if not head.strip():
        raise InputError(f"{what} {path.name} is empty.",
                         hint="Export it again from your CRM with a header row and at least one contact.")
    _check_not_binary(path, head)
    encoding = _detect_encoding(path, head)
    with open(path, encoding=encoding, newline="") as fh:
        first = ""
        for line in fh:  # the first non-blank line is the header
            if line.strip():
                first = line
                break
            if len(line) > FIELD_LIMIT:
                break
    delimiter = _sniff_delimiter(first.rstrip("\r\n"))
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader((ln for ln in fh if ln.strip()), delimiter=delimiter)
        try:
            raw = next(reader)
        except csv.Error as exc:
            raise InputError(f"{what} {path.name}: the header row is unreadable ({exc}).",
                             hint="The first row must hold the column names.") from exc
    header = [clean_cell(h) for h in raw]
    if not any(header):
        raise InputError(f"{what} {path.name} has no column names in its first row.",
                         hint="The first row must hold the column names.")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):  # blank and repeated names get unique, visible labels
        name = name or f"column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        header[i] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return CsvFile(path=path, encoding=encoding, delimiter=delimiter, header=header)
