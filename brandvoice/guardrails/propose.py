"""A new brand's first policy, proposed from its own past emails, for the marketer to confirm.

Without a policy file a brand has no sign-off or footer to check, so every draft stops at "no
unsubscribe line", and its real subject conventions ("[Greenrow Notes] ...") read as placeholders.
The brand's emails already say what its layout is: the greeting they open with, the sign-off and
the footer they end with, the list tags their subjects start with, the links they use. `propose`
reads them and says, for each key, how many emails back it; `policy_text` writes the proposal as a
commented policy file; `save_policy` writes guardrails/<brand-slug>.toml atomically, after it
validated, as the acting user (role checked, audited).

    p = guardrails.propose("Greenrow Co/op", corpus.load_emails("past.csv")[0])
    p.evidence                      # ["Sign-off “— Ines and the Greenrow crew”: 34 of 34 emails", ...]
    guardrails.save_policy(store, actor, "Greenrow Co/op", guardrails.policy_text(p))
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from brandvoice import textio
from brandvoice.errors import ConfigError, InputError
from brandvoice.prompting import ends_body, parse_greeting

MIN_SHARE = 0.4  # a layout element is the brand's when at least this share of its emails carry it
MAX_URLS = 40
_FOOTER = re.compile(r"unsubscribe|opt[ -]?out|manage (?:your )?preferences|you (?:get|receive|are "
                     r"receiving) this", re.IGNORECASE)
_TAG = re.compile(r"^\s*(\[[^\]\n]{1,40}\])\s+\S")
_URL = re.compile(r"https?://[^\s<>\"'()\]]+")


@dataclass
class Proposal:
    """A proposed first policy: the [brand] profile, other policy tables, and why each key."""

    brand: str
    emails: int
    profile: dict[str, str] = field(default_factory=dict)
    tables: dict[str, dict] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _paragraphs(body: str) -> list[str]:
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _norm(text: str) -> str:
    return " ".join(text.split())


def _share(n: int, total: int) -> str:
    return f"{n} of {total} emails"


def _common(values: list[str], total: int) -> tuple[str, int] | None:
    """The most common value (by its spacing-free form) when enough emails carry it."""
    if not values:
        return None
    counts = Counter(_norm(v) for v in values)
    value, n = counts.most_common(1)[0]
    if n < max(2, MIN_SHARE * total):
        return None
    return next(v for v in values if _norm(v) == value), n


def _ends(body: str) -> tuple[str | None, str | None]:
    """(the footer paragraph, the sign-off paragraph) an email ends with, when it has them."""
    paras = _paragraphs(body)
    footer = paras.pop() if paras and _FOOTER.search(paras[-1]) else None
    signoff = None
    if paras:
        last = paras[-1]
        lines = last.splitlines()
        # "— Ines and the Greenrow crew", or closing words and a name on two short lines
        if len(last) <= 120 and len(lines) <= 3 and ends_body(lines[0]):
            signoff = last
    return footer, signoff


def _greeting(bodies: list[str], total: int, proposal: Proposal) -> None:
    salutations: Counter = Counter()
    generic: Counter = Counter()
    for body in bodies:
        g = parse_greeting(body)
        if not g.salutation:
            continue
        if g.kind == "person":
            salutations[g.salutation] += 1
        elif g.who:
            generic[f"{g.salutation} {g.who},"] += 1
    if not salutations:
        proposal.missing.append("greeting: no email opens with a salutation and a name; the "
                                "default “Hi {first_name},” applies")
        return
    word, n = salutations.most_common(1)[0]
    proposal.profile["greeting"] = f"{word} {{first_name}},"
    proposal.evidence.append(f"Greeting “{word} <first name>,”: {_share(n, total)}")
    if generic:
        line, m = generic.most_common(1)[0]
        proposal.profile["greeting_fallback"] = line
        proposal.evidence.append(f"Greeting without a name “{line}”: {_share(m, total)}")


def _layout(bodies: list[str], total: int, proposal: Proposal) -> None:
    footers, signoffs = [], []
    for body in bodies:
        footer, signoff = _ends(body)
        if footer:
            footers.append(footer)
        if signoff:
            signoffs.append(signoff)
    found = _common(signoffs, total)
    if found:
        proposal.profile["signature"] = found[0]
        proposal.evidence.append(f"Sign-off “{_norm(found[0])}”: {_share(found[1], total)}")
    else:
        proposal.missing.append("signature: no one sign-off ends most emails; type the one "
                                "drafts should end with")
    found = _common(footers, total)
    if found:
        proposal.profile["footer"] = found[0]
        proposal.evidence.append(f"Footer “{_norm(found[0])[:90]}…”: {_share(found[1], total)}")
    elif footers:
        proposal.missing.append(f"footer: {len(footers)} emails end with an unsubscribe line, but "
                                "not the same one; type the footer drafts should carry")
    else:
        proposal.missing.append("footer: no email ends with an unsubscribe line; your email tool "
                                "must add one (the law requires it)")


def _subjects(subjects: list[str], total: int, proposal: Proposal) -> None:
    tags = Counter(m.group(1) for s in subjects if (m := _TAG.match(s)))
    kept = [(t, n) for t, n in tags.most_common() if n >= 2]
    if kept:
        proposal.tables.setdefault("subject", {})["tags"] = [t for t, _ in kept]
        for tag, n in kept:
            proposal.evidence.append(f"Subject tag “{tag}” (a list's name, not a placeholder): "
                                     f"{_share(n, total)}")


def _links(bodies: list[str], proposal: Proposal) -> None:
    urls: Counter = Counter()
    for body in bodies:
        for u in _URL.findall(body):
            urls[u.rstrip(".,;:!?")] += 1
    if urls:
        kept = [u for u, _ in urls.most_common(MAX_URLS)]
        proposal.tables.setdefault("allow", {})["urls"] = sorted(kept)
        proposal.evidence.append(f"Links the brand uses (allowed in drafts): {len(kept)}")


def propose(brand: str, emails) -> Proposal:
    """A first policy for `brand` from its past emails (corpus.Email records or dicts with
    subject and body), read before cleaning: cleaning removes the very footers looked for."""
    rows = [(str(getattr(e, "subject", None) or (e.get("subject") if isinstance(e, dict) else "")
                 or ""),
             str(getattr(e, "body", None) or (e.get("body") if isinstance(e, dict) else "") or ""))
            for e in emails]
    rows = [(s, b) for s, b in rows if b.strip()]
    if not rows:
        raise InputError(f"No past emails of {brand} to propose a policy from.",
                         hint="Upload the brand's past emails first.")
    proposal = Proposal(brand=brand, emails=len(rows), profile={"name": brand})
    bodies = [b for _, b in rows]
    _greeting(bodies, len(rows), proposal)
    _layout(bodies, len(rows), proposal)
    _subjects([s for s, _ in rows], len(rows), proposal)
    _links(bodies, proposal)
    return proposal


def _comment(text: str):
    import tomlkit

    return tomlkit.comment(re.sub(r"[\x00-\x1f\x7f]", " ", " ".join(text.split())))


def policy_text(proposal: Proposal) -> str:
    """The proposal as a policy file (merged over default.toml), each key with its evidence."""
    import tomlkit

    doc = tomlkit.document()
    doc.add(_comment(f"{proposal.brand}: the first policy, proposed from {proposal.emails} of its "
                     "past emails and confirmed by a person."))
    doc.add(_comment("Merged over default.toml; the format is in guardrails/README.md."))
    for line in proposal.evidence:
        doc.add(_comment(line))
    for line in proposal.missing:
        doc.add(_comment(f"Not proposed: {line}"))
    brand = tomlkit.table()
    for key, value in proposal.profile.items():
        brand.add(key, tomlkit.string(value, multiline="\n" in value))
    doc.add("brand", brand)
    for name, values in proposal.tables.items():
        table = tomlkit.table()
        for key, value in values.items():
            table.add(key, value)
        doc.add(name, table)
    return tomlkit.dumps(doc)


def policy_path(settings, brand: str) -> Path:
    """Where a brand's own policy file lives: guardrails/<brand-slug>.toml."""
    return Path(settings.guardrails_dir) / f"{textio.slug(brand)}.toml"


def save_policy(store, actor, brand: str, text: str) -> Path:
    """Validate a brand's policy file text and write guardrails/<brand-slug>.toml atomically, as
    `actor` (marketer or admin; audited with the file's hash and the one it replaced)."""
    import hashlib
    import tempfile

    from brandvoice.guardrails.policy import load_policy
    from brandvoice.users import PERMISSIONS, require_role

    with store.read() as conn:
        require_role(conn, actor, *PERMISSIONS["edit policies"], action="save brand policies")
    path = policy_path(store.settings, brand)
    with tempfile.TemporaryDirectory() as tmp:  # the whole policy must load before it is written
        folder = Path(tmp)
        default = Path(store.settings.guardrails_dir) / "default.toml"
        if default.is_file():
            (folder / "default.toml").write_bytes(default.read_bytes())
        trial = folder / path.name
        trial.write_text(text, encoding="utf-8")
        try:
            load_policy(folder, brand)
        except ConfigError as exc:
            raise ConfigError(exc.message.replace(str(trial), path.name), hint=exc.hint) from None
    old = path.read_bytes() if path.is_file() else None
    textio.atomic_write(path, text)
    with store.tx() as conn:
        store.audit(conn, "policy_save", actor=actor.username, brand=brand, path=path.name,
                    hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                    previous_hash=hashlib.sha256(old).hexdigest() if old else None)
    return path
