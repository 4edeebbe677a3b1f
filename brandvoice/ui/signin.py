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
    if note := st.session_state.pop("signin_note", None):
        st.info(note)
    with common.errors():
        if users.count_users(common.store()) == 0:
            _first_admin(users)
            return
        with st.form("sign_in"):
            st.subheader("Sign in")
            username = st.text_input("Username", key="signin_username")
            password = st.text_input("Password", type="password", key="signin_password")
            submitted = st.form_submit_button("Sign in", type="primary")
        demo_password = _demo_password(common.settings().db_url or "")
        if demo_password:
            st.caption(f"Demo workspace: sign in as **reviewer**, **marketer** or **admin** with "
                       f"the password **{common.md_escape(demo_password)}**.")
        else:
            st.caption("No account yet? Ask your admin to add you on the Users page.")
        if submitted:
            if not username or not password:
                st.error("Enter your username and password.")
                return
            try:
                user = users.authenticate(common.store(), username.strip(), password)
            except PermissionDenied as exc:
                st.error(common.md_escape(exc.message))  # the hint is for the CLI
                return
            except Exception as exc:  # noqa: BLE001 - shown on the page
                common.show_error(exc)
                return
            common.sign_in(user)
            st.rerun()


@st.cache_data(ttl=300, show_spinner=False)
def _demo_password(db_url: str) -> str | None:
    """The demo password when this is a demo workspace whose demo users still use it, else None
    (a real workspace never shows a password)."""
    from brandvoice import demo, users
    from brandvoice.errors import BrandvoiceError

    names = {u["username"] for u in users.list_users(common.store())}
    if not {"reviewer", "marketer", "admin"} <= names:
        return None
    try:
        users.authenticate(common.store(), "reviewer", demo.password(common.settings()))
    except BrandvoiceError:
        return None
    return demo.password(common.settings())


def _first_admin(users) -> None:
    st.info("No user exists yet. Create the first administrator; they can add marketers and "
            "reviewers on the Users page.")
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
