"""Results: campaign results back from the email tools, what worked, and edits week by week."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import common, labels

COUNT_AXIS = {"tickMinStep": 1, "format": "d"}
ALL_ADAPTERS = "all adapters"
METRIC_LABELS = {"reply": "Replies", "open": "Opens", "click": "Clicks",
                 "unsubscribe": "Unsubscribes", "bounce": "Bounces"}
FILE_TYPES = ["csv", "txt", "tsv", "mbox", "mbx", "eml"]


def _stamp() -> tuple:
    """Changes when results are imported or a draft changes: the cache key of the figures."""
    from brandvoice import results, review

    return results.stamp(common.store()), review.queue_stamp(common.store())


@st.cache_data(max_entries=32, show_spinner=False)
def _report(db_url: str, stamp: tuple, metric: str, brand: str | None) -> dict:
    from brandvoice import results

    return results.report(common.store(), metric=metric, brand=brand)


@st.cache_data(max_entries=16, show_spinner=False)
def _edits(db_url: str, stamp: tuple, by: tuple[str, ...], period: str) -> list[dict]:
    from brandvoice import results

    return results.edit_metrics(common.store(), by=by, period=period)


def page() -> None:
    """The Results page."""
    user = common.require_user()
    st.title("Results")
    st.write("What happened to the emails you sent: bring back the activity export of your email "
             "tool (or the replies from your mailbox), then see which adapter versions, templates "
             "and slots earn replies, and whether reviewers edit less over time.")
    worked, edits, incoming = st.tabs(["What worked", "Edits", "Import results"])
    with incoming:
        _import_tab(user)
    with worked:
        _worked_tab()
    with edits:
        _edits_tab()


# --- import --------------------------------------------------------------------------------------
def _save(uploads: list[Any]) -> Path:
    """The uploaded file, or a folder of the uploaded .eml files."""
    if len(uploads) == 1:
        return common.save_upload(uploads[0], "results")
    import hashlib

    from brandvoice import textio
    from brandvoice.errors import InputError

    others = [u.name for u in uploads if not u.name.lower().endswith(".eml")]
    if others:
        raise InputError(f"{len(uploads)} files at once are read as a mailbox of .eml files; "
                         f"{', '.join(others[:3])} {'is' if len(others) == 1 else 'are'} not.",
                         hint="Import one activity export at a time, or only .eml files together.")

    digest = hashlib.sha256(b"".join(u.getvalue() for u in uploads)).hexdigest()[:16]
    folder = common.settings().home / "uploads" / "results" / f"mailbox-{digest}"
    for i, u in enumerate(uploads, 1):
        name = f"{i:04d}-{Path(u.name).name}"
        if not (folder / name).exists():
            textio.atomic_write(folder / name, u.getvalue())
    return folder


def _import_tab(user: Any) -> None:
    from brandvoice import delivery, results

    if not common.can("export", user):
        st.info("Whoever ships the drafts brings their results back: marketers, reviewers and "
                "admins.")
    else:
        _import_form(user, delivery, results)
    last = st.session_state.get("r_last")
    if last:
        _show_import(last)
    _history(results)


def _import_form(user: Any, delivery, results) -> None:
    uploads = st.file_uploader(
        "Activity export (CSV) or mailbox (mbox, .eml files)", type=FILE_TYPES, key="r_file",
        accept_multiple_files=True,
        help="Mailchimp's campaign activity, HubSpot's email events, Brevo's or Klaviyo's event "
             "export, any CSV with email, event and timestamp columns; or the replies to emails "
             "sent from here (mbox, or .eml files).")
    c = st.columns([2, 2, 2])
    sources = {"auto": "Recognise it by its columns", **{k: s.title for k, s in
                                                         results.SOURCES.items()},
               "mailbox": "Mailbox: replies and bounces"}
    source = c[0].selectbox("Tool", list(sources), format_func=sources.get, key="r_source")
    batches = []
    with common.errors():
        batches = delivery.list_batches(common.store(), limit=100)
    names = {b["id"]: f"#{b['id']} · {b['profile']} · {b['n_rows']} drafts · "
                      f"{str(b['created_at'])[:10]}" for b in batches}
    chosen = c[1].multiselect("Export batches it reports on", list(names), format_func=names.get,
                              key="r_batches", placeholder="Match by address and time",
                              help="Leave empty: each row goes to the batch its address received "
                                   "last before the event.")
    events = {"": "Named in the file", **{k: f"Every row is a {k}" for k in results.KINDS}}
    event = c[2].selectbox("Event", list(events), format_func=events.get, key="r_event",
                           help="For a list of one event's recipients (Mailchimp's Opened or "
                                "Bounced lists), say which event it is.")
    if st.button("Import results", type="primary", key="r_go", icon=":material/upload_file:",
                 disabled=not uploads):
        with common.errors():
            path = _save(list(uploads))
            st.session_state["r_last"] = results.import_results(
                common.store(), user, path, source=source, batches=chosen, event=event or None)
            st.rerun()


def _show_import(last: dict) -> None:
    from brandvoice import results

    if last.get("already_imported"):
        st.info(f"This file was imported already (#{last['import_id']} by {last['created_by']} "
                f"on {last['created_at'][:10]}): nothing changed.")
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in last["new_by_kind"].items()) or "no new event"
        st.success(f"Import #{last['import_id']} ({last['source']}): {last['matched']:,} of "
                   f"{last['rows']:,} rows matched to sent drafts; {kinds}.")
    named = last["unmatched"] + last["ignored"] + last["invalid"]
    if not named:
        return
    rows = []
    with common.errors():
        rows = results.named_rows(common.store(), last["import_id"])
    st.warning(f"{_rows(last['unmatched'])} matched no sent draft, {_rows(last['ignored'])} "
               f"{'was' if last['ignored'] == 1 else 'were'} left out and "
               f"{_rows(last['invalid'])} could not be read. Each is listed with its row and the "
               "reason.")
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["label", "status", "email", "kind", "reason"])
    st.dataframe(frame.head(500), hide_index=True, width="stretch")
    st.download_button("Download every row not matched (CSV)",
                       data=frame.to_csv(index=False).encode("utf-8"),
                       file_name=f"results-{last['import_id']}-not-matched.csv", mime="text/csv",
                       key="r_named_csv", on_click="ignore")


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _history(results) -> None:
    st.subheader("Past imports")
    rows = []
    with common.errors():
        rows = results.list_imports(common.store(), limit=20)
    if not rows:
        st.caption("No results imported yet.")
        return
    st.dataframe([{"#": r["import_id"], "tool": r["source"], "file": r["file"],
                   "batches": ", ".join(map(str, r["batch_ids"])), "rows": r["rows"],
                   "matched": r["matched"], "new events": r["new_events"],
                   "not matched": r["unmatched"] + r["ignored"] + r["invalid"],
                   "by": r["created_by"], "on": r["created_at"][:16].replace("T", " ")}
                  for r in rows], hide_index=True, width="stretch")


# --- what worked ---------------------------------------------------------------------------------
def _worked_tab() -> None:
    from brandvoice.results.stats import pct

    c = st.columns([3, 2])
    metric = c[0].radio("Outcome", list(METRIC_LABELS), format_func=METRIC_LABELS.get,
                        horizontal=True, key="r_metric")
    rep = None
    with common.errors():
        rep = _report(common.settings().db_url or "", _stamp(), metric, None)
    if rep is None:
        return
    if rep["brands"] and len(rep["brands"]) > 1:
        brand = c[1].selectbox("Brand", ["", *rep["brands"]], key="r_brand",
                               format_func=lambda b: b or "Every brand")
        if brand:
            with common.errors():
                rep = _report(common.settings().db_url or "", _stamp(), metric, brand)
    if not rep["drafts"]:
        st.info("No results yet: import your email tool's activity export for a batch you "
                "exported (Import results tab).")
        return
    o = rep["overall"]
    m = st.columns(5)
    m[0].metric("Measured drafts", f"{rep['drafts']:,}",
                help=f"Every draft of the export batches with results: "
                     f"{', '.join(map(str, rep['batches']))}.")
    rates = {"open": "Open rate", "click": "Click rate", "reply": "Reply rate",
             "bounce": "Bounce rate"}
    for col, (key, label) in zip(m[1:], rates.items(), strict=True):
        col.metric(label, pct(o[key]["rate"]),
                   help=f"{o[key]['k']:,} of {o[key]['n']:,} "
                        + ("sent" if key == "bounce" else "delivered"))
    for table in rep["tables"]:
        if table["groups"]:
            _table(table, METRIC_LABELS[metric].lower())
    st.caption(rep["rule"])


def _table(table: dict, measure: str) -> None:
    import altair as alt
    import pandas as pd

    from brandvoice.results.stats import pct

    groups = table["groups"]
    if len(groups) == 1:
        g = groups[0]
        st.markdown(f"**{table['title']}**: {common.md_escape(g['group'])} only, "
                    f"{pct(g['rate'])} ({g['k']:,} of {g['n']:,}); nothing to compare yet.")
        return
    st.subheader(table["title"])
    df = pd.DataFrame([{"group": g["group"], "rate": g["rate"] or 0.0, "low": g["low"],
                        "high": g["high"], "events": g["k"], "measured": g["n"]} for g in groups])
    base = alt.Chart(df).encode(y=alt.Y("group:N", sort=list(df["group"]), title=None,
                                        axis=alt.Axis(labelLimit=260)))
    bars = base.mark_bar(color="#5c6bc0", opacity=0.75).encode(
        x=alt.X("rate:Q", title=f"{measure} per email", axis=alt.Axis(format="%")),
        tooltip=["group", alt.Tooltip("rate:Q", format=".1%"), "events", "measured",
                 alt.Tooltip("low:Q", format=".1%", title="95% from"),
                 alt.Tooltip("high:Q", format=".1%", title="95% to")])
    whiskers = base.mark_rule(color="#263238", strokeWidth=2).encode(x="low:Q", x2="high:Q")
    st.altair_chart((bars + whiskers).properties(height=alt.Step(32)), width="stretch")
    st.caption("Bars: the rate of each group; lines: its 95% interval.")
    for c in table["comparisons"]:
        (st.success if c["significant"] else st.info)(common.md_escape(c["sentence"]))


# --- edits ---------------------------------------------------------------------------------------
def _edits_tab() -> None:
    import altair as alt
    import pandas as pd

    period = st.radio("Period", ["week", "month"], horizontal=True, key="r_period",
                      format_func=lambda p: f"By {p}")
    rows = overall = None
    with common.errors():
        rows = _edits(common.settings().db_url or "", _stamp(), ("period", "adapter"), period)
        overall = _edits(common.settings().db_url or "", _stamp(), ("period",), period)
    if rows is None or overall is None:
        return
    if not rows:
        st.info("No reviewer decision yet: the figures appear once drafts are approved or "
                "rejected.")
        return
    df = pd.DataFrame(rows)
    # every adapter together: the line the trend is read on; each version's own points beside it
    trend = pd.DataFrame([*rows, *({**r, "adapter": ALL_ADAPTERS} for r in overall)])
    st.subheader("Approved without edits")
    base = alt.Chart(trend).encode(x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0)),
                                   color=alt.Color("adapter:N", title="adapter", scale=_colours(
                                       trend["adapter"])))
    st.altair_chart(base.mark_line(point=True).encode(
        y=alt.Y("share_as_is:Q", title="approved as written", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=["period", "adapter", alt.Tooltip("share_as_is:Q", format=".0%"), "approved"])
        .properties(height=240), width="stretch")
    st.subheader("Words changed before approval")
    st.altair_chart(base.mark_line(point=True).encode(
        y=alt.Y("median_words_changed:Q", title="median words changed"),
        tooltip=["period", "adapter", "median_words_changed", "mean_words_changed", "approved"])
        .properties(height=240), width="stretch")
    st.caption("Words reviewers replaced, deleted or added in the subject and body of each "
               "approved draft (the median per adapter version and period). The figure behind "
               "\u201cedits drop by half\u201d: compare the first weeks with the last.")
    _rejects(df)
    _by_template()


def _colours(names) -> Any:
    """Each adapter its colour; every adapter together in grey."""
    import altair as alt

    versions = sorted({n for n in names if n != ALL_ADAPTERS})
    palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#5d4037"]
    return alt.Scale(domain=[ALL_ADAPTERS, *versions],
                     range=["#9e9e9e", *(palette[i % len(palette)] for i in range(len(versions)))])


def _rejects(df) -> None:
    import altair as alt
    import pandas as pd

    st.subheader("Rejections by reason")
    rej = pd.DataFrame([{"period": r["period"], "adapter": r["adapter"],
                         "reason": labels.reason_label(k), "drafts": n}
                        for r in df.to_dict("records") for k, n in r["rejects_by_reason"].items()])
    if rej.empty:
        st.caption("No rejection yet.")
        return
    st.altair_chart(alt.Chart(rej).mark_bar().encode(
        x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("sum(drafts):Q", title="drafts", axis=alt.Axis(**COUNT_AXIS)),
        color=alt.Color("reason:N"), tooltip=["period", "adapter", "reason", "drafts"])
        .properties(height=220), width="stretch")


def _by_template() -> None:
    rows = None
    with common.errors():
        rows = _edits(common.settings().db_url or "", _stamp(), ("adapter", "template"), "all")
    if not rows:
        return
    st.subheader("By adapter version and template")
    st.dataframe([{"adapter": r["adapter"], "template": r["template"], "decided": r["decided"],
                   "approved as is": r["share_as_is"], "median words changed":
                   r["median_words_changed"], "rejected": r["rejected"],
                   "rejections": ", ".join(f"{labels.reason_label(k)} {n}"
                                           for k, n in r["rejects_by_reason"].items())}
                  for r in rows], hide_index=True, width="stretch", column_config={
        "approved as is": st.column_config.ProgressColumn(format="percent", min_value=0,
                                                          max_value=1)})
