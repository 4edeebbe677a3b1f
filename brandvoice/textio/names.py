"""Names made from what people type: slugs for files and lookups, keys for matching."""

from __future__ import annotations

import re

from brandvoice.errors import ConfigError


def slug(text: str) -> str:
    """The file and lookup name of a brand or person: "Julián Castro" -> "julian-castro"."""
    from slugify import slugify

    out = slugify(str(text or ""), lowercase=True)
    if not out:
        raise ConfigError(f"Name {text!r} has no letters or digits.",
                          hint="Use a name with letters, such as 'Ledgerly'.")
    return out


def compact_key(text: str | None) -> str:
    """Identity for matching names: 'Bright Bean', 'bright-bean' and 'brightbean' are one (so are
    'Café' and 'cafe')."""
    text = (text or "").lower()
    if not text.isascii():
        from slugify import slugify

        text = slugify(text)  # transliterated, so that "Julián" and "Julian" match
    return re.sub(r"[^a-z0-9]", "", text)


def column_key(name: str) -> str:
    """A column name as compared: lower case, punctuation folded ("E-mail Address" -> "e mail address")."""
    return re.sub(r"[^a-z0-9]+", " ", str(name).lower()).strip()
