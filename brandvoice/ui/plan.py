"""The plan of a campaign on the Generate page: who gets which template, who gets none and why,
before any model runs; each group can be moved to another template or left out.

The plan is generation.campaign's, computed from the imported contacts, the campaign's templates,
the send day and the marketer's choices; the same inputs go to `campaign.submit`, which computes
it again, so what the page shows is what the job writes.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import common

KEEP_OUT = "Leave out"
NO_DRAFT = "No draft"


def send_day(crm_path: Path) -> datetime:
    """The send day picker: today, or the demo exports' day for the demo files (their trials end
    and their downloads are recent as of it)."""
    from brandvoice import demo

    default = demo.EXPORT_DAY if common.is_demo(crm_path) else date.today()
    picked = st.date_input("Send day", value=default, key=f"g_as_of_{common.is_demo(crm_path)}",
                           help="The day these emails go out: recency windows, 'in 3 days' and "
                                "the date checks count from it.")
    return datetime(picked.year, picked.month, picked.day, 9, tzinfo=timezone.utc)


def campaign_choice(templates: list, brand: str, same_brand, col) -> list:
    """The campaign's templates: the brand's own by default, the shared whole-email ones too."""
    from brandvoice import textio

    mine = [t.name for t in templates if t.brand and same_brand(t.brand, brand)]
    shared = [t.name for t in templates if not t.brand]
    names = col.multiselect("Templates in this campaign", mine + shared, default=mine or shared[:1],
                            key=f"g_campaign_{textio.compact_key(brand)}",
                            help="Each contact gets the one template whose audience fits them "
                                 "best (the activity it follows, the stage, how recent), or none, "
                                 "with the reason.")
    by_name = {t.name: t for t in templates}
    return [by_name[n] for n in names]


def plan_section(result: Any, infos: list, day: datetime, brand: str) -> tuple[Any, dict, list]:
    """The plan with a "send with" choice per group; returns (plan, moves, excludes)."""
    from brandvoice.generation import campaign, routing

    st.subheader("Who gets what")
    key = f"g_plan_{'|'.join(t.name for t in infos)}"
    base = campaign.plan_for(result, infos, as_of=day)
    moves, excludes = {}, []
    names = [t.name for t in infos]
    for gid in base.groups():
        picked = st.session_state.get(f"{key}_{gid}")
        if picked == KEEP_OUT:
            excludes.append(gid)
        elif picked in names and picked != gid:
            moves[gid] = picked
    plan = campaign.plan_for(result, infos, as_of=day, moves=moves, excludes=excludes) \
        if moves or excludes else base
    d = plan.to_dict(samples=routing.SAMPLES)
    m = st.columns(3)
    m[0].metric("In the plan", d["contacts"], help="The contacts of the file and its opted-out rows.")
    m[1].metric("Get a draft", d["routed"])
    m[2].metric("Get none", d["contacts"] - d["routed"],
                help="Opted out, or no template of the campaign fits them: the reason is beside "
                     "each group.")
    st.caption(f"As of {day:%B} {day.day}, {day.year}; no model has run yet. Move a group to "
               "another template, or leave it out, then generate.")
    for gid, routes in base.groups().items():
        _group_row(key, gid, routes, names, plan)
    return plan, moves, excludes


def _group_row(key: str, gid: str, routes: list, names: list[str], plan: Any) -> None:
    """One group of the plan as the routing made it: its count, samples and a "send with" box."""
    from brandvoice.generation import routing

    if not routes:
        return
    c = st.columns([3, 1, 2])
    c[0].markdown(f"**{common.md_escape(routing.group_label(gid))}**")
    c[1].markdown(f"{len(routes)} contact{'s' if len(routes) != 1 else ''}")
    own = gid if not gid.startswith(routing.NONE) else NO_DRAFT
    options = [own, *[n for n in names if n != gid]] + ([KEEP_OUT] if own != NO_DRAFT else [])
    if gid == routing.NONE + "opted_out":
        options = [own]  # an opt-out is never written to
    c[2].selectbox("Send with", options, key=f"{key}_{gid}", label_visibility="collapsed",
                   help="Move this group to another template, or leave it out.")
    now = {r.key: r for r in plan.routes}
    with st.expander(f"Who: {', '.join(r.name for r in routes[:3])}"
                     + (" …" if len(routes) > 3 else "")):
        rows = []
        for r in routes[:routing.SAMPLES * 4]:
            after = now.get(r.key, r)
            act = r.activity or {}
            rows.append({"row": r.row, "contact": r.name, "stage": r.stage,
                         "activity": (f"{str(act.get('timestamp') or '')[:10]} "
                                      f"{act.get('detail') or act.get('type') or ''}").strip(),
                         "why": r.detail or "fits the audience",
                         "gets": after.template or f"none ({after.reason.replace('_', ' ')})"})
        st.dataframe(rows, hide_index=True, width="stretch")
