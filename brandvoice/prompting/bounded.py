"""Every rendering of a saved template runs here: in a worker process, bounded per contact.

    with prompting.BoundedRenderer(info, brand="Ledgerly", extra={"now": now}) as r:
        outs = r.many(contacts, tick=check_cancelled)   # a brief, a Skeleton or a TemplateError each
    brief = prompting.BoundedRenderer(info, brand="Ledgerly")(contact)   # one contact

The sandbox (`sandbox`) bounds what a template may ask for, and says so in a clear message; what
is left, a computation that is slow between two checks or a C-level operation that grows, is
bounded by the process: the worker stops a rendering that uses more than `CPU_S` seconds of CPU
(a profiling timer per contact), runs under an address-space cap `MEMORY_MB` above its own size,
and is killed when one contact takes longer than `WALL_S` seconds. A contact whose rendering hits a
bound gets a TemplateError naming the bound; the others are rendered by a fresh worker. `tick` is
called at least every `TICK_S` seconds while the parent waits, so a job's cancel check runs even
while a rendering hangs (and the worker is killed when it raises).

One worker renders a whole job (contacts go in chunks, results come back one by one): ~0.1 ms a
contact above rendering in the process (bench/templates.py).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from brandvoice.errors import TemplateError

CPU_S = 4.0  # CPU seconds one contact's rendering may use
WALL_S = 5.0  # seconds one contact's rendering may take, whatever the machine's load
MEMORY_MB = 256  # address space a worker may grow by
START_S = 60.0  # starting a worker (its first start on a loaded machine imports Jinja)
TICK_S = 0.25
CHUNK = 128  # contacts sent to the worker at once


@dataclass(frozen=True)
class Limits:
    """The bounds of one contact's rendering."""

    cpu_s: float = field(default_factory=lambda: CPU_S)
    wall_s: float = field(default_factory=lambda: WALL_S)
    memory_mb: int = field(default_factory=lambda: MEMORY_MB)


class _CpuSpent(BaseException):
    """Raised in the worker by its profiling timer (a BaseException: no template handler eats it)."""


def _on_cpu_timer(_signum, _frame) -> None:
    raise _CpuSpent


def _cap_memory(memory_mb: int) -> None:
    try:
        import resource

        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = used + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, OSError, ValueError):
        pass  # no rlimits here: the deadline still holds


def _render_one(info, contact: dict, brand: str, extra: dict | None, options: dict) -> Any:
    from brandvoice.prompting.templates import render, render_skeleton

    if info.kind == "slots":
        return render_skeleton(info, contact, brand=brand, extra=extra, **options)
    return render(info, contact, brand=brand, extra=extra)


def _answer(info, idx: int, contact: dict, brand: str, extra: dict | None, options: dict,
            limits: Limits) -> tuple:
    timer = hasattr(signal, "setitimer")
    try:
        if timer:
            signal.setitimer(signal.ITIMER_PROF, limits.cpu_s)
        try:
            out = _render_one(info, contact, brand, extra, options)
        finally:
            if timer:
                signal.setitimer(signal.ITIMER_PROF, 0)
        return ("ok", idx, out)
    except _CpuSpent:
        return ("error", idx, _stopped(info.name, f"over {limits.cpu_s:g} s of CPU"), None, _SIMPLER)
    except TemplateError as exc:
        return ("error", idx, exc.message, exc.line, exc.hint)
    except MemoryError:
        return ("error", idx, _stopped(info.name, f"over {limits.memory_mb} MB of memory"), None,
                _SIMPLER)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a template error
        return ("error", idx, f"Template {info.name}: {type(exc).__name__}: {exc}", None, None)


def _serve(conn, info, brand: str, extra: dict | None, limits: Limits) -> None:
    """The worker: cap memory, then render each contact of each chunk, answering one by one."""
    _cap_memory(limits.memory_mb)
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGPROF, _on_cpu_timer)
    conn.send(("ready",))
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        for idx, contact, options in chunk:
            try:
                conn.send(_answer(info, idx, contact, brand, extra, options, limits))
            except _CpuSpent:  # the timer fired after the rendering: the answer is lost, say why
                conn.send(("error", idx, _stopped(info.name, f"over {limits.cpu_s:g} s of CPU"),
                           None, _SIMPLER))


_SIMPLER = "Simplify the template; a brief renders in milliseconds."


def _stopped(name: str, what: str) -> str:
    return f"Template {name}: the rendering was stopped ({what})."


def _restart_forkserver() -> None:
    """Stop this process's fork server (the next worker starts a new one)."""
    try:
        from multiprocessing import forkserver

        forkserver._forkserver._stop()  # noqa: SLF001 - the standard library's own reset
    except Exception:  # noqa: BLE001 - no fork server, or another start method: nothing to reset
        pass


def _context():
    # forkserver: a fresh, single-threaded server forks the workers (forking a Streamlit page or a
    # job with its threads would not be safe); only the first worker pays for starting it.
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["brandvoice.prompting"])
    return ctx


class _Lost(Exception):
    """The worker answered nothing in time, or died; `why` says which."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class BoundedRenderer:
    """Renders one template for contacts in a bounded worker process (see the module).

    `options(contact)` gives a slot template's greeting and signature for a contact (computed here,
    in the caller's process). Use it as a context manager to keep one worker for many calls.
    """

    def __init__(self, info, *, brand: str, extra: dict | None = None,
                 options: Callable[[dict], dict] | None = None, limits: Limits | None = None):
        self.info, self.brand, self.extra = info, brand, extra
        self.options = options or (lambda _c: {})
        self.limits = limits or Limits()
        self.kind = info.kind
        self._proc = None
        self._conn = None
        self._held = False

    # --- the worker ---------------------------------------------------------------------------
    def _start(self, tick: Callable[[], None] | None) -> None:
        for attempt in (1, 2):
            ctx = _context()
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, self.info, self.brand, self.extra,
                                                    self.limits), daemon=True)
            proc.start()
            child.close()
            self._proc, self._conn = proc, parent
            try:
                msg = self._wait(START_S, tick)
            except _Lost as lost:
                self.close()
                if attempt == 1 and str(lost) == "died":
                    # the fork server itself may be gone or broken (killed, out of memory): a new
                    # one serves the second try
                    _restart_forkserver()
                    continue
                raise TemplateError(f"Template {self.info.name}: the rendering worker did not "
                                    "start.", template=self.info.name,
                                    hint="The machine may be out of memory or processes; try "
                                         "again.") from None
            assert msg == ("ready",), msg
            return

    def _wait(self, limit: float, tick: Callable[[], None] | None) -> tuple:
        """The worker's next message; _Lost after `limit` seconds or when it died. `tick` is called
        every TICK_S seconds meanwhile (it may raise: the caller's finally kills the worker)."""
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Lost("time")
            try:
                if self._conn.poll(min(TICK_S, left)):
                    return self._conn.recv()
            except (EOFError, OSError):
                raise _Lost("died") from None
            if not self._proc.is_alive() and not self._conn.poll(0):
                raise _Lost("died")
            if tick is not None:
                tick()

    def close(self) -> None:
        """Stop the worker (at once: a rendering under way is abandoned)."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if proc is None:
            return
        try:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
        finally:
            conn.close()

    def __enter__(self) -> BoundedRenderer:
        self._held = True
        return self

    def __exit__(self, *_exc) -> None:
        self._held = False
        self.close()

    # --- rendering ------------------------------------------------------------------------------
    def _lost_error(self, why: str) -> TemplateError:
        name = self.info.name
        if why == "time":
            return TemplateError(f"Template {name}: rendering took longer than "
                                 f"{self.limits.wall_s:g} s (a loop or a computation too large?).",
                                 template=name, hint=_SIMPLER)
        return TemplateError(_stopped(name, f"over {self.limits.cpu_s:g} s of CPU or "
                                            f"{self.limits.memory_mb} MB of memory"),
                             template=name, hint=_SIMPLER)

    def many(self, contacts: list[dict], *, tick: Callable[[], None] | None = None) -> list[Any]:
        """Each contact's rendering (a brief, or a Skeleton for a slot template), or the
        TemplateError that stopped it; in the order of `contacts`."""
        out: list[Any] = [None] * len(contacts)
        todo = list(range(len(contacts)))
        try:
            while todo:
                if self._proc is None:
                    self._start(tick)
                chunk, todo = todo[:CHUNK], todo[CHUNK:]
                left = self._send(contacts, chunk, out, tick)
                todo = left + todo
                if tick is not None:
                    tick()
        finally:
            if not self._held:
                self.close()
        return out

    def _send(self, contacts: list[dict], chunk: list[int], out: list[Any],
              tick: Callable[[], None] | None) -> list[int]:
        """Render one chunk; the indexes still to render when a contact stopped the worker."""
        self._conn.send([(i, contacts[i], self.options(contacts[i])) for i in chunk])
        waiting = list(chunk)
        while waiting:
            try:
                msg = self._wait(self.limits.wall_s, tick)
            except _Lost as lost:
                self.close()  # the worker is stuck in (or died of) the first contact waiting
                out[waiting[0]] = self._lost_error(lost.why)
                return waiting[1:]
            idx = msg[1]
            if msg[0] == "ok":
                out[idx] = msg[2]
            else:
                out[idx] = TemplateError(msg[2], template=self.info.name, line=msg[3],
                                         hint=msg[4])
            waiting.remove(idx)
        return []

    def __call__(self, contact: dict) -> Any:
        """One contact's rendering; TemplateError when it fails or hits a bound."""
        (result,) = self.many([contact])
        if isinstance(result, TemplateError):
            raise result
        return result
