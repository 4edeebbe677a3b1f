"""Column profiles of CRM exports (HubSpot, Salesforce, Pipedrive, generic) and header detection."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from brandvoice import textio
from brandvoice.errors import InputError

# Canonical contact fields a column can map to. `full_name` is split into first/last name;
# `opted_out` is a yes/no flag, `marketing_status` a status text ("Unsubscribed", "No consent").
CANONICAL = (
    "key", "email", "first_name", "last_name", "full_name", "company", "job_title",
    "lifecycle_stage", "lead_status", "deal_stage", "phone", "city", "country", "notes",
    "opted_out", "marketing_status",
)
SNAPSHOT_FIELDS = (
    "key", "email", "first_name", "last_name", "company", "job_title", "lifecycle_stage",
    "lead_status", "deal_stage", "phone", "city", "country", "notes",
)


@dataclass(frozen=True)
class Profile:
    """One tool's export: candidate column names per canonical field, and telltale columns."""

    name: str
    label: str
    columns: dict[str, tuple[str, ...]]
    markers: tuple[str, ...] = ()
    bias: float = 0.0  # generic loses ties against a named tool
    extra: dict = field(default_factory=dict)


def norm(header: str) -> str:
    """A header as compared: lower case, punctuation and spacing folded ("Country/Region" -> "country region")."""
    return re.sub(r"[^a-z0-9]+", " ", header.lower()).strip()


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile(
        "hubspot", "HubSpot contacts export",
        {
            "key": ("Record ID", "Contact ID", "Record ID - Contact"),
            "email": ("Email", "Email Address"),
            "first_name": ("First Name",),
            "last_name": ("Last Name",),
            "company": ("Company Name", "Associated Company", "Company"),
            "job_title": ("Job Title",),
            "lifecycle_stage": ("Lifecycle Stage",),
            "lead_status": ("Lead Status",),
            "deal_stage": ("Deal Stage", "Associated Deal Stage"),
            "phone": ("Phone Number", "Mobile Phone Number"),
            "city": ("City",),
            "country": ("Country/Region", "Country"),
            "notes": ("Notes", "Message", "Contact Notes"),
            "opted_out": ("Unsubscribed from all email", "Opted out of all email"),
            "marketing_status": ("Marketing contact status",),
        },
        markers=("Record ID", "Lifecycle Stage", "Marketing contact status", "Contact owner",
                 "Country/Region", "Last Activity Date", "Create Date", "Company Name"),
    ),
    Profile(
        "salesforce", "Salesforce leads/contacts export (API names or report labels)",
        {
            "key": ("Id", "Lead ID", "Contact ID", "Lead Id", "Contact Id"),
            "email": ("Email",),
            "first_name": ("FirstName", "First Name"),
            "last_name": ("LastName", "Last Name"),
            "full_name": ("Name", "Full Name"),
            "company": ("Company", "Account.Name", "Account Name", "Company / Account"),
            "job_title": ("Title",),
            "lead_status": ("Status", "Lead Status"),
            "deal_stage": ("StageName", "Stage", "Opportunity Stage"),
            "phone": ("Phone", "MobilePhone", "Mobile"),
            "city": ("City", "MailingCity", "Mailing City"),
            "country": ("Country", "MailingCountry", "Mailing Country"),
            "notes": ("Description",),
            "opted_out": ("HasOptedOutOfEmail", "Email Opt Out", "DoNotCall_Email", "Do Not Email"),
        },
        markers=("Id", "FirstName", "LastName", "LeadSource", "Lead Source", "HasOptedOutOfEmail",
                 "Email Opt Out", "Lead ID", "Contact ID", "Lead Owner", "Contact Owner", "Account Name",
                 "OwnerId", "IsConverted", "CreatedDate", "Mailing City"),
    ),
    Profile(
        "pipedrive", "Pipedrive persons export",
        {
            "key": ("Person - ID",),
            "email": ("Person - Email - Work", "Person - Email", "Person - Email - Home",
                      "Person - Email - Other"),
            "first_name": ("Person - First name",),
            "last_name": ("Person - Last name",),
            "full_name": ("Person - Name",),
            "company": ("Person - Organization", "Organization - Name"),
            "job_title": ("Person - Job title", "Person - Title"),
            "lifecycle_stage": ("Person - Lifecycle stage", "Person - Lifecycle"),
            "lead_status": ("Person - Label", "Person - Labels"),
            "deal_stage": ("Deal - Stage",),
            "phone": ("Person - Phone - Work", "Person - Phone", "Person - Phone - Mobile"),
            "city": ("Person - City", "Person - Postal address - City/town"),
            "country": ("Person - Country", "Person - Postal address - Country"),
            "notes": ("Person - Notes", "Person - Note"),
            "marketing_status": ("Person - Marketing status",),
        },
        markers=("Person - Name", "Person - Organization", "Person - Owner", "Person - Label",
                 "Person - Email - Work"),
    ),
    Profile(
        "generic", "generic CSV (common column names)",
        {
            "key": ("id", "contact id", "contact_id", "record id", "crm id", "customer id"),
            "email": ("email", "e-mail", "email address", "work email", "mail", "email_address"),
            "first_name": ("first name", "firstname", "first_name", "given name", "forename"),
            "last_name": ("last name", "lastname", "last_name", "surname", "family name"),
            "full_name": ("name", "full name", "full_name", "contact name", "contact"),
            "company": ("company", "company name", "organization", "organisation", "account",
                        "account name", "employer"),
            "job_title": ("job title", "title", "job_title", "position", "role"),
            "lifecycle_stage": ("lifecycle stage", "lifecycle", "stage", "segment"),
            "lead_status": ("lead status", "status"),
            "deal_stage": ("deal stage", "deal_stage", "opportunity stage"),
            "phone": ("phone", "phone number", "mobile", "telephone"),
            "city": ("city", "town"),
            "country": ("country", "country region"),
            "notes": ("notes", "note", "comments", "description"),
            "opted_out": ("do not email", "do_not_email", "donotemail", "opted out", "opted_out",
                          "opt out", "email opt out", "unsubscribed"),
            "marketing_status": ("marketing status", "subscription status", "email status"),
        },
        bias=-0.5,
    ),
)}


# Every column name a profile reads or recognises: the CSV reader picks the delimiter with them.
KNOWN_COLUMNS = tuple(dict.fromkeys(
    name for p in PROFILES.values() for names in (*p.columns.values(), p.markers) for name in names))


@dataclass
class Detection:
    """The profile chosen for a header, its column mapping, and every profile's score."""

    profile: str
    mapping: dict[str, str]
    scores: dict[str, float]


def match_profile(profile: Profile, header: list[str]) -> dict[str, str]:
    """canonical field -> header column, for the columns of `header` this profile knows."""
    by_norm: dict[str, str] = {}
    for col in header:
        by_norm.setdefault(norm(col), col)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for canonical, candidates in profile.columns.items():
        for cand in candidates:  # candidates are in order of preference
            col = by_norm.get(norm(cand))
            if col is not None and col not in used:
                mapping[canonical] = col
                used.add(col)
                break
    return mapping


def alternates(profile: str, header: list[str], mapping: dict[str, str], canonical: str) -> list[str]:
    """Other columns that could hold `canonical` (Pipedrive's Email - Home when Email - Work is empty)."""
    p = PROFILES.get(profile)
    if p is None or canonical not in mapping:
        return []
    names = {norm(c) for c in p.columns.get(canonical, ())}
    return [col for col in header if col != mapping[canonical] and norm(col) in names]


def score(profile: Profile, header: list[str], mapping: dict[str, str]) -> float:
    """How well a header fits a profile: mapped fields, plus two points per telltale column."""
    names = {norm(h) for h in header}
    markers = sum(1 for m in profile.markers if norm(m) in names)
    # Exact spelling matters for API-style names (FirstName vs First Name), so reward it a little.
    exact = sum(1 for canonical, col in mapping.items() if col in profile.columns[canonical])
    return len(mapping) + 2 * markers + 0.1 * exact + profile.bias


def detect(header: list[str], *, profile: str | None = None) -> Detection:
    """Pick the best-scoring profile for a header (or use the given one)."""
    if profile is not None and profile not in PROFILES:
        raise InputError(f"Unknown CRM profile {profile!r}.",
                         hint=f"Use one of: {', '.join(PROFILES)} (or leave it out to detect it).")
    scores: dict[str, float] = {}
    mappings: dict[str, dict[str, str]] = {}
    for p in PROFILES.values():
        mappings[p.name] = match_profile(p, header)
        scores[p.name] = round(score(p, header, mappings[p.name]), 2)
    if profile is not None:
        return Detection(profile, mappings[profile], scores)
    ranked = sorted(PROFILES, key=lambda n: -scores[n])
    usable = [n for n in ranked if "email" in mappings[n]]
    best = usable[0] if usable else ranked[0]
    return Detection(best, mappings[best], scores)


def apply_mapping(header: list[str], base: dict[str, str], explicit: dict[str, str],
                  *, source: str) -> dict[str, str]:
    """Overlay an explicit mapping on a detected one, checking both sides.

    The mapping is {canonical field: column}; the reverse {column: canonical field} is accepted too
    (recognised when every value, and not every key, is a canonical field name).
    """
    explicit = orient_mapping(explicit)
    problems = []
    for canonical, column in explicit.items():
        if canonical not in CANONICAL:
            problems.append(f"unknown field {canonical!r} (known: {', '.join(CANONICAL)})")
        elif column not in header:
            close = difflib.get_close_matches(str(column), header, n=1)
            problems.append(f"{canonical}: no column {column!r} in the file"
                            + (f" (did you mean {close[0]!r}?)" if close else ""))
    if problems:
        raise InputError(f"The column mapping from {source} does not fit the file:", problems=problems,
                         hint="Map canonical field names to column names exactly as in the header row.")
    taken = set(explicit.values())
    merged = {k: v for k, v in base.items() if k not in explicit and v not in taken}
    merged.update(explicit)
    return {k: merged[k] for k in CANONICAL if k in merged}


def orient_mapping(mapping: dict[str, str]) -> dict[str, str]:
    """{canonical field: column}, whichever way round the user wrote the mapping."""
    mapping = {str(k).strip(): str(v).strip() for k, v in mapping.items()}
    keys_canonical = all(k in CANONICAL for k in mapping)
    values_canonical = all(v in CANONICAL for v in mapping.values())
    if values_canonical and not keys_canonical:
        inverted: dict[str, str] = {}
        for column, canonical in mapping.items():
            if canonical in inverted:
                raise InputError(f"The column mapping maps two columns to {canonical!r}: "
                                 f"{inverted[canonical]!r} and {column!r}.",
                                 hint="Map each field from one column.")
            inverted[canonical] = column
        return inverted
    return mapping


MAX_MAPPING_BYTES = 1_000_000  # a mapping names a few dozen columns


def load_mapping(path: str | Path) -> dict[str, str]:
    """A column mapping from a JSON or TOML file: {canonical field: column name}; InputError naming
    the file for anything else (a damaged, huge or deeply nested file included)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Mapping file {path} does not exist.",
                         hint='Write a JSON file such as {"email": "E-mail", "first_name": "Given"}.')
    if path.stat().st_size > MAX_MAPPING_BYTES:
        raise InputError(f"Mapping file {path.name} is {path.stat().st_size:,} bytes; a column "
                         "mapping is a few lines.", hint=_EXAMPLE)
    if path.suffix.lower() == ".toml":
        data, _ = textio.read_toml(path, what="Mapping file")
        data = data.get("mapping", data)
    else:
        data = _json(path)
    return mapping_from(data, f"Mapping file {path.name}")


_EXAMPLE = 'Example: {"email": "E-mail", "first_name": "Given"}'


def mapping_from(data, what: str) -> dict[str, str]:
    """{field: column} from parsed data; InputError (`what` names the source) unless every key
    and value is a short string."""
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 200 and len(v) <= 1000
            for k, v in data.items()):
        raise InputError(f"{what} must map field names to column names (strings).",
                         hint=_EXAMPLE)
    return {str(k): v for k, v in data.items()}


def _json(path: Path):
    """A JSON mapping file's content; InputError naming the file when it does not parse."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        why = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(f"Mapping file {path.name} is not valid JSON: {why}",
                         hint=_EXAMPLE) from None
    except OSError as exc:
        raise InputError(f"Cannot read mapping file {path.name}: {exc.strerror or exc}.",
                         hint="Check the path and its permissions.") from exc
