"""Live view of a background job (training, generation), polled from the store by a fragment.

The fragment re-reads the job every POLL_SECONDS: the phase in words while the model loads, then
counts, speed and an ETA once the first drafts are stored (the job measures them on this machine).
When a job it watched finishes, it reruns the whole page, so that buttons disabled while the job
ran (Generate, Start training) come back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from brandvoice.ui import common, labels

POLL_SECONDS = 2.0
# A job that is not finished yet: queued, running, or asked to stop and not stopped yet.
LIVE = ("queued", "running", "cancelling")


def eta_text(seconds: float | None) -> str:
    """Seconds left as the page says them ("1m 35s", "2h 05m"), or "–"."""
    if seconds is None or seconds < 0:
        return "–"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s"


def pick_job(kind: str, state_key: str) -> int | None:
    """The job to show: the one started in this session, else the newest of that kind (reloads)."""
    from brandvoice import jobs

    if st.session_state.get(state_key):
        return st.session_state[state_key]
    recent = jobs.list_jobs(common.store(), kind, limit=1)
    return recent[0]["id"] if recent else None


def running(kind: str) -> dict[str, Any] | None:
    """The newest job of a kind that has not finished, or None."""
    from brandvoice import jobs

    return next((j for j in jobs.list_jobs(common.store(), kind, limit=10)
                 if j["status"] in LIVE), None)


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "–"


def _headline(job: dict[str, Any]) -> str:
    """The progress bar's text: what the job is doing now, in words."""
    m = job.get("metrics") or {}
    status, done, total = job["status"], job.get("done") or 0, job.get("total") or 0
    what = "drafts" if job["kind"] == "generate" else "steps"
    if status in ("queued",):
        return f"Job #{job['id']}: waiting to start"
    if status == "cancelling":
        return f"Job #{job['id']}: stopping after the current batch"
    if status == "running":
        phase = m.get("phase") or ("writing" if job["kind"] == "generate" else None)
        words = labels.phase_label(phase) if phase else "Training"
        line = f"Job #{job['id']}: {words}" + (f" · {done} of {total} {what}" if total else "")
        if m.get("chunk_tokens") and phase == "writing":  # decoding now: tokens, not only drafts
            line += (f" · the next {m.get('chunk_drafts', '')} being written: token "
                     f"{m['chunk_tokens']} of at most {m.get('chunk_budget', '?')}")
        return line
    return f"Job #{job['id']}: {status}" + (f" · {done} of {total} {what}" if total else "")


def _generate_metrics(job: dict[str, Any]) -> None:
    m = job.get("metrics") or {}
    live = job["status"] in LIVE
    cols = st.columns(4)
    cols[0].metric("Drafts", f"{job.get('done') or 0}/{job.get('total') or '?'}")
    cols[1].metric("Drafts/min", _num(m.get("drafts_per_min"), ".1f"))
    cols[2].metric("Tokens/s", _num(m.get("tokens_per_s"), ",.0f"))
    eta = m.get("eta_s")
    if live and eta is None:
        cols[3].metric("Time left", "–", help="Measured once the first drafts are written.")
    else:
        cols[3].metric("Time left", eta_text(eta) if live else "–")
    model, fallback = m.get("slots_model") or 0, m.get("slots_fallback") or 0
    kept = m.get("slots_template") or 0
    if model or fallback or kept:
        st.caption(f"Slots written by the model: **{model}** · fell back to your template's text: "
                   f"**{fallback}**" + (f" · kept in your template's words by the brand policy: "
                                        f"**{kept}**" if kept else ""))


def _train_metrics(job: dict[str, Any]) -> None:
    m = job.get("metrics") or {}
    live = job["status"] in LIVE
    loss, step = m.get("loss", m.get("train_loss")), m.get("step")
    cols = st.columns(4)
    cols[0].metric("Loss", _num(loss, ".3f"))
    cols[1].metric("Tokens/s", _num(m.get("tokens_per_s"), ",.0f"))
    cols[2].metric("ETA", eta_text(m.get("eta_s")) if live else "–")
    cols[3].metric("Step", f"{step}/{m.get('max_steps', '?')}" if step is not None else "–")
    points = [p for p in (job.get("history") or [])
              if isinstance(p, dict) and isinstance(p.get("loss"), int | float)]
    if points:
        import altair as alt
        import pandas as pd

        df = pd.DataFrame(points)
        if "step" not in df:
            df["step"] = range(1, len(df) + 1)
        series = [c for c in ("loss", "eval_loss") if c in df]
        long = df.melt(id_vars=["step"], value_vars=series, var_name="series", value_name="value")
        chart = alt.Chart(long.dropna()).mark_line(point=True).encode(
            x=alt.X("step:Q", title="step", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title="loss"),
            color=alt.Color("series:N", title=None), tooltip=["step", "series", "value"],
        ).properties(height=220)
        st.altair_chart(chart, width="stretch")


def _outcome(job: dict[str, Any]) -> None:
    """How the job ended, for this job only (a later error is never shown under it)."""
    from brandvoice.ui import wording

    status = job["status"]
    when = str(job.get("finished_at") or "")[:16].replace("T", " ")
    if status == "failed" and job.get("error"):
        st.error(f"Job #{job['id']} failed: {common.md_escape(wording.page_text(job['error']))}")
    elif status == "interrupted":
        st.warning(f"Job #{job['id']}'s process stopped before it finished. Resume it: it "
                   "continues where it stopped.")
    elif status == "cancelled":
        st.info(f"Job #{job['id']} was cancelled" + (f" at {when} UTC." if when else "."))
    elif status == "done":
        st.caption(f"Job #{job['id']} finished" + (f" at {when} UTC." if when else "."))


def _queue_line(job: dict[str, Any]) -> None:
    """Where a job of the job queue stands: its parts, the machines working on it, and a warning
    when it waits for a worker that is not running."""
    q = job.get("queue")
    if not q or job["status"] not in LIVE:
        return
    by = q.get("by_status") or {}
    parts = ", ".join(f"{n} {s}" for s, n in sorted(by.items()))
    hosts = ", ".join(q.get("hosts") or [])
    st.caption(f"Job queue: {q['parts']} part(s): {parts}" + (f"; running on {hosts}" if hosts else ""))
    if not q.get("workers"):
        st.warning("No queue worker is running, so this job waits. Ask whoever runs your "
                   "servers to start a worker on a machine that reaches the database.")


@st.fragment(run_every=POLL_SECONDS)
def panel(job_id: int, extra: Callable[[dict[str, Any]], None] | None = None, *,
          cancel_here: bool = True) -> None:
    """Progress, metrics, outcome and log of one job; re-polled every few seconds.

    `cancel_here=False`: the page puts Cancel beside its own start button instead.
    """
    from brandvoice import jobs

    try:
        job = jobs.get(common.store(), job_id)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)
        return
    status = job["status"]
    seen_key = f"job_seen_{job_id}"
    if st.session_state.get(seen_key) in LIVE and status not in LIVE:
        st.session_state[seen_key] = status
        st.rerun()  # the whole page: its start button is enabled again
    st.session_state[seen_key] = status
    partial = (job.get("metrics") or {}).get("partial") if status in LIVE else None
    shown = max(float(job.get("progress") or 0.0), float(partial or 0.0))
    st.progress(min(1.0, shown), text=_headline(job))
    _queue_line(job)
    if job["kind"] == "generate":
        _generate_metrics(job)
    else:
        _train_metrics(job)
    _outcome(job)
    if status in jobs.ACTIVE and cancel_here:
        if st.button("Cancel job", key=f"cancel_{job_id}"):
            with common.errors():
                jobs.cancel(common.store(), common.current_user(), job_id)
    elif status in ("interrupted", "failed", "cancelled"):
        if st.button("Resume job", key=f"resume_{job_id}"):
            with common.errors():
                jobs.resume(common.store(), common.current_user(), job_id)
                jobs.start(common.settings(), job_id)
    if extra is not None:
        extra(job)
    if job.get("log"):
        with st.expander("Log"):
            st.code(job["log"][-3000:], language=None, wrap_lines=True)
