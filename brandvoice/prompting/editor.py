"""Writing templates: saving one (role checked, audited) and trying one out under a deadline.

    prompting.save_template(settings, actor, "after_demo", source)       # marketer or admin
    prompting.preview(source, contact, brand="Ledgerly", settings=settings)  # brief or skeleton

A preview renders in a bounded worker process under the same bounds as every rendering of a
job (`prompting.bounded`: CPU time, wall time, address space), so a template that hits a bound is
a TemplateError, never a hung page or a full machine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from brandvoice.errors import TemplateError
from brandvoice.prompting import bounded
from brandvoice.prompting.templates import NAME_PATTERN, TemplateInfo, parse_template


def save_template(settings, actor, name: str, source: str) -> TemplateInfo:
    """Check a template (syntax, names, instructions) and write prompts/<name>.j2 atomically, as
    `actor` (marketer or admin); the save is audited with the template's hash."""
    from brandvoice import textio
    from brandvoice.store import Store
    from brandvoice.users import PERMISSIONS, require_role

    store = Store(settings)
    with store.read() as conn:
        require_role(conn, actor, *PERMISSIONS["edit templates"], action="save templates")
    if not NAME_PATTERN.match(name or ""):
        raise TemplateError(f"Template name {name!r} must be letters, digits, '_', '-' or '.'.",
                            template=name, line=1)
    folder = Path(settings.prompts_dir)
    path = folder / f"{name}.j2"
    info = parse_template(source, path=path)  # TemplateError names the line
    old = path.read_bytes() if path.is_file() else None
    textio.atomic_write(path, source)
    with store.tx() as conn:
        store.audit(conn, "template_save", actor=actor.username, template=info.name,
                    hash=info.hash, previous_hash=hashlib.sha256(old).hexdigest() if old else None)
    return info


def preview(info_or_source: TemplateInfo | str, contact: dict, *, brand: str,
            extra: dict | None = None, greeting: str = "", signature: str = "",
            timeout: float | None = None) -> Any:
    """Render a template for one contact in a bounded worker process: the brief (str) of a
    whole-email template, or {subject, body, slots} of a slot template. TemplateError when it
    fails, or runs past the deadline, the CPU or the memory cap."""
    info = info_or_source if isinstance(info_or_source, TemplateInfo) \
        else parse_template(str(info_or_source))
    options = {"greeting": greeting, "signature": signature} if info.kind == "slots" else {}
    limits = bounded.Limits() if timeout is None else bounded.Limits(wall_s=timeout)
    out = bounded.BoundedRenderer(info, brand=brand, extra=extra, options=lambda _c: options,
                                  limits=limits)(contact)
    if info.kind == "slots":
        return {"subject": out.subject, "body": out.body, "slots": [s.to_dict() for s in out.slots]}
    return out
