"""Shared page helpers: settings and store handles, the signed-in user, cached loaders, error display."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.config import Settings
from brandvoice.errors import BrandvoiceError, ConflictError, InputError, TemplateError
from brandvoice.store import Store

log = logging.getLogger("brandvoice.ui")

ROLES = ("marketer", "reviewer", "admin")
# What each role may do in the app; the core enforces the same rules again on every call.
PERMISSIONS: dict[str, set[str]] = {
    "train": {"marketer", "admin"},
    "edit_templates": {"marketer", "admin"},
    "generate": {"marketer", "admin"},
    "review": {"reviewer", "admin"},
    "export": {"reviewer", "marketer", "admin"},
    "manage_users": {"admin"},
}
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


# --- settings, store and cached loaders ---------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _settings(home: str | None, db_url: str | None) -> Settings:
    return Settings.from_env()


def settings() -> Settings:
    """Settings of this process (keyed on the environment so tests with another home get theirs)."""
    return _settings(os.environ.get("BRANDVOICE_HOME"), os.environ.get("BRANDVOICE_DB_URL"))


def store() -> Store:
    """The store (cheap: engines are pooled per URL by the core)."""
    return Store(settings())


@st.cache_resource(show_spinner="Loading the sentence embedder (once per process)...")
def embedder(name: str) -> Any:
    """The sentence embedder, loaded once per process."""
    from brandvoice.guardrails import tone

    return tone.load_embedder(name)


# --- the signed-in user ---------------------------------------------------------------------------
def current_user() -> Any | None:
    """The signed-in user (a users.User) or None."""
    return st.session_state.get("user")


def sign_in(user: Any) -> None:
    """Remember the signed-in user for this browser session."""
    st.session_state["user"] = user


def sign_out() -> None:
    """Forget the signed-in user and everything the pages kept in the session."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def can(action: str, user: Any | None = None) -> bool:
    """Whether the (signed-in) user's role allows an action."""
    user = user if user is not None else current_user()
    return user is not None and user.role in PERMISSIONS.get(action, set())


def require_user() -> Any:
    """The signed-in user; stops the page with a message when nobody is signed in."""
    user = current_user()
    if user is None:
        st.warning("Please sign in first.")
        st.stop()
    return user


# --- errors ---------------------------------------------------------------------------------------
def show_error(exc: BaseException, *, where: st.delta_generator.DeltaGenerator | None = None) -> None:
    """Show an exception as a message: the core's own text, or a short note with details."""
    box = where or st
    if isinstance(exc, TemplateError):
        at = f" (line {exc.line})" if exc.line else ""
        box.error(f"Template error{at}: {exc}")
    elif isinstance(exc, ConflictError):
        box.warning(f"{exc}\n\nYour text is kept below; reload the draft to see the other change.")
    elif isinstance(exc, InputError):
        box.error(str(exc))
    elif isinstance(exc, BrandvoiceError):
        box.error(str(exc))
    elif isinstance(exc, UnicodeDecodeError):
        box.error(f"The file is not UTF-8 text ({exc.reason} at byte {exc.start}). "
                  "How to fix: save it as UTF-8 CSV and upload it again.")
    else:
        log.exception("unexpected error in a page")
        box.error("Something went wrong and the action was not completed. "
                  "The details below help when you report it.")
        with box.expander("Details"):
            st.text(f"{type(exc).__name__}: {exc}")


@contextmanager
def errors(*, where: st.delta_generator.DeltaGenerator | None = None) -> Iterator[None]:
    """Run a block; core errors become st.error, anything else a short message + details."""
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - the edge where errors become messages
        # st.rerun/st.stop raise BaseException subclasses and pass through untouched.
        show_error(exc, where=where)


# --- files ----------------------------------------------------------------------------------------
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def save_upload(uploaded: Any, kind: str) -> Path:
    """Keep an uploaded file under BRANDVOICE_HOME/uploads (content-addressed; jobs read it later)."""
    data = uploaded.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:12]
    name = _SAFE.sub("_", Path(uploaded.name).name) or "upload"
    folder = settings().home / "uploads" / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}-{name}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def demo_files(kind: str) -> dict[str, Path]:
    """The demo inputs of one kind ("emails", "crm", "activities") that exist: label -> path."""
    from brandvoice import demo

    return {p.name: p for p in demo.files(kind) if p.is_file()}


def file_picker(label: str, kind: str, types: list[str], *, key: str,
                help: str | None = None, optional: bool = False) -> Path | None:
    """An upload box plus a choice of demo files; returns the chosen file's path or None."""
    demos = demo_files(kind)
    options = (["None"] if optional else []) + ["Upload a file"] + list(demos)
    choice = st.radio(label, options, key=f"{key}_source", horizontal=True, help=help,
                      index=len(options) - 1 if demos else 0)
    if choice == "None":
        return None
    if choice == "Upload a file":
        uploaded = st.file_uploader(f"{label} file", type=types, key=f"{key}_upload",
                                    label_visibility="collapsed")
        return save_upload(uploaded, kind) if uploaded is not None else None
    return demos[choice]


def badge_color(status: str | None) -> str:
    """The badge color for a guardrail status."""
    return {"pass": "green", "warn": "orange", "fail": "red"}.get(status or "", "gray")
