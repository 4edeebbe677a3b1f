"""Dashboard: approval rate, rejection reasons, tone scores, edits by adapter, drafts per day."""

from __future__ import annotations

import streamlit as st

from brandvoice.ui import common


def _stamp() -> tuple:
    """Changes whenever a draft is added or changed: the cache key of the aggregates."""
    from brandvoice import review

    return review.queue_stamp(common.store())


@st.cache_data(max_entries=16, show_spinner=False)
def _stats(db_url: str, stamp: tuple) -> dict:
    """The dashboard's aggregates (cached until a draft changes)."""
    from brandvoice import review

    return review.dashboard(common.store())


def page() -> None:
    """The dashboard page."""
    import altair as alt
    import pandas as pd

    common.require_user()
    st.title("Dashboard")
    data = None
    with common.errors():
        data = _stats(common.settings().db_url or "", _stamp())
    if data is None:
        return
    adapters = data["adapters"]
    if not adapters:
        st.info("No draft yet: the figures appear once drafts are generated and reviewed.")
        return
    total = sum(a["drafts"] for a in adapters)
    ok = sum(a["approved"] + a["exported"] for a in adapters)
    decided = sum(a["decided"] for a in adapters)
    pending = sum(a["pending"] for a in adapters)
    m = st.columns(4)
    m[0].metric("Drafts", f"{total:,}")
    m[1].metric("Pending review", f"{pending:,}")
    m[2].metric("Approval rate", f"{ok / decided:.0%}" if decided else "–",
                help="approved (incl. exported) / decided")
    m[3].metric("Exported", f"{sum(a['exported'] for a in adapters):,}")

    left, right = st.columns(2)
    with left:
        st.subheader("Edits drop as the adapter learns")
        edits = pd.DataFrame([{"adapter": a["adapter"], "median edit distance":
                               a["median_edit_distance"], "approved": a["approved"] + a["exported"]}
                              for a in adapters if a["median_edit_distance"] is not None])
        if edits.empty:
            st.caption("No approved draft yet.")
        else:
            order = [a["adapter"] for a in sorted(adapters, key=_version_key)]
            st.altair_chart(alt.Chart(edits).mark_bar().encode(
                x=alt.X("adapter:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
                y=alt.Y("median edit distance:Q", axis=alt.Axis(format="%"),
                        title="median edit distance"),
                tooltip=["adapter", alt.Tooltip("median edit distance:Q", format=".1%"),
                         "approved"]).properties(height=260), width="stretch")
            st.caption("How much reviewers changed the generated text before approving it "
                       "(normalized Levenshtein distance, median per adapter version).")
        st.subheader("Approval rate by adapter")
        rates = pd.DataFrame([{"adapter": a["adapter"], "approval rate": a["approval_rate"],
                               "decided": a["decided"], "pending": a["pending"]} for a in adapters])
        st.dataframe(rates, hide_index=True, width="stretch", column_config={
            "approval rate": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                             max_value=1)})
    with right:
        st.subheader("Rejection reasons")
        reasons = pd.DataFrame([{"adapter": a["adapter"], "reason": r, "drafts": n}
                                for a in adapters for r, n in a["rejection_reasons"].items()])
        if reasons.empty:
            st.caption("No rejection yet.")
        else:
            st.altair_chart(alt.Chart(reasons).mark_bar().encode(
                y=alt.Y("reason:N", sort="-x", title=None), x=alt.X("sum(drafts):Q", title="drafts"),
                color=alt.Color("adapter:N"), tooltip=["reason", "adapter", "drafts"])
                .properties(height=200), width="stretch")
        st.subheader("Tone score distribution")
        tone = pd.DataFrame(data["tone"])
        if tone.empty:
            st.caption("No tone score yet.")
        else:
            st.altair_chart(alt.Chart(tone).mark_bar().encode(
                x=alt.X("tone:Q", bin=alt.Bin(step=0.05), title="tone score"),
                y=alt.Y("sum(drafts):Q", title="drafts"),
                color=alt.Color("verdict:N", scale=alt.Scale(
                    domain=["pass", "warn", "fail", "unchecked"],
                    range=["#2e7d32", "#ef6c00", "#c62828", "#9e9e9e"])),
                tooltip=["tone", "verdict", "drafts"]).properties(height=200), width="stretch")
    st.subheader("Drafts per day")
    per_day = pd.DataFrame(data["per_day"])
    st.altair_chart(alt.Chart(per_day).mark_bar().encode(
        x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("sum(drafts):Q", title="drafts"),
        color=alt.Color("state:N"), tooltip=["day", "state", "drafts"]).properties(height=220),
        width="stretch")


def _version_key(a: dict) -> tuple:
    label = a["adapter"] or ""
    name, _, version = label.rpartition(" v")
    return (name, int(version)) if version.isdigit() else (label, 0)
