"""The Past emails tab of the Brand voice page: what the file gave (format, columns, the brand,
missing metrics), the selection drawn on charts, and what cleaning changed."""

from __future__ import annotations

from typing import Any

import streamlit as st

from brandvoice.ui import common

METRIC_LABELS = {"click_rate": "Click rate", "open_rate": "Open rate", "reply_rate": "Reply rate",
                 "conversion_rate": "Conversion rate"}
COUNT_AXIS = {"tickMinStep": 1, "format": "d"}  # counts have whole-number ticks


def row_label(source: str) -> str:
    """Where an email came from, as the user's spreadsheet names it: "row 12" (or "line 3")."""
    return source.rpartition(":")[2].strip() if ":" in source else source


def what_was_read(data: dict[str, Any], brand: str) -> None:
    """What the file gave, in words: its format, the columns read and ignored, the brand, and what
    a missing column means (no metrics: every email is used)."""
    info = data["info"]
    read = ", ".join(info.get("columns") or [])
    lines = [f"Read {info.get('rows_read', 0)} rows of {info.get('file', 'the file')} "
             f"({info.get('format', '').upper()}, {info.get('encoding', 'UTF-8')}): columns "
             f"{read or '(none)'}" + (f"; ignored: {', '.join(info['ignored_columns'])}"
                                      if info.get("ignored_columns") else "") + "."]
    renamed = info.get("renamed")
    if renamed:
        lines.append(f"The file calls the brand “{renamed['from']}”: its rows are read as "
                     f"{brand}'s.")
    elif not info.get("file_brands") and brand:
        lines.append(f"No brand column: every row is read as {brand}'s.")
    if data["selection"].get("fallback") == "no_metrics":
        lines.append("No engagement columns (sends and opens, clicks, replies or conversions): "
                     "nothing ranks the emails, so every email is used, unranked. Add those "
                     "columns to train on the best performers only.")
    if "campaign" not in (info.get("columns") or []):
        lines.append("No campaign column: the emails form one campaign, “general”.")
    st.info("\n\n".join(common.md_escape(x) for x in lines), icon=":material/fact_check:")


def selection_view(data: dict[str, Any], metric: str) -> None:
    import altair as alt
    import pandas as pd

    sel = data["selection"]
    counts = sel.get("counts", {})
    removed = len(data["dropped"]) + len(data["cleaning"].get("duplicates", []))
    m = st.columns(4)
    m[0].metric("Emails loaded", data["info"].get("rows_loaded", len(data["rows"])))
    m[1].metric("Rejected rows", data["info"].get("rows_rejected", 0))
    m[2].metric("Removed in cleaning", removed,
                help="Duplicates (the better performing copy is kept) and emails left empty by "
                     "cleaning; listed under “What cleaning changed”.")
    m[3].metric("Selected for training", counts.get("selected", 0))
    for line in sel.get("explanation", []):
        st.caption(common.md_escape(line))
    if data["problems"]:
        with st.expander(f"{len(data['problems'])} rows skipped or rejected (rows as your "
                         "spreadsheet numbers them)"):
            st.markdown("\n".join(f"- {common.md_escape(p)}" for p in data["problems"][:200]))
    _cleaning(data)
    df = pd.DataFrame(data["rows"])
    if df.empty:
        return
    label = METRIC_LABELS.get(metric, metric)
    scored = df[df["score"].notna()].copy()
    status_scale = alt.Scale(domain=["selected", "below threshold", "too few sends",
                                     "no metric data"],
                             range=["#2e7d32", "#9e9e9e", "#ef6c00", "#bdbdbd"])
    if not scored.empty:
        st.altair_chart(_score_chart(scored, sel, label, status_scale), width="stretch")
    by_campaign = (df.assign(selected=df["status"].eq("selected"))
                   .groupby("campaign", dropna=False)
                   .agg(emails=("subject", "size"), selected=("selected", "sum"),
                        mean_rate=("rate", "mean"), sends=("sends", "sum"))
                   .reset_index().sort_values("mean_rate", ascending=False))
    bars = alt.Chart(df).mark_bar().encode(
        y=alt.Y("campaign:N", sort=list(by_campaign["campaign"]), title=None,
                axis=alt.Axis(labelOverlap=False, labelLimit=160)),
        x=alt.X("count():Q", title="emails", axis=alt.Axis(**COUNT_AXIS)),
        color=alt.Color("status:N", title=None, scale=status_scale),
        tooltip=["campaign", "status", alt.Tooltip("count():Q", title="emails")],
    ).properties(height=max(140, 36 * by_campaign.shape[0]),
                 title="Emails per campaign (sorted by mean rate)")
    left, right = st.columns([3, 2])
    left.altair_chart(bars, width="stretch")
    right.dataframe(by_campaign, hide_index=True, width="stretch",
                    column_config={"mean_rate": st.column_config.NumberColumn(label, format="percent")})
    with st.expander("All emails"):
        st.dataframe(df[["row", "status", "campaign", "segment", "sent_at", "subject", "sends",
                         "rate", "score", "weight"]], hide_index=True, width="stretch",
                     column_config={"rate": st.column_config.NumberColumn(format="percent"),
                                    "score": st.column_config.NumberColumn(format="percent")})


def _cleaning(data: dict[str, Any]) -> None:
    """What cleaning removed from which email, and why (rows as the spreadsheet numbers them)."""
    c = data["cleaning"]
    lines = []
    for pair in c.get("duplicates", []):
        kept, dropped = row_label(pair["kept"]), row_label(pair["dropped"])
        if pair.get("kind") == "exact":
            lines.append(f"{dropped}: removed, the same email as {kept} (that one is kept)")
        else:
            lines.append(f"{dropped}: removed, a near duplicate of {kept} "
                         f"({pair.get('similarity', 0):.0f}% alike; {kept} performed better "
                         "and is kept)")
    for d in data["dropped"]:
        lines.append(f"{row_label(d['source'])}: removed, {d['reason']}")
    edits = []
    for f in c.get("footer_lines", []):
        edits.append(f"Footer line removed from {f['emails']} emails: “{f['line']}”")
    if c.get("quoted_replies"):
        edits.append(f"Quoted replies cut from {c['quoted_replies']} emails (the text after "
                     "“On … wrote:” or a forwarded header)")
    if c.get("html_to_text"):
        edits.append(f"{c['html_to_text']} HTML emails turned into plain text")
    if c.get("links_cleaned") or c.get("links_removed"):
        edits.append(f"Tracking removed from {c.get('links_cleaned', 0)} links; "
                     f"{c.get('links_removed', 0)} tracking-only links removed")
    if not lines and not edits:
        return
    with st.expander(f"What cleaning changed ({len(lines)} emails removed)"):
        if lines:
            st.markdown("**Removed emails**\n\n" + "\n".join(f"- {common.md_escape(x)}"
                                                            for x in lines))
        if edits:
            st.markdown("**Changed in the emails that were kept**\n\n"
                        + "\n".join(f"- {common.md_escape(x)}" for x in edits))


def _score_chart(scored, sel: dict[str, Any], label: str, status_scale) -> Any:
    """Each eligible email's score by campaign, colored by the selection, with its threshold."""
    import altair as alt
    import pandas as pd

    thresholds = sel.get("thresholds") or {}
    if thresholds:
        order = sorted(thresholds, key=thresholds.get, reverse=True)
        marks = pd.DataFrame([{"campaign": c, "threshold": t} for c, t in thresholds.items()])
    else:
        order = sorted(scored["campaign"].unique())
        marks = pd.DataFrame([{"campaign": c, "threshold": sel.get("threshold")} for c in order
                              if sel.get("threshold") is not None])
    x = alt.X("campaign:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30))
    points = alt.Chart(scored).transform_calculate(jitter="random()").mark_circle(
        size=70, opacity=0.85).encode(
        x=x, xOffset=alt.XOffset("jitter:Q", scale=alt.Scale(domain=[-0.6, 1.6])),
        y=alt.Y("score:Q", title=f"{label} score (95% lower bound)", axis=alt.Axis(format="%")),
        color=alt.Color("status:N", scale=status_scale, title=None),
        tooltip=["row", "subject", "campaign", "sent_at", "sends",
                 alt.Tooltip("rate:Q", format=".1%"), alt.Tooltip("score:Q", format=".1%"),
                 "status"])
    layers = [points]
    if not marks.empty:
        layers.append(alt.Chart(marks).mark_tick(color="#c62828", thickness=3, size=46).encode(
            x=x, y="threshold:Q", tooltip=["campaign", alt.Tooltip("threshold:Q", format=".2%",
                                                                   title="threshold")]))
    title = (f"Selection by {label.lower()}: red = the threshold of each campaign"
             if thresholds else f"Selection by {label.lower()}: red = the threshold")
    return alt.layer(*layers).properties(height=340, title=title)
