"""Which pages exist and who may open them; app.py turns this into st.navigation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from brandvoice.ui import common

ALL = frozenset(common.ROLES)


@dataclass(frozen=True)
class PageDef:
    title: str
    url: str
    icon: str
    module: str  # brandvoice.ui.<module>, imported when the page runs (fast start)
    roles: frozenset[str] = ALL

    def run(self) -> None:
        import importlib

        # The safety net: whatever a page does not catch itself is shown as a message.
        with common.errors():
            importlib.import_module(f"brandvoice.ui.{self.module}").page()


PAGES: list[PageDef] = [
    PageDef("Review queue", "review", ":material/rate_review:", "review"),
    PageDef("Generate", "generate", ":material/edit_note:", "generate",
            frozenset({"marketer", "admin"})),
    PageDef("Brand voice", "brand", ":material/record_voice_over:", "brand"),
    PageDef("Templates", "templates", ":material/description:", "templates"),
    PageDef("Export", "export", ":material/download:", "export"),
    PageDef("Dashboard", "dashboard", ":material/monitoring:", "dashboard"),
    PageDef("Results", "results", ":material/insights:", "results"),
    PageDef("Users", "users", ":material/group:", "users", frozenset({"admin"})),
]


def pages_for(role: str | None) -> list[PageDef]:
    """The pages a role may open, in menu order (marketers start on Generate)."""
    if role is None:
        return []
    pages = [p for p in PAGES if role in p.roles]
    if role == "marketer":
        pages.sort(key=lambda p: p.url != "generate")
    return pages


def _runner(p: PageDef) -> Callable[[], None]:
    def run() -> None:
        p.run()
    run.__name__ = p.url  # st.Page derives the default URL from the function name
    return run


def navigation() -> Any:
    """Build st.navigation for the signed-in user (or the sign-in page) and return the page."""
    from brandvoice.models import quiet_bitsandbytes

    quiet_bitsandbytes()  # before a page's guard imports peft (models.loading says why)
    user = None
    with common.errors():
        user = common.restore_session()
    common.sync_cookie()
    if user is None:
        from brandvoice.ui import signin

        return st.navigation([st.Page(signin.page, title="Sign in", icon=":material/login:",
                                      url_path="signin", default=True)], position="hidden")
    pages = [st.Page(_runner(p), title=p.title, icon=p.icon, url_path=p.url, default=i == 0)
             for i, p in enumerate(pages_for(user.role))]
    with st.sidebar:
        st.markdown(f"**{common.md_escape(user.username)}** · {user.role}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            common.sign_out()
            st.rerun()
    return st.navigation(pages)
