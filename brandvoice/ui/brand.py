"""Brand voice: past emails, what cleaning removed, the high-performer selection drawn on charts,
training (with what to expect from the data), adapters."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import adapter_view, common, jobview, past_emails, policy_view, template_new

# A brand's name is whatever the marketer types ("Greenrow Co/op", "Ça Va!"); only control
# characters are refused (files and lookups use its slug, pages escape it).
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
        rows.append({"row": past_emails.row_label(e.source), "brand": e.brand,
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
    tab_data, tab_rules, tab_templates, tab_train, tab_adapters = st.tabs(
        ["Past emails", "Brand rules", "Slot templates", "Train", "Adapters"])
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
                                    format_func=lambda m: past_emails.METRIC_LABELS.get(m, m))
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
                past_emails.what_was_read(data, rule["brand"])
                past_emails.selection_view(data, metric)
    with tab_rules, common.errors():
        if brand_problem(rule.get("brand", "")) and path is not None:
            st.info(brand_problem(rule.get("brand", "")))
        else:
            policy_view.rules(user, path, rule.get("brand", ""), rule.get("rows_of"))
    with tab_templates, common.errors():
        if brand_problem(rule.get("brand", "")):
            st.info(brand_problem(rule.get("brand", "")))
        else:
            template_new.builder(user, path, rule["brand"], rule.get("rows_of"))
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


OUTCOMES = {"": "No", "reply": "Yes: the sent drafts that got a reply",
            "click": "Yes: the sent drafts that got a click",
            "open": "Yes: the sent drafts that were opened"}


def _hyperparameters(defaults) -> tuple[float, int, float, str, bool, str]:
    """The form's settings: (epochs, LoRA rank, learning rate, quantization, feedback drafts,
    the outcome to learn from in the campaign results, "" for none). Keyed by the base model: each
    base starts from its own defaults (a preset's measured learning rate)."""
    c = st.columns(4)
    base = defaults.base_model
    epochs = c[0].number_input("Epochs", 0.5, 20.0, float(defaults.epochs), 0.5,
                               key=f"t_epochs_{base}")
    ranks = [4, 8, 16, 32]
    rank = c[1].selectbox("LoRA rank", ranks, key=f"t_rank_{base}",
                          index=ranks.index(defaults.lora_r) if defaults.lora_r in ranks else 2)
    rates = sorted({5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, defaults.learning_rate})
    lr = c[2].select_slider("Learning rate", rates, value=defaults.learning_rate, key=f"t_lr_{base}",
                            format_func=lambda v: f"{v:.0e}")
    quant = c[3].selectbox("Quantization", ["nf4", "int8", "none"], key=f"t_quant_{base}",
                           index=["nf4", "int8", "none"].index(defaults.quantization),
                           help=f"Base model: {defaults.base_model}. nf4 = QLoRA (4-bit base).")
    feedback = st.checkbox("Add the approved (and edited) drafts from the review queue",
                           value=True, key="t_feedback",
                           help="The feedback loop: reviewed drafts teach the next version.")
    outcome = st.selectbox(
        "Learn from campaign results", list(OUTCOMES), format_func=OUTCOMES.get, key="t_outcome",
        help="Sent drafts whose results came back (Results page) teach the next version when they "
             "drew this outcome, with the text the customer received; measured drafts that did "
             "not are left out. The adapter records which results it learned from.")
    return epochs, rank, lr, quant, feedback, outcome


def _preset_label(p) -> str:
    """A preset as the base-model choice shows it: size and what it costs here, measured."""
    m = p.measured or {}
    cost = []
    if m.get("train_minutes") is not None:
        cost.append(f"training the demo brand ~{m['train_minutes']:.0f} min")
    if m.get("drafts_100_seconds"):
        k = f", {m['drafts_k']} candidates per slot" if m.get("drafts_k", 1) > 1 else ""
        cost.append(f"100 slot drafts ~{m['drafts_100_seconds'] / 60:.0f} min{k}")
    return f"{p.name} ({p.params}" + (f"; {', '.join(cost)} on 2 CPU cores" if cost else "") + ")"


def _base_model_choice(settings) -> str:
    """The base model to train on: the installed presets (with their measured cost on this
    machine class) and the workspace's own base model; how to install the others."""
    from brandvoice import models

    presets = models.describe_presets(settings)
    here = [p for p in presets if p.installed]
    options = [p.name for p in here]
    if settings.base_model not in options:
        options.insert(0, settings.base_model)
    labels = {p.name: _preset_label(p) for p in presets}
    choice = st.selectbox("Base model", options, key="t_base",
                          index=options.index(settings.base_model),
                          format_func=lambda n: labels.get(n, n),
                          help="The pretrained model the adapter learns on. A larger base writes "
                               "better slots and takes longer; an adapter works only on its base.")
    missing = [p for p in presets if not p.installed and p.install]
    if missing:
        st.caption("Not installed here: " + "; ".join(
            f"{common.md_escape(p.name)} ({p.params}): `{p.install.split('  ')[0]}`"
            for p in missing))
    return choice


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
    base = _base_model_choice(settings)
    defaults = training.TrainConfig(brand=brand or "x", emails=str(path), base_model=base,
                                    quantization=settings.quantization)
    epochs, rank, lr, quant, feedback, outcome = _hyperparameters(defaults)
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
        if outcome:
            from brandvoice import results

            job_id = results.submit_training(common.store(), common.settings(), config, user,
                                             metric=outcome)
        else:
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
