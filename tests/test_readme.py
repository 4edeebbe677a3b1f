"""The README names the code as it is: module paths that exist, a Layout that lists every package
and module of `brandvoice/`, and the layers of `.importlinter`."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
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
    """The README's Layout subsection (under Development)."""
    assert "\n### Layout\n" in README, "README.md has no '### Layout' subsection under Development"
    start = README.index("\n### Layout\n")
    end = re.compile(r"^#{2,3} ", re.MULTILINE).search(README, start + 2)
    return README[start:end.start() if end else len(README)]


def test_brandvoice_paths_in_readme_exist():
    # `.brandvoice/...` is the workspace folder (BRANDVOICE_HOME), not the package.
    paths = set(re.findall(r"(?<![\w./-])(brandvoice/[\w./<>*-]*)", README))
    missing = sorted(p for p in paths if not _exists(REPO, p.rstrip(".,:;)")))
    assert paths and not missing, f"README.md names paths that do not exist: {missing}"


def test_relative_module_paths_in_readme_exist():
    # `ui/labels.py`, `generation/loop.py`, `bench/crm.py`: from the repository or from brandvoice/.
    paths = set(re.findall(r"(?<![\w./<>*-])((?:[\w-]+/)+[\w<>*-]+\.py)\b", README))
    paths = {p for p in paths if not p.startswith("brandvoice/")}
    missing = sorted(p for p in paths if not (_exists(REPO, p) or _exists(PKG, p)))
    assert paths and not missing, f"README.md names module paths that do not exist: {missing}"


def test_bare_module_names_in_readme_exist():
    names = set(re.findall(r"`(\w+\.py)`", README)) - EXTERNAL
    have = {p.name for d in (PKG, REPO / "tests", REPO / "bench") for p in d.rglob("*.py")}
    have |= {p.name for p in REPO.glob("*.py")}
    missing = sorted(names - have)
    assert names and not missing, f"README.md names modules that do not exist: {missing}"


def test_layout_lists_every_package_and_module_of_brandvoice():
    layout = _layout()
    assert "\nbrandvoice/\n" in layout, "README Layout should have a tree with a 'brandvoice/' line"
    block = layout.split("\nbrandvoice/\n", 1)[1].split("```", 1)[0]
    listed = {m.group(1) for m in re.finditer(r"^  ([\w.]+/?)\s", block, re.MULTILINE)}
    actual = {f"{p.name}/" for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    actual |= {p.name for p in PKG.glob("*.py") if p.name != "__init__.py"}
    assert listed == actual, (f"README Layout misses {sorted(actual - listed)}, "
                              f"lists what is not there: {sorted(listed - actual)}")


def test_layout_states_the_layers_of_importlinter():
    cfg = configparser.ConfigParser(inline_comment_prefixes=("#",))
    cfg.read(REPO / ".importlinter")
    lines = cfg["importlinter:contract:layers"]["layers"].splitlines()
    layers = [" ".join(line.split()) for line in lines if line.strip() and not line.strip().startswith("#")]
    assert " -> ".join(layers) in " ".join(_layout().split()), (
        "README Layout should give the layers as " + " -> ".join(layers))


def test_layout_finders_see_a_stale_readme():
    assert _exists(REPO, "brandvoice/ui/<name>.py") and _exists(REPO, "brandvoice/store/migrations/")
    assert not _exists(REPO, "brandvoice/corpus.py") and not _exists(REPO, "brandvoice/crm.py/")
    assert not _exists(PKG, "generate_loop.py")
