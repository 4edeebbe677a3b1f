"""Checks a template passes when it is loaded or saved, each naming the line at fault.

- Every filter and test it uses exists. Jinja itself reports an unknown filter only when the line
  runs, so a typo inside an `{% if %}` would otherwise surface in the middle of a batch.
- A whole-email template (the model reads it as instructions) prints CRM values outside its
  <crm_data> block only as one neutral line: through a filter that makes one (`oneline`,
  `first_name_or`, ...) or a helper whose output is ours (`brief_header`). A raw `{{ company }}` in
  the Task line could carry "Ignore the above" or a new "Task:" into the brief. Slot templates
  print CRM values into the email text, which the model never reads as instructions; their
  `mention=`/`brief=` settings are made one neutral line where the slot is built.
"""

from __future__ import annotations

from jinja2 import nodes

from brandvoice.errors import TemplateError

# Filters whose output is one neutral line (or a number or a date), whatever they are given.
NEUTRAL_FILTERS = frozenset({"oneline", "first_name_or", "ago", "date", "describe", "topic",
                             "join_list", "length", "count", "int", "float", "round", "abs",
                             "wordcount", "filesizeformat"})
# Template variables that do not come from the CRM record.
TRUSTED_NAMES = frozenset({"brand", "use_case", "template", "now", "loop"})
TRUSTED_CALLS = frozenset({"brief_header"})
_OPEN, _CLOSE = "<crm_data>", "</crm_data>"


def check_template(env, source: str, name: str, kind: str) -> None:
    """TemplateError (with the line) for an unknown filter or test, or raw CRM text in a brief."""
    from jinja2 import TemplateSyntaxError

    try:
        tree = env.parse(source, name=name)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"Template {name} line {exc.lineno}: {exc.message}", template=name,
                            line=exc.lineno, hint="Fix the Jinja syntax on that line.") from None
    _check_names(env, tree, name)
    if kind == "email":
        if not any(isinstance(c.node, nodes.Name) and c.node.name == "brief_header"
                   for c in tree.find_all(nodes.Call)):
            raise TemplateError(f"Template {name}: a whole-email template starts with "
                                "{{ brief_header(...) }}.", template=name, line=1,
                                hint="Begin the body with {{ brief_header(campaign=use_case, "
                                     "segment=lifecycle_stage, audience=job_title) }}, or say "
                                     "'kind: slots' in the header for an email skeleton.")
        _check_instructions(tree, name)


def _check_names(env, tree: nodes.Template, name: str) -> None:
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known, what = (env.filters, "filter") if isinstance(node, nodes.Filter) else (env.tests, "test")
        if node.name not in known:
            raise TemplateError(f"Template {name} line {node.lineno}: no {what} named "
                                f"{node.name!r}.", template=name, line=node.lineno,
                                hint=f"Use one of the {what}s listed in prompts/README.md.")


def _check_instructions(tree: nodes.Template, name: str) -> None:
    inside = False
    for output in tree.find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.TemplateData):
                text = child.data
                opened, closed = text.rfind(_OPEN), text.rfind(_CLOSE)
                if opened > closed:
                    inside = True
                elif closed > opened:
                    inside = False
                continue
            if inside:
                continue
            raw = _raw_crm(child)
            if raw is not None:
                raise TemplateError(
                    f"Template {name} line {raw.lineno}: it prints CRM text ({_label(raw)}) into "
                    "the instructions, where a value could add lines or instructions of its own.",
                    template=name, line=raw.lineno,
                    hint="Print it through |oneline(N) (one neutral line), or inside the "
                         "<crm_data> block.")


def _raw_crm(node: nodes.Node) -> nodes.Node | None:
    """The first sub-expression that would print CRM text as it is, else None."""
    if isinstance(node, nodes.Const | nodes.TemplateData):
        return None
    if isinstance(node, nodes.Name):
        return None if node.name in TRUSTED_NAMES else node
    if isinstance(node, nodes.Filter):
        if node.name in NEUTRAL_FILTERS:
            return None
        return _raw_crm(node.node) if node.node is not None else None
    if isinstance(node, nodes.Call):
        if isinstance(node.node, nodes.Name) and node.node.name in TRUSTED_CALLS:
            return None
        return node
    if isinstance(node, nodes.CondExpr):
        return _first(node.expr1, node.expr2)
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Slice):
        return node
    if isinstance(node, nodes.BinExpr | nodes.Concat | nodes.UnaryExpr | nodes.Compare):
        children = [c for c in node.iter_child_nodes() if isinstance(c, nodes.Expr)]
        return _first(*children)
    return node  # anything else (lists, macro calls, ...) is not known to be neutral


def _first(*children: nodes.Node | None) -> nodes.Node | None:
    for child in children:
        if child is not None and (raw := _raw_crm(child)) is not None:
            return raw
    return None


def _label(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_label(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_label(node.node)}[...]"
    return type(node).__name__.lower()
