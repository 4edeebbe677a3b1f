"""Core messages in the app's words: a hint that names a CLI flag or command says what to do on the
page instead.

The core words its hints for the command line, where most of them are read ("Pass --brand NAME.").
The app keeps the core's message and problems (they name the file, row and field) and rewrites only
the hint, here, by one table: a known hint gets its page wording; an unknown hint that still speaks
of flags, commands, environment variables or installs is left out (it is logged), so no page ever
tells a browser user to run something.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("brandvoice.ui")

# What makes a text CLI-only: flags, `brandvoice ...` commands, environment variables, installs.
CLI = re.compile(r"(?<![\w-])--[a-z][\w-]*|`brandvoice\b|\bbrandvoice (?:adapters|audit|check|crm|"
                 r"export|generate|jobs|results|review|send|setup|templates|train|users)\b|"
                 r"\bBRANDVOICE_[A-Z_]+|\bpip install\b|\bmake install\b")

# (pattern of a core hint, its wording on a page; None: no advice a page can give)
HINTS: list[tuple[str, str | None]] = [
    # crm
    (r"column mapping .*--mapping",
     "Open “Column mapping” below and choose which column holds the email address; also check that "
     "the file uses comma, semicolon or tab between columns."),
    # corpus, training data
    (r"Lower --min-sends or --quantile",
     "Lower “Min sends” or “Keep above quantile” on the Past emails tab, choose the selection "
     "“weight”, or add more past emails."),
    (r"Lower --min-sends or the quantile",
     "Lower “Min sends” or “Keep above quantile” on the Past emails tab, or add more past emails."),
    (r"--max-seq-len", "Shorten the campaign, segment and audience fields of those emails."),
    (r"Pass --emails", "Choose a file of past emails on the Past emails tab."),
    # brands and adapters
    (r"Pass --brand", "Choose the brand on this page."),
    (r"`brandvoice train --brand", "Train one on the Brand voice page (Train tab)."),
    (r"`brandvoice adapters list`", "See the ready adapters on the Brand voice page (Adapters tab)."),
    (r"--adapter uses the adapter's own base model", None),
    # users and signing in
    (r"`brandvoice users add .* --role admin`", "Create the first user as an admin."),
    (r"Act as an admin", "Ask an admin to do it."),
    (r"Check --as/--password", "Check your username and password."),
    (r"Pass --as USER|Sign in \(--as USER", "Sign in again."),
    (r"`brandvoice users list`", "See the Users page."),
    (r"BRANDVOICE_ALLOW_SELF_APPROVAL", "Ask another reviewer to approve it."),
    # drafts, jobs, templates, exports
    (r"`brandvoice review list`", "Open the Review queue."),
    (r"`brandvoice jobs resume", "Resume the job on the page that shows it (Brand voice or Generate)."),
    (r"`brandvoice jobs", None),
    (r"`brandvoice templates list`", "Pick one of the templates listed on the Templates page."),
    (r"`brandvoice export --list`", "See the past batches on the Export page."),
    (r"Leave out --profile", None),
    # campaign results
    (r"`brandvoice results import`", "Import the campaign's results on the Results page first, or "
     "train without learning from results."),
    (r"`brandvoice results list`", "See the past imports on the Results page (Import results tab)."),
    (r"Use --from-results", None),
    (r"--out\)", "Ask your admin to check that the exports folder can be written to."),
    # installs (an admin's job, not a browser user's)
    (r"pip install bitsandbytes, or use --quantization none",
     "Choose the quantization “none”, or ask your admin to install bitsandbytes."),
    (r"pip install|make install", "Ask your admin to reinstall brandvoice's model packages."),
]
_HINTS = [(re.compile(p), text) for p, text in HINTS]
_FLAG_ASIDE = re.compile(r"\s*\((?:[^()]*?)(?<![\w-])--[a-z][\w-]*[^()]*\)")


def page_hint(hint: str | None) -> str | None:
    """A core hint in the page's words, or None when it has no advice for a browser user."""
    if not hint:
        return None
    for pattern, text in _HINTS:
        if pattern.search(hint):
            return text
    if CLI.search(hint):
        log.info("hint left out of a page (CLI wording): %s", hint)
        return None
    return hint


def page_text(text: str) -> str:
    """A core message (or a stored job error, 'message\\nHow to fix: hint') in the page's words."""
    message, sep, hint = text.partition("\nHow to fix: ")
    message = _FLAG_ASIDE.sub("", message)  # "(--mapping FILE)" asides in a message
    if not sep:
        return message
    better = page_hint(hint)
    return f"{message}\nHow to fix: {better}" if better else message
