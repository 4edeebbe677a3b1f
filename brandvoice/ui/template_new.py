"""The Slot templates tab of the Brand voice page: a brand's first slot templates, made from its
best past emails. Pick an email, mark the sentences the model writes (the subject, the opening,
the ask), each slot's fallback prefilled with the email's own words, read the template, save it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import streamlit as st

from brandvoice.ui import common

KIND_WORDS = {"subject": "The subject", "opening": "The opening sentence",
              "ask": "The closing ask"}
FIELDS = ["first_name", "company", "job_title", "last_name"]


@st.cache_data(show_spinner="Ranking the brand's past emails...", max_entries=8)
def _best_emails(path: str, mtime: float, brand: str, rows_of: str | None) -> list[dict[str, Any]]:
    """The brand's selected past emails, best first (by their selection score; in file order when
    the file has no metrics), as plain data."""
    from brandvoice import corpus

    loaded = corpus.read_emails(path, brand=brand, rows_of=rows_of)
    cleaned, _ = corpus.clean(loaded.emails)
    selected, _ = corpus.choose(cleaned, name=Path(path).name)
    ranked = sorted(enumerate(selected), key=lambda p: (-(p[1].score or 0.0), p[0]))
    return [{"subject": e.subject, "body": e.body, "campaign": e.campaign or "general",
             "score": e.score, "source": e.source} for _, e in ranked[:40]]


def _key(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:10]


def _mark(kind: str, options: list[str], default: str | None, email_key: str):
    """One slot's choices: on or off, the email's sentence it replaces, its fallback, a mention."""
    from brandvoice import prompting

    on = st.checkbox(f"{KIND_WORDS[kind]}: the model writes it", value=default is not None,
                     key=f"n_on_{kind}_{email_key}")
    if not on or not options:
        return None
    index = options.index(default) if default in options else 0
    text = options[0] if kind == "subject" else st.selectbox(
        f"{KIND_WORDS[kind]} is this sentence of the email", options, index=index,
        key=f"n_text_{kind}_{email_key}")
    c = st.columns([3, 2])
    fallback = c[0].text_input("Fallback (kept when no written line is good enough)", value=text,
                               key=f"n_fb_{kind}_{_key(email_key, text)}")
    mention = c[1].text_input("Must mention (optional)", key=f"n_mention_{kind}_{email_key}",
                              help="Words every written line must contain, such as the event's "
                                   "name.")
    return prompting.Mark(kind, text, fallback=fallback.strip() or text, mention=mention.strip() or None)


def builder(user: Any, path: Path | None, brand: str, rows_of: str | None) -> None:
    """Make a slot template from one of the brand's best past emails, and save it."""
    from brandvoice import prompting, textio

    st.subheader(f"Slot templates of {brand}")
    st.caption("A slot template is one of the brand's own emails with a few short slots the model "
               "writes for each contact; the rest is the brand's text. The small model writes "
               "slots well, and whole emails badly: start here.")
    if path is None:
        st.info("Choose the brand's past emails on the Past emails tab first.")
        return
    if not common.can("edit templates", user):
        st.info("Marketers and admins make templates.")
        return
    emails = []
    with common.errors():
        emails = _best_emails(str(path), path.stat().st_mtime, brand, rows_of)
    if not emails:
        return
    i = st.selectbox("Past email to start from (best first)", range(len(emails)), key="n_email",
                     format_func=lambda k: f"{emails[k]['subject']} · {emails[k]['campaign']}"
                     + (f" · score {emails[k]['score']:.1%}" if emails[k]["score"] else ""))
    email = emails[i]
    common.plain(f"Subject: {email['subject']}\n\n{email['body']}", muted=True)
    email_key = _key(path, email["source"])
    defaults = {m.kind: m.text for m in prompting.default_marks(email["subject"], email["body"])}
    options = prompting.sentences(email["body"])
    tagless = prompting.list_tag(email["subject"])[1]
    ask_options = list(dict.fromkeys(([defaults["ask"]] if "ask" in defaults else []) + options))
    marks = [m for m in (_mark("subject", [tagless], defaults.get("subject"), email_key),
                         _mark("opening", options, defaults.get("opening"), email_key),
                         _mark("ask", ask_options, defaults.get("ask"), email_key)) if m]
    c = st.columns(3)
    campaign = c[1].text_input("Campaign", value=email["campaign"], key=f"n_campaign_{email_key}",
                               help="What the email follows up on, as the training data names "
                                    "its campaigns (“general” when the file has none).")
    name = c[0].text_input("Template name", key=f"n_name_{email_key}",
                           value=f"{textio.slug(brand).replace('-', '_')}_"
                                 f"{textio.slug(campaign or 'general').replace('-', '_')}")
    fields = c[2].multiselect("Every contact needs", FIELDS, default=["first_name"],
                              key=f"n_fields_{email_key}")
    if not marks:
        st.warning("Mark at least one slot: without one the template is a fixed email.")
        return
    source = None
    with common.errors():
        source = prompting.skeleton_source(
            email["subject"], email["body"], name=name.strip(), brand=brand,
            use_case=campaign.strip() or "general", origin=email["source"].rpartition(":")[2],
            marks=marks, required_fields=tuple(fields) or ("first_name",))
    if source is None:
        return
    text = st.text_area("The template (edit anything: a date or a story only that email could "
                        "tell)", value=source, height=360, key=f"n_src_{_key(source)}")
    if st.button("Save the template", type="primary", key="n_save", icon=":material/save:"):
        with common.errors():
            info = prompting.save_template(common.settings(), user, name.strip(), text)
            st.session_state["n_flash"] = (f"Saved {info.name}: it is on the Templates and "
                                           "Generate pages. Train the adapter next (Train tab).")
            st.rerun()
    if st.session_state.get("n_flash"):
        st.success(st.session_state.pop("n_flash"))
