"""Prompt templates: prompts/*.j2 with a metadata header, rendered in a Jinja sandbox into model briefs.

A template starts with a Jinja comment holding `key: value` lines (name, description, use_case,
required_fields). It renders the user brief: `brief_header(...)` first (the shape training briefs have),
then the instructions, then the CRM record inside <crm_data> delimiters as data. Printed values are
neutralized (see `filters`); template code runs in a bounded, immutable sandbox with StrictUndefined
(`sandbox`). Loading a template checks its syntax, every filter and test it names, and that a
whole-email brief prints CRM values outside <crm_data> only as one neutral line (`lint`).
"""

from __future__ import annotations

import hashlib
import re
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from brandvoice.crm.activities import TYPE_ALIASES
from brandvoice.crm.profiles import SNAPSHOT_FIELDS
from brandvoice.errors import NotFoundError, TemplateError
from brandvoice.prompting.audience import AUDIENCE_KEYS, Audience, parse_audience
from brandvoice.prompting.filters import FILTERS, GLOBALS, is_blank, neutralize
from brandvoice.prompting.lint import check_template
from brandvoice.prompting.sandbox import BoundedEnvironment, render_bounded
from brandvoice.prompting.slots import Skeleton, SlotCollector, slot_extension, split_skeleton

HEADER_KEYS = ("name", "description", "use_case", "required_fields", "kind", "brand", *AUDIENCE_KEYS)
KINDS = ("email", "slots")  # email: the model writes the whole email; slots: only marked slots
MAX_BRIEF_CHARS = 12000  # a brief is for a small model: anything longer is a template bug
MAX_SOURCE_CHARS = 100_000  # a template's own text: a few dozen lines; compiling stays cheap
_HEADER = re.compile(r"\A\s*\{#-?(.*?)-?#\}", re.DOTALL)
_NAME = NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ACTIVITY_TYPES = frozenset(TYPE_ALIASES)


@dataclass
class TemplateInfo:
    """A prompt template: its metadata, where it lives, and the hash of its exact source."""

    name: str
    description: str
    use_case: str
    required_fields: list[str]
    path: Path | None
    hash: str
    source: str
    meta: dict[str, str] = field(default_factory=dict)  # every header line, unknown keys included
    kind: str = "email"
    brand: str | None = None  # a template written for one brand (its skeleton is in its words)
    audience: Audience = field(default_factory=Audience)  # whom it is for (prompting.audience)


def _check_field(spec: str) -> bool:
    if spec in SNAPSHOT_FIELDS or spec == "activities":
        return True
    if spec.startswith("custom.") and len(spec) > 7:
        return True
    return spec.startswith("activity:") and all(t.strip() for t in spec[9:].split("|"))


def parse_template(source: str, *, name: str | None = None, path: Path | None = None) -> TemplateInfo:
    """Read a template's metadata header and check its syntax; TemplateError names the line at fault."""
    label = name or (path.stem if path else "<editor>")
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateError(f"Template {label} is {len(source):,} characters (limit "
                            f"{MAX_SOURCE_CHARS:,}).", template=label, line=1,
                            hint="A template is a short brief or one email; shorten it.")
    try:
        return _parse(source, label, path)
    except RecursionError:
        raise TemplateError(f"Template {label}: its tags or expressions nest too deeply to read.",
                            template=label, line=1,
                            hint="Flatten the nesting (fewer {% if %} inside each other).") from None


def _parse(source: str, label: str, path: Path | None) -> TemplateInfo:
    meta: dict[str, str] = {}
    lines: dict[str, int] = {}
    m = _HEADER.match(source)
    if m:
        first_line = source[: m.start(1)].count("\n") + 1
        for offset, line in enumerate(m.group(1).splitlines()):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise TemplateError(f"Template {label} line {first_line + offset}: header line {line!r} "
                                    "is not 'key: value'.", template=label, line=first_line + offset,
                                    hint=f"Header keys: {', '.join(HEADER_KEYS)}.")
            meta[key.strip().lower()] = value.strip()
            lines[key.strip().lower()] = first_line + offset
    required = [f.strip() for f in re.split(r"[,\s]+", meta.get("required_fields", "").strip("[] ")) if f.strip()]
    required = [f.strip("\"'") for f in required]
    bad = [f for f in required if not _check_field(f)]
    if bad:
        raise TemplateError(
            f"Template {label}: unknown required field(s) {', '.join(bad)}.", template=label, line=1,
            hint=f"Use contact fields ({', '.join(SNAPSHOT_FIELDS)}), custom.<Column>, activities, "
                 "or activity:<type>[|<type>].")
    tname = meta.get("name") or label
    if path is not None and tname != path.stem:
        raise TemplateError(f"Template {path.name}: header name {tname!r} differs from the file name.",
                            template=path.name, line=1, hint=f"Use 'name: {path.stem}' or rename the file.")
    if not _NAME.match(tname) and tname != "<editor>":
        raise TemplateError(f"Template name {tname!r} must be letters, digits, '_', '-' or '.'.",
                            template=tname, line=1)
    kind = meta.get("kind", "email").lower()
    if kind not in KINDS:
        raise TemplateError(f"Template {tname}: kind {kind!r} is not one of {', '.join(KINDS)}.",
                            template=tname, line=1,
                            hint="kind: email (the model writes the whole email) or kind: slots "
                                 "(a skeleton with slots).")
    audience = parse_audience(meta, lines, path.name if path else tname, _ACTIVITY_TYPES)
    _compile(source, tname, _filename(tname, path), kind)  # syntax errors surface on load
    check_template(environment(kind), source, tname, kind)  # names, and CRM text in instructions
    return TemplateInfo(
        name=tname, description=meta.get("description", ""), use_case=meta.get("use_case", tname.replace("_", " ")),
        required_fields=required, path=path, hash=hashlib.sha256(source.encode("utf-8")).hexdigest(),
        source=source, meta=meta, kind=kind, brand=meta.get("brand") or None, audience=audience)


def _filename(name: str, path: Path | None) -> str:
    return str(path) if path else f"<template {name}>"


def _prompts_dir(settings) -> Path:
    if settings is None:
        from brandvoice.config import Settings

        settings = Settings.from_env()
    return Path(settings.prompts_dir)


def _load(path: Path) -> TemplateInfo:
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"Cannot read template {path}: {exc}", template=path.name,
                            hint="Templates are UTF-8 text files named <name>.j2.") from exc
    return parse_template(source, path=path)


def list_templates(settings=None) -> list[TemplateInfo]:
    """Every template in the prompts folder, by name."""
    folder = _prompts_dir(settings)
    if not folder.is_dir():
        return []
    return [_load(p) for p in sorted(folder.glob("*.j2")) if not p.name.startswith("_")]


def get_template(name: str, settings=None) -> TemplateInfo:
    """One template by name (or by the path of a .j2 file)."""
    candidate = Path(name)
    if name.endswith(".j2") and candidate.is_file():
        return _load(candidate)
    folder = _prompts_dir(settings)
    path = folder / f"{name}.j2"
    if _NAME.match(name) and path.is_file():
        return _load(path)
    names = sorted(p.stem for p in folder.glob("*.j2")) if folder.is_dir() else []
    raise NotFoundError(f"No template named {name!r} in {folder}.",
                        hint=f"Available: {', '.join(names) or '(none)'}; see `brandvoice templates list`.")


@lru_cache(maxsize=2)
def environment(kind: str = "email"):
    """The shared sandbox: bounded, immutable (templates cannot change the contact), strict undefined.

    A slot template is an email: a block tag at the end of a line keeps its newline there
    (trim_blocks off), where a brief's `{% set %}` lines should leave none.
    """
    from jinja2 import StrictUndefined

    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False,
                             trim_blocks=kind != "slots", lstrip_blocks=True,
                             keep_trailing_newline=False, finalize=neutralize,
                             extensions=[slot_extension()])
    env.filters.update(FILTERS)
    env.globals.update(GLOBALS)
    return env


@lru_cache(maxsize=64)
def _compile(source: str, name: str, filename: str, kind: str = "email"):
    from jinja2 import TemplateSyntaxError

    env = environment(kind)
    try:
        code = env.compile(source, name=name, filename=filename)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Template {name} line {exc.lineno}: {exc.message}", template=name,
                            line=exc.lineno, hint="Fix the Jinja syntax on that line.") from None
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def _error_line(exc: BaseException, filename: str) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno
    return line


def _info(info_or_source: TemplateInfo | str) -> TemplateInfo:
    if isinstance(info_or_source, TemplateInfo):
        return info_or_source
    return parse_template(str(info_or_source))


def _render_text(info: TemplateInfo, contact: dict, brand: str, extra: dict | None) -> str:
    """The template's text for one contact; any failure is a TemplateError naming the line."""
    filename = _filename(info.name, info.path)
    template = _compile(info.source, info.name, filename, info.kind)
    context: dict[str, Any] = {f: contact.get(f, "") for f in SNAPSHOT_FIELDS}
    context.update(custom=contact.get("custom") or {}, activities=contact.get("activities") or [])
    context.update(contact=contact, brand=brand, use_case=info.use_case, template=info.name,
                   now=datetime.now(timezone.utc), greeting="", signature="")
    context.update(extra or {})
    try:
        return render_bounded(template, context).strip()
    except TemplateError as exc:
        if exc.template is None:  # raised inside a slot: add where it happened
            raise TemplateError(f"Template {info.name}: {exc.message}", hint=exc.hint,
                                template=info.name) from None
        raise
    except MemoryError:
        raise  # the process's memory cap: the bounded worker names it
    except Exception as exc:  # noqa: BLE001 - anything a template does wrong is a template error
        line = _error_line(exc, filename)
        where = f" line {line}" if line else ""
        kind = "not allowed in the sandbox" if type(exc).__name__ == "SecurityError" else type(exc).__name__
        raise TemplateError(f"Template {info.name}{where}: {str(exc).rstrip('.')} ({kind}).",
                            template=info.name, line=line,
                            hint="Use only the contact fields, custom fields and the documented filters "
                                 "(see prompts/README.md).") from None


def render(info_or_source: TemplateInfo | str, contact: dict, *, brand: str,
           extra: dict | None = None) -> str:
    """The user brief of a whole-email template for one contact (`extra` adds variables;
    extra['now'] fixes relative dates)."""
    info = _info(info_or_source)
    if info.kind == "slots":
        raise TemplateError(f"Template {info.name} is a slot template: it renders a skeleton, "
                            "not a brief.", template=info.name, hint="Use render_skeleton().")
    text = _render_text(info, contact, brand, extra)
    if not text.startswith("Campaign:"):
        raise TemplateError(f"Template {info.name}: the brief must start with brief_header(...).",
                            template=info.name, line=1,
                            hint="Begin the template body with {{ brief_header(campaign=use_case, "
                                 "segment=lifecycle_stage, audience=job_title) }}.")
    if text.count("<crm_data>") != text.count("</crm_data>") or text.count("<crm_data>") > 1:
        raise TemplateError(f"Template {info.name}: write <crm_data> and </crm_data> once each.",
                            template=info.name, hint="Put all CRM values inside one <crm_data> block.")
    if len(text) > MAX_BRIEF_CHARS:
        raise TemplateError(f"Template {info.name}: the brief has {len(text)} characters "
                            f"(limit {MAX_BRIEF_CHARS}).", template=info.name,
                            hint="Shorten the instructions or cut long fields with |oneline(300).")
    return text


def render_skeleton(info_or_source: TemplateInfo | str, contact: dict, *, brand: str,
                    greeting: str = "", signature: str = "", extra: dict | None = None) -> Skeleton:
    """A slot template for one contact: the subject and body with their slots (`greeting` and
    `signature` come from the brand policy; the template prints them where it wants them)."""
    info = _info(info_or_source)
    if info.kind != "slots":
        raise TemplateError(f"Template {info.name} is a whole-email template, not a skeleton.",
                            template=info.name, hint="Use render() for its brief.")
    collector = SlotCollector()
    values = {"greeting": greeting, "signature": signature, **(extra or {}),
              "_slot_collector": collector}
    text = _render_text(info, contact, brand, values)
    if len(text) > MAX_BRIEF_CHARS:
        raise TemplateError(f"Template {info.name}: the email has {len(text)} characters "
                            f"(limit {MAX_BRIEF_CHARS}).", template=info.name)
    return split_skeleton(text, collector.slots, info.name)


def missing_fields(info: TemplateInfo, contact: dict) -> list[str]:
    """The template's required fields this contact lacks (blank or placeholder values count as missing)."""
    missing = []
    for spec in info.required_fields:
        if spec == "activities":
            ok = bool(contact.get("activities"))
        elif spec.startswith("activity:"):
            types = {t.strip() for t in spec[9:].split("|")}
            ok = any(a.get("type") in types for a in contact.get("activities") or [])
        elif spec.startswith("custom."):
            ok = not is_blank((contact.get("custom") or {}).get(spec[7:]))
        else:
            ok = not is_blank(contact.get(spec))
        if not ok:
            missing.append(spec)
    return missing


def completeness(info: TemplateInfo, contacts: list[dict]) -> dict:
    """Which contacts a template can be rendered for: ok keys, missing fields per key, rows, messages."""
    ok: list[str] = []
    missing: dict[str, list[str]] = {}
    rows: dict[str, int | None] = {}
    messages: list[str] = []
    for c in contacts:
        key = str(c.get("key"))
        src = c.get("source") or {}
        rows[key] = src.get("row")
        lacking = missing_fields(info, c)
        if lacking:
            missing[key] = lacking
            messages.append(f"{src.get('file', 'CRM file')} row {src.get('row', '?')} (contact {key}): "
                            f"missing {', '.join(lacking)}")
        else:
            ok.append(key)
    return {"ok": ok, "missing": missing, "rows": rows, "messages": messages}
