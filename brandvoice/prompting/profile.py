"""A brand's profile: the layout of every email it sends (the greeting, the sign-off that names the
sender, the footer), read from the `[brand]` table of guardrails/default.toml and
guardrails/<brand-slug>.toml.

Prompting owns it: a slot skeleton prints its greeting and sign-off, generation puts them around a
whole email the model wrote and appends the footer. The guardrails read it to check a draft (the
sign-off and the footer are required elements; both are the brand's text, not the model's) and
never build an email from it.

    profile = prompting.load_profile(settings.guardrails_dir, "Ledgerly")
    profile.greeting_for(contact)          # "Hi Dana," (the fallback when the row has no name)
    profile.signed(body), profile.has_footer(body)
    profile.complete(parsed)               # adds a sign-off the model left out, and the footer
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from brandvoice import textio
from brandvoice.errors import ConfigError
from brandvoice.prompting.greeting import greeting_line
from brandvoice.prompting.shape import ParsedEmail
from brandvoice.prompting.slots import structure_email

# The keys of the [brand] table (all strings) and what each is for: the policy file's schema.
PROFILE_KEYS = {
    "name": "the brand's display name",
    "greeting": "the greeting line, '{first_name}' filled from the CRM row (default 'Hi {first_name},')",
    "greeting_fallback": "the greeting when the row has no usable first name (default 'Hi there,')",
    "signature": "the sign-off, closing words and the sender ('— The Ledgerly team')",
    "signature_pattern": "a regex that also accepts another sign-off ('— Maya, Ledgerly')",
    "footer": "the footer appended to every email (postal address, unsubscribe link)",
    "footer_pattern": "a regex that recognises the footer where an email tool rewrote it",
}


def literal_pattern(text: str) -> re.Pattern | None:
    """Text as a case-insensitive regex in which any white space matches any white space."""
    words = text.split()
    return re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE) if words else None


@dataclass
class BrandProfile:
    """The greeting, sign-off and footer of a brand's emails, and how to recognise them."""

    brand: str | None = None
    greeting: str = "Hi {first_name},"
    greeting_fallback: str = "Hi there,"
    signature: str = ""
    footer: str = ""
    signature_pattern: str = ""
    footer_pattern: str = ""
    files: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signature = self.signature.strip()
        self.footer = self.footer.strip()
        self.signature_re = _pattern(self.signature_pattern, self.signature, "signature", self.files)
        self.footer_re = _pattern(self.footer_pattern, self.footer, "footer", self.files)

    @classmethod
    def from_table(cls, brand: str | None, table: dict, files: list[Path] | None = None) -> BrandProfile:
        """The profile of a merged `[brand]` table (keys as PROFILE_KEYS)."""
        unknown = sorted(set(table) - set(PROFILE_KEYS))
        if unknown:
            raise ConfigError(f"[brand] in {', '.join(map(str, files or [])) or 'the policy'}: "
                              f"unknown key(s) {', '.join(unknown)}.",
                              hint=f"Keys of [brand]: {', '.join(PROFILE_KEYS)}.")
        values = {k: v for k, v in table.items() if k != "name"}
        return cls(brand=table.get("name") or brand, files=list(files or []), **values)

    def greeting_for(self, contact: dict) -> str:
        """The greeting line for a contact."""
        return greeting_line(contact, self.greeting, self.greeting_fallback)

    def signed(self, body: str) -> bool:
        """Whether a body carries the brand's sign-off (or one its signature_pattern accepts)."""
        return self.signature_re is not None and bool(self.signature_re.search(body))

    def has_footer(self, body: str) -> bool:
        """Whether a body carries the brand's footer."""
        return self.footer_re is not None and bool(self.footer_re.search(body))

    @property
    def boilerplate(self) -> tuple[str, ...]:
        """The brand's own text in every email (footer, sign-off): never the model's words."""
        return tuple(t for t in (self.footer, self.signature) if t)

    def structure(self, subject: str, body: str, contact: dict) -> tuple[str, str, list[str]]:
        """A whole email the model wrote, with this profile's greeting and sign-off in place of the
        model's: (subject, body, the model's own paragraphs)."""
        return structure_email(subject, body, greeting=self.greeting_for(contact),
                               signature=self.signature)

    def complete(self, parsed: ParsedEmail) -> ParsedEmail:
        """Append the sign-off (when the body has none the profile accepts) and the footer (when
        the body lacks it); what was added is recorded on the draft."""
        if self.signature and not self.signed(parsed.body):
            parsed.body = f"{parsed.body.rstrip()}\n\n{self.signature}"
            parsed.added.append("signature")
        if self.footer and not self.has_footer(parsed.body):
            parsed.body = f"{parsed.body.rstrip()}\n\n{self.footer}"
            parsed.added.append("footer")
        return parsed


def _pattern(pattern: str, literal: str, what: str, files: list[Path]) -> re.Pattern | None:
    if not pattern:
        return literal_pattern(literal)
    try:
        return re.compile(pattern)
    except re.error as exc:
        where = ", ".join(map(str, files)) or "the policy"
        raise ConfigError(f"[brand] {what}_pattern in {where} is not a valid regex: {exc}.",
                          hint="Escape special characters such as . ( ) [ ] with a backslash.") from exc


def brand_files(directory: str | Path, brand: str | None) -> list[Path]:
    """The files that make up a brand's settings: default.toml, then <brand-slug>.toml (or the
    compact name of older versions, brightbean.toml), those that exist."""
    directory = Path(directory)
    out = [directory / "default.toml"] if (directory / "default.toml").is_file() else []
    if brand:
        legacy = re.sub(r"[^a-z0-9]+", "", brand.lower())
        try:
            names = [textio.slug(brand), legacy]
        except ConfigError:  # no letters or digits: no brand file, the defaults apply
            names = [legacy]
        own = next((directory / f"{n}.toml" for n in dict.fromkeys(names)
                    if n and (directory / f"{n}.toml").is_file()), None)
        if own is not None and own not in out:
            out.append(own)
    return out


def load_profile(directory: str | Path, brand: str | None) -> BrandProfile:
    """A brand's profile: the [brand] table of its files, the brand file's keys over the default's."""
    files = brand_files(directory, brand)
    table: dict = {}
    for path in files:
        data, _ = textio.read_toml(path, what="Policy file", error=ConfigError)
        own = data.get("brand", {})
        if not isinstance(own, dict) or not all(isinstance(v, str) for v in own.values()):
            raise ConfigError(f"Policy file {path}: [brand] must be a table of strings.",
                              hint=f"Keys of [brand]: {', '.join(PROFILE_KEYS)}.")
        table.update(own)
    return BrandProfile.from_table(brand, table, files)
