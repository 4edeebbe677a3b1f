"""Export: write the approved drafts as a CSV for an email tool, preview it, download it."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import common

DUPLICATES = {"refuse": "Refuse (ask me)", "newest": "Newest approved variant",
              "oldest": "Oldest approved variant"}


def page() -> None:
    """The export page."""
    from brandvoice import delivery as export
    from brandvoice import review

    user = common.require_user()
    st.title("Export")
    st.write("Approved drafts that were not exported yet go into one CSV batch for your email "
             "tool. Each batch is recorded (who, when, profile, file hash) and its drafts are "
             "marked exported.")
    waiting = 0
    with common.errors():
        waiting = review.list_queue(common.store(), state="approved", limit=1)[1]
    st.metric("Approved drafts waiting for export", waiting)
    may_export = common.can("export", user)
    if not may_export:
        st.info("Reviewers decide, marketers ship: a marketer or an admin exports the approved "
                "drafts.")
    else:
        _form(export, user, waiting)
    last = st.session_state.get("x_last")
    if last:
        _show_batch(last)
    _history(export, user, may_export)


def _form(export, user, waiting: int) -> None:
    profiles = export.PROFILES
    cols = st.columns([2, 2, 1, 1])
    name = cols[0].selectbox("Profile", list(profiles), key="x_profile",
                             format_func=lambda n: f"{profiles[n].title} ({n})")
    prof = profiles[name]
    dup = cols[1].selectbox("Several approved variants for one contact", list(DUPLICATES),
                            key="x_dup", format_func=DUPLICATES.get,
                            help="The variants not picked leave the approved pile (superseded, "
                                 "recorded in each draft's history).")
    # Keyed by profile: choosing a profile sets the format it needs (HubSpot: HTML; a
    # spreadsheet: a byte-order mark), and a choice made for one profile never carries over.
    bom = cols[2].checkbox("For Excel", key=f"x_bom_{name}", value=prof.bom,
                           help="Start the file with a UTF-8 byte-order mark, so that Excel shows "
                                "accented names (José, Zoë) right.")
    html = cols[3].checkbox("HTML body", key=f"x_html_{name}", value=prof.html_body,
                            help="Write the body as simple HTML paragraphs.")
    st.caption(prof.note)
    if prof.html_body and not html:
        st.warning(f"{prof.title} needs an HTML body: as plain text, the email loses its line "
                   "breaks.", icon=":material/warning:")
    repeat = st.checkbox("Send a campaign's follow-up again to contacts who already received it",
                         key="x_repeat", value=False,
                         help="Off: a contact who already received this follow-up (in an earlier "
                              "batch) is left out and named below.")
    if st.button("Create export", type="primary", key="x_go", icon=":material/file_export:",
                 disabled=waiting == 0):
        with common.errors():
            out = common.settings().exports_dir  # the core names the file after its batch
            out.mkdir(parents=True, exist_ok=True)
            st.session_state["x_last"] = export.export(common.store(), user, name, out, bom=bom,
                                                       html_body=html, on_duplicate=dup,
                                                       allow_repeat=repeat)
            st.rerun()


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return (rows[0] if rows else []), rows[1:]


def _show_batch(last: dict[str, Any]) -> None:
    path = Path(last["path"])
    st.success(f"Batch #{last['batch_id']} ({last['profile']}): {last['rows']} drafts written to "
               f"{path.name} · sha256 {last['file_hash'][:12]}")
    if last.get("skipped"):
        st.warning(f"{len(last['skipped'])} approved drafts were left out of this batch:\n\n"
                   + "\n".join(f"- draft {s['id']}: {common.md_escape(s['reason'])}"
                               for s in last["skipped"][:30]), icon=":material/person_off:")
    if not path.is_file():
        st.warning(f"The file {path} is gone; re-export the batch below.")
        return
    import pandas as pd

    header, rows = _read(path)
    st.dataframe(pd.DataFrame(rows[:50], columns=header), hide_index=True, width="stretch")
    if len(rows) > 50:
        st.caption(f"First 50 of {len(rows)} rows.")
    c = st.columns(2)
    c[0].download_button("Download CSV", data=path.read_bytes(), file_name=path.name,
                         mime="text/csv", type="primary", key="x_download",
                         icon=":material/download:", on_click="ignore")
    if last.get("snippet") and last.get("snippet_path"):
        c[1].download_button("Download merge-tag snippet", data=last["snippet"],
                             file_name=Path(last["snippet_path"]).name, mime="text/plain",
                             key="x_snippet", on_click="ignore")


def _history(export, user, may_export: bool) -> None:
    st.subheader("Past batches")
    rows = []
    with common.errors():
        rows = export.list_batches(common.store(), limit=20)
    if not rows:
        st.caption("No export yet.")
        return
    for r in rows:
        path = Path(r["path"]) if r.get("path") else None
        c = st.columns([5, 1])
        c[0].markdown(f"**#{r['id']}** · {r['profile']} · {r['n_rows']} rows · by "
                      f"{r['created_by']} · {str(r['created_at'])[:19]} · sha256 "
                      f"`{r['file_hash'][:12]}`")
        if path is not None and path.is_file():
            # A callable: the file is read only when someone clicks.
            c[1].download_button("Download", data=path.read_bytes, file_name=path.name,
                                 mime="text/csv", key=f"x_dl_{r['id']}", on_click="ignore")
        elif may_export and c[1].button("Re-export", key=f"x_again_{r['id']}",
                                        help="Write the same bytes again (checked by hash)."):
            with common.errors():
                out = common.settings().exports_dir
                st.session_state["x_last"] = export.export(common.store(), user, None, out,
                                                           batch_id=r["id"])
                st.rerun()
