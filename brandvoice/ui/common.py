"""Shared page helpers: settings and store handles, the signed-in user, cached loaders, error display."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice import textio, workspace
from brandvoice.config import Settings, environment_settings
from brandvoice.errors import BrandvoiceError, ConflictError, TemplateError

log = logging.getLogger("brandvoice.ui")

ROLES = ("marketer", "reviewer", "admin")


def _core_roles(action: str) -> set[str]:
    """The roles the core allows for an action ("edit_templates" is "edit templates" there): read
    from `users.PERMISSIONS`, so the buttons shown never drift from what the core permits."""
    from brandvoice.users import PERMISSIONS

    return set(PERMISSIONS.get(action.replace("_", " "), ()))


REPO_ROOT = Path(__file__).resolve().parent.parent.parent


# --- settings, store and cached loaders ---------------------------------------------------------
def settings() -> Settings:
    """Settings of this process's environment (parsed once per distinct environment, so a test
    with another home gets its own)."""
    return environment_settings()


def store() -> Any:
    """The store (cheap: engines are pooled per URL by the core)."""
    return workspace.open_store(settings())


@st.cache_resource(show_spinner="Loading the guardrails (embedder and tone profile, once)...",
                   max_entries=8)
def guard(brand: str, adapter_id: int | None, settings_json: str) -> Any:
    """The brand's guardrails (policy, tone profile with its embedder), built once per process and
    settings."""
    from brandvoice import generation, training

    own = Settings.from_json(settings_json)
    st_ = workspace.open_store(own)
    adapter = None
    if adapter_id is not None:
        info = training.get_adapter(st_, str(adapter_id))
        adapter = info if info.path.is_dir() else None
    return generation.open_guard(own, brand, store=st_, adapter=adapter)


def guard_for(brand: str, adapter_id: int | None) -> Any:
    """`guard` keyed on the current settings."""
    return guard(brand, adapter_id, settings().to_json())


# --- the signed-in user and the browser's session ----------------------------------------------
# A signed-in browser keeps a signed, expiring token (users.session_token) in a cookie, so a reload
# signs it in again. Streamlit reads cookies (st.context.cookies, sent when the page connects) but
# cannot set them; a few lines of JavaScript on the page do (st.html). The token is checked against
# the store on every run: sign-out anywhere or a deactivation ends the session at once.
SESSION_COOKIE = "brandvoice_session"


def current_user() -> Any | None:
    """The signed-in user (a users.User) or None."""
    return st.session_state.get("user")


def browser_token() -> str | None:
    """The session token the browser sent with this page load (its cookie), if any."""
    try:
        return st.context.cookies.get(SESSION_COOKIE) or None
    except Exception:  # noqa: BLE001 - no browser (a bare script run): no cookie
        return None


def sign_in(user: Any) -> None:
    """Remember the signed-in user for this browser session, and in the browser for a reload."""
    from brandvoice import users

    token = users.session_token(store(), user)
    st.session_state["user"] = user
    st.session_state["session_token"] = token
    st.session_state["cookie_write"] = token


def sign_out(*, ended: str | None = None) -> None:
    """Forget the signed-in user here and in the browser; `ended` says why on the sign-in page.

    Signing out (not `ended`) revokes the user's sessions in the store, in every browser.
    """
    from brandvoice import users

    user = current_user()
    if user is not None and ended is None:
        try:
            users.end_sessions(store(), user)
        except Exception:  # noqa: BLE001 - signing out must never fail
            log.exception("could not revoke the sessions of %s", user.username)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["cookie_write"] = ""  # clears the cookie on the next run
    st.session_state["dead_token"] = browser_token()  # the page's old cookie: never again
    if ended:
        st.session_state["signin_note"] = ended


def restore_session() -> Any | None:
    """The user of this run: the session's user, still valid, or the browser cookie's user."""
    from brandvoice import users

    token = st.session_state.get("session_token")
    if current_user() is not None:
        user = users.user_from_session(store(), token)
        if user is None:
            sign_out(ended="Your session ended (you signed out in another window, or an admin "
                           "changed your account). Please sign in again.")
            return None
        if user != current_user():  # a role changed meanwhile: it applies now
            st.session_state["user"] = user
        return user
    cookie = browser_token()
    if cookie and cookie != st.session_state.get("dead_token"):
        user = users.user_from_session(store(), cookie)
        if user is not None:
            st.session_state["user"] = user
            st.session_state["session_token"] = cookie
            return user
        st.session_state["dead_token"] = cookie
        st.session_state["cookie_write"] = ""
        st.session_state["signin_note"] = "Your session has ended. Please sign in again."
    return None


def sync_cookie() -> None:
    """Write or clear the session cookie in the browser when sign-in or sign-out asked for it."""
    from brandvoice import users

    value = st.session_state.pop("cookie_write", None)
    if value is None:
        return
    # The token is URL-safe base64 and dots (itsdangerous): nothing to quote in a cookie.
    age = users.SESSION_MAX_AGE if value else 0
    st.html(f"""<script>
document.cookie = "{SESSION_COOKIE}={value}; Max-Age={age}; Path=/; SameSite=Strict"
  + (location.protocol === "https:" ? "; Secure" : "");
</script>""", unsafe_allow_javascript=True)


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


# --- errors and untrusted text -------------------------------------------------------------------
# Markdown's and Streamlit's syntax characters: emphasis, code, links and images, HTML, math,
# tables, headings, lists, entities, directives (:red[...]), emoji codes, and the autolinks of
# URLs, "www." and email addresses.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|#:@.\-+&!(){}])")


def md_escape(text: Any) -> str:
    """Text from files, the CRM or a model, safe inside st.markdown/st.error: shown as typed, never
    as links, images, emphasis, colors or math."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def plain(text: Any, *, muted: bool = False, bold: str | None = None) -> None:
    """Untrusted text (CRM values, what a model wrote, check messages quoting it) as plain text:
    no markdown, no links (markdown would turn its URLs and email addresses into links)."""
    import html

    style = "font-size:0.875rem;opacity:0.75;" if muted else ""
    head = f"<b>{html.escape(bold)}</b> " if bold else ""
    st.html(f'<div style="{style}white-space:pre-wrap;overflow-wrap:anywhere">{head}'
            f"{html.escape(str(text))}</div>")


def md_code(text: Any) -> str:
    """Text as inline code in markdown (a backtick in it cannot end the code early)."""
    return "`" + str(text).replace("`", "'") + "`"


def page_message(exc: BaseException) -> str:
    """A core error as the page shows it: its message and problems (escaped), and a hint in the
    page's words (never a CLI flag or command)."""
    from brandvoice.ui import wording

    if not isinstance(exc, BrandvoiceError):
        return md_escape(exc)
    text = md_escape(wording.page_text(exc.message))
    problems = list(getattr(exc, "problems", None) or [])
    if problems:
        shown = problems[:20]
        text += "\n" + "\n".join(f"- {md_escape(p)}" for p in shown)
        if len(problems) > len(shown):
            text += f"\n- ... and {len(problems) - len(shown)} more"
    hint = wording.page_hint(exc.hint)
    if hint:
        text += f"\n\nHow to fix: {md_escape(hint)}"
    return text


def show_error(exc: BaseException, *, where: st.delta_generator.DeltaGenerator | None = None) -> None:
    """Show an exception as a message: the core's own text, or a short note with details."""
    box = where or st
    if isinstance(exc, TemplateError):
        at = f" (line {exc.line})" if exc.line else ""
        box.error(f"Template error{at}: {page_message(exc)}")
    elif isinstance(exc, ConflictError):
        box.warning(f"{page_message(exc)}\n\nYour text is kept below; reload the draft to see the "
                    "other change.")
    elif isinstance(exc, BrandvoiceError):
        box.error(page_message(exc))
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
        # st.rerun/st.stop raise BaseException subclasses and pass through untouched; the tests
        # see a bug's traceback instead of its message (Settings.raise_errors).
        if not isinstance(exc, BrandvoiceError) and settings().raise_errors:
            raise
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


@st.cache_data(ttl=60, show_spinner=False, max_entries=4)
def sample_contacts(db_url: str) -> list[dict[str, Any]]:
    """Contacts to preview and write samples for: recent snapshots in the store, else the demo CRM
    export's contacts (`db_url` keys the cache per workspace)."""
    from brandvoice import crm, demo

    rows = crm.recent_contacts(store(), limit=100)
    if rows:
        return rows
    crm_files, act_files = demo.files("crm"), demo.files("activities")
    if crm_files and crm_files[0].is_file():
        act = act_files[0] if act_files and act_files[0].is_file() else None
        return crm.import_contacts(crm_files[0], activities=act).contacts[:100]
    return []


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
