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

from brandvoice import textio, workspace
from brandvoice.config import Settings
from brandvoice.errors import BrandvoiceError, ConflictError, InputError, TemplateError

log = logging.getLogger("brandvoice.ui")

ROLES = ("marketer", "reviewer", "admin")
# What each role may do in the app (buttons shown); the core enforces its own rules on every call.
PERMISSIONS: dict[str, set[str]] = {
    "train": {"marketer", "admin"},
    "edit_templates": {"marketer", "admin"},
    "generate": {"marketer", "admin"},
    "manage_users": {"admin"},
}


def _core_roles(action: str) -> set[str]:
    """Roles the core allows for review and export (read from the core, so they never drift)."""
    if action == "review":
        from brandvoice.review import REVIEW_ROLES

        return set(REVIEW_ROLES)
    if action == "export":
        from brandvoice.delivery import EXPORT_ROLES

        return set(EXPORT_ROLES)
    return PERMISSIONS.get(action, set())
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


# --- settings, store and cached loaders ---------------------------------------------------------
@st.cache_resource(show_spinner=False, max_entries=8)
def _settings(env: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env()


def settings() -> Settings:
    """Settings of this process (keyed on BRANDVOICE_* variables, so tests with another home get theirs)."""
    return _settings(tuple(sorted((k, v) for k, v in os.environ.items()
                                  if k.startswith("BRANDVOICE_"))))


def store() -> Any:
    """The store (cheap: engines are pooled per URL by the core)."""
    return workspace.open_store(settings())


@st.cache_resource(show_spinner="Loading the guardrails (embedder and tone profile, once)...",
                   max_entries=8)
def guard(brand: str, adapter_id: int | None, env: tuple) -> Any:
    """The brand's guardrails (policy, tone profile with its embedder), built once per process."""
    from brandvoice import generation, training

    adapter = None
    if adapter_id is not None:
        info = training.get_adapter(store(), str(adapter_id))
        adapter = info if info.path.is_dir() else None
    return generation.brand_guard(settings(), brand, store=store(), adapter=adapter)


def guard_for(brand: str, adapter_id: int | None) -> Any:
    """`guard` keyed on the current settings."""
    return guard(brand, adapter_id, tuple(sorted((k, v) for k, v in os.environ.items()
                                                 if k.startswith("BRANDVOICE_"))))


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
    return user is not None and user.role in _core_roles(action)


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
    """Keep an uploaded file under BRANDVOICE_HOME/uploads (jobs read it later), under its own name."""
    data = uploaded.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    name = _SAFE.sub("_", Path(uploaded.name).name).lstrip(".") or "upload.csv"
    folder = settings().home / "uploads" / kind / digest  # content-addressed: same file, same path
    path = folder / name
    if not path.exists():
        textio.atomic_write(path, data)
    return path


def demo_files(kind: str) -> dict[str, Path]:
    """The demo inputs of one kind ("emails", "crm", "activities") that exist: label -> path."""
    from brandvoice import demo

    return {p.name: p for p in demo.files(kind) if p.is_file()}


def file_picker(label: str, kind: str, types: list[str], *, key: str, help: str | None = None,
                optional: bool = False, default_demo: bool = True) -> Path | None:
    """An upload box plus a choice of demo files; returns the chosen file's path or None."""
    demos = demo_files(kind)
    options = (["None"] if optional else []) + ["Upload a file"] + list(demos)
    state_key = f"{key}_source"
    if st.session_state.get(state_key) not in (None, *options):
        del st.session_state[state_key]
    index = options.index(next(iter(demos))) if demos and default_demo else 0
    choice = st.radio(label, options, key=state_key, horizontal=True, help=help, index=index)
    if choice == "None":
        return None
    if choice == "Upload a file":
        uploaded = st.file_uploader(f"{label} file", type=types, key=f"{key}_upload",
                                    label_visibility="collapsed")
        return save_upload(uploaded, kind) if uploaded is not None else None
    return demos[choice]


def is_demo(path: Path | None) -> bool:
    """Whether a path is one of the demo files."""
    from brandvoice import demo

    return path is not None and any(path == p for k in demo.FILES for p in demo.files(k))


def badge_color(status: str | None) -> str:
    """The badge color for a guardrail status."""
    return {"pass": "green", "warn": "orange", "fail": "red"}.get(status or "", "gray")
