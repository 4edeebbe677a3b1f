"""One draft in the review queue: who wrote which part, the contact, the checks in plain words, and
the actions, which follow the verdict.

- An edited text is checked again ("Check this version") before it can be approved: a verdict
  speaks for the text it checked.
- A draft that failed a check is approved only with a reason, typed in a confirmation step.
- The reviewer's text survives a conflict: the version they opened is kept, a stale write is
  refused by the core, and the page says so.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from brandvoice.ui import common, draftview, labels

STATUS_ICON = {"pass": ":material/check:", "warn": ":material/warning:", "fail": ":material/close:"}


def draft(review, user, draft_id: int, may_review: bool) -> None:
    """The draft's page section: text and actions on the left, contact and checks on the right."""
    d = None
    with common.errors():
        d = review.get_draft(common.store(), draft_id)
    if d is None:
        return
    left, right = st.columns([3, 2], gap="large")
    with left:
        _text_and_actions(review, user, d, may_review)
    with right:
        row = d.get("contact") or {}
        _contact(row.get("data") or row)
        _guardrails(d)
        _history(d)


def _latest(d: dict[str, Any]) -> tuple[int | None, list[dict[str, Any]]]:
    """The text version the checks speak for, and their results."""
    results = d.get("guardrails") or []
    checked = max((r.get("row_version") or 0 for r in results), default=None)
    return checked, [r for r in results if (r.get("row_version") or 0) == checked]


def _reasons(d: dict[str, Any]) -> list[dict[str, Any]]:
    """The newest check's problems, failures first."""
    _, latest = _latest(d)
    return sorted((r for r in latest if r.get("status") != "pass"),
                  key=lambda r: 0 if r.get("status") == "fail" else 1)


def _worst(results: list[dict[str, Any]]) -> str | None:
    order = {"pass": 0, "warn": 1, "fail": 2}
    return max((r.get("status") for r in results), key=lambda s: order.get(s, -1), default=None)


def _text_and_actions(review, user, d: dict[str, Any], may_review: bool) -> None:
    did = d["id"]
    # The version the reviewer opened: widgets keep their text across reruns even if someone else
    # changes the draft meanwhile; the core then refuses the stale write and we say so.
    loaded = st.session_state.setdefault(f"q_loaded_{did}", {
        "version": d["row_version"], "subject": d["subject"], "body": d["body"]})
    st.session_state.setdefault(f"subj_{did}", loaded["subject"])
    st.session_state.setdefault(f"body_{did}", loaded["body"])
    version = loaded["version"]
    st.subheader(f"Draft #{did}")
    meta = [f"state **{d['state']}**",
            f"checks **{common.md_escape(labels.verdict_line(d.get('verdict'), _reasons(d)))}**",
            f"template {common.md_code(d.get('template_name'))}",
            f"adapter {common.md_code(d.get('adapter_label'))}", f"version {d['row_version']}"]
    if d.get("updated_by"):
        meta.append(f"last change by {common.md_escape(d['updated_by'])} at "
                    f"{str(d.get('updated_at', ''))[:19]}")
    st.caption(" · ".join(meta))
    _conflict_notice(did, d, loaded)
    _parts(d)
    actions = set(d.get("allowed_actions") or review.allowed_actions(d["state"])) if may_review \
        else set()
    editable = "edit" in actions
    subject = st.text_input("Subject", key=f"subj_{did}", disabled=not editable)
    body = st.text_area("Body", key=f"body_{did}", height=320, disabled=not editable)
    changed = subject != loaded["subject"] or body != loaded["body"]
    diff = review.text_diff(d["generated_subject"], d["generated_body"], subject, body,
                            new_label="edited" if changed else "current")
    if diff:
        with st.expander("Changes against the generated text", expanded=True):
            st.code(diff, language="diff", wrap_lines=True)
    if not actions:
        return
    _actions(review, user, d, actions, version, subject, body, changed)


def _parts(d: dict[str, Any]) -> None:
    """A slot draft's generated text with who wrote each part."""
    parts = d.get("parts")
    if not parts:
        return
    edited = (d["subject"], d["body"]) != (d["generated_subject"], d["generated_body"])
    with st.expander("Who wrote what", expanded=not edited, icon=":material/draw:"):
        if edited:
            st.caption(f"The text was edited since it was generated (last by "
                       f"{common.md_escape(d.get('updated_by') or 'a reviewer')}): below is the "
                       "generated version, part by part.")
        draftview.show(d["generated_subject"], d["generated_body"], parts)
        fell_back = draftview.fallbacks(parts)
        if fell_back:
            st.caption("Kept your template's text (no candidate of the model passed): "
                       + ", ".join(f"**{common.md_escape(n)}**" for n in fell_back))


def _actions(review, user, d: dict[str, Any], actions: set[str], version: int, subject: str,
             body: str, changed: bool) -> None:
    did = d["id"]
    checked, latest = _latest(d)
    current = checked is not None and checked == d["row_version"] and not changed
    worst = _worst(latest) if current else None
    note = st.text_input("Note (optional)", key=f"note_{did}",
                         placeholder="Kept with the approval") if "approve" in actions else ""
    row = st.container(horizontal=True, vertical_alignment="center")
    if "approve" in actions:
        why_not = ("Save and check your edit first." if changed else
                   "Check this version first: the text changed since its last check."
                   if not current else review.approval_blocker(common.store(), user, did))
        if row.button("Approve", key=f"approve_{did}", type="primary" if current else "secondary",
                      icon=":material/check:", disabled=why_not is not None, help=why_not):
            if worst == "fail":
                st.session_state[f"confirm_{did}"] = True
            else:
                _act(lambda: _approve(review, user, did, version, note or None, None), did,
                     f"Draft #{did} approved.")
    if "edit" in actions and changed:
        if row.button("Save and check", key=f"save_check_{did}", type="primary",
                      icon=":material/shield:", help="Save your edit, then run the checks on it."):
            _act(lambda: _save_and_check(review, user, d, subject, body, version), did,
                 "Edit saved and checked.")
        if row.button("Save edit", key=f"save_{did}", icon=":material/save:"):
            _act(lambda: review.edit(common.store(), user, did, subject=subject, body=body,
                                     expected_version=version), did, "Edit saved.")
    elif "approve" in actions and not current:
        if row.button("Check this version", key=f"recheck_{did}", type="primary",
                      icon=":material/shield:",
                      help="Run the checks on the current text: a verdict speaks for the text it "
                           "checked, so an edited draft is checked again before approval."):
            _act(lambda: _recheck(review, d), did, f"Draft #{did} checked.")
    if "reopen" in actions and row.button("Reopen", key=f"reopen_{did}", icon=":material/undo:"):
        _act(lambda: review.reopen(common.store(), user, did, expected_version=version),
             did, f"Draft #{did} is pending again.")
    if "reject" in actions:
        _reject(review, user, did, version, row)
    if "approve" in actions and not current:
        st.caption("Save and check your edit first." if changed else
                   "Check this version first: the text changed since its last check.")
    elif "approve" in actions and (blocker := review.approval_blocker(common.store(), user, did)):
        st.caption(common.md_escape(blocker) + " Another reviewer approves it.")
    if st.session_state.get(f"confirm_{did}") and worst == "fail":
        _confirm_failing(review, user, did, version, latest, note)


def _approve(review, user, did: int, version: int, note: str | None, reason: str | None) -> None:
    """review.approve; `reason` is required by the core for a draft that failed a check."""
    review.approve(common.store(), user, did, expected_version=version, note=note, reason=reason)


def _confirm_failing(review, user, did: int, version: int, latest: list[dict], note: str) -> None:
    failed = [labels.rule_label(r.get("check"), r.get("rule")) for r in latest
              if r.get("status") == "fail"]
    with st.container(border=True):
        st.warning(f"Draft #{did} failed: **{', '.join(failed)}**. Approve it only if the "
                   "check is wrong for this draft, and say why: the reason is kept with the "
                   "approval.", icon=":material/gpp_maybe:")
        reason = st.text_area("Why this draft can go out anyway (required)",
                              key=f"approve_reason_{did}", height=80)
        x, y = st.columns([1, 3])
        if x.button("Approve anyway", key=f"approve_anyway_{did}", type="primary",
                    disabled=not reason.strip()):
            _act(lambda: _approve(review, user, did, version, note or None, reason.strip()),
                 did, f"Draft #{did} approved (with your reason).")
        if y.button("Back", key=f"approve_back_{did}"):
            st.session_state.pop(f"confirm_{did}", None)
            st.rerun()


def _reject(review, user, did: int, version: int, col) -> None:
    with col.popover("Reject", icon=":material/block:"):
        code = st.selectbox("Reason", list(review.REASON_CODES), key=f"reason_{did}",
                            format_func=labels.reason_label)
        text = st.text_area("Explain" + (" (required)" if code == "other" else " (optional)"),
                            key=f"reason_text_{did}")
        if st.button("Reject draft", key=f"reject_{did}",
                     disabled=code == "other" and not (text or "").strip()):
            _act(lambda: review.reject(common.store(), user, did, expected_version=version,
                                       reason_code=code, reason_text=text or None),
                 did, f"Draft #{did} rejected.")


def _save_and_check(review, user, d: dict[str, Any], subject: str, body: str,
                    version: int) -> None:
    review.edit(common.store(), user, d["id"], subject=subject, body=body,
                expected_version=version)
    try:
        _recheck(review, d)
    except Exception as exc:  # noqa: BLE001 - the edit is saved: say what did not work
        st.session_state["flash_error"] = ("Your edit is saved, but the checks could not run: "
                                           + common.page_message(exc))


def _recheck(review, d: dict[str, Any]) -> None:
    review.recheck(common.store(), common.current_user(), d["id"],
                   guard=common.guard_for(d.get("brand") or "", d.get("adapter_id")))


def _forget(did: int) -> None:
    """Drop what the page kept for a draft, so that it shows the stored text next time."""
    for k in (f"q_loaded_{did}", f"subj_{did}", f"body_{did}", f"note_{did}",
              f"reason_text_{did}", f"conflict_{did}", f"confirm_{did}", f"approve_reason_{did}"):
        st.session_state.pop(k, None)


def _act(fn, did: int, ok: str) -> None:
    """Run a review action; a conflict keeps the reviewer's text in the boxes, never loses it."""
    from brandvoice.errors import ConflictError

    try:
        fn()
    except ConflictError as exc:
        st.session_state[f"conflict_{did}"] = common.page_message(exc)
        st.rerun()
    except Exception as exc:  # noqa: BLE001 - shown on the page
        common.show_error(exc)
        return
    _forget(did)
    if "flash_error" not in st.session_state:
        st.session_state["flash"] = ok
    st.rerun()


def _conflict_notice(did: int, d: dict[str, Any], loaded: dict[str, Any]) -> None:
    message = st.session_state.get(f"conflict_{did}")
    if not message and d["row_version"] == loaded["version"]:
        return
    if not message:
        message = (f"Draft {did} was changed by {common.md_escape(d.get('updated_by') or 'someone')}"
                   f" at {str(d.get('updated_at', ''))[:19]} since you opened it (it is now "
                   f"{d['state']}, version {d['row_version']}).")
    st.warning(f"{message}\n\nYour text stays in the boxes below. **Reload** replaces it with "
               "the current version (copy what you want to keep first).",
               icon=":material/sync_problem:")
    with st.expander("The current stored version"):
        st.text(f"Subject: {d['subject']}\n\n{d['body']}")
    if st.button("Reload draft", key=f"reload_{did}", icon=":material/refresh:"):
        _forget(did)
        st.rerun()


def _contact(contact: dict[str, Any]) -> None:
    """The contact's CRM row, as text: every value came from a CRM export."""
    import html

    st.subheader("Contact")
    if not contact:
        st.caption("No contact snapshot.")
        return
    esc = html.escape
    name = " ".join(x for x in (contact.get("first_name"), contact.get("last_name")) if x)
    lines = [f"<b>{esc(name or contact.get('email', ''))}</b> · {esc(contact.get('email', ''))}"]
    lines += [f"{esc(k.replace('_', ' '))}: <b>{esc(str(contact[k]))}</b>" for k in
              ("company", "job_title", "lifecycle_stage", "lead_status", "deal_stage", "city",
               "country") if contact.get(k)]
    acts = contact.get("activities") or []
    if acts:
        lines.append('<span style="opacity:0.7">Recent activity</span>')
        lines += [f"· {esc(str(a.get('timestamp', ''))[:10])} {esc(str(a.get('type', '')))}: "
                  f"{esc(str(a.get('detail', '')))}" for a in acts[:5]]
    st.html('<div style="line-height:1.6;overflow-wrap:anywhere">' + "<br>".join(lines)
            + "</div>")
    if contact.get("notes"):
        with st.expander("CRM notes (untrusted text)"):
            st.text(contact["notes"])


def _guardrails(d: dict[str, Any]) -> None:
    st.subheader("Checks")
    checked, latest = _latest(d)
    if not latest:
        st.caption("Not checked yet.")
        return
    if checked != d.get("row_version"):
        st.caption(f"These results are for version {checked}; the text changed since.")
    problems = sorted((r for r in latest if r.get("status") != "pass"),
                      key=lambda r: 0 if r.get("status") == "fail" else 1)
    passed = [r for r in latest if r.get("status") == "pass"]
    for r in problems:
        _badge(r)
        if r.get("message"):
            common.plain(r["message"], muted=True)  # it quotes the draft: text, not markdown
    if passed:
        with st.expander(f"{len(passed)} checks passed" if problems else
                         f"All {len(passed)} checks passed", icon=":material/check:"):
            for r in passed:
                _badge(r)
    examples = _nearest(latest)
    if examples:
        with st.expander("Nearest on-brand examples"):
            for ex in examples[:3]:
                sim = ex.get("similarity", ex.get("score"))
                if isinstance(sim, int | float):
                    st.caption(f"similarity {sim:.2f}")
                st.text(ex.get("email") or ex.get("subject") or ex.get("text") or "")


def _badge(r: dict[str, Any]) -> None:
    """One check as a badge in plain words; its technical name and score in the tooltip."""
    status = r.get("status")
    score = f" · score {r['score']:.2f}" if isinstance(r.get("score"), int | float) else ""
    st.badge(labels.rule_label(r.get("check"), r.get("rule")),
             color=common.badge_color(status), icon=STATUS_ICON.get(status or ""),
             help=f"{labels.check_label(r.get('check'))} check "
                  f"“{labels.technical(r.get('check'), r.get('rule'))}”: "
                  f"{labels.STATUS.get(status, status)}{score}")


def _nearest(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in results:
        details = r.get("details") or {}
        for key in ("nearest", "nearest_examples", "examples"):
            if isinstance(details.get(key), list) and details[key]:
                return [e if isinstance(e, dict) else {"text": str(e)} for e in details[key]]
    return []


def _history(d: dict[str, Any]) -> None:
    reviews = d.get("reviews") or []
    versions = d.get("versions") or []
    if not reviews and len(versions) <= 1:
        return
    esc = common.md_escape
    with st.expander("History"):
        for r in reviews:
            line = f"{str(r.get('created_at', ''))[:19]} **{esc(r.get('reviewer'))}** {r.get('action')}"
            if r.get("reason_code"):
                line += f" ({esc(labels.reason_label(r['reason_code']))}"
                line += f": {esc(r['reason_text'])})" if r.get("reason_text") else ")"
            elif r.get("reason_text"):
                line += f": {esc(r['reason_text'])}"
            st.markdown(line)
        st.caption(f"{len(versions)} text versions")
