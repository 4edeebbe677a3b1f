"""Replies (and bounces) out of a mailbox export: an mbox file, one .eml file, or a folder of them.

A reply names the message it answers in In-Reply-To and References: the Message-ID recorded when
brandvoice sent the draft by SMTP (export_items.message_id). A delivery-status notification
(RFC 3464: multipart/report; report-type=delivery-status) carries the returned message's headers:
a bounce. Automatic answers (RFC 3834 Auto-Submitted, the X-Autoreply family, out-of-office
subjects) are named and left out: they are not replies.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from brandvoice.errors import InputError
from brandvoice.results.matching import address, message_id
from brandvoice.results.reader import Row
from brandvoice.results.sources import parse_time

MAX_MESSAGE_BYTES = 50 * 10**6
_ID = re.compile(r"<([^<>\s]+)>")
_AUTO_SUBJECT = re.compile(r"^\s*(automatic reply|auto(?:matic)?[- ]?reply|out of (?:the )?office|"
                           r"abwesenheitsnotiz|réponse automatique|respuesta automática)\b", re.I)


def files(path: Path) -> list[Path]:
    """The .eml files of a folder (sorted, sub-folders included)."""
    return sorted(p for p in path.rglob("*.eml") if p.is_file())


def messages(path: str | Path) -> Iterator[tuple[int, str, EmailMessage]]:
    """(number, label, message) for an mbox file, an .eml file or a folder of .eml files."""
    path = Path(path)
    parser = BytesParser(policy=policy.default)
    if path.is_dir():
        found = files(path)
        if not found:
            raise InputError(f"Mailbox folder {path} holds no .eml files.",
                             hint="Save the replies as .eml files, or export the folder as mbox.")
        for n, p in enumerate(found, 1):
            yield n, f"message {n} ({p.relative_to(path)})", _parse(parser, p.read_bytes())
        return
    if not path.is_file():
        raise InputError(f"Mailbox not found: {path}.", hint="Check the path.")
    with open(path, "rb") as fh:
        head = fh.read(5)
    if path.suffix.lower() == ".eml" or head != b"From ":
        if path.suffix.lower() != ".eml" and not _looks_like_message(path):
            raise InputError(f"{path.name} is neither an mbox file (it would start with 'From ') "
                             "nor an email message (.eml).",
                             hint="Export the mailbox as mbox, or save the replies as .eml files.")
        yield 1, f"message 1 ({path.name})", _parse(parser, path.read_bytes())
        return
    box = mailbox.mbox(str(path), create=False)
    try:
        for n, key in enumerate(box.iterkeys(), 1):
            yield n, f"message {n}", _parse(parser, box.get_bytes(key))
    finally:
        box.close()


def _looks_like_message(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4096).decode("latin-1")
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9-]*:", head)) and "\n\n" in head.replace("\r\n", "\n")


def _parse(parser: BytesParser, data: bytes) -> EmailMessage:
    return parser.parsebytes(data[:MAX_MESSAGE_BYTES])  # type: ignore[return-value]


def ids(value: str | None) -> tuple[str, ...]:
    """The Message-IDs in an In-Reply-To or References header, newest first."""
    found = [message_id(m) for m in _ID.findall(str(value or ""))]
    return tuple(reversed(found))


def automatic(msg: EmailMessage) -> str | None:
    """Why a message is an automatic answer, or None."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return f"an automatic answer (Auto-Submitted: {auto[:30]})"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if header in msg and header != "X-Auto-Response-Suppress":
            return f"an automatic answer ({header})"
    if str(msg.get("Precedence", "")).strip().lower() in ("auto_reply", "bulk", "junk", "list"):
        return f"an automatic or bulk message (Precedence: {msg['Precedence']})"
    if _AUTO_SUBJECT.match(str(msg.get("Subject", ""))):
        return "an out-of-office answer (its subject says so)"
    return None


def _bounced_ids(msg: EmailMessage) -> tuple[str, ...]:
    """The Message-ID of the message a delivery-status notification returns."""
    found: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if inner is not None and inner.get("Message-ID"):
                found += ids(inner["Message-ID"])
        elif ctype == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            m = re.search(rb"^Message-ID:\s*(<[^>]+>)", text, re.I | re.M)
            if m:
                found += ids(m.group(1).decode("latin-1"))
    return tuple(found) + ids(msg.get("In-Reply-To")) + ids(msg.get("References"))


def read(path: str | Path) -> Iterator[Row]:
    """Every message of the mailbox as a Row: a reply, a bounce, or the reason it is left out."""
    for n, label, msg in messages(path):
        row = Row(n, label, email=address(str(msg.get("From", ""))))
        when = ""
        if msg.get("Date"):
            try:
                when = parse_time(str(msg["Date"]))
            except (ValueError, TypeError):
                when = ""
        is_report = (msg.get_content_type() == "multipart/report" and
                     msg.get_param("report-type", "").lower() == "delivery-status")
        if is_report:
            row.message_ids = _bounced_ids(msg)
            row.email = ""  # the mailer-daemon's address says nothing about the recipient
            row.events.append(("bounce", when))
            if not row.message_ids:
                row.problem = ("ignored", "a bounce that names no Message-ID brandvoice sent")
            yield row
            continue
        why = automatic(msg)
        if why:
            row.problem = ("ignored", why)
            yield row
            continue
        row.message_ids = ids(msg.get("In-Reply-To")) + ids(msg.get("References"))
        row.events.append(("reply", when))
        yield row
