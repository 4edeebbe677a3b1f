"""Bytes to text for every input file: binary files refused, then the encoding found.

UTF-8 (with or without a BOM) and UTF-16 with a BOM are read as they are. A file that is not valid
UTF-8 is either a UTF-8 file with a few lines pasted from a Windows app (those lines alone are read
as Windows-1252) or a legacy file (charset-normalizer's guess; Windows-1252, what Excel on Windows
writes, when too few non-ASCII bytes tell encodings apart).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from pathlib import Path

from brandvoice.errors import InputError

_LEGACY_MIN = 8  # fewer non-ASCII bytes than this cannot tell legacy encodings apart
_LEGACY_SAMPLE = 256 * 1024
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_MAGIC = {  # first bytes -> (what the file is, how to get CSV from it)
    b"PK\x03\x04": ("an Excel workbook or a zip archive (.xlsx/.zip)",
                    "Open it in your spreadsheet app and use 'Save as' -> 'CSV UTF-8' (or unzip it)."),
    b"\xd0\xcf\x11\xe0": ("an old Excel workbook (.xls)",
                          "Open it in your spreadsheet app and use 'Save as' -> 'CSV UTF-8'."),
    b"%PDF": ("a PDF document", "Export the data as CSV from the tool that made the PDF."),
    b"\x1f\x8b": ("a gzip archive", "Unpack it first (gunzip FILE) and use the CSV inside."),
    b"SQLite format": ("a SQLite database",
                       "Export the table as CSV: sqlite3 -header -csv DB 'select * from TABLE'."),
}
_NAMES = {"cp1252": "Windows-1252"}


def line_ranges(lines: Iterable[int]) -> str:
    """[2, 3, 4, 9] -> '2-4, 9' (shortened after a few ranges)."""
    spans: list[list[int]] = []
    for n in sorted(lines):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    parts = [f"{a}-{b}" if a != b else str(a) for a, b in spans]
    return ", ".join(parts[:6]) + (f", ... ({len(parts) - 6} more)" if len(parts) > 6 else "")


def refuse_binary(path: Path, head: bytes, what: str, kinds: str, hint: str | None) -> None:
    """InputError for a spreadsheet, archive, PDF, database or other binary file (from its first bytes)."""
    for magic, (desc, fix) in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{what} {path.name} is not a {kinds} file: it looks like {desc}.",
                             hint=fix)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    # A stray NUL or control byte in a cell is a problem of its row; many of them, a binary file.
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > max(8, len(head) // 100):
        raise InputError(f"{what} {path.name} is not a text {kinds} file: it looks like binary data "
                         f"({controls} control bytes in the first {len(head):,} bytes).",
                         hint=hint or f"Export the data as {kinds} and try again.")


def detect_encoding(path: Path, head: bytes, what: str) -> tuple[str, str, bool]:
    """(codec to read with, label to show, whether to decode line by line) for a text file."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "utf-16", False
    bom = head.startswith(codecs.BOM_UTF8)
    # Decode the whole file (incrementally, constant memory) so that a stray Windows-1252 byte on
    # row 90,000 is noticed before any row is used, not half-way through an import.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8-sig", "utf-8-sig" if bom else "utf-8", False
    except UnicodeDecodeError:
        pass
    utf8_lines, legacy, sample = 0, [], bytearray()
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8_lines += 1
            except UnicodeDecodeError:
                legacy.append(n)
                if len(sample) < _LEGACY_SAMPLE:
                    sample += line
    # Real UTF-8 lines around the others: a UTF-8 file with a few rows pasted from a Windows app.
    codec = "cp1252" if utf8_lines else legacy_codec(bytes(sample))
    _check_decodes(path, legacy, codec, what)
    if utf8_lines:
        return "utf-8-sig", f"utf-8 + windows-1252 (lines {line_ranges(legacy)})", True
    return codec, {"cp1252": "windows-1252"}.get(codec, codec), False


def legacy_codec(sample: bytes) -> str:
    """The legacy encoding of non-UTF-8 text: charset-normalizer's best guess, else Windows-1252."""
    if len(sample.translate(None, bytes(range(128)))) < _LEGACY_MIN:
        return "cp1252"
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return "cp1252"
    # Short texts fit several code pages equally well ("crème" is Hungarian in cp1250 too): on a
    # tie, or when the text reads the same, take what Excel on Windows writes.
    western = next((m for m in matches if codecs.lookup(m.encoding).name == "cp1252"), None)
    if western is not None and western.chaos <= best.chaos + 0.01 \
            and western.coherence >= best.coherence - 0.01:
        return "cp1252"
    codec = codecs.lookup(best.encoding).name
    try:
        if sample.decode("cp1252") == sample.decode(codec):
            return "cp1252"
    except UnicodeDecodeError:
        pass
    return codec


def _check_decodes(path: Path, lines: list[int], codec: str, what: str) -> None:
    """InputError naming the first of `lines` that `codec` cannot decode."""
    wanted = set(lines)
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if n not in wanted:
                continue
            try:
                line.decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{what} {path.name} line {n}: byte 0x{line[exc.start]:02x} is neither UTF-8 "
                    f"nor {_NAMES.get(codec, codec)} text.",
                    hint="Save the file again as CSV UTF-8.") from exc
