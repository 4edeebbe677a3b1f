"""Brand voice: past emails, what cleaning removed, the high-performer selection drawn on charts,
training (with what to expect from the data), adapters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import adapter_view, common, jobview

# A brand's name is whatever the marketer types ("Greenrow Co/op", "Ça Va!"); only control
# characters are refused (files and lookups use its slug, pages escape it).
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
METRIC_LABELS = {"click_rate": "Click rate", "open_rate": "Open rate", "reply_rate": "Reply rate",
                 "conversion_rate": "Conversion rate"}
COUNT_AXIS = {"tickMinStep": 1, "format": "d"}  # counts have whole-number ticks


@st.cache_data(show_spinner=False, max_entries=8)
def _brands_in(path: str, mtime: float) -> dict[str, int]:
    from brandvoice import corpus

    return corpus.file_brands(path)


@st.cache_data(show_spinner="Reading and cleaning the emails...", max_entries=8)
def _analyse(path: str, mtime: float, brand: str | None, metric: str, quantile: float,
             min_sends: int, mode: str, rows_of: str | None = None) -> dict[str, Any]:
    """Load, clean, select and split (the same steps training runs), as plain data for the page."""
    from brandvoice import corpus, training

    loaded = corpus.read_emails(path, brand=brand or None, rows_of=rows_of)
    cleaned, cleaning = corpus.clean(loaded.emails, metric=metric, min_sends=min_sends)
    selected, selection = corpus.choose(cleaned, metric=metric, quantile=quantile,
                                        min_sends=min_sends, mode=mode, name=Path(path).name)
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
        rows.append({"row": row_label(e.source), "brand": e.brand,
                     "campaign": e.campaign or "(none)", "segment": e.segment,
                     "sent_at": e.sent_at, "subject": e.subject, "sends": e.sends, "rate": rate,
                     "score": corpus.performance_score(e, metric) if rate is not None else None,
                     "weight": picked[e.source].weight if e.source in picked else 0.0,
                     "status": status})
    fraction = training.TrainConfig.model_fields["test_fraction"].default
    train, test = corpus.split(selected, test_fraction=fraction) if selected else ([], [])
    return {"rows": rows, "problems": loaded.problems, "info": loaded.info,
            "cleaning": {k: v for k, v in cleaning.items() if k != "dropped"},
            "dropped": cleaning.get("dropped", []), "selection": selection,
            "split": {"train": len(train), "test": len(test)}}


def row_label(source: str) -> str:
    """Where an email came from, as the user's spreadsheet names it: "row 12" (or "line 3")."""
    return source.rpartition(":")[2].strip() if ":" in source else source


def brand_problem(brand: str) -> str | None:
    """Why a brand name cannot name an adapter, in words, or None."""
    if not brand.strip():
        return "Type the brand's name on the Past emails tab."
    if not any(ch.isalnum() for ch in brand):
        return f"“{brand}” has no letters or digits: type the brand's name."
    if CONTROL.search(brand):
        return "A brand name is one line of text, without control characters."
    if len(brand) > 100:
        return "A brand name is at most 100 characters."
    return None


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
            in_file = {}
            with common.errors():
                in_file = _brands_in(str(path), path.stat().st_mtime)
            c = st.columns(5)
            brand = c[0].text_input("Brand", value=_brand_guess(path, in_file),
                                    key=f"b_brand_{path.name}",
                                    help="The brand's name, as its emails should say it (any "
                                         "characters). The file's brand column, if any, may name "
                                         "it differently.")
            rows_of = _rows_of(path, in_file, brand)
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
                    "min_sends": int(min_sends), "mode": mode, "rows_of": rows_of}
            if (problem := brand_problem(rule["brand"])) and rule["brand"]:
                st.warning(problem)
            with common.errors():
                data = _analyse(str(path), path.stat().st_mtime, **rule)
            if data is not None:
                _what_was_read(data, rule["brand"])
                _selection_view(data, metric)
    with tab_train, common.errors():
        started_ok = True
        if data is not None and path is not None:
            started_ok = _train_form(user, path, data, **rule)
        elif path is not None and common.can("train", user):
            st.subheader("Train an adapter")
            st.button("Start training", type="primary", key="t_go", disabled=True,
                      icon=":material/model_training:")
            st.caption(brand_problem(rule.get("brand", "")) or "Fix the past emails (see the "
                       "message on the Past emails tab) first.")
        else:
            st.info("Choose the past emails on the Past emails tab first.")
        if started_ok:  # an earlier job's outcome never stands under a new error
            _train_progress()
    with tab_adapters, common.errors():
        adapter_view.adapters(user)


def _brand_guess(path: Path, in_file: dict[str, int]) -> str:
    """The brand's name to start from: the file's one brand, else a demo file's brand, else none."""
    if len(in_file) == 1:
        return next(iter(in_file))
    name = path.stem.lower()
    if "brightbean" in name:
        return "Bright Bean"
    return "Ledgerly" if "ledgerly" in name else ""


def _rows_of(path: Path, in_file: dict[str, int], brand: str) -> str | None:
    """Whose rows to read when the file holds several brands (None: the file decides)."""
    from brandvoice import corpus

    if len(in_file) < 2:
        return None
    names = list(in_file)
    typed = corpus.brand_key(brand)
    index = next((i for i, n in enumerate(names) if corpus.brand_key(n) == typed), 0)
    return st.selectbox("Rows of", names, index=index, key=f"b_rows_of_{path.name}",
                        format_func=lambda n: f"{n} ({in_file[n]} rows)",
                        help="The file holds several brands: the rows of this one are read, as "
                             "the brand named on the left.")


def _what_was_read(data: dict[str, Any], brand: str) -> None:
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


# --- past emails ----------------------------------------------------------------------------------
def _selection_view(data: dict[str, Any], metric: str) -> None:
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


# --- training -------------------------------------------------------------------------------------
def _selection_summary(brand: str, data: dict[str, Any], selected: int,
                       problem: str | None) -> None:
    """What the selection gives training, and what to expect from a small one."""
    from brandvoice import training

    split = data.get("split") or {}
    if problem is None:
        st.write(f"**{selected}** emails of **{common.md_escape(brand)}** are selected (Past "
                 f"emails tab): **{split.get('train', 0)}** to learn from and "
                 f"**{split.get('test', 0)}** held out to measure the adapter. Training runs in "
                 "the background: you can leave or reload this page.")
    notes = training.small_set_notes(split.get("train", 0), split.get("test", 0)) if selected else []
    if notes:
        st.warning("**What to expect from this selection**\n\n"
                   + "\n".join(f"- {common.md_escape(n)}" for n in notes),
                   icon=":material/info:")


def _hyperparameters(defaults) -> tuple[float, int, float, str, bool]:
    """The form's settings: (epochs, LoRA rank, learning rate, quantization, feedback drafts)."""
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
                           help=f"Base model: {defaults.base_model}. nf4 = QLoRA (4-bit base).")
    feedback = st.checkbox("Add the approved (and edited) drafts from the review queue",
                           value=True, key="t_feedback",
                           help="The feedback loop: reviewed drafts teach the next version.")
    return epochs, rank, lr, quant, feedback


def _train_form(user, path: Path, data: dict[str, Any], *, brand: str, metric: str,
                quantile: float, min_sends: int, mode: str, rows_of: str | None = None) -> bool:
    """The training form; False when starting a job failed in this run (the error is shown)."""
    from brandvoice import review, training

    st.subheader("Train an adapter")
    if not common.can("train", user):
        st.info("Marketers and admins train adapters.")
        return True
    selected = data["selection"].get("counts", {}).get("selected", 0)
    problem = brand_problem(brand)
    _selection_summary(brand, data, selected, problem)
    settings = common.settings()  # the workspace's base model and quantization, as the CLI's
    defaults = training.TrainConfig(brand=brand or "x", emails=str(path),
                                    base_model=settings.base_model,
                                    quantization=settings.quantization)
    epochs, rank, lr, quant, feedback = _hyperparameters(defaults)
    live = jobview.running("train")
    why_not = problem or (
        "No email is selected: lower “Min sends” or “Keep above quantile”, or choose another "
        "selection on the Past emails tab." if not selected else None) or (
        f"Training job #{live['id']} is still running; start the next one when it finishes."
        if live else None)
    go = st.button("Start training", type="primary", key="t_go", disabled=why_not is not None,
                   icon=":material/model_training:")
    if why_not:
        st.caption(why_not)
    if not go:
        return True
    from brandvoice import jobs

    try:
        config = training.TrainConfig(
            brand=brand, emails=str(path), base_model=defaults.base_model,
            epochs=float(epochs), lora_r=int(rank),
            lora_alpha=2 * int(rank), learning_rate=float(lr), quantization=quant,
            metric=metric, quantile=quantile, min_sends=min_sends, mode=mode,
            include_approved=feedback, rows_of=rows_of)
        job_id = review.submit_training(common.store(), common.settings(), config, user)
        jobs.start(common.settings(), job_id)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)
        return False
    st.session_state["t_job"] = job_id
    st.session_state[f"job_seen_{job_id}"] = "queued"
    st.rerun()
    return True


def _train_progress() -> None:
    job_id = None
    with common.errors():
        job_id = jobview.pick_job("train", "t_job")
    if job_id is None:
        st.caption("No training job yet.")
        return
    st.subheader("Training job")
    jobview.panel(job_id)
