"""No path a user names for output lands inside the workspace (store, session key, saved mappings,
policies, templates, adapters, models), whatever its spelling or links; the exports folder is open."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers_drafts import make_drafts

from brandvoice import delivery, review, textio, users
from brandvoice.cli import main
from brandvoice.errors import ExportError, InputError

pytestmark = [pytest.mark.usefixtures("fast_hashes"), pytest.mark.all_databases]
PW = "correct horse"


def _protected(settings) -> dict[str, Path]:
    home = Path(settings.home)
    found = {"session key": home / "session.key", "home": home / "out.csv",
             "mappings": home / "mappings" / "x.json", "jobs": home / "jobs" / "job-1.log",
             "policies": Path(settings.guardrails_dir) / "notes.csv",
             "templates": Path(settings.prompts_dir) / "out.csv",
             "adapters": Path(settings.adapters_dir) / "out.csv",
             "models": Path(settings.models_dir) / "out.csv"}
    if settings.db_url.startswith("sqlite"):
        db = Path(settings.db_url.removeprefix("sqlite:///"))
        found |= {"db": db, "wal": db.with_name(db.name + "-wal")}
    return found


def _spellings(target: Path, tmp_path: Path) -> list[Path]:
    """The same place written five ways: as is, with '..', through a linked folder, through a
    link to the file (also one that points at a file not made yet), relative to the cwd."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "sub").mkdir(exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    linked = tmp_path / "linked"
    if not linked.exists():
        linked.symlink_to(target.parent, target_is_directory=True)
    link = tmp_path / f"link-to-{target.name}"
    if not link.is_symlink():
        link.symlink_to(target)
    dotted = tmp_path / "sub" / ".." / ".." / os.path.relpath(target, tmp_path.parent)
    return [target, dotted, linked / target.name, link, Path(os.path.relpath(target))]


def test_no_spelling_of_a_workspace_path_is_outside_it(settings, tmp_path):
    for what, target in _protected(settings).items():
        for spelled in _spellings(target, tmp_path / what):
            assert textio.workspace_part(settings, spelled) is not None, (what, spelled)
    assert textio.workspace_part(settings, Path(settings.exports_dir) / "a.csv") is None
    assert textio.workspace_part(settings, tmp_path / "out" / "a.csv") is None
    # the exports folder linked to the session key's folder is the workspace again
    sneaky = Path(settings.exports_dir) / "up"
    sneaky.parent.mkdir(parents=True, exist_ok=True)
    sneaky.symlink_to(Path(settings.home), target_is_directory=True)
    assert textio.workspace_part(settings, sneaky / "session.key") is not None


def test_a_hard_link_to_the_database_is_recognised(settings, store, tmp_path):
    if not settings.db_url.startswith("sqlite"):
        pytest.skip("the store is not a file")
    db = Path(settings.db_url.removeprefix("sqlite:///"))
    twin = tmp_path / "twin.db"
    os.link(db, twin)
    assert textio.workspace_part(settings, twin) == "the store's database"


@pytest.mark.parametrize("what", ["session key", "home", "mappings", "templates", "adapters", "db"])
def test_export_and_dry_run_refuse_the_workspace(store, people, settings, tmp_path, what):
    targets = _protected(settings)
    if what not in targets:
        pytest.skip("the store is not a file")
    assert review.bulk_approve_passed(store, people["rev"], make_drafts(store, 1)) == 1
    target = targets[what]
    before = target.read_bytes() if target.exists() else None
    for spelled in _spellings(target, tmp_path / "ways"):
        with pytest.raises(ExportError, match="Refusing to write"):
            delivery.export(store, people["mkt"], "generic", spelled)
        if spelled.is_symlink():  # a link to the file: its folder is not the workspace
            continue
        with pytest.raises(ExportError, match="Refusing to write"):
            delivery.export(store, people["mkt"], "generic", str(spelled.parent) + "/")
        with pytest.raises(ExportError, match="Refusing to write"):
            delivery.send(store, people["mkt"], dry_run_dir=spelled.parent)
    assert (target.read_bytes() if target.exists() else None) == before
    assert review.list_queue(store, state="approved")[1] == 1
    done = delivery.export(store, people["mkt"], "generic", Path(settings.exports_dir) / "ok.csv")
    assert Path(done["path"]).is_file()


def test_an_export_before_anyone_signed_in_cannot_make_the_session_secret(store, people,
                                                                          settings, tmp_path):
    key = Path(settings.home) / "session.key"
    assert review.bulk_approve_passed(store, people["rev"], make_drafts(store, 1)) == 1
    with pytest.raises(ExportError, match="session secret"):
        delivery.export(store, people["mkt"], "generic", key)
    assert not key.exists()
    # a file planted there by other means is not trusted to sign sessions
    key.parent.mkdir(parents=True, exist_ok=True)
    users._secrets.clear()
    key.write_text("first_name,last_name\n", encoding="ascii")
    with pytest.raises(Exception, match="damaged or not private"):
        users.session_token(store, people["mkt"])
    assert users.user_from_session(store, "anything") is None
    key.write_text("a" * 64, encoding="ascii")
    key.chmod(0o644)
    users._secrets.clear()
    with pytest.raises(Exception, match="damaged or not private"):
        users.session_token(store, people["mkt"])
    key.unlink()
    users._secrets.clear()
    token = users.session_token(store, people["mkt"])  # made anew, private
    assert users.user_from_session(store, token) == people["mkt"]
    assert key.stat().st_mode & 0o077 == 0


def test_cli_outputs_refuse_the_workspace(settings, people, tmp_path, monkeypatch):
    monkeypatch.setenv("BRANDVOICE_USER", "marketer1")
    monkeypatch.setenv("BRANDVOICE_PASSWORD", PW)
    drafts_csv = tmp_path / "drafts.csv"
    drafts_csv.write_text("subject,body\nHi,Hello there\n", encoding="utf-8")
    emails = tmp_path / "emails.csv"
    emails.write_text("subject,body\nHi,Hello\n", encoding="utf-8")
    runner = CliRunner()
    for target in (Path(settings.home) / "session.key", Path(settings.prompts_dir) / "x.j2"):
        res = runner.invoke(main, ["check", "--drafts", str(drafts_csv), "--no-tone", "--out",
                                   str(target)])
        assert res.exit_code != 0 and "Refusing to write" in res.output, res.output
        res = runner.invoke(main, ["templates", "skeleton", "--emails", str(emails), "--brand",
                                   "Acme", "--campaign", "x", "--name", "x", "--out", str(target)])
        assert res.exit_code != 0 and "Refusing to write" in res.output, res.output
        assert not target.exists() or target.suffix == ".j2" and "x" not in target.stem
    with pytest.raises(InputError):
        textio.outside_workspace(settings, Path(settings.home) / "x")
