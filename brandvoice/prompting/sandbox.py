"""The bounded sandbox templates render in: immutable, strict, and limited in work and size.

Jinja's ImmutableSandboxedEnvironment keeps template code away from Python internals and from the
contact it renders; it does not bound the work a template asks for. `BoundedEnvironment` adds:

- arithmetic: `**` with a large exponent or result, `*` repeating a sequence past `MAX_CHARS`,
  and `%`-formatting with a huge width are refused (these operators are intercepted, which also
  keeps Jinja from folding them while compiling: `{{ 9 ** (9 ** 9) }}` never runs at all);
- calls: string padding methods (ljust, center, zfill ...) and the size arguments of the built-in
  filters (center, indent, batch, slice) are bounded, as are widths in format strings;
- strings: `+` and `~` joining, the `replace`, `join`, `indent` and `wordwrap` filters, the string
  methods `replace` and `join`, and `lipsum` are refused when their result would pass `MAX_CHARS`
  (checked before the string is built); any call or filter whose result is longer is refused too;
- work: every `{% for %}` draws from one budget of `MAX_ITERATIONS` per rendering (the loop's
  iterable is wrapped when the template is parsed), every call (a macro, a method, `loop()` of a
  recursive loop) from a budget of `MAX_CALLS`, so exponential macro recursion ends early;
- output: `render_bounded` streams the rendering and stops at `MAX_CHARS` characters.

Time and memory are bounded by the process a rendering runs in: every rendering of a template in
a job or a preview runs in a worker (`prompting.bounded`) with a CPU budget and a deadline per
contact and an address-space cap; what a C-level operation does between two checks is caught there.
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
MAX_CALLS = 100_000  # calls (macros, methods, functions) per rendering
MAX_LIPSUM_WORDS = 10_000  # lipsum(n, min, max): n * max words at most
MAX_EXPONENT = 1_000
MAX_INT_BITS = 32_768  # ~10,000 digits: more than any number a brief needs
MAX_WIDTH = 10_000  # padding, indent and format widths
_PADDING = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_WIDE_FORMAT = re.compile(r"\d{5,}")  # a width or precision of 10,000 or more in a format string
# a width or precision taken from an argument: "{0:{1}}".format(...), "%*d" % (...)
_ARG_WIDTH = re.compile(r"\{[^{}]*:[^{}]*\{|%[-#0 +]*(?:\*|\d*\.\*)")
# [loop iterations, calls] of the rendering under way
_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("template_loops",
                                                                          default=None)
ITER_NAME = "_bounded_loop"
CONCAT_NAME = "_bounded_concat"
_SIZED = (str, bytes, list, tuple, dict)


def _refuse(what: str) -> SecurityError:
    return SecurityError(f"{what} (a template's work is bounded)")


def _check_format(text: Any) -> None:
    if isinstance(text, str) and _WIDE_FORMAT.search(text):
        raise _refuse(f"format string {text[:40]!r} asks for a width over {MAX_WIDTH:,}")
    if isinstance(text, str) and _ARG_WIDTH.search(text):
        raise _refuse(f"format string {text[:40]!r} takes a width from its arguments")


def _check_size(n: Any, what: str) -> None:
    if isinstance(n, int) and not isinstance(n, bool) and abs(n) > MAX_WIDTH:
        raise _refuse(f"{what} {n:,} is over {MAX_WIDTH:,}")


def _check_result(value: Any, what: str) -> Any:
    if isinstance(value, _SIZED) and len(value) > MAX_CHARS:
        raise _refuse(f"{what} would make {len(value):,} characters or items (over {MAX_CHARS:,})")
    return value


def _check_total(n: int, what: str) -> None:
    if n > MAX_CHARS:
        raise _refuse(f"{what} would make {n:,} characters (over {MAX_CHARS:,})")


def bounded_loop(iterable: Iterable) -> Iterator:
    """A for-loop's iterable, drawing each item from the rendering's iteration budget."""
    budget = _BUDGET.get()
    local = [0, 0] if budget is None else budget
    for item in iterable:
        local[0] += 1
        if local[0] > MAX_ITERATIONS:
            raise _refuse(f"loops ran more than {MAX_ITERATIONS:,} times")
        yield item


def _count_call() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget[1] += 1
        if budget[1] > MAX_CALLS:
            raise _refuse(f"more than {MAX_CALLS:,} calls (a macro calling itself?)")


def bounded_concat(*parts: Any) -> str:
    """`a ~ b ~ ...`: the strings joined, refused before joining when the result is too long."""
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    _check_total(sum(len(t) for t in texts), "joining with ~")
    return "".join(texts)


def _replace_size(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if not isinstance(text, str | bytes) or not isinstance(old, str | bytes) or \
            not isinstance(new, str | bytes) or len(new) <= len(old):
        return
    hits = text.count(old) if isinstance(old, type(text)) else 0
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    _check_total(len(text) + hits * (len(new) - len(old)), "replace")


def _join_size(sep: Any, items: Any) -> list:
    if isinstance(items, dict):
        items = list(items)
    items = list(bounded_loop(items)) if not isinstance(items, list | tuple | str) else items
    _check_result(items, "join")
    total = len(sep) * max(0, len(items) - 1) if isinstance(sep, str | bytes) else 0
    for item in items:
        total += len(item) if isinstance(item, str | bytes) else 32
        _check_total(total, "join")
    return list(items)


def _precheck_filter(name: str, value: Any, args: tuple, kwargs: dict) -> tuple[Any, tuple]:
    """Refuse a filter call whose result would pass MAX_CHARS, before it is built."""
    if name == "replace" and args:
        _replace_size(str(value) if not isinstance(value, str | bytes) else value, args[0],
                      args[1] if len(args) > 1 else kwargs.get("new", ""),
                      args[2] if len(args) > 2 else kwargs.get("count"))
    elif name == "join":
        sep = args[0] if args else kwargs.get("d", "")
        value = _join_size(sep, value if not isinstance(value, str) else list(value))
    elif name == "indent" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 4)
        width = len(width) if isinstance(width, str) else int(width or 0)
        _check_total(len(value) + width * (value.count("\n") + 1), "indent")
    elif name == "wordwrap" and isinstance(value, str):
        width = args[0] if args else kwargs.get("width", 79)
        wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring") or "\n"
        lines = len(value) // max(1, int(width or 1)) + value.count("\n") + 1
        _check_total(len(value) + lines * len(str(wrap)), "wordwrap")
    return value, args


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    """Jinja's lipsum with the number of words bounded."""
    from jinja2.utils import generate_lorem_ipsum

    for v in (n, min, max):
        _check_size(v, "lipsum size")
    if int(n) * int(max) > MAX_LIPSUM_WORDS:
        raise _refuse(f"lipsum of {n} x {max} words is over {MAX_LIPSUM_WORDS:,} words")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def _bounded_filter(name: str, func):
    """A built-in filter with its size arguments checked (the value filtered is left alone)."""
    from jinja2.utils import _PassArg

    skip = 2 if _PassArg.from_obj(func) is not None else 1

    sized = name in _SIZE_ARGS

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if name == "format" and len(args) > skip - 1:
            _check_format(args[skip - 1])
        if sized:
            for value in (*args[skip:], *kwargs.values()):
                _check_size(value, f"{name} size")
        if len(args) >= skip:
            value, rest = _precheck_filter(name, args[skip - 1], args[skip:], kwargs)
            args = (*args[:skip - 1], value, *rest)
        return _check_result(func(*args, **kwargs), f"the {name} filter")

    return wrapper


_SIZE_ARGS = frozenset({"center", "indent", "batch", "slice", "format", "wordwrap", "truncate"})


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose operators, calls, loops and output are bounded (see the module)."""

    intercepted_binops = frozenset({"**", "*", "%", "+"})

    def __init__(self, **options: Any) -> None:
        options.setdefault("optimized", False)  # no constant folding of user code while compiling
        super().__init__(**options)
        for name, func in list(self.filters.items()):
            self.filters[name] = _bounded_filter(name, func)
        self.globals[ITER_NAME] = bounded_loop
        self.globals[CONCAT_NAME] = bounded_concat
        self.globals["lipsum"] = bounded_lipsum

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
        elif operator == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
            _check_total(len(left) + len(right), "joining with +")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _count_call()
        name = getattr(__obj, "__name__", None)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            if name in _PADDING:
                for value in (*args, *kwargs.values()):
                    _check_size(value, f"{name} width")
            elif name == "replace" and len(args) >= 2:
                _replace_size(owner, args[0], args[1], args[2] if len(args) > 2 else
                              kwargs.get("count"))
            elif name == "join" and args:
                args = (_join_size(owner, args[0]), *args[1:])
        return _check_result(super().call(__context, __obj, *args, **kwargs), f"{name or 'a call'}")

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
        for node in list(tree.find_all(nodes.Concat)):
            # `a ~ b` becomes _bounded_concat(a, b): the size is checked before joining
            call = nodes.Call(nodes.Name(CONCAT_NAME, "load"), list(node.nodes), [], None, None,
                              lineno=node.lineno)
            _replace_node(tree, node, call)
        return tree


def _replace_node(tree: nodes.Node, old: nodes.Node, new: nodes.Node) -> None:
    """Put `new` where `old` is in the tree (a field or an item of a list field)."""
    for parent in tree.find_all(nodes.Node):
        for field in parent.fields:
            value = getattr(parent, field, None)
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return


def render_bounded(template, context: dict) -> str:
    """Render with a fresh loop budget, stopping once the output passes MAX_CHARS."""
    token = _BUDGET.set([0, 0])
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
