"""Dashboard: approval rate, rejection reasons, tone scores, edits by adapter, drafts per day."""

from __future__ import annotations

import streamlit as st

from brandvoice.ui import common, labels

COUNT_AXIS = {"tickMinStep": 1, "format": "d"}  # counts have whole-number ticks


def _stamp() -> tuple:
    """Changes whenever a draft is added or changed: the cache key of the aggregates."""
    from brandvoice import review

    return review.queue_stamp(common.store())


@st.cache_data(max_entries=16, show_spinner=False)
def _stats(db_url: str, stamp: tuple) -> dict:
    """The dashboard's aggregates (cached until a draft changes)."""
    from brandvoice import review

    return review.dashboard(common.store())


@st.cache_data(max_entries=16, show_spinner=False)
def _precision(db_url: str, stamp: tuple) -> list[dict] | None:
    """Pass precision per week from reviewers' decisions."""
    from brandvoice import review

    return list(review.pass_precision(common.store(), by="week"))


def page() -> None:
    """The dashboard page."""
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
    _totals(adapters)
    left, right = st.columns(2)
    with left:
        _edits(adapters)
        _approval(adapters)
    with right:
        _rejections(adapters)
        _tone(data["tone"])
    _pass_precision()
    _per_day(data["per_day"])


def _totals(adapters: list[dict]) -> None:
    """Drafts, pending, approval rate and exported, over every adapter."""
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


@st.cache_data(max_entries=16, show_spinner=False)
def _edit_figures(db_url: str, stamp: tuple) -> list[dict]:
    """Edits per adapter version (results.edit_summary, cached until a draft changes)."""
    from brandvoice import results

    return results.edit_summary(common.store())


def _edits(adapters: list[dict]) -> None:
    """Median words changed before approval, per adapter version."""
    import altair as alt
    import pandas as pd

    st.subheader("Edits drop as the adapter learns")
    figures = None
    with common.errors():
        figures = _edit_figures(common.settings().db_url or "", _stamp())
    if figures is None:
        return
    edits = pd.DataFrame([{"adapter": e["adapter"], "median words changed":
                           e["median_words_changed"], "approved as is": e["share_as_is"],
                           "approved": e["approved"]}
                          for e in figures if e["median_words_changed"] is not None])
    if edits.empty:
        st.caption("No approved draft yet.")
    elif not edits["median words changed"].any():
        st.caption("Reviewers approved the drafts as they were written: no edits yet.")
    else:
        order = [a["adapter"] for a in sorted(adapters, key=_version_key)]
        st.altair_chart(alt.Chart(edits).mark_bar().encode(
            x=alt.X("adapter:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("median words changed:Q", title="median words changed",
                    axis=alt.Axis(**COUNT_AXIS)),
            tooltip=["adapter", "median words changed",
                     alt.Tooltip("approved as is:Q", format=".0%"), "approved"])
            .properties(height=260), width="stretch")
        st.caption("How many words reviewers changed in the generated text before approving it "
                   "(median per adapter version). The Results page shows it week by week.")


def _approval(adapters: list[dict]) -> None:
    """Approval rate, decided and pending per adapter."""
    import pandas as pd

    st.subheader("Approval rate by adapter")
    rates = pd.DataFrame([{"adapter": a["adapter"], "approval rate": a["approval_rate"],
                           "decided": a["decided"], "pending": a["pending"]} for a in adapters])
    st.dataframe(rates, hide_index=True, width="stretch", column_config={
        "approval rate": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                         max_value=1)})


def _rejections(adapters: list[dict]) -> None:
    """Rejected drafts by reason, coloured by adapter."""
    import altair as alt
    import pandas as pd

    st.subheader("Rejection reasons")
    reasons = pd.DataFrame([{"adapter": a["adapter"], "reason": labels.reason_label(r),
                             "drafts": n}
                            for a in adapters for r, n in a["rejection_reasons"].items()])
    if reasons.empty:
        st.caption("No rejection yet.")
    else:
        st.altair_chart(alt.Chart(reasons).mark_bar().encode(
            y=alt.Y("reason:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("sum(drafts):Q", title="drafts", axis=alt.Axis(**COUNT_AXIS)),
            color=alt.Color("adapter:N"), tooltip=["reason", "adapter", "drafts"])
            .properties(height=200), width="stretch")


def _tone(rows: list[dict]) -> None:
    """Tone scores of the drafts, binned, coloured by verdict."""
    import altair as alt
    import pandas as pd

    st.subheader("Tone score distribution")
    tone = pd.DataFrame(rows)
    if tone.empty:
        st.caption("No tone score yet.")
    else:
        st.altair_chart(alt.Chart(tone).mark_bar().encode(
            x=alt.X("tone:Q", bin=alt.Bin(step=0.05), title="tone score"),
            y=alt.Y("sum(drafts):Q", title="drafts", axis=alt.Axis(**COUNT_AXIS)),
            color=alt.Color("verdict:N", scale=alt.Scale(
                domain=["pass", "warn", "fail", "unchecked"],
                range=["#2e7d32", "#ef6c00", "#c62828", "#9e9e9e"])),
            tooltip=["tone", "verdict", "drafts"]).properties(height=200), width="stretch")


def _per_day(rows: list[dict]) -> None:
    """Drafts per day, by state."""
    import altair as alt
    import pandas as pd

    st.subheader("Drafts per day")
    per_day = pd.DataFrame(rows)
    st.altair_chart(alt.Chart(per_day).mark_bar().encode(
        x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("sum(drafts):Q", title="drafts", axis=alt.Axis(**COUNT_AXIS)),
        color=alt.Color("state:N"), tooltip=["day", "state", "drafts"]).properties(height=220),
        width="stretch")


def _version_key(a: dict) -> tuple:
    label = a["adapter"] or ""
    name, _, version = label.rpartition(" v")
    return (name, int(version)) if version.isdigit() else (label, 0)


def _pass_precision() -> None:
    """Of the drafts that passed every check, how many reviewers approved, week by week."""
    import altair as alt
    import pandas as pd

    rows = None
    with common.errors():
        rows = _precision(common.settings().db_url or "", _stamp())
    if rows is None:
        return
    st.subheader("Can a pass be trusted?")
    overall_keys = (None, "overall", "all", "total")
    periods = [r for r in rows if r.get("period") not in overall_keys]
    overall = next((r for r in rows if r.get("period") in overall_keys), None)
    if overall is None and periods:
        approved = sum(r.get("approved") or 0 for r in periods)
        rejected = sum(r.get("rejected") or 0 for r in periods)
        overall = {"approved": approved, "rejected": rejected,
                   "precision": approved / (approved + rejected) if approved + rejected else None}
    decided = (overall or {}).get("approved", 0) + (overall or {}).get("rejected", 0)
    bulk = (overall or {}).get("bulk_approved", 0)
    if not decided:
        st.caption("No reviewer has judged a draft that passed every check yet (approved or "
                   "rejected it one by one)"
                   + (f"; {bulk} were bulk-approved, which is not a judgement." if bulk else "."))
        return
    precision = overall.get("precision")
    c = st.columns(2)
    c[0].metric("Pass precision", f"{precision:.0%}" if isinstance(precision, int | float) else "–",
                help="Of the drafts that passed every check and that a reviewer read and decided "
                     "on one by one, the share they approved. A pass should mean “usable”: when "
                     "this drops, the checks let poor drafts through.")
    c[1].metric("Bulk-approved passes", bulk,
                help="Approved in one go because they passed: nobody judged them, so they are not "
                     "in the pass precision.")
    st.caption(f"Computed from {decided} reviewer judgements ({overall.get('approved', 0)} "
               f"approved, {overall.get('rejected', 0)} rejected, one by one) on drafts that "
               f"passed every check; the {bulk} bulk approvals are left out.")
    df = pd.DataFrame([{"week": str(r["period"]), "precision": r.get("precision"),
                        "decided": (r.get("approved") or 0) + (r.get("rejected") or 0),
                        "approved": r.get("approved") or 0, "rejected": r.get("rejected") or 0}
                       for r in periods])
    if df.empty:
        return
    base = alt.Chart(df).encode(x=alt.X("week:O", title=None, axis=alt.Axis(labelAngle=0)))
    line = base.mark_line(point=True, color="#2e7d32").encode(
        y=alt.Y("precision:Q", title="approved among passed", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=["week", alt.Tooltip("precision:Q", format=".0%"), "approved", "rejected"])
    st.altair_chart(line.properties(height=220), width="stretch")
