"""The README and the docs name the code as it is: module paths that exist, a Layout
(docs/development.md) that lists every package and module of `brandvoice/`, and the layers of
`.importlinter`; the README is a landing page with the two set-up commands and links that work."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((REPO / "docs").glob("*.md"))}
# What the tests below read for paths: the landing page and every page of the docs.
TEXT = "\n".join([README, *DOCS.values()])
DEVELOPMENT = DOCS["development.md"]
PKG = REPO / "brandvoice"
# Scripts of other projects that the README tells you to run (llama.cpp's converter).
EXTERNAL = {"convert_lora_to_gguf.py"}


def _exists(base: Path, rel: str) -> bool:
    """Whether `rel` (a path, a folder with a trailing slash, or a <placeholder>/* pattern) is there."""
    pattern = re.sub(r"<[^<>]+>", "*", rel.rstrip("/"))
    hits = list(base.glob(pattern)) if "*" in pattern else [base / pattern]
    if rel.endswith("/"):
        return any(h.is_dir() for h in hits)
    return any(h.exists() for h in hits) or (base / f"{pattern}.py").is_file()


def _layout() -> str:
    """The Layout section of docs/development.md."""
    assert "\n## Layout\n" in DEVELOPMENT, "docs/development.md has no '## Layout' section"
    start = DEVELOPMENT.index("\n## Layout\n")
    end = re.compile(r"^#{1,2} ", re.MULTILINE).search(DEVELOPMENT, start + 2)
    return DEVELOPMENT[start:end.start() if end else len(DEVELOPMENT)]


def test_the_readme_is_a_landing_page():
    lines = README.splitlines()
    assert len(lines) < 300, f"README.md has {len(lines)} lines; move detail to docs/"
    setup = re.findall(r"^(make \w+)", README, re.MULTILINE)  # commands that start a code line
    assert setup == ["make run", "make test"], setup
    links = re.findall(r"\]\((docs/[^)#]+)\)", README)
    assert {f"docs/{n}" for n in DOCS} <= set(links), "the README links every docs page"
    assert all((REPO / link).is_file() for link in links), links


def test_brandvoice_paths_in_readme_exist():
    # `.brandvoice/...` is the workspace folder (BRANDVOICE_HOME), not the package.
    paths = set(re.findall(r"(?<![\w./-])(brandvoice/[\w./<>*-]*)", TEXT))
    missing = sorted(p for p in paths if not _exists(REPO, p.rstrip(".,:;)")))
    assert paths and not missing, f"README.md or docs/ name paths that do not exist: {missing}"


def test_relative_module_paths_in_readme_exist():
    # `ui/labels.py`, `generation/loop.py`, `bench/crm.py`: from the repository or from brandvoice/.
    paths = set(re.findall(r"(?<![\w./<>*-])((?:[\w-]+/)+[\w<>*-]+\.py)\b", TEXT))
    paths = {p for p in paths if not p.startswith("brandvoice/")}
    missing = sorted(p for p in paths if not (_exists(REPO, p) or _exists(PKG, p)))
    assert paths and not missing, f"README.md or docs/ name module paths that do not exist: {missing}"


def test_bare_module_names_in_readme_exist():
    names = set(re.findall(r"`(\w+\.py)`", TEXT)) - EXTERNAL
    have = {p.name for d in (PKG, REPO / "tests", REPO / "bench") for p in d.rglob("*.py")}
    have |= {p.name for p in REPO.glob("*.py")}
    missing = sorted(names - have)
    assert names and not missing, f"README.md or docs/ name modules that do not exist: {missing}"


def test_layout_lists_every_package_and_module_of_brandvoice():
    layout = _layout()
    assert "\nbrandvoice/\n" in layout, "the Layout should have a tree with a 'brandvoice/' line"
    block = layout.split("\nbrandvoice/\n", 1)[1].split("```", 1)[0]
    listed = {m.group(1) for m in re.finditer(r"^  ([\w.]+/?)\s", block, re.MULTILINE)}
    actual = {f"{p.name}/" for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    actual |= {p.name for p in PKG.glob("*.py") if p.name != "__init__.py"}
    assert listed == actual, (f"The Layout misses {sorted(actual - listed)}, "
                              f"lists what is not there: {sorted(listed - actual)}")


def test_layout_states_the_layers_of_importlinter():
    cfg = configparser.ConfigParser(inline_comment_prefixes=("#",))
    cfg.read(REPO / ".importlinter")
    lines = cfg["importlinter:contract:layers"]["layers"].splitlines()
    layers = [" ".join(line.split()) for line in lines if line.strip() and not line.strip().startswith("#")]
    assert " -> ".join(layers) in " ".join(_layout().split()), (
        "The Layout should give the layers as " + " -> ".join(layers))


def test_layout_finders_see_a_stale_readme():
    assert _exists(REPO, "brandvoice/ui/<name>.py") and _exists(REPO, "brandvoice/store/migrations/")
    assert not _exists(REPO, "brandvoice/corpus.py") and not _exists(REPO, "brandvoice/crm.py/")
    assert not _exists(PKG, "generate_loop.py")
