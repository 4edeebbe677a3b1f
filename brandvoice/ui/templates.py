"""Templates: browse, edit and preview the Jinja briefs with a sample contact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.errors import TemplateError
from brandvoice.ui import common


@st.cache_data(ttl=60, show_spinner=False)
def _sample_contacts(db_url: str) -> list[dict[str, Any]]:
    """Recent contact snapshots from the store, else the demo CRM export's contacts."""
    from brandvoice import crm, demo

    rows = crm.recent_contacts(common.store(), limit=100)
    if rows:
        return rows

    crm_files, act_files = demo.files("crm"), demo.files("activities")
    if crm_files and crm_files[0].is_file():
        act = act_files[0] if act_files and act_files[0].is_file() else None
        return crm.import_contacts(crm_files[0], activities=act).contacts[:100]
    return []


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
    st.error(str(exc))
    if exc.line:
        lines = source.splitlines()
        lo, hi = max(0, exc.line - 3), min(len(lines), exc.line + 2)
        excerpt = "\n".join(f"{'>>' if i + 1 == exc.line else '  '} {i + 1:3d} | {lines[i]}"
                            for i in range(lo, hi))
        st.code(excerpt, language=None)


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
    left, right = st.columns([1, 1], gap="large")
    with left:
        name = st.selectbox("Template", list(by_name), key="t_name",
                            format_func=lambda n: f"{n}: {by_name[n].use_case}")
        info = by_name[name]
        st.caption(info.description)
        st.markdown("Required fields: " + (", ".join(f"`{f}`" for f in info.required_fields)
                                           or "none"))
        may_edit = common.can("edit_templates", user)
        key = f"t_src_{name}_{info.hash[:8]}"
        source = st.text_area("Template source (Jinja)", value=info.source, key=key, height=460,
                              disabled=not may_edit,
                              help="The header between {#- and -#} names the template, its use "
                                   "case and required fields.")
    with right:
        contacts = _sample_contacts(settings.db_url or "")
        brand = st.text_input("Brand", value="Ledgerly", key="t_brand")
        if not contacts:
            st.info("No contact to preview with: import a CRM export on the Generate page.")
            return
        idx = st.selectbox("Sample contact", range(len(contacts)), key="t_contact",
                           format_func=lambda i: _contact_label(contacts[i]))
        contact = contacts[idx]
        edited = None
        try:
            edited = prompting.parse_template(source, name=name)
            missing = prompting.missing_fields(edited, contact)
            if missing:
                st.warning("This contact lacks " + ", ".join(f"`{m}`" for m in missing)
                           + ": generation would skip it. Pick another contact to preview.")
            brief = prompting.render(edited, contact, brand=brand or "Ledgerly")
            st.caption("The brief the model receives (system prompt aside):")
            st.code(brief, language=None, wrap_lines=True)
        except TemplateError as exc:
            _show_template_error(exc, source)
        except Exception as exc:  # noqa: BLE001 - shown on the page
            common.show_error(exc)
    if may_edit:
        with left:
            c = st.columns(2)
            if c[0].button("Save", type="primary", key="t_save", icon=":material/save:"):
                if source == info.source:
                    st.toast("No changes to save.")
                else:
                    with common.errors():
                        path = save_template(Path(settings.prompts_dir), name, source)
                        st.session_state["t_flash"] = f"Saved {path.name}."
                        st.rerun()
            if c[1].button("Discard changes", key="t_discard"):
                st.session_state.pop(key, None)
                st.rerun()
            if msg := st.session_state.pop("t_flash", None):
                st.success(msg)
