"""Bad input never ends in a traceback: every CLI command (the Click tree, walked) with huge
numbers, undecodable arguments, unknown choices and broken files gets a short message and a
non-zero exit; the catch-all at the edge; a database locked by another writer."""

from __future__ import annotations

import sqlite3
import zipfile

import click
import pytest
from click.testing import CliRunner

from brandvoice.cli import main
from brandvoice.cli.base import Id

PW = "correct horse"
HUGE = "9" * 5000  # an integer of thousands of digits
UNDECODABLE = "caf\udce9"  # the argument bytes b"caf\xe9": not UTF-8, as Python passes them on
# Values a command needs to get as far as the bad one (by parameter name).
GOOD = {"template": "reengage_cold_lead", "brand": "Acme", "name": "reengage_cold_lead",
        "username": "nobody", "role": "reviewer", "profile": "generic", "ref": "acme",
        "from_addr": "team@acme.example", "reason_code": "tone", "expected": "1"}


def _bad_files(folder):
    """name -> path of files no command can use, each broken in its own way."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}

    def put(name, data):
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        out[name] = path

    with zipfile.ZipFile(folder / "book.xlsx", "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    out["book.xlsx"] = folder / "book.xlsx"
    put("binary.csv", bytes(range(256)) * 64)
    put("header_only.csv", "Email,First Name,Subject,Body\n")
    put("empty.csv", "")
    put("unterminated.csv", 'email,subject,body\na@x.example,Hi,"never closed\nb@x.example,Yo,fine\n')
    put("wide.csv", ",".join(f"c{i}" for i in range(200_000)) + "\n" + "x," * 199_999 + "x\n")
    put("nested.json", "[" * 100_000 + "]" * 100_000)
    put("nested.jsonl", '{"subject": "a", "body": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    put("huge_cell.csv", "email,subject,body\na@x.example,Hi," + "y" * 300_000 + "\n")
    return out


def _odd_files(folder):
    """Files that are readable (a legacy encoding, UTF-16): no error needed, no traceback allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    text = "email,first_name,subject,body\ndana@acme.example,Chloé,Grüße,Hi Chloé — à bientôt\n"
    out = {}
    for name, data in (("cp1252.csv", text.encode("cp1252")), ("utf16.csv", text.encode("utf-16")),
                       ("mixed.csv", b"email,subject,body\na@x.example,Hi,\xff\xfe\xfa body\n")):
        (folder / name).write_bytes(data)
        out[name] = folder / name
    return out


def _leaves(cmd, path=()):
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _leaves(sub, (*path, name))
    else:
        yield path, cmd


def _is_int(p: click.Parameter) -> bool:
    return isinstance(p.type, Id | click.IntRange) or p.type is click.INT


def _filler(p: click.Parameter, tmp_path) -> list[str]:
    """A value that lets the command get as far as the parameter under test."""
    if _is_int(p):
        return ["1"]
    if isinstance(p.type, click.Choice):
        return [GOOD.get(p.name, p.type.choices[0])]
    if isinstance(p.type, click.Path):
        return [str(tmp_path / "missing.csv")]
    return [GOOD.get(p.name, "x")]


def _invocations(path, cmd, tmp_path, files, odd):
    """(label, args, must_fail) for each parameter of a command, made bad in every way that fits."""
    params = [p for p in cmd.params if not (isinstance(p, click.Option) and p.is_flag)
              and p.name not in ("as_user", "password", "help")]
    yield "extra argument", [*path, UNDECODABLE], True
    for target in params:
        if _is_int(target):
            bads = [HUGE, "-3"]
        elif isinstance(target.type, click.Choice):
            bads = ["nope"]
        elif isinstance(target.type, click.Path) and target.type.file_okay:
            bads = [str(f) for f in [*files.values(), *odd.values()]]
        else:
            bads = [UNDECODABLE]
        for bad in bads:
            must_fail = bad not in {str(f) for f in odd.values()}
            args = list(path)
            for p in params:
                value = [bad] if p is target else (_filler(p, tmp_path) if p.required else [])
                if not value:
                    continue
                if isinstance(p, click.Option):
                    args.append(p.opts[0])
                args += value
            yield f"{target.name}={bad[-30:]!r}", args, must_fail


@pytest.fixture
def admin_env(home, fast_hashes):
    from brandvoice import users
    from brandvoice.config import Settings
    from brandvoice.store import Store

    st = Store(Settings.from_env())
    users.add_user(st, "root", PW, "admin")
    return {"BRANDVOICE_USER": "root", "BRANDVOICE_PASSWORD": PW}


def _assert_clean(label, args, result, must_fail):
    where = f"{' '.join(map(repr, args))[:300]} ({label})"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{where}: unhandled {type(result.exception).__name__}: "
                             f"{result.exception}") from result.exception
    assert "Traceback" not in result.output, where
    if must_fail:
        assert result.exit_code != 0, f"{where}: exit 0\n{result.output[-500:]}"
        assert "Error" in result.output or "error" in result.output, f"{where}: {result.output[-300:]}"
        assert len(result.output) < 20_000, f"{where}: a message of {len(result.output)} characters"


def test_every_command_refuses_bad_input_with_a_message(admin_env, tmp_path, monkeypatch):
    from brandvoice.prompting import bounded

    monkeypatch.setattr(bounded, "WALL_S", 30.0)  # a shared machine: no false timeouts
    files, odd = _bad_files(tmp_path / "bad"), _odd_files(tmp_path / "odd")
    runner = CliRunner()
    seen = set()
    for path, cmd in _leaves(main):
        if path[0] == "setup":  # downloads nothing, but converts the embedded model: only the edge
            invocations = [("extra argument", [*path, UNDECODABLE], True)]
        else:
            invocations = list(_invocations(path, cmd, tmp_path, files, odd))
        for label, args, must_fail in invocations:
            result = runner.invoke(main, args, env=admin_env)
            _assert_clean(label, args, result, must_fail)
        seen.add(path)
    assert ("review", "approve") in seen and ("send",) in seen and len(seen) >= 30


@pytest.mark.parametrize("name,needle", [
    ("book.xlsx", "book.xlsx is not a CSV file: it looks like an Excel workbook"),
    ("binary.csv", "binary.csv is not a text CSV file"),
    ("header_only.csv", "header_only.csv has a header row but no contacts"),
    ("empty.csv", "empty.csv is empty"),
    ("unterminated.csv", "row 2: a quote opened in this row is never closed"),
    ("huge_cell.csv", "over the 131,072-character limit"),
])
def test_crm_check_names_the_file_and_the_problem(home, tmp_path, name, needle):
    files = _bad_files(tmp_path / "bad")
    result = CliRunner().invoke(main, ["crm", "check", str(files[name])])
    assert result.exit_code == 1 and needle in result.output, result.output


def test_odd_but_good_encodings_are_read(home, tmp_path):
    text = "Email,First Name,Company\ndana@acme.example,Chloé,Zürich AG\n"
    for encoding in ("utf-16", "cp1252"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        result = CliRunner().invoke(main, ["crm", "check", str(path)])
        assert result.exit_code == 0 and "1 contacts" in result.output, result.output


def test_unexpected_errors_become_a_short_message_and_a_log_line(home, monkeypatch):
    from brandvoice import users

    def broken(store):
        raise ZeroDivisionError("the core tripped")

    monkeypatch.setattr(users, "list_users", broken)
    monkeypatch.delenv("BRANDVOICE_RAISE_ERRORS")
    result = CliRunner().invoke(main, ["users", "list"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Unexpected error (ZeroDivisionError): the core tripped" in result.output
    assert "Traceback" not in result.output
    log = home / "logs" / "cli.log"
    assert "ZeroDivisionError" in log.read_text() and "Traceback" in log.read_text()
    monkeypatch.setenv("BRANDVOICE_RAISE_ERRORS", "1")  # tests see the real exception
    result = CliRunner().invoke(main, ["users", "list"])
    assert isinstance(result.exception, ZeroDivisionError)


def test_a_database_locked_by_another_writer_is_waited_for_then_named(admin_env, monkeypatch):
    from brandvoice.config import Settings
    from brandvoice.store import Store, engine

    Store.dispose_all()
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 0.5)
    db = Settings.from_env().db_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
    try:
        result = CliRunner().invoke(main, ["users", "add", "mia", "--role", "reviewer",
                                           "--user-password", "long password"], env=admin_env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        Store.dispose_all()
    assert result.exit_code == 1, result.output
    assert "is locked by another writer: waited 0.5 s for it, nothing was changed" in result.output
