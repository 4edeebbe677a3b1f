"""Brand voice: past emails, the high-performer selection drawn on charts, training, adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import common, jobview

METRIC_LABELS = {"click_rate": "Click rate", "open_rate": "Open rate", "reply_rate": "Reply rate",
                 "conversion_rate": "Conversion rate"}


@st.cache_data(show_spinner="Reading and cleaning the emails...", max_entries=8)
def _analyse(path: str, mtime: float, brand: str | None, metric: str, quantile: float,
             min_sends: int, mode: str) -> dict[str, Any]:
    """Load, clean and select (the same steps training runs), as plain data for the charts."""
    from brandvoice import corpus

    loaded = corpus.read_emails(path, brand=brand or None)
    cleaned, cleaning = corpus.clean(loaded.emails, metric=metric, min_sends=min_sends)
    selected, selection = corpus.select(cleaned, metric=metric, quantile=quantile,
                                        min_sends=min_sends, mode=mode)
    picked = {e.source: e for e in selected}
    rows = []
    for e in cleaned:
        rate = e.rate(metric)
        if e.source in picked:
            status = "selected"
        elif rate is None:
            status = "no metric data"
        elif min_sends and (e.sends is None or e.sends < min_sends):
            status = "too few sends"
        else:
            status = "below threshold"
        rows.append({"source": e.source, "brand": e.brand, "campaign": e.campaign or "(none)",
                     "segment": e.segment, "sent_at": e.sent_at, "subject": e.subject,
                     "sends": e.sends, "rate": rate,
                     "score": corpus.performance_score(e, metric) if rate is not None else None,
                     "weight": picked[e.source].weight if e.source in picked else 0.0,
                     "status": status})
    return {"rows": rows, "problems": loaded.problems, "info": loaded.info,
            "cleaning": {k: v for k, v in cleaning.items() if k != "dropped"},
            "dropped": cleaning.get("dropped", []), "selection": selection}


def page() -> None:
    """The brand voice page."""
    from brandvoice import corpus

    user = common.require_user()
    st.title("Brand voice")
    tab_data, tab_train, tab_adapters = st.tabs(["Past emails", "Train", "Adapters"])
    data, path, rule = None, None, {}
    with tab_data:
        path = common.file_picker("Past emails", "emails", ["csv", "jsonl", "ndjson", "json"],
                                  key="b_emails",
                                  help="CSV or JSONL with subject and body, plus sends and "
                                       "opens/clicks/replies/conversions to pick high performers.")
        if path is None:
            st.info("Upload past emails (CSV or JSONL with at least subject and body) or pick a "
                    "demo file.")
        else:
            c = st.columns(5)
            brand = c[0].text_input("Brand", value=_brand_guess(path), key=f"b_brand_{path.name}",
                                    help="Rows of other brands in the same file are skipped.")
            metric = c[1].selectbox("Metric", list(corpus.METRICS), key="b_metric",
                                    index=list(corpus.METRICS).index("click_rate"),
                                    format_func=lambda m: METRIC_LABELS.get(m, m))
            mode = c[2].selectbox("Selection", list(corpus.MODES), key="b_mode",
                                  help="top: only the best emails; weight: all, weighted by "
                                       "performance; all: ignore performance.")
            quantile = c[3].slider("Keep above quantile", 0.0, 0.95, 0.5, 0.05, key="b_quantile",
                                   disabled=mode != "top")
            min_sends = c[4].number_input("Min sends", 0, 1_000_000, 100, 50, key="b_min_sends")
            rule = {"brand": brand.strip(), "metric": metric, "quantile": float(quantile),
                    "min_sends": int(min_sends), "mode": mode}
            with common.errors():
                data = _analyse(str(path), path.stat().st_mtime, **rule)
            if data is not None:
                _selection_view(data, metric)
    with tab_train, common.errors():
        if data is not None and path is not None:
            _train_form(user, path, data, **rule)
        else:
            st.info("Choose the past emails on the Past emails tab first.")
        _train_progress()
    with tab_adapters, common.errors():
        _adapters()


def _brand_guess(path: Path) -> str:
    name = path.stem.lower()
    if "brightbean" in name:
        return "Bright Bean"
    return "Ledgerly" if "ledgerly" in name else ""


def _selection_view(data: dict[str, Any], metric: str) -> None:
    import altair as alt
    import pandas as pd

    sel = data["selection"]
    counts = sel.get("counts", {})
    m = st.columns(4)
    m[0].metric("Emails loaded", data["info"].get("rows_loaded", len(data["rows"])))
    m[1].metric("Rejected rows", data["info"].get("rows_rejected", 0))
    m[2].metric("Removed in cleaning", len(data["dropped"]) + len(data["cleaning"].get("duplicates", [])),
                help="Emails left empty by cleaning, plus exact and near duplicates (the better "
                "performing copy is kept).")
    m[3].metric("Selected for training", counts.get("selected", 0))
    for line in sel.get("explanation", []):
        st.caption(line)
    if data["problems"]:
        with st.expander(f"{len(data['problems'])} rows skipped or rejected"):
            st.markdown("\n".join(f"- {p}" for p in data["problems"][:200]))
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
        x=alt.X("count():Q", title="emails"),
        color=alt.Color("status:N", title=None, scale=status_scale),
        tooltip=["campaign", "status", alt.Tooltip("count():Q", title="emails")],
    ).properties(height=max(140, 36 * by_campaign.shape[0]),
                 title="Emails per campaign (sorted by mean rate)")
    left, right = st.columns([3, 2])
    left.altair_chart(bars, width="stretch")
    right.dataframe(by_campaign, hide_index=True, width="stretch",
                    column_config={"mean_rate": st.column_config.NumberColumn(label, format="percent")})
    with st.expander("All emails"):
        st.dataframe(df[["status", "campaign", "segment", "sent_at", "subject", "sends", "rate",
                         "score", "weight", "source"]], hide_index=True, width="stretch",
                     column_config={"rate": st.column_config.NumberColumn(format="percent"),
                                    "score": st.column_config.NumberColumn(format="percent")})


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
        tooltip=["subject", "campaign", "sent_at", "sends", alt.Tooltip("rate:Q", format=".1%"),
                 alt.Tooltip("score:Q", format=".1%"), "status"])
    layers = [points]
    if not marks.empty:
        layers.append(alt.Chart(marks).mark_tick(color="#c62828", thickness=3, size=46).encode(
            x=x, y="threshold:Q", tooltip=["campaign", alt.Tooltip("threshold:Q", format=".2%",
                                                                   title="threshold")]))
    title = (f"Selection by {label.lower()}: red = the threshold of each campaign"
             if thresholds else f"Selection by {label.lower()}: red = the threshold")
    return alt.layer(*layers).properties(height=340, title=title)


def _train_form(user, path: Path, data: dict[str, Any], *, brand: str, metric: str,
                quantile: float, min_sends: int, mode: str) -> None:
    st.subheader("Train an adapter")
    if not common.can("train", user):
        st.info("Marketers and admins train adapters.")
        return
    st.write(f"**{data['selection'].get('counts', {}).get('selected', 0)}** emails of **{brand}** "
             "are selected (Past emails tab). Training runs in the background: you can leave or "
             "reload this page.")
    from brandvoice import review, training

    defaults = training.TrainConfig(brand=brand or "x", emails=str(path))
    c = st.columns(4)
    epochs = c[0].number_input("Epochs", 0.5, 20.0, float(defaults.epochs), 0.5, key="t_epochs")
    ranks = [4, 8, 16, 32]
    rank = c[1].selectbox("LoRA rank", ranks, key="t_rank",
                          index=ranks.index(defaults.lora_r) if defaults.lora_r in ranks else 2)
    rates = sorted({5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, defaults.learning_rate})
    lr = c[2].select_slider("Learning rate", rates, value=defaults.learning_rate, key="t_lr",
                            format_func=lambda v: f"{v:.0e}")
    quant = c[3].selectbox("Quantization", ["nf4", "int8", "none"], key="t_quant",
                           index=["nf4", "int8", "none"].index(defaults.quantization),
                           help="nf4 = QLoRA (4-bit base).")
    feedback = st.checkbox("Add the approved (and edited) drafts from the review queue",
                           value=True, key="t_feedback",
                           help="The feedback loop: reviewed drafts teach the next version.")
    if st.button("Start training", type="primary", key="t_go", icon=":material/model_training:"):
        from brandvoice import jobs

        with common.errors():
            config = training.TrainConfig(
                brand=brand, emails=str(path), epochs=float(epochs), lora_r=int(rank),
                lora_alpha=2 * int(rank), learning_rate=float(lr), quantization=quant,
                metric=metric, quantile=quantile, min_sends=min_sends, mode=mode,
                include_approved=feedback)
            job_id = review.submit_training(common.store(), common.settings(), config, user)
            jobs.start(common.settings(), job_id)
            st.session_state["t_job"] = job_id
            st.toast(f"Training job #{job_id} started.")


def _train_progress() -> None:
    job_id = None
    with common.errors():
        job_id = jobview.pick_job("train", "t_job")
    if job_id is None:
        st.caption("No training job yet.")
        return
    st.subheader("Training job")
    jobview.panel(job_id)


def _tone_profiles() -> dict[Any, dict[str, Any]]:
    """The newest tone calibration per adapter id (and per brand, key None-adapter)."""
    from brandvoice import guardrails

    return guardrails.tone_calibrations(common.store())


def _adapters() -> None:
    import pandas as pd

    from brandvoice import training

    rows = []
    tones = _tone_profiles()
    for a in training.list_adapters(common.store()):
        m = a.metrics or {}
        tone = tones.get(a.id) or tones.get(("brand", a.name)) or {}
        cal = tone.get("calibration") or {}
        rows.append({"adapter": a.label, "status": a.status, "base model": a.base_model,
                     "quantization": a.quantization, "created": str(a.created_at)[:16],
                     "train emails": m.get("n_train"), "steps": m.get("steps"),
                     "ppl base": _num(m, "heldout_ppl_base"),
                     "ppl adapter": _num(m, "heldout_ppl_adapter"),
                     "ppl ratio": _num(m, "heldout_ppl_ratio"),
                     "tone threshold": _num(tone, "threshold"),
                     "tone precision": _num(cal, "precision"),
                     "tone recall": _num(cal, "recall")})
    if not rows:
        st.info("No adapter yet: train one on the Train tab.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.2f")
                                for k in ("ppl base", "ppl adapter", "ppl ratio", "tone threshold",
                                          "tone precision", "tone recall")})
    st.caption("Held-out perplexity on the brand's held-out emails: lower is better, and the "
               "adapter should beat the base model (ratio < 1). Tone calibration: the similarity "
               "threshold of the tone guardrail, with its precision and recall on held-out "
               "on-brand vs. off-brand emails.")


def _num(d: dict, *keys: str) -> float | None:
    for k in keys:
        if isinstance(d.get(k), (int, float)):
            return float(d[k])
    return None
