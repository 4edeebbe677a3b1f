"""Export: write the approved drafts as a CSV for an email tool, preview it, download it."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import streamlit as st

from brandvoice.store import export_batches
from brandvoice.ui import common


def page() -> None:
    """The export page."""
    from brandvoice import export

    user = common.require_user()
    st.title("Export")
    st.write("Approved drafts that were not exported yet go into one CSV batch for your email "
             "tool; each batch is recorded, and its drafts are marked exported.")
    profiles = export.PROFILES
    names = list(profiles)
    cols = st.columns([2, 1, 1])
    name = cols[0].selectbox("Profile", names, key="x_profile",
                             format_func=lambda n: _profile_label(profiles[n], n))
    bom = cols[1].checkbox("Excel BOM", key="x_bom",
                           help="Add a UTF-8 byte-order mark so that Excel opens accents right.")
    html = cols[2].checkbox("HTML body", key="x_html", help="Also write the body as simple HTML.")
    desc = getattr(profiles[name], "description", "")
    if desc:
        st.caption(desc)
    if not common.can("export", user):
        st.info("Your role cannot export.")
        return
    if st.button("Create export", type="primary", key="x_go", icon=":material/file_export:"):
        with common.errors():
            out = common.settings().exports_dir / (
                f"{name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.csv")
            out.parent.mkdir(parents=True, exist_ok=True)
            result = export.export(common.store(), user, name, out, bom=bom,
                                   html_body=True if html else None)
            st.session_state["x_last"] = {"path": str(result.get("path") or out), **result}
    last = st.session_state.get("x_last")
    if last:
        _show_batch(last)
    _history()


def _profile_label(profile: Any, name: str) -> str:
    title = getattr(profile, "title", None) or getattr(profile, "label", None)
    return f"{title} ({name})" if title else name


def _read(path: Path) -> tuple[list[str], list[list[str]], bytes]:
    data = path.read_bytes()
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return (rows[0] if rows else []), rows[1:], data


def _show_batch(last: dict[str, Any]) -> None:
    path = Path(last["path"])
    n = last.get("n_rows", last.get("rows"))
    st.success(f"Batch #{last.get('batch_id', last.get('id', '?'))}: {n} drafts written to {path.name}.")
    if not path.is_file():
        st.warning(f"The file {path} is gone; create the export again.")
        return
    header, rows, data = _read(path)
    if rows:
        import pandas as pd

        st.dataframe(pd.DataFrame(rows[:50], columns=header), hide_index=True, width="stretch")
        if len(rows) > 50:
            st.caption(f"First 50 of {len(rows)} rows.")
    st.download_button("Download CSV", data=data, file_name=path.name, mime="text/csv",
                       type="primary", key="x_download", icon=":material/download:")


def _history() -> None:
    with common.store().read() as conn:
        rows = [dict(r) for r in conn.execute(
            sa.select(export_batches).order_by(export_batches.c.id.desc()).limit(20)).mappings()]
    st.subheader("Past batches")
    if not rows:
        st.caption("No export yet.")
        return
    for r in rows:
        path = Path(r["path"]) if r.get("path") else None
        c = st.columns([4, 1])
        c[0].markdown(f"**#{r['id']}** · {r['profile']} · {r['n_rows']} rows · by "
                      f"{r['created_by']} · {r['created_at'][:19]} · sha256 `{r['file_hash'][:12]}`")
        if path is not None and path.is_file():
            # A callable: the file is read only when someone clicks.
            c[1].download_button("Download", data=path.read_bytes, file_name=path.name,
                                 mime="text/csv", key=f"x_dl_{r['id']}", on_click="ignore")
