"""Click options that mirror a config's fields, so that a default, its allowed values, its range
and its help text exist once: in the pydantic model."""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

import click
from annotated_types import Ge, Gt, Le, Lt


def _choices(annotation: Any) -> tuple[str, ...] | None:
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _choices(arg)
            if found:
                return found
    return None


def _base(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _click_type(field) -> Any:
    choices = _choices(field.annotation)
    if choices:
        return click.Choice(choices)
    base = _base(field.annotation)
    if base not in (int, float):
        return str if base is not bool else bool
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        if isinstance(m, Ge):
            lo = m.ge
        elif isinstance(m, Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, Le):
            hi = m.le
        elif isinstance(m, Lt):
            hi, hi_open = m.lt, True
    if base is int:
        return click.IntRange(lo if lo is None or not lo_open else lo + 1,
                              hi if hi is None or not hi_open else hi - 1)
    return click.FloatRange(lo, hi, min_open=lo_open, max_open=hi_open)


def config_options(model, names: list[str], *, rename: dict[str, str] | None = None):
    """Decorate a command with one option per named field of `model` (a brandvoice Config).

    Unset options arrive as None, so that the model's own default applies; `given` picks the set ones.
    """
    rename = rename or {}

    def decorate(fn):
        for name in reversed(names):
            field = model.model_fields[name]
            flag = "--" + rename.get(name, name).replace("_", "-")
            default = field.get_default(call_default_factory=False)
            if _base(field.annotation) is bool:
                decl = f"{flag}/--no-{flag[2:]}"
                fn = click.option(decl, name, default=None, help=field.description,
                                  show_default=str(default).lower())(fn)
                continue
            fn = click.option(flag, name, type=_click_type(field), default=None,
                              help=field.description,
                              show_default=None if default is None else str(default))(fn)
        return fn

    return decorate


def given(options: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The options among `names` that the user set (pops them from `options`)."""
    return {n: v for n in names if (v := options.pop(n, None)) is not None}
