"""The bounded sandbox templates render in: immutable, strict, and limited in work and size.

Jinja's ImmutableSandboxedEnvironment keeps template code away from Python internals and from the
contact it renders; it does not bound the work a template asks for. `BoundedEnvironment` adds:

- arithmetic: `**` with a large exponent or result, `*` repeating a sequence past `MAX_CHARS`,
  and `%`-formatting with a huge width are refused (these operators are intercepted, which also
  keeps Jinja from folding them while compiling: `{{ 9 ** (9 ** 9) }}` never runs at all);
- calls: string padding methods (ljust, center, zfill ...) and the size arguments of the built-in
  filters (center, indent, batch, slice) are bounded, as are widths in format strings;
- loops: every `{% for %}` draws from one budget of `MAX_ITERATIONS` per rendering (the loop's
  iterable is wrapped when the template is parsed);
- output: `render_bounded` streams the rendering and stops at `MAX_CHARS` characters.

Time and memory are bounded where templates are written and tried out (the editor, `templates
render`): `prompting.editor` renders in a worker process with a deadline and an address-space cap.
Batch rendering stays in-process and fast; the limits above bound what one contact can cost.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_CHARS = 200_000  # of a rendering, and of any one string a template builds
MAX_ITERATIONS = 100_000  # loop iterations per rendering, all loops together
MAX_EXPONENT = 1_000
MAX_INT_BITS = 32_768  # ~10,000 digits: more than any number a brief needs
MAX_WIDTH = 10_000  # padding, indent and format widths
_PADDING = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_WIDE_FORMAT = re.compile(r"\d{5,}")  # a width or precision of 10,000 or more in a format string
_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("template_loops",
                                                                          default=None)
ITER_NAME = "_bounded_loop"


def _refuse(what: str) -> SecurityError:
    return SecurityError(f"{what} (a template's work is bounded)")


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _WIDE_FORMAT.search(text):
        raise _refuse(f"format string {text[:40]!r} asks for a width over {MAX_WIDTH:,}")


def _check_size(n: Any, what: str) -> None:
    if isinstance(n, int) and not isinstance(n, bool) and abs(n) > MAX_WIDTH:
        raise _refuse(f"{what} {n:,} is over {MAX_WIDTH:,}")


def bounded_loop(iterable: Iterable) -> Iterator:
    """A for-loop's iterable, drawing each item from the rendering's iteration budget."""
    budget = _BUDGET.get()
    local = [0] if budget is None else budget
    for item in iterable:
        local[0] += 1
        if local[0] > MAX_ITERATIONS:
            raise _refuse(f"loops ran more than {MAX_ITERATIONS:,} times")
        yield item


def _bounded_filter(name: str, func):
    """A built-in filter with its size arguments checked (the value filtered is left alone)."""
    from jinja2.utils import _PassArg

    skip = 2 if _PassArg.from_obj(func) is not None else 1

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if name == "format" and len(args) > skip - 1:
            _check_format(args[skip - 1])
        for value in (*args[skip:], *kwargs.values()):
            _check_size(value, f"{name} size")
        return func(*args, **kwargs)

    return wrapper


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose operators, calls, loops and output are bounded (see the module)."""

    intercepted_binops = frozenset({"**", "*", "%"})

    def __init__(self, **options: Any) -> None:
        options.setdefault("optimized", False)  # no constant folding of user code while compiling
        super().__init__(**options)
        for name in ("center", "indent", "batch", "slice", "format", "wordwrap", "truncate"):
            if name in self.filters:
                self.filters[name] = _bounded_filter(name, self.filters[name])
        self.globals[ITER_NAME] = bounded_loop

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int) and abs(right) > MAX_EXPONENT:
                raise _refuse(f"exponent {right:,} is over {MAX_EXPONENT:,}")
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() * abs(right) > MAX_INT_BITS:
                raise _refuse("the power would be a number of more than 10,000 digits")
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and \
                        len(seq) * n > MAX_CHARS:
                    raise _refuse(f"repeating {len(seq):,} items {n:,} times")
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _refuse("the product would be a number of more than 10,000 digits")
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if getattr(__obj, "__name__", None) in _PADDING and isinstance(
                getattr(__obj, "__self__", None), (str, bytes)):
            for value in (*args, *kwargs.values()):
                _check_size(value, f"{__obj.__name__} width")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any):
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_format(value.__self__)
        return wrapped

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name(ITER_NAME, "load"), [loop.iter], [], None, None,
                                   lineno=loop.lineno)
        return tree


def render_bounded(template, context: dict) -> str:
    """Render with a fresh loop budget, stopping once the output passes MAX_CHARS."""
    token = _BUDGET.set([0])
    try:
        parts: list[str] = []
        size = 0
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_CHARS:
                raise _refuse(f"the rendering is over {MAX_CHARS:,} characters")
            parts.append(piece)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)
