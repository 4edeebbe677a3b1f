"""Writing templates: saving one (role checked, audited) and trying one out under a deadline.

    prompting.save_template(settings, actor, "after_demo", source)       # marketer or admin
    prompting.preview(source, contact, brand="Ledgerly", settings=settings)  # brief or skeleton

A template being written is the one place where arbitrary template code meets the machine, so a
preview renders in a worker process: CPU time (`PREVIEW_CPU_S`), wall time (`PREVIEW_TIMEOUT_S`)
and address space (`PREVIEW_MEMORY_MB` above the worker's own) are capped, and a template that
hits a cap is a TemplateError, never a hung page or a full machine. Batch generation renders in
process (a worker per contact would cost more than the rendering): a saved template passed these
checks, and the sandbox bounds what any one contact can make it do (`sandbox`).
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import sys
from pathlib import Path
from typing import Any

from brandvoice.errors import TemplateError
from brandvoice.prompting.templates import (
    NAME_PATTERN,
    TemplateInfo,
    parse_template,
    render,
    render_skeleton,
)

PREVIEW_TIMEOUT_S = 5.0
PREVIEW_CPU_S = 4
PREVIEW_MEMORY_MB = 256


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


def _child(conn, source: str, name: str, contact: dict, brand: str, extra: dict | None,
           options: dict, limits: tuple[int, int]) -> None:
    """The worker: cap CPU time and memory, render, send back ("ok", text) or ("error", ...)."""
    cpu_s, memory_mb = limits
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = used + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, OSError, ValueError):
        pass  # no rlimits on this platform: the wall-time deadline still holds
    try:
        info = parse_template(source, name=name)
        if info.kind == "slots":
            sk = render_skeleton(info, contact, brand=brand, extra=extra, **options)
            conn.send(("ok", {"subject": sk.subject, "body": sk.body,
                              "slots": [s.to_dict() for s in sk.slots]}))
        else:
            conn.send(("ok", render(info, contact, brand=brand, extra=extra)))
    except TemplateError as exc:
        conn.send(("error", exc.message, exc.hint, exc.line))
    except MemoryError:
        conn.send(("error", f"Template {name}: the rendering needs more than {memory_mb} MB.",
                    None, None))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a template error
        conn.send(("error", f"Template {name}: {type(exc).__name__}: {exc}", None, None))
    finally:
        conn.close()


def _context():
    # forkserver: a fresh, single-threaded server forks the workers (forking a Streamlit process
    # with its threads would not be safe), and only the first preview pays for starting it.
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["brandvoice.prompting"])
    return ctx


def preview(info_or_source: TemplateInfo | str, contact: dict, *, brand: str,
            extra: dict | None = None, greeting: str = "", signature: str = "",
            timeout: float | None = None) -> Any:
    """Render a template for one contact in a bounded worker process: the brief (str) of a
    whole-email template, or {subject, body, slots} of a slot template. TemplateError when it
    fails, or runs past the deadline, the CPU or the memory cap."""
    info = info_or_source if isinstance(info_or_source, TemplateInfo) \
        else parse_template(str(info_or_source))
    options = {"greeting": greeting, "signature": signature} if info.kind == "slots" else {}
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, info.source, info.name, contact, brand, extra,
                                            options, (PREVIEW_CPU_S, PREVIEW_MEMORY_MB)),
                       daemon=True)
    proc.start()
    child.close()
    limit = PREVIEW_TIMEOUT_S if timeout is None else timeout
    try:
        if not parent.poll(limit):
            raise TemplateError(f"Template {info.name}: rendering took longer than {limit:.0f} s "
                                "(a loop or a computation too large?).", template=info.name,
                                hint="Simplify the template; a brief renders in milliseconds.")
        try:
            answer = parent.recv()
        except EOFError:
            raise TemplateError(f"Template {info.name}: the rendering was stopped (over "
                                f"{PREVIEW_CPU_S} s of CPU or {PREVIEW_MEMORY_MB} MB of memory).",
                                template=info.name, hint="Simplify the template.") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if answer[0] == "ok":
        return answer[1]
    _, message, hint, line = answer
    raise TemplateError(message, hint=hint, template=info.name, line=line)

