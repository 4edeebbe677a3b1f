"""Every figure in the README and docs/ is found in bench/results/, written by a script in bench/.

A figure is marked where it stands: the number, then `<!-- fig FILE PATH -->` (invisible when
rendered), e.g. `1.61<!-- fig review_export.json timings.export_10000_s --> s`. FILE is a results
file, PATH its keys (and list positions) joined by dots; the number must equal the value rounded
as written (a share may be written as a percentage). Tables a script writes itself sit between
`<!-- bench:NAME -->` markers and must be what the script renders from its results file now
(bench/docs.py). Anything else that reads like a measurement (a duration, a rate, a ratio, a
size, a percentage) is an unmarked figure and fails, unless its sentence says it is a setting or
a limit (`LIMIT_WORDS`).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
sys.path.insert(0, str(REPO / "bench"))

FIG = re.compile(r"(?P<num>\d[\d,]*(?:\.\d+)?)(?P<suffix>%|×)?<!-- fig (?P<file>\S+) (?P<path>\S+) -->")
BLOCK = re.compile(r"<!-- bench:(?P<name>[\w-]+) -->.*?<!-- /bench:(?P=name) -->", re.DOTALL)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
# What reads like a measured figure: a number with a unit of time, rate, size, ratio or share.
MEASURE = re.compile(
    r"(?<![\w.,-])(?:\d[\d,]*\d|\d)(?:\.\d+)?[ \u00a0]?(?:×|x\b|%|tokens/s|drafts/s|drafts/min|rows/s|"
    r"GB\b|MB\b|ms\b|s\b|seconds?\b|min\b|minutes?\b|hours?\b)")
# A sentence with one of these states a setting, a limit or a target, not a measurement.
LIMIT_WORDS = re.compile(
    r"\b(?:at most|at least|up to|limit|limits|capped|cap|timeout|times out|every|after|"
    r"within|default|target|targets|expires?|window|budget|or more|or less|no more than|"
    r"longer than|shorter than|older than|over|under|above|below|per|refresh(?:es)?|e\.g\.|"
    r"for example)\b"
    r"|[≥≤<>]|>=|<=", re.IGNORECASE)


def _value(data, path: str):
    """The value at a dotted path; a key may itself hold dots (a preset's name: qwen2.5-...)."""
    parts, i = path.split("."), 0
    while i < len(parts):
        if isinstance(data, list):
            data, i = data[int(parts[i])], i + 1
            continue
        for j in range(len(parts), i, -1):  # the longest key that is there
            if ".".join(parts[i:j]) in data:
                data, i = data[".".join(parts[i:j])], j
                break
        else:
            raise KeyError(parts[i])
    return data


def _marked(page: Path):
    text = page.read_text(encoding="utf-8")
    for m in FIG.finditer(text):
        yield page.name, m


def _wrong(m: re.Match) -> str | None:
    """Why a marked figure is not its results file's value (None when it is)."""
    path = RESULTS / m["file"]
    if not path.is_file():
        return f"{m[0]} names {path}, which does not exist"
    try:
        stored = _value(json.loads(path.read_text(encoding="utf-8")), m["path"])
    except (KeyError, IndexError, ValueError):
        return f"{m['file']} has no {m['path']}"
    shown = float(m["num"].replace(",", ""))
    places = len(m["num"].split(".")[1]) if "." in m["num"] else 0
    candidates = [stored, stored * 100] if m["suffix"] == "%" else [stored]
    if any(abs(shown - c) <= 0.5 * 10 ** -places + 1e-9 for c in candidates):
        return None
    return f"{m['num']}{m['suffix'] or ''} but {m['file']} {m['path']} = {stored}"


def test_every_marked_figure_is_its_results_file_value():
    marked = [(name, m) for page in PAGES for name, m in _marked(page)]
    wrong = [f"{name}: {_wrong(m)}" for name, m in marked if _wrong(m)]
    assert len(marked) >= 10 and not wrong, "\n".join(wrong)


def test_every_results_file_has_its_script():
    files = {m["file"] for page in PAGES for _, m in _marked(page)}
    import docs

    files |= {results for _, results, _ in docs.BLOCKS.values()}
    scripts = {p: p.read_text(encoding="utf-8") for p in (REPO / "bench").glob("*.py")}
    for f in sorted(files):
        writers = [p.name for p, src in scripts.items() if f'"{f}"' in src and "write" in src]
        assert writers, f"no script in bench/ writes bench/results/{f}"


@pytest.mark.parametrize("name", ["train", "quality", "calibration", "guardrails", "scale",
                                  "scale-projection"])
def test_every_script_table_in_the_docs_is_what_its_results_say(name):
    import docblock

    import docs

    doc, _, _ = docs.BLOCKS[name]
    written = docblock.read_block(REPO / "docs" / doc, name)
    assert written is not None, f"docs/{doc} has no block {name}"
    assert written == docs.rendered(name), f"docs/{doc} block {name}: run python bench/docs.py"


def _unmarked(text: str) -> list[str]:
    text = BLOCK.sub(" ", text)
    text = FIG.sub("FIGURE", text)
    text = CODE.sub(" ", text)
    text = re.sub(r"<!--.*?-->|!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)", " ", text, flags=re.DOTALL)
    found = []
    for para in re.split(r"\n\s*\n", text):
        for sentence in re.split(r"(?<=[.;:!?])\s+|\n(?=[-*|] )|\|", para):
            if LIMIT_WORDS.search(sentence):
                continue
            found += [f"{m[0]!r} in “{' '.join(sentence.split())[:120]}”"
                      for m in MEASURE.finditer(sentence)]
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_unmarked_figure(page):
    found = _unmarked(page.read_text(encoding="utf-8"))
    assert not found, f"{page.name}: figures without a results file:\n" + "\n".join(found)


def test_the_checks_can_fail():
    assert _unmarked("Training took 85 s on the demo brand.")
    assert _unmarked("merged 1.3x faster")
    assert not _unmarked("Training took 163.8<!-- fig train.json end_to_end.seconds --> s.")
    assert not _unmarked("A preview is capped at 5 s of CPU.")
    assert not _wrong(FIG.search("4.2<!-- fig generate.json batched_vs_llama_cpp -->×"))  # 4.24
    assert _wrong(FIG.search("85<!-- fig train.json end_to_end.seconds --> s"))  # it was 163.8
    assert _wrong(FIG.search("1.3<!-- fig generate.json no_such_key -->×"))
    assert _wrong(FIG.search("74%<!-- fig quality.json rows.6.usable_rate -->"))  # 68 %
