"""Export profiles: one CSV layout per email tool, each following that tool's documented import format.

| profile   | columns                                                                | neutralizes formulas |
|-----------|------------------------------------------------------------------------|----------------------|
| generic   | Email, First Name, Last Name, Company, Subject, Body                   | yes (opened in a spreadsheet / mail-merge add-on) |
| mailchimp | Email Address, First Name, Last Name, SUBJECT, BODY1..BODYn            | no (audience import stores a quote literally; BODYk chunks must reassemble exactly) |
| hubspot   | Email, First Name, Last Name, Follow Up Subject, Follow Up Body        | no (contacts import stores values as given) |
| klaviyo   | Email (first column), First Name, Last Name, Organization, Follow Up Subject, Follow Up Body | no |
| sfmc      | SubscriberKey, EmailAddress, FirstName, LastName, Subject, Body        | no (data extension import) |

Every profile can be forced either way with `neutralize=True/False`; the choice is recorded in the
export batch. Limits: Mailchimp merge tags <= 10 characters and text merge fields <= 255 bytes (the
body is split at word boundaries into BODY1, BODY2, ...); HubSpot multi-line text <= 65,536
characters; Salesforce Marketing Cloud Text fields <= 4,000 characters (EmailAddress <= 254).
A value over a limit is refused with an ExportError naming the draft and the field; nothing is
ever truncated.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from brandvoice.errors import ExportError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
MAILCHIMP_FIELD_BYTES = 255
MAILCHIMP_TAG_CHARS = 10
MAILCHIMP_MAX_BODY_FIELDS = 20  # Mailchimp audiences hold ~30 fields in all on most plans
HUBSPOT_TEXT_CHARS = 65_536
SFMC_TEXT_CHARS = 4_000
SFMC_EMAIL_CHARS = 254


@dataclass
class Options:
    """Per-export choices (recorded in the batch, so that a re-export renders the same file)."""

    html_body: bool = False
    neutralize: bool = False
    max_body_fields: int = MAILCHIMP_MAX_BODY_FIELDS


@dataclass(frozen=True)
class Profile:
    """An export layout: build(rows, options) -> (header, cells, extras)."""

    name: str
    title: str
    neutralize: bool
    html_body: bool
    note: str
    build: Callable[[list[dict], Options], tuple[list[str], list[list[str]], dict]]
    # A UTF-8 byte-order mark: Excel reads a file without one in the machine's legacy code page,
    # so "José" shows as "JosÃ©". On for files people open in a spreadsheet.
    bom: bool = False

    @property
    def description(self) -> str:
        """What to do with the file in the tool, and the formula-neutralization choice."""
        return self.note


def neutralize_cell(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with a single quote (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def body_html(body: str) -> str:
    """Plain text -> minimal HTML: paragraphs on blank lines, <br> on line breaks, text escaped."""
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
                   for p in paragraphs)


def _safe_cut(rest: str, cut: int, avoid: tuple[str, ...]) -> int:
    """The largest cut <= `cut` after which the next chunk does not start with one of `avoid`:
    at a word boundary if one serves, else between characters; 0 when none does."""
    if not avoid or cut >= len(rest) or not rest[cut:].startswith(avoid):
        return cut
    for word_boundary in (True, False):
        for c in range(cut - 1, 0, -1):
            if not rest[c:].startswith(avoid) and (not word_boundary or rest[c - 1].isspace()):
                return c
    return 0


def split_utf8(text: str, limit: int = MAILCHIMP_FIELD_BYTES, *,
               avoid: tuple[str, ...] = ()) -> list[str]:
    """Split text into chunks of at most `limit` UTF-8 bytes, at word boundaries where possible.

    "".join(chunks) == text exactly; whitespace stays at the end of the chunk before a cut. A word
    longer than a chunk is cut between characters (never inside a character, an HTML tag or entity).
    No chunk after the first starts with one of `avoid` (a spreadsheet's formula characters: a
    continuation chunk cannot be neutralized without changing the body); ValueError when no cut
    can avoid them.
    """
    chunks: list[str] = []
    start = 0
    while start < len(text):
        rest = text[start:]
        if len(rest.encode("utf-8")) <= limit:
            chunks.append(rest)
            break
        # the longest prefix that fits: cut the bytes, drop a partial trailing character
        fit = rest[:limit].encode("utf-8")[:limit].decode("utf-8", errors="ignore")
        cut = max(fit.rfind(ch) for ch in (" ", "\n", "\t", "\r")) + 1
        if cut <= 0:  # no whitespace: cut between characters, outside markup
            cut = len(fit)
            for opener, closer in (("<", ">"), ("&", ";")):
                i = fit.rfind(opener)
                if i > 0 and fit.rfind(closer) < i:
                    cut = min(cut, i)
        cut = _safe_cut(rest, cut, avoid)
        if cut <= 0:
            raise ValueError("every place to cut it starts the next part with "
                             f"{rest[len(fit):len(fit) + 1]!r}, a spreadsheet formula character")
        chunks.append(rest[:cut])
        start += cut
    return chunks


def _need(problems: list[str]) -> None:
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ExportError(f"Cannot export: {len(problems)} value(s) do not fit the tool's format:\n"
                          f"{shown}{more}",
                          hint="Edit the drafts (shorter text) and approve them again, or pick "
                               "another profile. Nothing was written.")


def _body(r: dict, o: Options) -> str:
    return body_html(r["body"]) if o.html_body else r["body"]


def _generic(rows, o):
    header = ["Email", "First Name", "Last Name", "Company", "Subject", "Body"]
    return header, [[r["email"], r["first_name"], r["last_name"], r["company"], r["subject"],
                     _body(r, o)] for r in rows], {}


def _mailchimp(rows, o):
    problems, parts = [], []
    for r in rows:
        if len(r["subject"].encode("utf-8")) > MAILCHIMP_FIELD_BYTES:
            problems.append(f"draft {r['draft_id']} ({r['email']}): SUBJECT is "
                            f"{len(r['subject'].encode())} bytes, Mailchimp merge fields hold "
                            f"{MAILCHIMP_FIELD_BYTES}")
        try:  # neutralized: BODY2 and on never start a formula (they cannot carry a quote)
            chunks = split_utf8(_body(r, o), avoid=FORMULA_PREFIXES if o.neutralize else ())
        except ValueError as exc:
            problems.append(f"draft {r['draft_id']} ({r['email']}): the body cannot be split into "
                            f"BODY fields: {exc}")
            continue
        if len(chunks) > o.max_body_fields:
            problems.append(f"draft {r['draft_id']} ({r['email']}): the body needs {len(chunks)} "
                            f"BODY fields of {MAILCHIMP_FIELD_BYTES} bytes, more than the "
                            f"{o.max_body_fields} allowed")
        parts.append(chunks)
    _need(problems)
    n = max((len(c) for c in parts), default=1) or 1
    tags = [f"BODY{i}" for i in range(1, n + 1)]
    assert all(len(t) <= MAILCHIMP_TAG_CHARS for t in tags + ["SUBJECT"])
    header = ["Email Address", "First Name", "Last Name", "SUBJECT", *tags]
    cells = [[r["email"], r["first_name"], r["last_name"], r["subject"], *c, *[""] * (n - len(c))]
             for r, c in zip(rows, parts, strict=True)]
    snippet = "".join(f"*|{t}|*" for t in tags)
    # BODY2 and on continue the body: split so that none starts a formula (see export.render)
    continued = list(range(len(header) - n + 1, len(header)))
    return header, cells, {"snippet": snippet, "subject_merge_tag": "*|SUBJECT|*", "body_fields": n,
                           "continuation_columns": continued}


def _limit(rows, o, fields: dict[str, tuple[str, int]]) -> None:
    problems = []
    for r in rows:
        values = {"email": r["email"], "subject": r["subject"], "body": _body(r, o),
                  "first_name": r["first_name"], "last_name": r["last_name"], "key": r["contact_key"]}
        for key, (label, limit) in fields.items():
            if len(values[key]) > limit:
                problems.append(f"draft {r['draft_id']} ({r['email']}): {label} is "
                                f"{len(values[key])} characters, the limit is {limit}")
    _need(problems)


def _hubspot(rows, o):
    _limit(rows, o, {"subject": ("Follow Up Subject", HUBSPOT_TEXT_CHARS),
                     "body": ("Follow Up Body", HUBSPOT_TEXT_CHARS)})
    header = ["Email", "First Name", "Last Name", "Follow Up Subject", "Follow Up Body"]
    return header, [[r["email"], r["first_name"], r["last_name"], r["subject"], _body(r, o)]
                    for r in rows], {}


def _klaviyo(rows, o):
    header = ["Email", "First Name", "Last Name", "Organization", "Follow Up Subject",
              "Follow Up Body"]
    return header, [[r["email"], r["first_name"], r["last_name"], r["company"], r["subject"],
                     _body(r, o)] for r in rows], {}


def _sfmc(rows, o):
    _limit(rows, o, {"key": ("SubscriberKey", SFMC_TEXT_CHARS),
                     "email": ("EmailAddress", SFMC_EMAIL_CHARS),
                     "first_name": ("FirstName", SFMC_TEXT_CHARS),
                     "last_name": ("LastName", SFMC_TEXT_CHARS),
                     "subject": ("Subject", SFMC_TEXT_CHARS), "body": ("Body", SFMC_TEXT_CHARS)})
    header = ["SubscriberKey", "EmailAddress", "FirstName", "LastName", "Subject", "Body"]
    return header, [[r["contact_key"], r["email"], r["first_name"], r["last_name"], r["subject"],
                     _body(r, o)] for r in rows], {}


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("generic", "Mail merge (generic)", True, False,
            "For mail-merge add-ons (Google Sheets, Excel/Word): opened in a spreadsheet, so cells "
            "that start like a formula are prefixed with a single quote; a byte-order mark lets "
            "Excel show accented names right.", _generic, bom=True),
    Profile("mailchimp", "Mailchimp audience import", False, False,
            "Import into an audience with text fields SUBJECT, BODY1..BODYn (tags <= 10 characters, "
            "255 bytes each); paste the snippet file's *|BODY1|**|BODY2|*... into the campaign and "
            "*|SUBJECT|* as its subject. Not neutralized: Mailchimp would send the quote.", _mailchimp),
    Profile("hubspot", "HubSpot contacts import", False, True,
            "Create contact properties 'Follow Up Subject' (single-line) and 'Follow Up Body'; the "
            "body is HTML by default because marketing emails do not render line breaks of "
            "multi-line text (html_body=False for plain text). Not neutralized.", _hubspot),
    Profile("klaviyo", "Klaviyo list import", False, False,
            "Upload to a list: Email first, then Klaviyo properties and the custom properties "
            "'Follow Up Subject' and 'Follow Up Body'. Not neutralized.", _klaviyo),
    Profile("sfmc", "Salesforce Marketing Cloud data extension", False, False,
            "Import into a data extension with Text fields SubscriberKey, FirstName, LastName, "
            "Subject, Body (max length up to 4,000) and EmailAddress (254); longer values are "
            "refused, never truncated. Not neutralized.", _sfmc),
)}


def get_profile(name: str) -> Profile:
    """A profile by name (ExportError listing the profiles if unknown)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ExportError(f"Unknown export profile {name!r}.",
                          hint=f"Use one of: {', '.join(PROFILES)}.") from None
