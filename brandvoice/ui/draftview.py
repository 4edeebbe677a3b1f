"""A draft's text as the pages show it: model-written slots highlighted, fallbacks marked, the
marketer's text plain; every piece escaped (drafts and CRM values are untrusted text)."""

from __future__ import annotations

import html
from typing import Any

import streamlit as st

MODEL_STYLE = "background:#fff1b8;border-radius:3px;padding:0 2px"
FALLBACK_STYLE = ("background:#eef2f6;border-bottom:2px dashed #8a97a8;border-radius:3px;"
                  "padding:0 2px")
BOX_STYLE = ("white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.55;border:1px solid "
             "rgba(49,51,63,0.2);border-radius:8px;padding:12px 14px;margin-bottom:6px")
LEGEND = (f'<span style="{MODEL_STYLE}">written by the model</span> · '
          f'<span style="{FALLBACK_STYLE}">your template\'s fallback (no candidate passed)</span>'
          " · plain: your template's text")


def _piece(part: dict[str, Any]) -> str:
    text = html.escape(str(part.get("text") or ""))
    if part.get("kind") != "slot":
        return text
    name = html.escape(str(part.get("name") or "slot"))
    if part.get("source") == "model":
        return f'<mark style="{MODEL_STYLE}" title="Slot “{name}”: written by the model">{text}</mark>'
    if part.get("source") == "template":
        return (f'<span title="Slot “{name}”: the brand policy keeps your template\'s text for this '
                f'kind of slot">{text}</span>')
    return (f'<span style="{FALLBACK_STYLE}" title="Slot “{name}”: the model\'s candidates did '
            f'not pass, so your template\'s text stands">{text}</span>')


def email_html(subject: str, body: str, parts: list[dict[str, Any]] | None = None) -> str:
    """The email as HTML: from its parts when it has them (a slot draft), else as plain text."""
    if parts:
        subj = "".join(_piece(p) for p in parts if p.get("where") == "subject")
        text = "".join(_piece(p) for p in parts if p.get("where") != "subject")
    else:
        subj, text = html.escape(subject or ""), html.escape(body or "")
    return (f'<div style="{BOX_STYLE}"><b>Subject:</b> {subj}\n\n{text}</div>')


def show(subject: str, body: str, parts: list[dict[str, Any]] | None = None, *,
         legend: bool = True) -> None:
    """Show a draft's text (a slot draft with who wrote each part)."""
    st.html(email_html(subject, body, parts))
    if parts and legend and any(p.get("kind") == "slot" for p in parts):
        st.html(f'<div style="font-size:0.85em;opacity:0.8">{LEGEND}</div>')


def fallbacks(parts: list[dict[str, Any]] | None) -> list[str]:
    """The names of the slots that kept the template's fallback text."""
    return [str(p.get("name")) for p in parts or []
            if p.get("kind") == "slot" and p.get("source") not in ("model", "template")]
