"""Review queue: filter and page through drafts, read the guardrails, edit, approve or reject."""

from __future__ import annotations

from typing import Any

import streamlit as st

from brandvoice.ui import common

PAGE_SIZE = 25
STATES = ["pending", "approved", "rejected", "exported", "any"]
VERDICTS = ["any", "pass", "warn", "fail"]


@st.cache_data(ttl=30, show_spinner=False)
def _options(db_url: str) -> dict[str, list[str]]:
    """Template names and adapter labels of the drafts (cached briefly)."""
    from brandvoice import review

    return review.filter_options(common.store())


def page() -> None:
    """The review queue."""
    from brandvoice import review

    user = common.require_user()
    st.title("Review queue")
    may_review = common.can("review", user)
    if not may_review:
        st.caption("You can read the queue; reviewers approve, edit and reject drafts.")
    db_url = common.settings().db_url or ""

    cols = st.columns(4)
    state = cols[0].selectbox("State", STATES, key="q_state")
    verdict = cols[1].selectbox("Guardrail verdict", VERDICTS, key="q_verdict")
    options = _options(db_url)
    template = cols[2].selectbox("Template", ["any", *options["template"]], key="q_template")
    adapter = cols[3].selectbox("Adapter", ["any", *options["adapter"]], key="q_adapter")
    filters = {"state": None if state == "any" else state,
               "verdict": None if verdict == "any" else verdict,
               "template": None if template == "any" else template,
               "adapter": None if adapter == "any" else adapter}
    if st.session_state.get("q_filters") != filters:  # new filter: back to the first page
        st.session_state["q_filters"] = filters
        st.session_state["q_page"] = 1

    rows, total = [], 0
    with common.errors():
        n_pages = 1
        _, total = review.list_queue(common.store(), **filters, limit=1, offset=0)
        n_pages = max(1, -(-total // PAGE_SIZE))
        page_no = min(st.session_state.get("q_page", 1), n_pages)
        st.session_state["q_page"] = page_no
        rows, total = review.list_queue(common.store(), **filters, limit=PAGE_SIZE,
                                        offset=(page_no - 1) * PAGE_SIZE)
    if not rows:
        with common.errors():
            anything = total or review.list_queue(common.store(), limit=1)[1]
        if not anything:
            st.info("The queue is empty. Drafts appear here once a marketer runs a generation "
                    "on the Generate page.")
        else:
            st.info("No drafts match these filters.")
        return
    if may_review:
        _bulk_approve(review, user)
    top = st.columns([3, 1])
    top[0].caption(f"{total:,} drafts match · page size {PAGE_SIZE}")
    top[1].number_input("Page", min_value=1, max_value=n_pages, step=1, key="q_page",
                        help=f"{n_pages} pages")
    draft_id = _table(rows)
    if draft_id is not None:
        st.divider()
        _draft(review, user, draft_id, may_review)


def _label(r: dict[str, Any]) -> str:
    name = " ".join(x for x in (r.get("first_name"), r.get("last_name")) if x) or r.get("email") or ""
    return f"#{r['id']} · {r.get('state', '')} · {name} · {(r.get('subject') or '')[:60]}"


def _table(rows: list[dict[str, Any]]) -> int | None:
    """The current page as a table; returns the id of the draft to open."""
    import pandas as pd

    df = pd.DataFrame([{
        "id": r["id"], "state": r.get("state"), "verdict": r.get("verdict") or "",
        "tone": r.get("tone_score"),
        "contact": " ".join(x for x in (r.get("first_name"), r.get("last_name")) if x)
        or r.get("email", ""),
        "company": r.get("company") or "", "subject": r.get("subject"),
        "template": r.get("template_name"), "adapter": r.get("adapter_label"),
    } for r in rows])
    event = st.dataframe(df, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="q_table", width="stretch",
                         column_config={"tone": st.column_config.NumberColumn(format="%.2f")})
    ids = [r["id"] for r in rows]
    picked = event.selection.rows if event is not None else []
    if picked and st.session_state.get("q_last_pick") != ids[picked[0]]:
        st.session_state["q_last_pick"] = ids[picked[0]]
        st.session_state["q_open"] = ids[picked[0]]
    if st.session_state.get("q_open") not in ids:
        st.session_state["q_open"] = ids[0]
    labels = {r["id"]: _label(r) for r in rows}
    return st.selectbox("Open draft", ids, format_func=labels.get, key="q_open")


def _bulk_approve(review, user) -> None:
    with st.expander("Bulk approve", icon=":material/done_all:"):
        st.write("Approve every pending draft whose guardrails all passed (no warning, no failure).")
        if st.button("Approve all drafts that passed everything", key="bulk_approve"):
            with common.errors():
                n = review.bulk_approve_passed(common.store(), user)
                st.session_state["flash"] = f"Approved {n} drafts that passed every check."
                st.rerun()
    if msg := st.session_state.pop("flash", None):
        st.success(msg)


def _draft(review, user, draft_id: int, may_review: bool) -> None:
    d = None
    with common.errors():
        d = review.get_draft(common.store(), draft_id)
    if d is None:
        return
    left, right = st.columns([3, 2], gap="large")
    with left:
        _text_and_actions(review, user, d, may_review)
    with right:
        row = d.get("contact") or {}
        _contact(row.get("data") or row)
        _guardrails(d, may_review)
        _history(d)


def _text_and_actions(review, user, d: dict[str, Any], may_review: bool) -> None:
    did = d["id"]
    # The version the reviewer opened: widgets keep their text across reruns even if someone else
    # changes the draft meanwhile; the core then refuses the stale write and we say so.
    loaded = st.session_state.setdefault(f"q_loaded_{did}", {
        "version": d["row_version"], "subject": d["subject"], "body": d["body"]})
    st.session_state.setdefault(f"subj_{did}", loaded["subject"])
    st.session_state.setdefault(f"body_{did}", loaded["body"])
    version = loaded["version"]
    st.subheader(f"Draft #{did}")
    meta = [f"state **{d['state']}**", f"verdict **{d.get('verdict') or 'unchecked'}**",
            f"template `{d.get('template_name')}`", f"adapter `{d.get('adapter_label')}`",
            f"version {d['row_version']}"]
    if d.get("updated_by"):
        meta.append(f"last change by {d['updated_by']} at {str(d.get('updated_at', ''))[:19]}")
    st.caption(" · ".join(meta))
    _conflict_notice(did, d, loaded)
    actions = set(d.get("allowed_actions") or review.allowed_actions(d["state"])) if may_review \
        else set()
    editable = "edit" in actions
    subject = st.text_input("Subject", key=f"subj_{did}", disabled=not editable)
    body = st.text_area("Body", key=f"body_{did}", height=320, disabled=not editable)
    changed = subject != loaded["subject"] or body != loaded["body"]
    diff = review.text_diff(d["generated_subject"], d["generated_body"], subject, body,
                            new_label="edited" if changed else "current")
    if diff:
        with st.expander("Changes against the generated text", expanded=True):
            st.code(diff, language="diff")
    if not actions:
        return
    note = st.text_input("Note (optional)", key=f"note_{did}",
                         placeholder="Kept with the approval") if "approve" in actions else ""
    a, b, c = st.columns(3)
    if editable and a.button("Save edit", key=f"save_{did}", icon=":material/save:"):
        _act(lambda: review.edit(common.store(), user, did, subject=subject, body=body,
                                 expected_version=version), did, "Edit saved.")
    if "approve" in actions:
        if b.button("Approve", key=f"approve_{did}", type="primary", icon=":material/check:",
                    help="Saves your edit first, if you made one."):
            def approve() -> None:
                v = version
                if changed:
                    v = review.edit(common.store(), user, did, subject=subject, body=body,
                                    expected_version=v)["row_version"]
                review.approve(common.store(), user, did, expected_version=v, note=note or None)
            _act(approve, did, f"Draft #{did} approved.")
    if "reopen" in actions and a.button("Reopen", key=f"reopen_{did}", icon=":material/undo:"):
        _act(lambda: review.reopen(common.store(), user, did, expected_version=version),
             did, f"Draft #{did} is pending again.")
    if "reject" in actions:
        with c.popover("Reject", icon=":material/block:"):
            code = st.selectbox("Reason", list(review.REASON_CODES), key=f"reason_{did}")
            text = st.text_area("Explain (optional)", key=f"reason_text_{did}")
            if st.button("Reject draft", key=f"reject_{did}"):
                _act(lambda: review.reject(common.store(), user, did, expected_version=version,
                                           reason_code=code, reason_text=text or None),
                     did, f"Draft #{did} rejected.")


def _forget(did: int) -> None:
    """Drop what the page kept for a draft, so that it shows the stored text next time."""
    for k in (f"q_loaded_{did}", f"subj_{did}", f"body_{did}", f"note_{did}",
              f"reason_text_{did}", f"conflict_{did}"):
        st.session_state.pop(k, None)


def _act(fn, did: int, ok: str) -> None:
    """Run a review action; a conflict keeps the reviewer's text in the boxes, never loses it."""
    from brandvoice.errors import ConflictError

    try:
        fn()
    except ConflictError as exc:
        st.session_state[f"conflict_{did}"] = str(exc)
        st.rerun()
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)
        return
    _forget(did)
    st.session_state["flash"] = ok
    st.rerun()


def _conflict_notice(did: int, d: dict[str, Any], loaded: dict[str, Any]) -> None:
    message = st.session_state.get(f"conflict_{did}")
    if not message and d["row_version"] == loaded["version"]:
        return
    if not message:
        message = (f"Draft {did} was changed by {d.get('updated_by') or 'someone'} at "
                   f"{str(d.get('updated_at', ''))[:19]} since you opened it (it is now "
                   f"{d['state']}, version {d['row_version']}).")
    st.warning(f"{message}\n\nYour text stays in the boxes below. **Reload** replaces it with "
               "the current version (copy what you want to keep first).",
               icon=":material/sync_problem:")
    with st.expander("The current stored version"):
        st.markdown(f"**{d['subject']}**")
        st.text(d["body"])
    if st.button("Reload draft", key=f"reload_{did}", icon=":material/refresh:"):
        _forget(did)
        st.rerun()


def _contact(contact: dict[str, Any]) -> None:
    st.subheader("Contact")
    if not contact:
        st.caption("No contact snapshot.")
        return
    name = " ".join(x for x in (contact.get("first_name"), contact.get("last_name")) if x)
    st.markdown(f"**{name or contact.get('email', '')}** · {contact.get('email', '')}")
    facts = [(k.replace("_", " "), contact.get(k)) for k in
             ("company", "job_title", "lifecycle_stage", "lead_status", "deal_stage", "city",
              "country") if contact.get(k)]
    if facts:
        st.markdown("  \n".join(f"{k}: **{v}**" for k, v in facts))
    acts = contact.get("activities") or []
    if acts:
        st.caption("Recent activity")
        st.markdown("\n".join(f"- {str(a.get('timestamp', ''))[:10]} {a.get('type', '')}: "
                              f"{a.get('detail', '')}" for a in acts[:5]))
    if contact.get("notes"):
        with st.expander("CRM notes (untrusted text)"):
            st.text(contact["notes"])


def _guardrails(d: dict[str, Any], may_review: bool) -> None:
    st.subheader("Guardrails")
    results = d.get("guardrails") or []
    version = d.get("row_version")
    checked = max((r.get("row_version") or 0 for r in results), default=None)
    if not results:
        st.caption("Not checked yet.")
    else:
        latest = [r for r in results if (r.get("row_version") or 0) == checked]
        if checked != version:
            st.caption(f"These results are for version {checked}; the text changed since.")
        for r in latest:
            status = r.get("status")
            score = f" ({r['score']:.2f})" if isinstance(r.get("score"), (int, float)) else ""
            st.badge(f"{r.get('check')}: {r.get('rule')}{score}",
                     color=common.badge_color(status),
                     icon={"pass": ":material/check:", "warn": ":material/warning:",
                           "fail": ":material/close:"}.get(status or ""))
            if status != "pass" and r.get("message"):
                st.caption(r["message"])
        examples = _nearest(latest)
        if examples:
            with st.expander("Nearest on-brand examples"):
                for ex in examples[:3]:
                    sim = ex.get("similarity", ex.get("score"))
                    head = f"similarity **{sim:.2f}** · " if isinstance(sim, (int, float)) else ""
                    st.markdown(head + (ex.get("email") or ex.get("subject") or ex.get("text")
                                        or ""))
    if may_review and d["state"] == "pending" and checked != version:
        if st.button("Check this version", key=f"recheck_{d['id']}", icon=":material/shield:",
                     help="Run tone, policy and personalization checks on the current text."):
            with common.errors():
                from brandvoice import review

                review.recheck(common.store(), common.current_user(), d["id"],
                               guard=common.guard_for(d.get("brand") or "", d.get("adapter_id")))
                st.rerun()


def _nearest(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in results:
        details = r.get("details") or {}
        for key in ("nearest", "nearest_examples", "examples"):
            if isinstance(details.get(key), list) and details[key]:
                return [e if isinstance(e, dict) else {"text": str(e)} for e in details[key]]
    return []


def _history(d: dict[str, Any]) -> None:
    reviews = d.get("reviews") or []
    versions = d.get("versions") or []
    if not reviews and len(versions) <= 1:
        return
    with st.expander("History"):
        for r in reviews:
            line = f"{str(r.get('created_at', ''))[:19]} **{r.get('reviewer')}** {r.get('action')}"
            if r.get("reason_code"):
                line += f" ({r['reason_code']}{': ' + r['reason_text'] if r.get('reason_text') else ''})"
            st.markdown(line)
        st.caption(f"{len(versions)} text versions")
