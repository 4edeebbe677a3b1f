"""The tables the benchmark scripts write into the docs, between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`: each script renders its block from its results file alone, so a test
(tests/test_docs_figures.py) renders it again and finds the docs saying what the file says."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def markers(name: str) -> tuple[str, str]:
    """The opening and closing marker of a block."""
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def read_block(doc: Path, name: str) -> str | None:
    """The text between a block's markers in a doc (None when the doc has no such block)."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    begin, end = markers(name)
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def write_block(doc: Path, name: str, body: str) -> None:
    """Replace a block's text in a doc; says so when the doc has no markers for it."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    begin, end = markers(name)
    if begin not in text or end not in text:
        print(f"{doc} has no {begin} ... {end} markers: the table is not written")
        return
    head, rest = text.split(begin, 1)
    doc.write_text(f"{head}{begin}\n{body.strip(chr(10))}\n{end}{rest.split(end, 1)[1]}",
                   encoding="utf-8")
