"""Generate: import a CRM export (mapping its columns if needed), pick brand, adapter and the
campaign's templates, see who gets what before any model runs (ui.plan), run a background job and
watch its drafts arrive."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.errors import BrandvoiceError
from brandvoice.ui import common, crm_mapping, jobview, labels, plan

BASE = "base"  # the adapter choice "no adapter: the base model alone"
OTHER_BRAND = "\u2026another brand"


@st.cache_data(show_spinner="Reading the CRM export...", max_entries=16)
def _import(path: str, mtime: float, activities: str | None, mapping: str | None,
            unmap: tuple[str, ...] = ()) -> Any:
    from brandvoice import crm

    return crm.import_contacts(path, activities=activities,
                               mapping=json.loads(mapping) if mapping else None,
                               unmap_optout=unmap)


def _read(path: str, mtime: float, activities: str | None, mapping: dict | None) -> Any:
    """The import with this mapping; when the mapping stops reading opt-out columns, the page
    asks for an explicit confirmation first (recorded with the job or the saved mapping)."""
    from brandvoice.crm.optouts import OptOutUnmapped

    key = crm_mapping.mapping_json(mapping)
    try:
        return _import(path, mtime, activities, key)
    except OptOutUnmapped as exc:
        st.warning("**This column mapping stops reading opt-out columns**: contacts who "
                   "unsubscribed there would be written to.\n\n"
                   + "\n".join(f"- {common.md_escape(p)}" for p in exc.problems),
                   icon=":material/unsubscribe:")
        columns = tuple(exc.columns)
        if not st.checkbox("I confirm: read " + ", ".join(f"'{c}'" for c in columns) + " as "
                           "ordinary data (recorded in the audit trail with the job)",
                           key="g_unmap_" + hashlib.sha256(repr((key, columns)).encode())
                           .hexdigest()[:12]):
            return None
        st.session_state["g_unmap"] = list(columns)
        return _import(path, mtime, activities, key, columns)


def _saved(header: list[str]) -> dict | None:
    """The mapping saved for this header; a damaged file is named, and the columns detected."""
    from brandvoice import crm

    try:
        return crm.saved_mapping(common.settings(), header)
    except BrandvoiceError as exc:
        st.warning(f"{common.md_escape(exc.message)} {common.md_escape(exc.hint or '')}",
                   icon=":material/warning:")
        return None


@st.cache_data(show_spinner=False, max_entries=16)
def _preview(path: str, mtime: float) -> tuple[list[str], list[list[str]]]:
    from brandvoice import crm

    return crm.preview(path)


def page() -> None:
    """The generate page."""
    user = common.require_user()
    st.title("Generate drafts")
    if not common.can("generate", user):
        st.info("Only marketers and admins run generations.")
        return
    if msg := st.session_state.pop("g_flash", None):
        st.success(msg)
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
    failed = False
    if crm_path is None:
        st.info("Upload a CRM export (CSV) or pick the demo file to start.")
    else:
        result = _import_section(user, crm_path, act_path)
        if result is None:
            failed = True
        elif not result.contacts:
            st.warning("No contact can be written to: fix the rows above (or the column mapping) "
                       "and upload the file again.")
            failed = True
        else:
            failed = not _run_form(user, result, crm_path, act_path)
    if not failed:  # an earlier job's outcome never stands under a new error
        _latest_job()


# --- the import -----------------------------------------------------------------------------------
def _import_section(user: Any, crm_path: Path, act_path: Path | None) -> Any:
    """Preview, mapping editor, import and its report; the ImportResult, or None after an error."""
    st.subheader("Import")
    mtime = crm_path.stat().st_mtime
    acts = str(act_path) if act_path else None
    try:
        header, rows = _preview(str(crm_path), mtime)
    except Exception as exc:  # noqa: BLE001 - a file that cannot be read at all
        common.show_error(exc)
        return None
    st.session_state["g_unmap"] = []  # opt-out columns confirmed on this run only
    saved = _saved(header)
    auto, auto_error = None, None
    try:
        auto = _read(str(crm_path), mtime, acts, saved)
    except BrandvoiceError as exc:
        auto_error = exc
    initial = auto.mapping if auto is not None else (saved or {})
    mapping = crm_mapping.editor(header, rows, initial, saved=saved is not None,
                                 expanded=auto is None, user=user)
    result = auto
    if mapping is not None and mapping != initial:  # edited here: read the file that way
        try:
            result = _read(str(crm_path), mtime, acts, mapping)
        except Exception as exc:  # noqa: BLE001 - shown on the page
            common.show_error(exc)
            return None
    elif auto_error is not None:
        common.show_error(auto_error)
        return None
    if result is None:
        return None
    _import_report(result)
    st.session_state["g_mapping"] = mapping if mapping != initial or saved else None
    return result


def _import_report(result: Any) -> None:
    import pandas as pd

    from brandvoice import crm

    m = st.columns(4)
    short = {"hubspot": "HubSpot", "salesforce": "Salesforce", "pipedrive": "Pipedrive",
             "generic": "Generic CSV"}
    m[0].metric("Profile", short.get(result.profile, "Your mapping"),
                help=crm.PROFILES[result.profile].label if result.profile in crm.PROFILES
                else "Read with the column mapping below.")
    m[1].metric("Contacts", len(result.contacts))
    m[2].metric("Excluded", len(result.excluded), help="Opted out, duplicates, invalid emails.")
    m[3].metric("Row problems", len(result.problems))
    if result.problems:
        shown = result.problems[:50]
        st.warning(f"{len(result.problems)} rows have problems and are left out (rows as your "
                   "spreadsheet numbers them):\n\n"
                   + "\n".join(f"- {common.md_escape(p)}" for p in shown)
                   + (f"\n- ... and {len(result.problems) - 50} more" if len(result.problems) > 50
                      else ""))
    if result.excluded:
        with st.expander(f"Excluded contacts ({len(result.excluded)})"):
            st.dataframe(pd.DataFrame([{"row": e.get("row"), "email": e.get("email"),
                                        "why": e.get("reason")} for e in result.excluded]),
                         hide_index=True, width="stretch")


# --- brand, adapter, template, settings -----------------------------------------------------------
def _same_brand(a: str | None, b: str | None) -> bool:
    from brandvoice import training

    return bool(a and b and training.brand_keys(a) & training.brand_keys(b))


def _brand_choice(ready: list, templates: list, crm_path: Path, col) -> str:
    names: list[str] = []
    for name in [_guess_brand(crm_path), *(a.brand for a in ready),
                 *(t.brand for t in templates if t.brand)]:
        if name and not any(_same_brand(name, n) for n in names):
            names.append(name)
    choice = col.selectbox("Brand", [*names, OTHER_BRAND], key="g_brand_pick",
                           help="The brand the drafts speak for: its adapter, templates and rules.")
    if choice != OTHER_BRAND:
        return choice
    return col.text_input("Brand name", key="g_brand_other").strip()


def _adapter_choice(ready: list, brand: str, col) -> Any:
    """The adapter (or None: the base model); the chosen brand's newest ready one by default."""
    from brandvoice import textio

    own = [a for a in ready if _same_brand(a.brand, brand)]
    others = [a for a in ready if a not in own]
    options = [a.id for a in own] + [BASE] + [a.id for a in others]
    by_id = {a.id: a for a in ready}

    def label(i: Any) -> str:
        if i == BASE:
            return "Base model (no adapter)"
        a = by_id[i]
        mine = "" if a in own else f" (trained for {a.brand})"
        return f"{a.label}{mine} · {str(a.created_at)[:10]}"

    key = f"g_adapter_{textio.compact_key(brand) or 'none'}"  # a new brand starts on its own
    choice = col.selectbox("Adapter", options, key=key, format_func=label, index=0,
                           help="The brand's newest ready adapter is picked for you.")
    adapter = by_id.get(choice)
    if adapter is not None and not _same_brand(adapter.brand, brand):
        st.warning(f"Adapter {adapter.label} was trained on {adapter.brand}'s emails, not "
                   f"{brand}'s: its drafts would sound like {adapter.brand}. Pick a {brand} "
                   "adapter, or the base model.", icon=":material/warning:")
    elif adapter is None and own:
        st.caption(f"The base model writes without {brand}'s voice; {own[0].label} is ready.")
    return adapter


def _run_form(user: Any, result: Any, crm_path: Path, act_path: Path | None) -> bool:
    """Choices, the campaign's plan and the Generate button; False after an error in this run."""
    from brandvoice import generation, prompting, training

    st.subheader("Drafts")
    templates = prompting.list_templates(common.settings())
    if not templates:
        st.warning("No template yet: an admin adds them to the prompts folder.")
        return True
    ready = sorted((a for a in training.list_adapters(common.store()) if a.status == "ready"),
                   key=lambda a: (str(a.created_at), a.version), reverse=True)
    c = st.columns(3)
    brand = _brand_choice(ready, templates, crm_path, c[0])
    if not brand:
        st.info("Type the brand's name.")
        return True
    adapter = _adapter_choice(ready, brand, c[1])
    with c[2]:
        day = plan.send_day(crm_path)
    infos = plan.campaign_choice(templates, brand, _same_brand, st)
    if not infos:
        st.warning(f"Pick the templates of the campaign ({brand}'s own, or the shared ones).")
        return True
    slots = all(t.kind == "slots" for t in infos)
    st.caption(" · ".join(f"{common.md_escape(t.name)}: {common.md_escape(t.audience.describe())}"
                          for t in infos))
    default_k = int(generation.GenerationConfig.model_fields["candidates"].default)
    s = st.columns([1, 1, 2])
    variants = s[0].number_input("Drafts per contact", min_value=1, max_value=5, value=1,
                                 key="g_variants")
    k = s[1].number_input(
        "Candidates per slot" if slots else "Candidates per draft", min_value=1, max_value=8,
        value=min(8, default_k), key="g_candidates",
        help=("The model writes this many candidates for each slot and the guardrails keep the "
              "best; a slot with no good candidate keeps your template's text. More candidates: "
              "fewer fallbacks, a longer job.") if slots else
             ("The model writes this many drafts per contact and the guardrails keep the best. "
              "More candidates: better drafts, a longer job."))
    held = 0
    if slots:
        held = s[2].number_input(
            "Hold back for a fair test (% of contacts)", min_value=0, max_value=50, value=0,
            step=5, key="g_holdback",
            help="These contacts, picked at random (the same ones if the job is resumed), get "
                 "your template's own text in every slot, so that the Results page can compare "
                 "the model's slots with your plain template on the same campaign.")
    try:
        the_plan, moves, excludes = plan.plan_section(result, infos, day, brand)
    except BrandvoiceError as exc:
        common.show_error(exc)
        return False
    n = len(the_plan.routed()) * int(variants)
    config = {"variants": int(variants), "candidates": int(k), "holdback": int(held) / 100}
    return _go(user, crm_path, act_path, infos, adapter, brand, n, config,
               {"as_of": day, "moves": moves, "excludes": excludes})


def _go(user: Any, crm_path: Path, act_path: Path | None, infos: list, adapter: Any, brand: str,
        n: int, config: dict, choices: dict) -> bool:
    from brandvoice import generation, jobs

    live = None
    with common.errors():
        live = jobview.running("generate")
    row = st.container(horizontal=True, vertical_alignment="center")
    go = row.button(f"Generate {n} drafts", type="primary", key="g_go",
                    disabled=n == 0 or live is not None, icon=":material/edit_note:")
    if live is not None:
        if row.button("Cancel", key="g_cancel", icon=":material/stop_circle:",
                      disabled=live["status"] == "cancelling"):
            with common.errors():
                jobs.cancel(common.store(), common.current_user(), live["id"])
                st.rerun()
        row.caption(f"Job #{live['id']} is still running: start the next batch when it "
                    "finishes, or cancel it.")
    if not go:
        return True
    try:
        job_id = generation.campaign.submit(
            common.store(), common.settings(), actor=user, crm=str(crm_path),
            activities=str(act_path) if act_path else None, templates=[t.name for t in infos],
            adapter=str(adapter.id) if adapter else None, brand=brand,
            config=generation.GenerationConfig(**config),
            mapping=st.session_state.get("g_mapping"),
            unmap_optout=st.session_state.get("g_unmap") or (), **choices)
        jobs.start(common.settings(), job_id)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)
        return False
    st.session_state["g_job"] = job_id
    st.session_state[f"job_seen_{job_id}"] = "queued"
    st.rerun()  # the button shows disabled, with Cancel, from the first poll on
    return True


def _guess_brand(path: Path) -> str:
    from brandvoice import demo

    return demo.BRAND if path.name in {p.name for p in demo.files("crm")} else ""


# --- the job and its drafts -----------------------------------------------------------------------
def _latest_job() -> None:
    job_id = None
    with common.errors():
        job_id = jobview.pick_job("generate", "g_job")
    if job_id is None:
        return
    st.subheader("Generation job")
    jobview.panel(job_id, extra=_drafts_of, cancel_here=False)


def _drafts_of(job: dict[str, Any]) -> None:
    """The newest drafts of the job, as they are written (all of them are in the Review queue)."""
    import pandas as pd

    from brandvoice import review

    _, total = review.list_queue(common.store(), job_id=job["id"], limit=1)
    if not total:
        return
    rows, _ = review.list_queue(common.store(), job_id=job["id"], limit=8,
                                offset=max(0, total - 8))
    table = []
    for r in reversed(rows):
        flags = review.get_draft(common.store(), r["id"]).get("flags") or []
        fell_back = [f.split(":", 1)[1] for f in flags if f.startswith("fallback:")]
        table.append({"draft": f"#{r['id']}",
                      "contact": " ".join(x for x in (r.get("first_name"), r.get("last_name"))
                                          if x) or r.get("email"),
                      "subject": r.get("subject"),
                      "checks": labels.VERDICTS.get(r.get("verdict"), r.get("verdict")),
                      "fell back to your text": ", ".join(fell_back) or "–"})
    st.caption(f"{total} drafts so far (the newest first; all of them are in the Review queue).")
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
