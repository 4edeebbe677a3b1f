"""Write every benchmark table in the docs again from the results files (no measuring):

    python bench/docs.py            # rewrite the blocks
    python bench/docs.py --check    # exit 1 when a block differs from what its file says

Each block `<!-- bench:NAME -->` is rendered by the script that measured it (BLOCKS), from its
file in bench/results/ alone; tests/test_docs_figures.py runs the same comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
RESULTS = BENCH / "results"
DOCS = BENCH.parent / "docs"


def _train(result: dict) -> str:
    import train

    return train.markdown(result)


def _quality(result: dict) -> str:
    import quality_report

    return quality_report.block(result)


def _calibration(result: dict) -> str:
    import calibrate

    return calibrate.table(result)


def _guardrails(result: dict) -> str:
    import guardrails

    return guardrails.table(result)


def _scale(result: dict) -> str:
    import scale

    return scale.table(result)


def _scale_projection(result: dict) -> str:
    import scale_projection

    return scale_projection.table(result)


# block name -> (the doc it is in, its results file, its renderer)
BLOCKS = {
    "train": ("training.md", "train.json", _train),
    "quality": ("generation.md", "quality.json", _quality),
    "calibration": ("guardrails.md", "calibration.json", _calibration),
    "guardrails": ("guardrails.md", "guardrails.json", _guardrails),
    "scale": ("scale.md", "scale.json", _scale),
    "scale-projection": ("scale.md", "scale_projection.json", _scale_projection),
}


def rendered(name: str) -> str:
    """A block's text as its script renders it from its results file."""
    _, results, render = BLOCKS[name]
    return render(json.loads((RESULTS / results).read_text(encoding="utf-8"))).strip("\n")


def main() -> int:
    import docblock

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = ap.parse_args()
    stale = []
    for name, (doc, _, _) in BLOCKS.items():
        want = rendered(name)
        if docblock.read_block(DOCS / doc, name) != want:
            stale.append(f"{doc}: {name}")
            if not args.check:
                docblock.write_block(DOCS / doc, name, want)
    print(("differs: " if args.check else "rewritten: ") + (", ".join(stale) or "none"))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
