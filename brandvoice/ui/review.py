"""Review queue: filter and page through drafts, bulk-approve what passed (after a look at the
list), open one draft (review_draft: read, edit, check, approve or reject)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from brandvoice.ui import common, labels, review_draft

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
    verdict = cols[1].selectbox("Checks", VERDICTS, key="q_verdict",
                                format_func=lambda v: "any" if v == "any" else labels.VERDICTS[v])
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
    if msg := st.session_state.pop("flash", None):
        st.success(msg)
    if msg := st.session_state.pop("flash_error", None):
        st.error(msg)
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
        review_draft.draft(review, user, draft_id, may_review)


def first_lines(body: str, limit: int = 180) -> str:
    """What a draft says first: its lines after the greeting, on one line, cut at `limit`."""
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    text = " ".join(lines[1:] if len(lines) > 1 and lines[0].endswith((",", ":")) else lines)
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _name(r: dict[str, Any]) -> str:
    return " ".join(x for x in (r.get("first_name"), r.get("last_name")) if x) or r.get("email") or ""


def _label(r: dict[str, Any]) -> str:
    return f"#{r['id']} · {r.get('state', '')} · {_name(r)} · {(r.get('subject') or '')[:60]}"


def _table(rows: list[dict[str, Any]]) -> int | None:
    """The current page as a table; returns the id of the draft to open."""
    import pandas as pd

    df = pd.DataFrame([{
        "id": r["id"], "state": r.get("state"),
        "checks": labels.verdict_line(r.get("verdict"), r.get("reasons")),
        "tone": r.get("tone_score"), "contact": _name(r),
        "company": r.get("company") or "", "subject": r.get("subject"),
        "template": r.get("template_name"), "adapter": r.get("adapter_label"),
    } for r in rows])
    event = st.dataframe(df, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="q_table", width="stretch",
                         column_config={"tone": st.column_config.NumberColumn(
                             format="%.2f", help="How much the draft sounds like the brand's "
                                                 "emails (0 to 1).")})
    ids = [r["id"] for r in rows]
    picked = event.selection.rows if event is not None else []
    if picked and st.session_state.get("q_last_pick") != ids[picked[0]]:
        st.session_state["q_last_pick"] = ids[picked[0]]
        st.session_state["q_open"] = ids[picked[0]]
    if st.session_state.get("q_open") not in ids:
        st.session_state["q_open"] = ids[0]
    labels_ = {r["id"]: _label(r) for r in rows}
    return st.selectbox("Open draft", ids, format_func=labels_.get, key="q_open")


# --- bulk approve: look at the list, then approve exactly those ----------------------------------
def _bulk_list(review, user) -> dict[str, Any]:
    """What bulk approve would approve now, and what it would skip (with why)."""
    items = review.bulk_preview(common.store(), user)
    return {"items": [dict(i) for i in items], "skipped": []}


def _list_for_bulk(review, user) -> None:
    try:
        st.session_state["bulk_list"] = _bulk_list(review, user)
    except Exception as exc:  # noqa: BLE001 - shown on the page by the run that follows
        st.session_state["bulk_error"] = exc


def _bulk_approve(review, user) -> None:
    import pandas as pd

    # The list is made in the button's callback, before the run: the expander is then drawn open
    # in the very run that shows the list (made during the run, the browser folded it away).
    with st.expander("Bulk approve", icon=":material/done_all:",
                     expanded="bulk_list" in st.session_state):
        st.write("Approve, in one go, the pending drafts that passed every check. First look at "
                 "the list; only the drafts listed are approved.")
        st.button("List the drafts that passed every check", key="bulk_preview",
                  on_click=_list_for_bulk, args=(review, user))
        if err := st.session_state.pop("bulk_error", None):
            common.show_error(err)
        listing = st.session_state.get("bulk_list")
        if listing is None:
            return
        items = listing["items"]
        if not items:
            st.info("No pending draft passed every check.")
        else:
            notes = review.check_notes(common.store(), [int(r["id"]) for r in items])
            st.dataframe(pd.DataFrame([{
                "draft": f"#{r['id']}", "contact": _name(r), "subject": r.get("subject"),
                "first lines": first_lines(r.get("body") or ""),
                "why it passed": " · ".join(n["message"] for n in notes.get(int(r["id"]), []))}
                for r in items]), hide_index=True, width="stretch",
                height=min(400, 38 + 35 * len(items)),
                column_config={"first lines": st.column_config.TextColumn(width="large"),
                               "why it passed": st.column_config.TextColumn(width="large")})
            if listing.get("more"):
                st.caption(f"… and {listing['more']} more: approve these first, then list again.")
        if listing.get("skipped"):
            st.caption("Left out: " + "; ".join(
                f"#{s.get('id')} ({common.md_escape(s.get('reason', ''))})"
                for s in listing["skipped"][:20]))
        if items and st.button(f"Approve these {len(items)} drafts", key="bulk_approve",
                               type="primary"):
            with common.errors():
                # exactly what was listed: a draft changed since is left out and named
                done = review.bulk_approve_passed(
                    common.store(), user, versions={int(r["id"]): int(r["row_version"])
                                                    for r in items})
                st.session_state.pop("bulk_list", None)
                msg = f"Approved {int(done)} drafts that passed every check."
                skipped = getattr(done, "skipped", None) or []
                if skipped:
                    msg += (f" {len(skipped)} left pending: " + "; ".join(
                        f"#{s['id']} {common.md_escape(s['reason'])}" for s in skipped[:10]))
                st.session_state["flash"] = msg
                st.rerun()
