"""Live view of a background job (training, generation), polled from the store by a fragment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from brandvoice.ui import common

POLL_SECONDS = 2.0


def _eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "–"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def pick_job(kind: str, state_key: str) -> int | None:
    """The job to show: the one started in this session, else the newest of that kind (reloads)."""
    from brandvoice import jobs

    if st.session_state.get(state_key):
        return st.session_state[state_key]
    recent = jobs.list_jobs(common.store(), kind, limit=1)
    return recent[0]["id"] if recent else None


@st.fragment(run_every=POLL_SECONDS)
def panel(job_id: int, extra: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Progress bar, metrics, loss chart and log of one job; re-polled every few seconds."""
    from brandvoice import jobs

    try:
        job = jobs.get(common.store(), job_id)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)
        return
    status = job["status"]
    m = job.get("metrics") or {}
    label = f"Job #{job_id} ({job['kind']}): {status}"
    if job.get("total"):
        label += f" · {job['done']}/{job['total']}"
    st.progress(min(1.0, float(job.get("progress") or 0.0)), text=label)
    cols = st.columns(4)
    running = status == "running"
    tps = m.get("tokens_per_s")
    if job["kind"] == "generate":
        rate = m.get("drafts_per_min")
        left = max(0, (job.get("total") or 0) - (job.get("done") or 0))
        cols[0].metric("Drafts", f"{job.get('done') or 0}/{job.get('total') or '?'}")
        cols[1].metric("Drafts/min", f"{rate:.1f}" if isinstance(rate, (int, float)) else "–")
        cols[2].metric("Tokens/s", f"{tps:,.0f}" if isinstance(tps, (int, float)) else "–")
        cols[3].metric("ETA", _eta(60 * left / rate) if running and rate else "–")
    else:
        loss = m.get("loss", m.get("train_loss"))
        step = m.get("step")
        cols[0].metric("Loss", f"{loss:.3f}" if isinstance(loss, (int, float)) else "–")
        cols[1].metric("Tokens/s", f"{tps:,.0f}" if isinstance(tps, (int, float)) else "–")
        cols[2].metric("ETA", _eta(m.get("eta_s")) if running else "–")
        cols[3].metric("Step", f"{step}/{m.get('max_steps', '?')}" if step is not None else "–")
    history = [p for p in (job.get("history") or []) if isinstance(p, dict)]
    points = [p for p in history if isinstance(p.get("loss"), (int, float))]
    if points:
        import altair as alt
        import pandas as pd

        df = pd.DataFrame(points)
        x = "step" if "step" in df else None
        if x is None:
            df["step"] = range(1, len(df) + 1)
        series = [c for c in ("loss", "eval_loss") if c in df]
        long = df.melt(id_vars=["step"], value_vars=series, var_name="series", value_name="value")
        chart = alt.Chart(long.dropna()).mark_line(point=True).encode(
            x=alt.X("step:Q", title="step"), y=alt.Y("value:Q", title="loss"),
            color=alt.Color("series:N", title=None), tooltip=["step", "series", "value"],
        ).properties(height=220)
        st.altair_chart(chart, width="stretch")
    if status == "failed" and job.get("error"):
        st.error(f"The job failed: {job['error']}")
    elif status == "interrupted":
        st.warning("The job's process stopped before it finished. Resume it: it continues "
                   "where it stopped.")
    elif status == "cancelled":
        st.info("The job was cancelled.")
    elif status == "done":
        st.success("Finished.")
    if status in jobs.ACTIVE:
        if st.button("Cancel job", key=f"cancel_{job_id}"):
            with common.errors():
                jobs.cancel(common.store(), job_id)
    elif status in ("interrupted", "failed", "cancelled"):
        if st.button("Resume job", key=f"resume_{job_id}"):
            with common.errors():
                jobs.start(common.settings(), job_id)
    if extra is not None:
        extra(job)
    if job.get("log"):
        with st.expander("Log"):
            st.code(job["log"][-3000:], language=None)
