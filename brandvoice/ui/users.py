"""Users page (admins): who may sign in, with which role."""

from __future__ import annotations

import streamlit as st

from brandvoice.ui import common


def page() -> None:
    """List, add, deactivate users."""
    from brandvoice import users

    me = common.require_user()
    st.title("Users")
    if not common.can("manage_users", me):
        st.info("Only admins manage users.")
        return
    rows: list[dict] = []
    with common.errors():
        rows = users.list_users(common.store())
        st.dataframe(rows, hide_index=True, width="stretch")
    with st.form("add_user", clear_on_submit=True):
        st.subheader("Add a user")
        c = st.columns(3)
        username = c[0].text_input("Username")
        password = c[1].text_input("Password", type="password",
                                   help=f"At least {users.MIN_PASSWORD} characters.")
        role = c[2].selectbox("Role", users.ROLES)
        if st.form_submit_button("Add user", type="primary"):
            with common.errors():
                u = users.add_user(common.store(), username.strip(), password, role, actor=me)
                st.success(f"Added {u.username} ({u.role}).")
    others = [r["username"] for r in rows if r["username"] != me.username]
    if others:
        st.subheader("Activate or deactivate")
        c = st.columns([2, 1, 1])
        who = c[0].selectbox("User", others, key="u_who")
        if c[1].button("Deactivate", key="u_off"):
            with common.errors():
                users.set_active(common.store(), me, who, False)
                st.rerun()
        if c[2].button("Activate", key="u_on"):
            with common.errors():
                users.set_active(common.store(), me, who, True)
                st.rerun()
