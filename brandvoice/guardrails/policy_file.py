"""Brand policy files: guardrails/default.toml merged with guardrails/<brand-slug>.toml, validated.

The slug is textio's ("Bright Bean" -> bright-bean.toml); a file under the compact name used before
(brightbean.toml) is still read. A bad file gets a ConfigError naming the file, the key and its
line. The format is documented in guardrails/README.md.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from brandvoice import textio
from brandvoice.errors import ConfigError
from brandvoice.prompting.profile import PROFILE_KEYS, brand_files

LIST, INT, NUM, BOOL, STR, SEV = "list of strings", "integer", "number", "true/false", "string", "severity"
SEVERITIES = ("warn", "fail")

# table -> key -> type. "inherit = false" in a brand file replaces (not extends) the default lists.
SCHEMA: dict[str, dict[str, str]] = {
    "brand": dict.fromkeys(PROFILE_KEYS, STR),  # the brand profile (prompting.profile)
    "banned": {"words": LIST, "phrases": LIST, "competitors": LIST, "severity": SEV, "inherit": BOOL},
    "claims": {"terms": LIST, "idioms": LIST, "percentages": BOOL, "severity": SEV, "inherit": BOOL},
    "length": {"subject_min_chars": INT, "subject_max_chars": INT, "body_min_words": INT,
               "body_max_words": INT, "severity": SEV},
    "spam": {"words": LIST, "warn_at": INT, "fail_at": INT, "inherit": BOOL},
    "style": {"max_exclamations": INT, "max_caps_words": INT, "caps_allow": LIST, "severity": SEV,
              "inherit": BOOL},
    "reading": {"max_grade": NUM, "min_grade": NUM, "severity": SEV},
    "subject": {"tags": LIST, "inherit": BOOL},
    "allow": {"facts": LIST, "prices": LIST, "urls": LIST, "phones": LIST, "emails": LIST,
              "names": LIST, "inherit": BOOL},
    "tone": {"k": INT, "target": STR, "min_recall": NUM, "warn_band": NUM},
    "quality": {"model_text": "status"},
    "slots": {"model_kinds": LIST, "assistant_phrases": LIST, "min_shape": NUM, "inherit": BOOL},
    "contact": {"prospect_phrases": LIST, "customer_phrases": LIST, "topics": LIST,
                "severity": SEV, "inherit": BOOL},
    "personalization": {"ngram": INT, "max_list_items": INT, "max_repeats": INT,
                        "injection_phrases": LIST, "greeting_words": LIST,
                        "allowed_placeholders": LIST, "inherit": BOOL},
}
REQUIRED_KEYS = {"name": STR, "pattern": STR, "literal": STR, "where": STR, "message": STR,
                 "severity": SEV}
# Results name a rule "required:<name>" in guardrail_results.rule, a VARCHAR(80), which
# PostgreSQL enforces (SQLite would keep a longer one).
MAX_RULE_NAME = 60
CHOICES = {("tone", "target"): ("f1", "recall"), ("required", "where"): ("subject", "body", "any")}


def slug(brand: str) -> str:
    """The file-name form of a brand name ("Bright Bean" -> "bright-bean")."""
    return textio.slug(brand)


def key_line(text: str, table: str | None, key: str | None, index: int | None = None) -> int | None:
    """The 1-based line of `key` inside `[table]` (or of the index-th `[[table]]`) in TOML source."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    current, seen, start = None, -1, None
    for i, line in enumerate(lines, 1):
        m = header.match(line)
        if m:
            current = m.group(1).strip().strip('"')
            if current == table:
                seen += 1
                if index is None or seen == index:
                    start = start or i
            continue
        in_table = current == table and (index is None or seen == index)
        if table is None and current is None or in_table:
            if key and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
                return i
    if table and key:  # dotted form: banned.words = [...] at top level
        for i, line in enumerate(lines, 1):
            if re.match(rf"^\s*{re.escape(table)}\.{re.escape(key)}\s*=", line):
                return i
    return start


def _fail(path: Path, text: str, table: str | None, key: str | None, problem: str, hint: str,
          index: int | None = None) -> ConfigError:
    line = key_line(text, table, key, index)
    where = f"{path}" + (f", line {line}" if line else "")
    name = ".".join(p for p in (table, key) if p) or "(top level)"
    if index is not None:
        name = f"{table}[{index}]" + (f".{key}" if key else "")
    return ConfigError(f"Policy file {where}: key '{name}' {problem}", hint=hint)


def _check_type(value: Any, kind: str) -> bool:
    if kind == LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == NUM:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == SEV:
        return value in SEVERITIES
    if kind == "status":
        return value in ("pass", *SEVERITIES)
    return isinstance(value, str)


def _validate_keys(path, text, table, values: dict, schema: dict, index=None) -> None:
    for key, value in values.items():
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = (f"Did you mean '{close[0]}'? " if close else "") + \
                f"Allowed keys here: {', '.join(sorted(schema))}."
            raise _fail(path, text, table, key, "is not a known setting.", hint, index)
        kind = schema[key]
        if not _check_type(value, kind):
            expect = "one of: " + ", ".join(SEVERITIES) if kind == SEV else \
                "one of: pass, warn, fail" if kind == "status" else f"a {kind}"
            if kind == INT:
                expect = "a whole number >= 0"
            raise _fail(path, text, table, key, f"must be {expect} (got {value!r}).",
                        "Fix the value; see guardrails/README.md for the format.", index)
        choices = CHOICES.get((table, key))
        if (table, key) == ("slots", "model_kinds"):
            from brandvoice.prompting import SLOT_KINDS

            unknown = [v for v in value if v not in SLOT_KINDS]
            if unknown:
                raise _fail(path, text, table, key, f"names unknown slot kinds: {', '.join(unknown)}.",
                            f"Use some of: {', '.join(SLOT_KINDS)} (or [] for none).", index)
        if choices and value not in choices:
            raise _fail(path, text, table, key, f"must be one of {', '.join(choices)} (got {value!r}).",
                        "Fix the value.", index)


def parse_file(path: Path) -> dict:
    """Read and validate one policy file (not merged)."""
    data, text = textio.read_toml(path, what="Policy file", error=ConfigError)
    for table, values in data.items():
        if table == "required":
            if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
                raise _fail(path, text, None, "required", "must be written as [[required]] tables.",
                            "See guardrails/README.md.")
            for i, item in enumerate(values):
                _validate_keys(path, text, "required", item, REQUIRED_KEYS, index=i)
                if "name" not in item:
                    raise _fail(path, text, "required", None, "needs a name.",
                                'Add name = "footer" (any short label).', i)
                if len(item["name"]) > MAX_RULE_NAME:
                    raise _fail(path, text, "required", "name",
                                f"is longer than {MAX_RULE_NAME} characters.",
                                'Use a short label such as "footer"; the message says the rest.', i)
                if ("pattern" in item) == ("literal" in item):
                    raise _fail(path, text, "required", "pattern" if "pattern" in item else None,
                                "needs exactly one of 'pattern' (a regex) or 'literal' (exact text).",
                                "Keep one of the two.", i)
                if "pattern" in item:
                    try:
                        re.compile(item["pattern"])
                    except re.error as exc:
                        raise _fail(path, text, "required", "pattern", f"is not a valid regex: {exc}.",
                                    "Escape special characters such as . ( ) [ ] with a backslash.",
                                    i) from exc
            continue
        if table not in SCHEMA:
            close = difflib.get_close_matches(table, [*SCHEMA, "required"], n=1)
            hint = (f"Did you mean '[{close[0]}]'? " if close else "") + \
                f"Known tables: {', '.join(sorted([*SCHEMA, 'required']))}."
            line = key_line(text, table, None)
            raise ConfigError(f"Policy file {path}{f', line {line}' if line else ''}: "
                              f"unknown table '[{table}]'.", hint=hint)
        if not isinstance(values, dict):
            raise _fail(path, text, None, table, "must be a [table].", "See guardrails/README.md.")
        _validate_keys(path, text, table, values, SCHEMA[table])
    _profile_elements_once(path, text, data)
    return data


def _profile_elements_once(path: Path, text: str, data: dict) -> None:
    """A file's [brand] signature and footer are required elements of their own (the profile's):
    the same file cannot also require them by [[required]]."""
    brand = data.get("brand", {})
    for i, item in enumerate(data.get("required", [])):
        if item.get("name") in ("signature", "footer") and brand.get(item["name"]):
            raise _fail(path, text, "required", "name",
                        f"repeats the {item['name']} of [brand], which every draft must carry already.",
                        f"Remove this [[required]] element; to accept other forms of the "
                        f"{item['name']}, set [brand] {item['name']}_pattern.", i)


def merge(base: dict, over: dict) -> dict:
    """Brand file over defaults: scalars replace, lists extend (unless inherit = false), required by name."""
    out: dict = {t: dict(v) for t, v in base.items() if t != "required"}
    required = {r["name"]: dict(r) for r in base.get("required", [])}
    for table, values in over.items():
        if table == "required":
            for r in values:
                required[r["name"]] = dict(r)
            continue
        inherit = values.get("inherit", True)
        target = out.setdefault(table, {})
        for key, value in values.items():
            if key == "inherit":
                continue
            if isinstance(value, list) and inherit:
                target[key] = list(dict.fromkeys([*target.get(key, []), *value]))
            else:
                target[key] = value
        if not inherit:  # lists this brand did not restate are dropped too
            for key, value in list(target.items()):
                if isinstance(value, list) and key not in values:
                    target[key] = []
    out["required"] = list(required.values())
    return out


def load_raw(directory: Path, brand: str | None) -> tuple[dict, list[Path]]:
    """The merged policy dict for a brand and the files it came from (prompting.brand_files)."""
    files = brand_files(directory, brand)
    data: dict = {}
    for path in files:
        own = parse_file(path)
        data = own if path.name == "default.toml" else merge(data, own)
    data.setdefault("required", [])
    return data, files
