"""Checks a template passes when it is loaded or saved, each naming the line at fault.

- Every filter and test it uses exists. Jinja itself reports an unknown filter only when the line
  runs, so a typo inside an `{% if %}` would otherwise surface in the middle of a batch.
- A whole-email template (the model reads it as instructions) prints no CRM value outside its
  <crm_data> block: not a name, a company or an activity's detail, not even as one line. Outside
  the block it prints only its own text, trusted variables (brand, use_case, template, now,
  loop), numbers and dates made from CRM values (`ago`, `date`, `length`, ...) and
  `brief_header(...)` of trusted values. The block is written once, at the top level of the
  template (not inside an `{% if %}` or a macro), so where it is cannot depend on the data.
  Slot templates print CRM values into the email text, which the fill brief carries inside its
  <email> data block; their `mention=`/`brief=` settings go into its <slots> block.
"""

from __future__ import annotations

from jinja2 import nodes

from brandvoice.errors import TemplateError

# Filters whose output holds none of the text they are given: a number or a date.
NEUTRAL_FILTERS = frozenset({"ago", "date", "length", "count", "int", "float", "round", "abs",
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


def _refuse_raw(raw: nodes.Node, name: str) -> TemplateError:
    return TemplateError(
        f"Template {name} line {raw.lineno}: it prints CRM text ({_label(raw)}) into the "
        "instructions, outside the <crm_data> block, where a value could add lines or "
        "instructions of its own.", template=name, line=raw.lineno,
        hint="Print CRM values only inside the <crm_data> block (e.g. {{ contact|crm_fields }}); "
             "the instructions may say 'the contact in the record below', and use |ago or |date "
             "for when something happened.")


def _check_instructions(tree: nodes.Template, name: str) -> None:
    state = "before"  # before, inside, after the <crm_data> block
    for top in tree.body:
        if isinstance(top, nodes.Output):
            for child in top.nodes:
                if isinstance(child, nodes.TemplateData):
                    state = _advance(state, child, name)
                elif state != "inside" and (raw := _raw_crm(child)) is not None:
                    raise _refuse_raw(raw, name)
            continue
        for data in top.find_all(nodes.TemplateData):
            if _OPEN in data.data.lower() or _CLOSE in data.data.lower():
                raise TemplateError(
                    f"Template {name} line {data.lineno}: write <crm_data> and </crm_data> at the "
                    "top level of the template, not inside a block tag ({% if %}, {% for %}, a "
                    "macro ...).", template=name, line=data.lineno,
                    hint="Where the data block is must not depend on the data.")
        if state == "inside":
            continue
        for out in top.find_all(nodes.Output):
            for child in out.nodes:
                if not isinstance(child, nodes.TemplateData) and \
                        (raw := _raw_crm(child)) is not None:
                    raise _refuse_raw(raw, name)
        for call in top.find_all(nodes.CallBlock):  # {% call %}: its macro prints here
            raise _refuse_raw(call, name)


def _advance(state: str, data: nodes.TemplateData, name: str) -> str:
    """The position after a piece of the template's own text: the block opens once, then closes."""
    text = data.data.lower()
    pos = 0
    while True:
        at = [(text.find(m, pos), m) for m in (_OPEN, _CLOSE)]
        at = [(i, m) for i, m in at if i >= 0]
        if not at:
            return state
        i, marker = min(at)
        want = {"before": _OPEN, "inside": _CLOSE}.get(state)
        if marker != want:
            raise TemplateError(f"Template {name} line {data.lineno}: write <crm_data> once, then "
                                "</crm_data> once, in that order.", template=name,
                                line=data.lineno,
                                hint="Put all CRM values inside one <crm_data> block.")
        state = "inside" if state == "before" else "after"
        pos = i + len(marker)


def _raw_crm(node: nodes.Node) -> nodes.Node | None:
    """The first sub-expression that would print CRM text as it is, else None."""
    if isinstance(node, nodes.Const | nodes.TemplateData):
        return None
    if isinstance(node, nodes.Name):
        return None if node.name in TRUSTED_NAMES else node
    if isinstance(node, nodes.Filter):
        if node.name in NEUTRAL_FILTERS:  # its own arguments must not be CRM text either
            return _first(*node.args, *(kw.value for kw in node.kwargs))
        return _raw_crm(node.node) if node.node is not None else None
    if isinstance(node, nodes.Call):
        if isinstance(node.node, nodes.Name) and node.node.name in TRUSTED_CALLS:
            return _first(*node.args, *(kw.value for kw in node.kwargs), node.dyn_args,
                          node.dyn_kwargs)
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
