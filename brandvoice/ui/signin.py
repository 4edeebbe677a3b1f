"""Sign-in page; offers to create the first admin when the store has no user yet."""

from __future__ import annotations

import streamlit as st

from brandvoice.errors import PermissionDenied
from brandvoice.ui import common


def page() -> None:
    """Sign in, or create the first admin."""
    from brandvoice import users

    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        _content(users)


def _content(users) -> None:
    st.title("brandvoice")
    st.caption("Your brand voice, personalized follow-ups, reviewed by people before they go out.")
    with common.errors():
        if users.count_users(common.store()) == 0:
            _first_admin(users)
            return
        with st.form("sign_in"):
            st.subheader("Sign in")
            username = st.text_input("Username", key="signin_username")
            password = st.text_input("Password", type="password", key="signin_password")
            submitted = st.form_submit_button("Sign in", type="primary")
        names = {u["username"] for u in users.list_users(common.store())}
        if {"reviewer", "marketer"} <= names:
            st.caption("Demo workspace: sign in as `reviewer`, `marketer` or `admin` with the "
                       "password `brandvoice setup --demo` printed.")
        if submitted:
            if not username or not password:
                st.error("Enter your username and password.")
                return
            try:
                user = users.authenticate(common.store(), username.strip(), password)
            except PermissionDenied as exc:
                st.error(exc.message)  # the core's hint speaks of CLI flags
                return
            except Exception as exc:  # noqa: BLE001 - shown on the page
                common.show_error(exc)
                return
            common.sign_in(user)
            st.rerun()


def _first_admin(users) -> None:
    st.info("No user exists yet. Create the first administrator; they can add marketers and "
            "reviewers on the Users page. (Or run `brandvoice setup --demo` for demo users.)")
    with st.form("first_admin"):
        username = st.text_input("Admin username", value="admin", key="first_admin_username")
        password = st.text_input("Password", type="password", key="first_admin_password")
        again = st.text_input("Repeat the password", type="password", key="first_admin_again")
        submitted = st.form_submit_button("Create admin and sign in", type="primary")
    if not submitted:
        return
    if password != again:
        st.error("The two passwords differ. Type the same password twice.")
        return
    try:
        user = users.add_user(common.store(), username.strip(), password, "admin", actor=None)
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)
        return
    common.sign_in(user)
    st.rerun()
