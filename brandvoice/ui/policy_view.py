"""The Brand rules tab of the Brand voice page: a new brand's first policy, proposed from its past
emails (greeting, sign-off, footer, subject tags, links), shown with the evidence for each key,
for the marketer to read, edit and confirm."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import common


@st.cache_data(show_spinner="Reading the brand's layout from its emails...", max_entries=8)
def _proposal(path: str, mtime: float, brand: str, rows_of: str | None) -> dict[str, Any]:
    from brandvoice import corpus, guardrails

    emails, _ = corpus.load_emails(path, brand=brand, rows_of=rows_of)
    p = guardrails.propose(brand, emails)
    return {"text": guardrails.policy_text(p), "evidence": p.evidence, "missing": p.missing,
            "emails": p.emails}


def rules(user: Any, path: Path | None, brand: str, rows_of: str | None) -> None:
    """The brand's policy file, or a proposal from its past emails with a Save button."""
    from brandvoice import guardrails

    if not brand.strip():
        st.info("Type the brand's name on the Past emails tab first.")
        return
    own = guardrails.policy_path(common.settings(), brand)
    st.subheader(f"Brand rules of {brand}")
    st.caption("Every draft is checked against these: the sign-off and footer it must carry, the "
               "greeting, the subject tags that are the brand's own, the links it may use. They "
               "are added to the rules every brand shares.")
    if st.session_state.get("p_flash"):
        st.success(st.session_state.pop("p_flash"))
    if own.is_file():
        st.success(f"{brand} has its rules ({own.name}).", icon=":material/verified:")
        with st.expander("The rules file"):
            st.code(own.read_text(encoding="utf-8"), language="toml")
        if path is None or not st.toggle("Propose them again from the past emails",
                                         key="p_again"):
            return
    elif path is None:
        st.info(f"{brand} has no rules of its own yet: choose its past emails on the Past emails "
                "tab and they are proposed here.")
        return
    data = None
    with common.errors():
        data = _proposal(str(path), path.stat().st_mtime, brand, rows_of)
    if data is None:
        return
    st.markdown(f"**Proposed from {data['emails']} past emails.** What the emails show:")
    st.markdown("\n".join(f"- {common.md_escape(line)}" for line in data["evidence"]))
    for line in data["missing"]:
        st.warning(f"Not proposed: {common.md_escape(line)}", icon=":material/edit_note:")
    may = common.can("edit policies", user)
    key = f"p_text_{hashlib.sha256(brand.encode()).hexdigest()[:10]}"
    text = st.text_area("The rules, as they will be saved (edit anything)", value=data["text"],
                        key=key, height=320, disabled=not may)
    if not may:
        st.caption("Marketers and admins save a brand's rules.")
        return
    label = "Replace the brand rules" if own.is_file() else "Save the brand rules"
    if st.button(label, type="primary", key="p_save", icon=":material/rule:"):
        with common.errors():
            saved = guardrails.save_policy(common.store(), user, brand, text)
            st.session_state["p_flash"] = f"Saved {saved.name}: drafts of {brand} are checked " \
                                          "against these rules from now on."
            st.rerun()
