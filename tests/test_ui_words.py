"""The app's words: plain labels for every guardrail rule, page wording for every core hint."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from brandvoice.ui import labels, wording

CORE = Path(__file__).resolve().parent.parent / "brandvoice"


def _core_files():
    return [p for p in CORE.rglob("*.py") if "cli" not in p.parts and "ui" not in p.parts]


def _text_of(node: ast.AST) -> str | None:
    """A str constant or an f-string (its placeholders as X)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
    if isinstance(node, ast.BinOp):
        left, right = _text_of(node.left), _text_of(node.right)
        return None if left is None or right is None else left + right
    return None


def _core_hints() -> list[str]:
    hints = []
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "hint" and (text := _text_of(kw.value)):
                        hints.append(text)
    return hints


def test_no_core_hint_reaches_a_page_with_a_cli_flag_or_command():
    hints = _core_hints()
    assert len(hints) > 80  # the scan finds them
    cli = [h for h in hints if wording.CLI.search(h)]
    assert len(cli) > 20
    for hint in hints:
        shown = wording.page_hint(hint)
        assert shown is None or not wording.CLI.search(shown), (hint, shown)
    # The common ones get page advice, not silence.
    assert "Column mapping" in wording.page_hint(
        'Pass a column mapping such as {"email": "Your email column"} (--mapping FILE), or check '
        "that the file uses comma, semicolon or tab between columns.")
    assert wording.page_hint("Pass --brand NAME.") == "Choose the brand on this page."
    assert wording.page_hint("Fix the rows.") == "Fix the rows."  # page-worded hints stay


def test_stored_job_errors_are_reworded_too():
    text = ("CRM file x.csv: no email column found (read as comma-separated; columns: a, b).\n"
            'How to fix: Pass a column mapping such as {"email": "E"} (--mapping FILE), or check.')
    shown = wording.page_text(text)
    assert "--mapping" not in shown and "Column mapping" in shown
    assert wording.page_text("Adapter x is training, not ready.\nHow to fix: Pick a trained "
                             "adapter (`brandvoice adapters list`).").endswith("(Adapters tab).")
    assert wording.page_text("Something (--flag X) broke") == "Something broke"


def _rules_in_core() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in (CORE / "guardrails").glob("*.py"):
        src = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'CheckResult\(\s*"(\w+)",\s*"(\w+)"', src))
        if path.name == "quality.py":
            found |= {("quality", r) for r in re.findall(r'result\("(\w+)"', src)}
        if path.name == "policy.py":
            found |= {("policy", r) for r in re.findall(r'_phrases\("(\w+)"', src)}
    return found


def test_every_guardrail_rule_has_plain_words():
    rules = _rules_in_core()
    assert {("quality", "cut_off"), ("personalization", "leakage"),
            ("policy", "reading_level")} <= rules
    missing = {r for r in rules if r not in labels.RULES}
    assert not missing
    for (check, rule), text in labels.RULES.items():
        assert "_" not in text and text[0].isupper(), (check, rule, text)
    assert labels.technical("policy", "reading_level") == "policy/reading_level"
    # Elements the brand policy requires are named "required:<element>".
    assert labels.rule_label("policy", "required:footer") == "Has the brand's footer"
    assert labels.rule_label("policy", "required:signature") == "Signed off as the brand"
    assert labels.rule_label("policy", "required:legal_line") == "Has the brand's legal line"


def test_every_reason_code_and_phase_has_plain_words():
    from brandvoice import review

    assert all(code in labels.REASONS for code in review.REASON_CODES)
    for phase in ("starting", "loading the model", "loading the guardrails", "writing", "done"):
        assert labels.phase_label(phase) != phase.capitalize() or phase == "done"


@pytest.mark.parametrize("text", ["[click](http://evil.example)", "![x](http://e/x.png)",
                                  ":red[alarm]", "*|FNAME|*", "$x^2$", "<b>bold</b>", "a_b_c"])
def test_untrusted_text_is_escaped_for_markdown(text):
    from brandvoice.ui import common

    escaped = common.md_escape(text)
    assert re.sub(r"\\(.)", r"\1", escaped) == text
    assert "[" not in escaped.replace("\\[", "") and "*" not in escaped.replace("\\*", "")


def test_no_page_speaks_of_cli_flags_or_commands():
    offenders = []
    for path in (CORE / "ui").glob("*.py"):
        if path.name == "wording.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef) and n.body
                      and isinstance(n.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and id(node) not in docstrings and wording.CLI.search(node.value):
                offenders.append(f"{path.name}:{node.lineno}: {node.value[:80]}")
    assert not offenders


def test_no_check_message_speaks_of_cli_flags():
    """A guardrail's message is stored with the draft and shown on the pages as it is (the tone
    note once said "(--emails)"): no check message may name a flag or a command."""
    offenders = []
    for path in (CORE / "guardrails").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            texts = []
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "CheckResult":
                texts = [_text_of(a) for a in node.args[3:4]]
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "note"
                                                      for t in node.targets):
                texts = [_text_of(node.value)]
            offenders += [f"{path.name}:{node.lineno}: {t[:80]}" for t in texts
                          if t and wording.CLI.search(t)]
    assert not offenders
