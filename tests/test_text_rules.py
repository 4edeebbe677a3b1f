"""One rule per concept: the greeting, sign-off and placeholder grammars of `prompting`, the brand
profile, and the one JSON Lines reader and TOML loader of `textio`, each used by every stage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from brandvoice import prompting, textio
from brandvoice.errors import ConfigError, InputError, NotFoundError

PKG = Path(__file__).resolve().parent.parent / "brandvoice"


@pytest.mark.parametrize("line, alone, opens, ends", [
    ("Best,", True, True, True),
    ("Kind regards,", True, True, True),
    ("Stay bright,", True, True, True),
    ("Thanks!", True, True, True),
    ("Thanks for reading, Dana", False, True, False),
    ("— The Ledgerly team", False, False, True),
    ("P.S. The recording is up.", False, False, True),
    ("Best practice is to close in five days.", False, True, False),
    ("Here is the plan.", False, False, False),
])
def test_the_sign_off_grammar(line, alone, opens, ends):
    assert prompting.is_signoff(line) is alone
    assert prompting.opens_signoff(line) is opens
    assert prompting.ends_body(line) is ends


def test_body_paragraphs_stop_at_the_sign_off():
    body = "Hi Dana,\n\nThe plan is below.\n\nReply with a time.\n\nBest,\nMaya\n\nP.S. more"
    assert prompting.body_paragraphs(body) == ["The plan is below.", "Reply with a time."]


def test_the_placeholder_grammar():
    text = "Hi [First Name], see {{link}} or *|FNAME|* and %FIRSTNAME% and XXX; {{unsubscribe_url}}"
    assert prompting.find_placeholders(text, {"{{unsubscribe_url}}"}) == [
        "[First Name]", "{{link}}", "*|FNAME|*", "%FIRSTNAME%", "XXX"]
    assert prompting.find_placeholders("Thanks, Dana. The plan: 3 steps.") == []
    for tag in ("{{first_name}}", "[Name]", "*|FNAME|*", "<first name>", "XXX"):
        assert prompting.parse_greeting(f"Hi {tag},\n\nBody").placeholder, tag
    assert not prompting.parse_greeting("Hi Dana,\n\nBody").placeholder


@pytest.mark.parametrize("text, greets", [
    ("Hi Dana", True), ("Good morning from Denver", True), ("Hey — quick one", True),
    ("Howdy", True), ("Your guide is here", False), ("Highlights of the week", False),
])
def test_one_salutation_vocabulary(text, greets):
    from brandvoice.guardrails.quality import subject_problems

    assert prompting.opens_with_salutation(text) is greets
    assert ("the subject is a greeting" in subject_problems(text)) is greets
    assert (prompting.parse_greeting(f"{text},\n\nBody").kind != "none") is greets


def test_no_other_module_keeps_its_own_grammar():
    """The vocabularies live in prompting alone: no other module compiles a regex with them."""
    owners = {"greeting.py", "signoff.py", "placeholders.py"}
    marks = ("kind regards", "best regards", "FNAME", "good\\s+(?:morning", "good (?:morning")
    for path in PKG.rglob("*.py"):
        if path.parent.name == "prompting" and path.name in owners:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not any(m in node.value for m in marks), (path, node.value[:80])


def test_the_brand_profile_is_read_from_the_brand_table(tmp_path):
    (tmp_path / "default.toml").write_text('[brand]\ngreeting = "Hello {first_name},"\n',
                                           encoding="utf-8")
    (tmp_path / "acme-co.toml").write_text(
        '[brand]\nname = "Acme Co"\nsignature = "Cheers,\\nthe Acme crew"\nfooter = "Acme, 1 Main St"\n'
        'greeting_fallback = "Hello,"\n', encoding="utf-8")
    p = prompting.load_profile(tmp_path, "Acme Co")
    assert [f.name for f in p.files] == ["default.toml", "acme-co.toml"]
    assert p.greeting_for({"first_name": "dana"}) == "Hello Dana,"
    assert p.greeting_for({"first_name": "N/A"}) == "Hello,"
    assert p.signed("Thanks.\n\ncheers,  the ACME crew") and not p.signed("Thanks.")
    assert p.has_footer("... Acme,\n1 Main St") and p.boilerplate == ("Acme, 1 Main St",
                                                                      "Cheers,\nthe Acme crew")
    subject, body, paras = p.structure("Next", "Hi Bob,\n\nthe plan.\n\nBest,\nBob", {"first_name": "Dana"})
    assert body == "Hello Dana,\n\nThe plan.\n\nCheers,\nthe Acme crew" and paras == ["The plan."]
    assert prompting.load_profile(tmp_path, "Other").signature == ""
    (tmp_path / "acme-co.toml").write_text('[brand]\nsignatur = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="signatur"):
        prompting.load_profile(tmp_path, "Acme Co")


def test_read_jsonl_names_the_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"b": {"nested": true}}\n', encoding="utf-8")
    assert list(textio.read_jsonl(path)) == [(1, {"a": 1}), (3, {"b": {"nested": True}})]
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"rows.jsonl line 2: expected a JSON object"):
        list(textio.read_jsonl(path, what="Rows"))
    path.write_text('{"a": 1\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"line 1: not valid JSON"):
        list(textio.read_jsonl(path))
    with pytest.raises(NotFoundError, match="Rows not found"):
        list(textio.read_jsonl(tmp_path / "missing.jsonl", what="Rows"))


def test_read_toml_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('[a]\nb = 1\n', encoding="utf-8")
    assert textio.read_toml(path) == ({"a": {"b": 1}}, "[a]\nb = 1\n")
    path.write_text('[a]\nb = [1, 2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"Policy file .*x.toml, line \d+.* is not valid TOML"):
        textio.read_toml(path, what="Policy file", error=ConfigError)


def test_one_reader_of_json_lines_and_toml():
    """Only textio parses TOML or reads JSON line by line."""
    for path in PKG.rglob("*.py"):
        if path.parent.name == "textio":
            continue
        text = path.read_text(encoding="utf-8")
        assert "tomllib" not in text and "tomli" not in text, path
        assert ".splitlines()" not in text or "json.loads(line" not in text, path
        assert "for line in fh" not in text or "json.loads" not in text, path
