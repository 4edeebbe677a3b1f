"""Names made from what people type: slugs for files and lookups, keys for matching."""

from __future__ import annotations

import re
import unicodedata

from brandvoice.errors import ConfigError, InputError

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{1,99}")  # fullmatch: "$" would take a "\n"


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


def normalize_username(username: str) -> str:
    """A user name as stored and compared: Unicode NFKC (full-width letters become ASCII)."""
    return unicodedata.normalize("NFKC", str(username or ""))


def _odd_characters(name: str) -> list[str]:
    """Control, format (bidirectional, zero-width), separator and other invisible characters."""
    return [f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')})" for ch in name
            if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
            or (ch.isspace() and ch != " ")]


def check_username(username: str) -> str:
    """The normalised user name, or InputError naming what is wrong with it."""
    name = normalize_username(username)
    odd = _odd_characters(name)
    if odd:
        raise InputError(f"username {name!r} holds characters that are not allowed: "
                         f"{', '.join(dict.fromkeys(odd))}.",
                         hint="Use 2-100 letters, digits, '.', '_', '@' or '-'.")
    if not USERNAME.fullmatch(name):
        raise InputError(f"username {name!r}: use 2-100 letters, digits, '.', '_', '@' or '-', "
                         "starting with a letter or digit.")
    return name
