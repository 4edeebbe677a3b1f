"""Templates: browse, edit and preview the Jinja templates with a sample contact.

A whole-email template renders the brief the model receives; a slot template renders the email
itself for the contact, with each slot (name, kind, word limit, what it must mention, its
fallback) listed and highlighted. Save checks the syntax and every filter and test name first;
Discard puts the saved text back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.errors import TemplateError
from brandvoice.ui import common, draftview, labels


def _contact_label(c: dict[str, Any]) -> str:
    name = " ".join(x for x in (c.get("first_name"), c.get("last_name")) if x)
    return f"{name or c.get('email')} · {c.get('company') or ''} · {len(c.get('activities') or [])} activities"


def save_template(folder: Path, name: str, source: str) -> Path:
    """The core's prompting.save_template as the signed-in user (role checked, audited), for the
    templates in `folder`; returns the file's path."""
    from brandvoice import prompting

    settings = common.settings().model_copy(update={"prompts_dir": Path(folder)})
    info = prompting.save_template(settings, common.current_user(), name, source)
    return info.path or Path(folder) / f"{name}.j2"


def _show_template_error(exc: TemplateError, source: str) -> None:
    st.error(common.page_message(exc))
    if exc.line:
        lines = source.splitlines()
        lo, hi = max(0, exc.line - 3), min(len(lines), exc.line + 2)
        excerpt = "\n".join(f"{'>>' if i + 1 == exc.line else '  '} {i + 1:3d} | {lines[i]}"
                            for i in range(lo, hi))
        st.code(excerpt, language=None)


def _discard(key: str, saved: str) -> None:
    # A callback runs before the widgets: setting the state then puts the saved text in the box.
    st.session_state[key] = saved
    st.session_state["t_flash"] = "Changes discarded: the saved template is back."


def page() -> None:
    """The templates page."""
    from brandvoice import prompting

    user = common.require_user()
    st.title("Templates")
    settings = common.settings()
    templates = []
    with common.errors():
        templates = prompting.list_templates(settings)
    if not templates:
        st.info(f"No template in {settings.prompts_dir}. Add a `<name>.j2` file there "
                "(see prompts/README.md).")
        return
    by_name = {t.name: t for t in templates}
    may_edit = common.can("edit_templates", user)
    left, right = st.columns([1, 1], gap="large")
    with left:
        name = st.selectbox("Template", list(by_name), key="t_name",
                            format_func=lambda n: f"{by_name[n].use_case} · "
                            f"{'slot template' if by_name[n].kind == 'slots' else 'whole email'}"
                            f" · {n}")
        info = by_name[name]
        st.caption(common.md_escape(info.description))
        st.markdown(f"**{labels.TEMPLATE_KINDS.get(info.kind, info.kind).capitalize()}**"
                    + (f" · for {common.md_escape(info.brand)}" if info.brand else
                       " · shared by every brand"))
        st.markdown("Required fields: " + (", ".join(f"`{f}`" for f in info.required_fields)
                                           or "none"))
        key = f"t_src_{name}_{info.hash[:8]}"
        st.session_state.setdefault(key, info.source)
        source = st.text_area("Template source (Jinja)", key=key, height=460,
                              disabled=not may_edit,
                              help="The header between {#- and -#} names the template, its use "
                                   "case and required fields.")
        if may_edit:
            _actions(user, settings, name, info, key, source)
    with right:
        _preview(info, name, source)
        if info.kind == "slots" and may_edit:
            _from_past_email(info)


def _actions(user: Any, settings, name: str, info, key: str, source: str) -> None:
    c = st.columns(2)
    if c[0].button("Save", type="primary", key="t_save", icon=":material/save:"):
        if source == info.source:
            st.toast("No changes to save.")
        else:
            try:
                path = save_template(Path(settings.prompts_dir), name, source)
            except TemplateError as exc:
                _show_template_error(exc, source)
            except Exception as exc:  # noqa: BLE001 - shown on the page
                common.show_error(exc)
            else:
                st.session_state.pop(key, None)
                st.session_state["t_flash"] = f"Saved {Path(path).name}."
                st.rerun()
    c[1].button("Discard changes", key="t_discard", on_click=_discard, args=(key, info.source),
                disabled=source == info.source)
    if msg := st.session_state.pop("t_flash", None):
        st.success(msg)


def _preview(info, name: str, source: str) -> None:
    from brandvoice import prompting

    contacts = common.sample_contacts(common.settings().db_url or "")
    brand = info.brand or st.text_input("Brand", value="Ledgerly", key="t_brand")
    if not contacts:
        st.info("No contact to preview with: import a CRM export on the Generate page.")
        return
    idx = st.selectbox("Sample contact", range(len(contacts)), key="t_contact",
                       format_func=lambda i: _contact_label(contacts[i]))
    contact = contacts[idx]
    try:
        edited = prompting.parse_template(source, name=name)
        missing = prompting.missing_fields(edited, contact)
        if missing:
            st.warning("This contact lacks " + ", ".join(f"`{m}`" for m in missing)
                       + ": generation would skip it. Pick another contact to preview.")
        if edited.kind == "slots":
            _skeleton(edited, contact, brand or "Ledgerly")
        else:
            brief = prompting.preview(edited, contact, brand=brand or "Ledgerly")
            st.caption("The brief the model receives (system prompt aside):")
            st.code(brief, language=None, wrap_lines=True)
    except TemplateError as exc:
        _show_template_error(exc, source)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)


def _skeleton(info, contact: dict, brand: str) -> None:
    """A slot template for the sample contact: the email with its slots, and each slot's settings."""
    import pandas as pd

    from brandvoice import prompting

    profile = prompting.load_profile(common.settings().guardrails_dir, brand)
    shown = prompting.preview(  # in a bounded worker: a saved template may loop or grow
        info, contact, brand=brand, signature=profile.signature,
        greeting=profile.greeting_for(contact))
    skeleton = prompting.Skeleton(shown["subject"], shown["body"],
                                  [prompting.SlotSpec(**s) for s in shown["slots"]])
    st.caption("The email for this contact. The model writes only the marked slots; each shows "
               "its fallback text here, which the draft keeps when no candidate is good enough.")
    parts = skeleton.parts({}, {})
    st.html(draftview.email_html(skeleton.subject, skeleton.body, parts))
    st.dataframe(pd.DataFrame([{
        "slot": s.name, "kind": s.kind, "at most (words)": s.words, "fallback text": s.fallback,
        "must mention": s.mention or "–", "note to the model": s.brief or "–"}
        for s in skeleton.slots]),
        hide_index=True, width="stretch",
        column_config={"fallback text": st.column_config.TextColumn(width="large"),
                       "at most (words)": st.column_config.NumberColumn(width="small")})


def _from_past_email(info) -> None:
    """Start a skeleton from one of the brand's best past emails (where the core offers it)."""
    from brandvoice import prompting, training

    if not info.brand:
        return
    with st.expander("Start a skeleton from one of the brand's best past emails"):
        emails = []
        with common.errors():
            adapter = training.get_adapter(common.store(), info.brand)
            emails = sorted(training.training_emails(adapter),
                            key=lambda e: -(getattr(e, "score", None) or 0.0))[:20]
        if not emails:
            st.caption(f"No trained {info.brand} adapter yet: its best past emails are picked "
                       "when one is trained.")
            return
        i = st.selectbox("Past email", range(len(emails)), key="t_past",
                         format_func=lambda k: emails[k].subject)
        with common.errors():
            st.code(prompting.skeleton_source(
                emails[i].subject, emails[i].body, name=f"{info.name}_draft", brand=info.brand,
                use_case=info.use_case or info.name, origin=f"past email: {emails[i].subject}"),
                language=None, wrap_lines=True)
