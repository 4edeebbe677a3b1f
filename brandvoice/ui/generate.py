"""Generate: import a CRM export, check it, pick template and adapter, run a background job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import common, jobview

BASE = "Base model (no adapter)"


@st.cache_data(show_spinner="Reading the CRM export...", max_entries=8)
def _import(path: str, mtime: float, activities: str | None, profile: str | None) -> Any:
    from brandvoice import crm

    return crm.import_contacts(path, activities=activities, profile=profile)


def page() -> None:
    """The generate page."""
    user = common.require_user()
    st.title("Generate drafts")
    if not common.can("generate", user):
        st.info("Only marketers and admins run generations.")
        return
    c1, c2 = st.columns(2)
    with c1:
        crm_path = common.file_picker("CRM export", "crm", ["csv"], key="g_crm",
                                      help="HubSpot, Salesforce or Pipedrive export, or any CSV "
                                           "with an email column.")
    with c2:
        # The demo activity log belongs to the demo CRM: an uploaded export starts without it
        # (a widget key per case, so that switching the CRM file resets the choice).
        demo_crm = common.is_demo(crm_path)
        act_path = common.file_picker("Activity log (optional)", "activities", ["csv"],
                                      key="g_act_demo" if demo_crm else "g_act", optional=True,
                                      default_demo=demo_crm)
    if crm_path is None:
        st.info("Upload a CRM export (CSV) or pick the demo file to start.")
        _latest_job()
        return
    result = None
    with common.errors():
        result = _import(str(crm_path), crm_path.stat().st_mtime,
                         str(act_path) if act_path else None, None)
    if result is None:
        _latest_job()
        return
    _import_report(result)
    if not result.contacts:
        st.warning("No contact can be written to: fix the rows above and upload the file again.")
        return
    _run_form(user, result, crm_path, act_path)
    _latest_job()


def _import_report(result: Any) -> None:
    import pandas as pd

    st.subheader("Import")
    m = st.columns(4)
    m[0].metric("Profile", result.profile)
    m[1].metric("Contacts", len(result.contacts))
    m[2].metric("Excluded", len(result.excluded))
    m[3].metric("Row problems", len(result.problems))
    with st.expander("Column mapping", expanded=False):
        st.dataframe(pd.DataFrame([{"CRM column": k, "brandvoice field": v}
                                   for k, v in result.mapping.items()]),
                     hide_index=True, width="stretch")
    if result.problems:
        shown = result.problems[:50]
        st.warning(f"{len(result.problems)} rows have problems and are left out:\n\n"
                   + "\n".join(f"- {p}" for p in shown)
                   + (f"\n- ... and {len(result.problems) - 50} more" if len(result.problems) > 50
                      else ""))
    if result.excluded:
        with st.expander(f"Excluded contacts ({len(result.excluded)})"):
            st.dataframe(pd.DataFrame(result.excluded), hide_index=True, width="stretch")


def _run_form(user: Any, result: Any, crm_path: Path, act_path: Path | None) -> None:
    import pandas as pd

    from brandvoice import prompting, training

    st.subheader("Drafts")
    templates = prompting.list_templates(common.settings())
    if not templates:
        st.warning(f"No template in {common.settings().prompts_dir}: add a .j2 file first.")
        return
    by_name = {t.name: t for t in templates}
    ready = [a for a in training.list_adapters(common.store()) if a.status == "ready"]
    labels = [a.label for a in ready] + [BASE]
    c = st.columns([2, 2, 1])
    name = c[0].selectbox("Template", list(by_name), key="g_template",
                          format_func=lambda n: f"{n}: {by_name[n].description}"
                          if by_name[n].description else n)
    adapter_label = c[1].selectbox("Adapter", labels, key="g_adapter",
                                   help="A brand adapter trained on the Brand voice page, or the "
                                        "base model alone.")
    variants = c[2].number_input("Variants", min_value=1, max_value=5, value=1, key="g_variants")
    info = by_name[name]
    st.caption("Required fields: " + (", ".join(f"`{f}`" for f in info.required_fields) or "none"))
    report = prompting.completeness(info, result.contacts)
    missing = report.get("missing") or {}
    ok = report.get("ok") or []
    if missing:
        rows = report.get("rows") or {}
        st.warning(f"{len(missing)} of {len(result.contacts)} contacts lack fields this template "
                   f"needs; they are skipped ({len(ok)} can be written to).")
        with st.expander("Which contacts lack which fields"):
            st.dataframe(pd.DataFrame([{"contact": k, "row": rows.get(k), "missing": ", ".join(v)}
                                       for k, v in missing.items()]), hide_index=True,
                         width="stretch")
    else:
        st.success(f"All {len(ok)} contacts have every field the template needs.")
    adapter = next((a for a in ready if a.label == adapter_label), None)
    brand = adapter.name if adapter else st.text_input("Brand", key="g_brand",
                                                       value=_guess_brand(crm_path))
    n = len(ok) * int(variants)
    if st.button(f"Generate {n} drafts", type="primary", key="g_go", disabled=n == 0):
        from brandvoice import generation, jobs

        with common.errors():
            config = generation.GenerationConfig(variants=int(variants))
            job_id = generation.submit(common.store(), common.settings(), crm=str(crm_path),
                                     activities=str(act_path) if act_path else None,
                                     template=name, adapter=str(adapter.id) if adapter else None,
                                     brand=brand or None, config=config,
                                     created_by=user.username)
            jobs.start(common.settings(), job_id)
            st.session_state["g_job"] = job_id
            st.toast(f"Generation job #{job_id} started.")


def _guess_brand(path: Path) -> str:
    from brandvoice import demo

    return demo.BRAND if path.name in {p.name for p in demo.files("crm")} else ""


def _latest_job() -> None:
    job_id = None
    with common.errors():
        job_id = jobview.pick_job("generate", "g_job")
    if job_id is None:
        return
    st.subheader("Generation job")
    jobview.panel(job_id, extra=_drafts_of)


def _drafts_of(job: dict[str, Any]) -> None:
    from brandvoice import review

    _, total = review.list_queue(common.store(), job_id=job["id"], limit=1)
    if not total:
        return
    rows, _ = review.list_queue(common.store(), job_id=job["id"], limit=10,
                                offset=max(0, total - 10))
    st.caption(f"{total} drafts so far (the newest below; all of them are in the Review queue).")
    for r in reversed(rows):
        st.markdown(f"- #{r['id']} **{r.get('subject', '')}** · {r.get('email', '')} · "
                    f"{r.get('verdict') or 'unchecked'}")
