"""The column-mapping editor of the Generate page: which CRM column holds which contact field.

Each column of the export is one row (its name, an example value, the field it maps to); the
marketer changes the field where the detection got it wrong, sees the first rows as brandvoice will
read them, and saves the mapping for every later export with the same columns (crm.save_mapping).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import streamlit as st

from brandvoice.ui import common

NOT_USED = ""
FIELDS: dict[str, str] = {
    NOT_USED: "(not used: kept as a custom field)",
    "email": "Email address",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last)",
    "company": "Company",
    "job_title": "Job title",
    "key": "Record ID (one per contact)",
    "lifecycle_stage": "Lifecycle stage",
    "lead_status": "Lead status",
    "deal_stage": "Deal stage",
    "phone": "Phone",
    "city": "City",
    "country": "Country",
    "notes": "Notes",
    "opted_out": "Opted out (yes/no)",
    "marketing_status": "Marketing status (e.g. Unsubscribed)",
}
COLUMN, EXAMPLE, FIELD = "CRM column", "Example", "brandvoice field"


def mapping_json(mapping: dict[str, str] | None) -> str | None:
    """A mapping as a cache key (None: let the import detect the columns)."""
    return None if mapping is None else json.dumps(mapping, sort_keys=True)


def _example(rows: list[list[str]], i: int) -> str:
    value = next((r[i] for r in rows if i < len(r) and r[i].strip()), "")
    return value if len(value) <= 40 else value[:39] + "…"


def editor(header: list[str], rows: list[list[str]], initial: dict[str, str], *,
           saved: bool, expanded: bool, user: Any) -> dict[str, str] | None:
    """The editor; returns the mapping as edited ({field: column}), None while it is not valid."""
    import pandas as pd

    from brandvoice import crm

    by_column = {column: field for field, column in initial.items()}
    digest = hashlib.sha256((mapping_json(initial) or "").encode()).hexdigest()[:8]
    key = f"g_map_{crm.header_key(header)}_{digest}"
    with st.expander("Column mapping", expanded=expanded, icon=":material/table_edit:"):
        if saved:
            st.caption("Read with the mapping saved for exports with these columns.")
        else:
            st.caption("Detected from the column names. Change a field where it is wrong; "
                       "**Save mapping** keeps it for every export with these columns.")
        table = pd.DataFrame({COLUMN: header,
                              EXAMPLE: [_example(rows, i) for i in range(len(header))],
                              FIELD: [by_column.get(c, NOT_USED) for c in header]})
        edited = st.data_editor(
            table, key=key, hide_index=True, width="stretch", disabled=[COLUMN, EXAMPLE],
            column_config={FIELD: st.column_config.SelectboxColumn(
                FIELD, options=list(FIELDS), format_func=FIELDS.get, required=False,
                help="The contact field this column holds.")})
        mapping: dict[str, str] = {}
        twice: list[str] = []
        for column, field in zip(edited[COLUMN], edited[FIELD], strict=True):
            if not field:
                continue
            if field in mapping:
                twice.append(FIELDS[field])
            mapping[field] = column
        if twice:
            st.error("Two columns are mapped to " + ", ".join(dict.fromkeys(twice))
                     + ". Map each field from one column.")
            return None
        if "email" not in mapping:
            st.warning("Choose the column that holds the email address.")
            return None
        _preview(header, rows, mapping)
        c = st.columns([1, 3])
        if c[0].button("Save mapping", key=f"g_map_save_{key}", icon=":material/save:",
                       disabled=saved and mapping == initial):
            with common.errors():
                crm.save_mapping(common.settings(), header, mapping, actor=user,
                                 unmap_optout=st.session_state.get("g_unmap") or ())
                st.session_state["g_flash"] = ("Column mapping saved: every export with these "
                                               "columns is read this way.")
                st.rerun()
    return mapping


def _preview(header: list[str], rows: list[list[str]], mapping: dict[str, str]) -> None:
    import pandas as pd

    index = {c: i for i, c in enumerate(header)}
    shown = [field for field in FIELDS if field in mapping]
    data = [{FIELDS[f]: (r[index[mapping[f]]] if index[mapping[f]] < len(r) else "") for f in shown}
            for r in rows[:3]]
    if data:
        st.caption("The first rows as brandvoice reads them:")
        st.dataframe(pd.DataFrame(data), hide_index=True, width="stretch")
