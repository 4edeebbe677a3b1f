"""Result rows out of a tool's CSV export, through the project's one reader (textio.open_table):
spreadsheet row numbers, encodings, delimiters and size limits as everywhere else.

A row becomes a `Row`: the address, the events it reports (kind, time), any Message-ID or draft
id it names, or the reason it is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from brandvoice import textio
from brandvoice.errors import InputError
from brandvoice.results import sources
from brandvoice.results.matching import address, message_id

MAX_BYTES = 500 * 10**6
HINT = ("Export the campaign's per-recipient activity from the email tool as CSV (see "
        "docs/results.md for each tool's columns), or write one with the columns email, event, "
        "timestamp.")


@dataclass
class Row:
    """One row (or message) of a results file, read."""

    position: int
    label: str
    email: str = ""
    events: list[tuple[str, str]] = field(default_factory=list)  # (kind, occurred_at)
    message_ids: tuple[str, ...] = ()
    draft_id: int | None = None
    batch_id: int | None = None
    problem: tuple[str, str] | None = None  # (status, reason): "invalid" or "ignored"


@dataclass
class Layout:
    """Where a file keeps each field (column indexes), and how its events are given."""

    source: sources.Source
    mode: str  # "events" (an event column) | "wide" (a column per outcome) | "list" (one event)
    email: int
    event: int | None = None
    time: int | None = None
    message_id: int | None = None
    draft: int | None = None
    batch: int | None = None
    wide: list[tuple[int, str]] = field(default_factory=list)
    fixed: str | None = None  # the event of every row ("list")


def _find(keys: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def layout(table: textio.Table, source: sources.Source, event: str | None) -> Layout:
    """The file's layout under a source; InputError naming the columns looked for."""
    keys = [textio.column_key(h) for h in table.header]
    email = _find(keys, source.email)
    if email is None:
        raise InputError(f"Results file {table.name}: no address column for {source.title} "
                         f"(looked for {', '.join(source.email)}; the header has "
                         f"{', '.join(table.header[:12])}).",
                         hint="Pick the right source, or name the column of addresses 'email'.")
    out = Layout(source, "events", email, time=_find(keys, source.time),
                 message_id=_find(keys, source.message_id), draft=_find(keys, ("draft id", "draft")),
                 batch=_find(keys, ("batch id", "batch")))
    if event:
        out.mode, out.fixed = "list", event
        return out
    out.event = _find(keys, source.event)
    if out.event is not None:
        return out
    seen: set[str] = set()
    for col, kind in source.wide:
        i = _find(keys, (col,))
        if i is not None and col not in seen:
            out.wide.append((i, kind))
            seen.add(col)
    if not out.wide:
        raise InputError(
            f"Results file {table.name}: no event column ({', '.join(source.event)}) and no "
            f"column per outcome (opened, clicked, replied, ...).",
            hint="If every row is one kind of event (a list of the recipients who opened, say), "
                 "name it: event open, click, reply, bounce or unsubscribe.")
    out.mode = "wide"
    return out


def open_file(path: str | Path, source: str, event: str | None) -> tuple[textio.Table, Layout]:
    """The CSV opened and its layout read (source "auto" picks the tool by its columns)."""
    table = textio.open_table(path, what="Results file", known=sources.known_columns(),
                              unique=(), formats=("csv",), max_bytes=MAX_BYTES,
                              item="result rows", hint=HINT)
    src = sources.detect(table.header) if source == "auto" else sources.get_source(source)
    return table, layout(table, src, event)


class _Times:
    """parse_time with a memo: exports repeat their timestamps a lot."""

    def __init__(self) -> None:
        self.memo: dict[str, str | None] = {}

    def __call__(self, value: str) -> str | None:
        if value not in self.memo:
            try:
                self.memo[value] = sources.parse_time(value)
            except ValueError:
                self.memo[value] = None
        return self.memo[value]


def rows(table: textio.Table, lay: Layout) -> Iterator[Row]:
    """Every data row as a Row, then the rows the reader could not read (as invalid)."""
    times = _Times()
    for n, cells in table.rows(clean=True):
        yield _row(n, cells, lay, times)
    for problem in table.problems:
        m = re.match(r"(?:row|line) (\d+): (.*)", problem)
        pos = int(m.group(1)) if m else 0
        yield Row(pos, f"row {pos}" if m else "file", problem=("invalid", m.group(2) if m else problem))


def _cell(cells: list[str], i: int | None) -> str:
    return cells[i] if i is not None and i < len(cells) else ""


def _row(n: int, cells: list[str], lay: Layout, times: _Times) -> Row:
    row = Row(n, f"row {n}", email=address(_cell(cells, lay.email)))
    mid = message_id(_cell(cells, lay.message_id))
    row.message_ids = (mid,) if mid else ()
    for attr, i, what in (("draft_id", lay.draft, "draft id"), ("batch_id", lay.batch, "batch")):
        raw = _cell(cells, i)
        if raw:
            if not raw.isdigit():
                row.problem = ("invalid", f"{what} {raw[:40]!r} is not a number")
                return row
            setattr(row, attr, int(raw))
    raw_time = _cell(cells, lay.time)
    when = times(raw_time) if raw_time else ""
    if when is None:
        row.problem = ("invalid", f"the time {raw_time[:40]!r} is not a date and time")
        return row
    if lay.mode == "list":
        row.events.append((lay.fixed or "", when))
    elif lay.mode == "events":
        _event(row, _cell(cells, lay.event), when, lay.source)
    else:
        for i, kind in lay.wide:
            value = _cell(cells, i)
            if sources.happened(value):
                own = times(value) if not _plain(value) else None
                row.events.append((kind, own or when))
        if not row.events and row.problem is None:
            row.problem = ("ignored", "no outcome marked in the row")
    return row


def _plain(value: str) -> bool:
    """A yes/no or a count, not a date."""
    v = value.strip().lower()
    return v in sources.TRUE_WORDS or v.replace(".", "", 1).isdigit()


def _event(row: Row, value: str, when: str, source: sources.Source) -> None:
    if not value:
        row.problem = ("invalid", "the event is empty")
        return
    try:
        kind = sources.event_kind(value)
    except KeyError:
        row.problem = ("invalid", f"unknown event {value[:40]!r} for {source.title}")
        return
    if kind is None:
        row.problem = ("ignored", f"{value[:40]!r} says nothing about how the draft did")
        return
    row.events.append((kind, when))
