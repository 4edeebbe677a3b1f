"""The Adapters tab of the Brand voice page: every version with its results in words, what to
expect from it, and sample drafts beside the base model's for the same brief."""

from __future__ import annotations

from typing import Any

import streamlit as st

from brandvoice.ui import common, draftview, labels

PERPLEXITY = """**Perplexity**, in short: how surprised a model is by emails it never saw. Training
holds a few of the brand's emails out; both the base model and the adapter read them, and the
lower number wins. A ratio of 0.30 means the adapter finds the brand's emails about 3× less
surprising than the base model: it has picked up the brand's words, phrases and format.

What it does not say: whether the drafts are good. A model can learn a brand's phrases and still
write sentences that do not make sense, or invent facts. Read the sample drafts below, and watch
the approval rate on the Dashboard once reviewers have decided on drafts.

With only a handful of held-out emails (the demo brand holds out about a dozen; a small brand
two or three), one unusual email moves the number a lot: read it as a rough signal, not a
measurement."""


def _num(d: dict, key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) else None


def ppl_words(m: dict[str, Any]) -> str:
    """An adapter's held-out perplexity comparison in words."""
    ratio, held = _num(m, "heldout_ppl_ratio"), m.get("n_heldout")
    if ratio is None or ratio <= 0:
        return "not measured"
    if ratio >= 1:
        words = "no better than the base model on the held-out emails"
    else:
        words = f"{1 / ratio:.1f}× less surprised than the base model by the held-out emails"
    if isinstance(held, int) and held < 5:
        words += f" (only {held} held out: a rough signal)"
    return words


def adapters(user: Any) -> None:
    """The adapters table, what to expect from each, and sample drafts."""
    import pandas as pd

    from brandvoice import guardrails, training

    tones = guardrails.tone_calibrations(common.store())
    all_adapters = training.list_adapters(common.store())
    if not all_adapters:
        st.info("No adapter yet: train one on the Train tab.")
        return
    rows = []
    for a in all_adapters:
        m = a.metrics or {}
        tone = tones.get(a.id) or tones.get(("brand", a.name)) or {}
        base, adapted = _num(m, "heldout_ppl_base"), _num(m, "heldout_ppl_adapter")
        rows.append({
            "adapter": a.label, "status": a.status, "created": str(a.created_at)[:16],
            "learned from": m.get("n_train"), "held out": m.get("n_heldout"),
            "steps": m.get("steps"),
            "perplexity base → adapter": f"{base:.1f} → {adapted:.1f}"
            if base is not None and adapted is not None else "–",
            "what it says": ppl_words(m),
            "tone check threshold": _num(tone, "threshold"),
            "notes": " ".join(m.get("notes") or []) or "–",
            "base model": a.base_model})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={
                     "learned from": st.column_config.NumberColumn(
                         help="Training emails (past emails, plus reviewed drafts if chosen)."),
                     "held out": st.column_config.NumberColumn(
                         help="Emails kept out of training to measure the adapter."),
                     "tone check threshold": st.column_config.NumberColumn(
                         format="%.2f", help="Drafts less similar than this to the brand's "
                         "emails get a tone warning."),
                     "notes": st.column_config.TextColumn(width="large")})
    with st.expander("What the perplexity numbers say (and do not)"):
        st.markdown(PERPLEXITY)
    ready = [a for a in all_adapters if a.status == "ready"]
    if ready:
        _details(user, ready)


def _details(user: Any, ready: list) -> None:
    st.subheader("A closer look")
    by_id = {a.id: a for a in ready}
    newest = max(ready, key=lambda a: (str(a.created_at), a.version))
    pick = st.selectbox("Adapter", list(by_id), key="a_pick", index=list(by_id).index(newest.id),
                        format_func=lambda i: by_id[i].label)
    adapter = by_id[pick]
    m = adapter.metrics or {}
    st.markdown(f"**{adapter.label}**: {common.md_escape(ppl_words(m))}.")
    for note in m.get("notes") or []:
        st.warning(common.md_escape(note), icon=":material/info:")
    _samples(user, adapter)



def _samples(user: Any, adapter: Any) -> None:
    from brandvoice import generation

    st.markdown("**Sample drafts beside the base model's**")
    samples = generation.read_samples(adapter)
    if samples:
        _show_samples(samples)
    if not common.can("train", user):
        if not samples:
            st.caption("No sample drafts yet: a marketer writes them here.")
        return
    with st.expander("Write sample drafts" if not samples else "Write new sample drafts",
                     expanded=not samples):
        _sample_form(adapter)


def _sample_form(adapter: Any) -> None:
    from brandvoice import generation, prompting, training

    templates = [t for t in prompting.list_templates(common.settings())
                 if not t.brand or training.brand_keys(t.brand) & training.brand_keys(adapter.brand)]
    if not templates:
        st.caption("No template for this brand.")
        return
    # The brand's own slot templates first: a slot draft takes seconds, a whole email minutes.
    by_name = {t.name: t for t in sorted(templates, key=lambda t: (t.brand is None,
                                                                  t.kind != "slots", t.name))}
    c = st.columns(2)
    name = c[0].selectbox("Template", list(by_name), key=f"a_tpl_{adapter.id}",
                          format_func=lambda n: f"{by_name[n].use_case} · "
                          f"{'slot template' if by_name[n].kind == 'slots' else 'whole email'} "
                          f"· {n}")
    template = by_name[name]
    contacts = [x for x in common.sample_contacts(common.settings().db_url or "")
                if not prompting.missing_fields(template, x)]
    if not contacts:
        c[1].caption("No contact has every field this template needs.")
        return
    idx = c[1].selectbox("Contact", range(min(20, len(contacts))), key=f"a_contact_{adapter.id}",
                         format_func=lambda i: " · ".join(
                             str(v) for v in (contacts[i].get("first_name"),
                                              contacts[i].get("company")) if v))
    st.caption("Two drafts with the adapter and two with the base model alone, same brief and "
               "seeds. Both models load here: seconds for a slot template, a minute or more for "
               "a whole email on a busy machine.")
    if st.button("Write sample drafts", key=f"a_write_{adapter.id}", icon=":material/science:"):
        bar = st.progress(0.0, text="Starting")

        def progress(what: str, share: float) -> None:  # called on this page's own thread
            bar.progress(min(1.0, share), text=f"{what} ({share:.0%})")

        with common.errors():
            generation.write_samples(common.store(), adapter, template=template,
                                     contact=contacts[idx], n=2, progress=progress)
            st.rerun()


def _show_samples(samples: dict[str, Any]) -> None:
    c = samples.get("contact") or {}
    who = " ".join(str(v) for v in (c.get("first_name"), c.get("last_name")) if v)
    st.caption(f"Template {common.md_escape(samples.get('template'))} for "
               f"{common.md_escape(who or c.get('email') or 'a contact')}"
               f"{' at ' + common.md_escape(c['company']) if c.get('company') else ''} · written "
               f"{str(samples.get('created_at', ''))[:16].replace('T', ' ')} UTC")
    st.html(f'<div style="font-size:0.85em;opacity:0.8">{draftview.LEGEND}</div>')
    left, right = st.columns(2, gap="large")
    for col, key, title in ((left, "with_adapter", f"With {samples.get('adapter')}"),
                            (right, "base", f"Base model alone ({samples.get('base_model')})")):
        with col:
            st.markdown(f"**{common.md_escape(title)}**")
            for d in samples.get(key) or []:
                draftview.show(d.get("subject", ""), d.get("body", ""), d.get("parts"),
                               legend=False)
                verdict = labels.VERDICTS.get(d.get("verdict"), d.get("verdict"))
                flagged = [labels.rule_label(*f.split("/", 1))
                           for f in (d.get("failed") or []) + (d.get("warned") or []) if "/" in f]
                st.caption(f"Checks: {verdict}" + (f" ({', '.join(flagged)})" if flagged else ""))
