"""Send approved drafts through SMTP (smtplib), or write them as .eml files in dry-run mode.

A real send is recorded like an export: a batch with profile "smtp", each sent draft moves to
"exported" in its own small transaction right after the server accepted it, so a crash halfway
never sends a draft twice. Dry runs write one RFC 5322 .eml file per draft and change no state.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import Field, field_validator, model_validator

from brandvoice import textio
from brandvoice.config import Config
from brandvoice.errors import ConfigError, ExportError
from brandvoice.store import Store, contacts, drafts, export_batches, export_items, utcnow
from brandvoice.users import User, require_role

Security = Literal["starttls", "ssl", "none"]
SEND_ROLES = ("marketer", "admin")


class SendError(ExportError):
    """The SMTP server could not be reached or refused the session."""


class SmtpConfig(Config):
    """Where and how to send: host, port, security (starttls | ssl | none), login, From address."""

    label: ClassVar[str] = "SMTP settings"

    from_addr: str = Field(description="From address, e.g. 'Ledgerly <team@ledgerly.example>'.")
    host: str = "localhost"
    port: int | None = Field(None, ge=1, le=65535, description="Default: 587 starttls, 465 ssl, 25 none.")
    security: Security = "starttls"
    username: str | None = None
    password: str | None = Field(None, repr=False)
    timeout: float = Field(30.0, gt=0)

    @field_validator("from_addr")
    @classmethod
    def _address(cls, v: str) -> str:
        if "@" not in parseaddr(v)[1] or any(c in v for c in "\r\n"):
            raise ValueError(f"{v!r} is not an email address (pass --from 'Ledgerly "
                             "<team@ledgerly.example>')")
        return v

    @field_validator("security", mode="before")
    @classmethod
    def _security(cls, v):
        if v not in ("starttls", "ssl", "none"):
            raise ValueError("use starttls, ssl or none")
        return v

    @model_validator(mode="after")
    def _port(self) -> SmtpConfig:
        if self.port is None:
            self.port = {"starttls": 587, "ssl": 465, "none": 25}[self.security]
        return self


def build_message(row: dict, from_addr: str) -> EmailMessage:
    """One draft as an email message (plain text, UTF-8)."""
    msg = EmailMessage()
    name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
    msg["From"] = from_addr
    msg["To"] = formataddr((name, row["email"])) if name else row["email"]
    msg["Subject"] = row["subject"]
    msg["Date"] = formatdate(localtime=False)
    domain = parseaddr(from_addr)[1].rsplit("@", 1)[-1]
    msg["Message-ID"] = make_msgid(idstring=f"draft{row['id']}", domain=domain)
    msg["X-Brandvoice-Draft"] = str(row["id"])
    msg.set_content(row["body"])
    return msg


def _rows(store: Store, draft_ids: list[int] | None, job_id: int | None) -> list[dict]:
    q = (sa.select(drafts.c.id, drafts.c.subject, drafts.c.body, drafts.c.state, contacts.c.email,
                   contacts.c.first_name, contacts.c.last_name)
         .join(contacts, contacts.c.id == drafts.c.contact_id).order_by(drafts.c.id))
    if draft_ids is not None:
        q = q.where(drafts.c.id.in_([int(i) for i in draft_ids]))
    else:
        q = q.where(drafts.c.state == "approved")
        if job_id is not None:
            q = q.where(drafts.c.job_id == job_id)
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    bad = [f"draft {r['id']} is {r['state']}" for r in rows if r["state"] != "approved"]
    missing = sorted(set(draft_ids or []) - {r["id"] for r in rows})
    bad += [f"draft {i} does not exist" for i in missing]
    if bad:
        raise ExportError("Only approved drafts are sent:\n" + "\n".join(f"  - {b}" for b in bad[:20]),
                          hint="Approve them first, or leave them out.")
    if not rows:
        raise ExportError("There are no approved drafts to send.",
                          hint="Approve drafts in the review queue first.")
    return rows


def send(store: Store, actor: User, config: SmtpConfig | None = None, *,
         draft_ids: list[int] | None = None, job_id: int | None = None,
         dry_run_dir: str | Path | None = None) -> dict:
    """Send approved drafts (or, with dry_run_dir, write them as .eml files); returns a summary."""
    with store.read() as conn:
        require_role(conn, actor, *SEND_ROLES, action="send emails")
    rows = _rows(store, draft_ids, job_id)
    if dry_run_dir is not None:
        return _dry_run(store, actor, rows, Path(dry_run_dir),
                        config.from_addr if config else "brandvoice@localhost")
    if config is None:
        raise ConfigError("Sending needs an SMTP configuration.", hint="Pass --host and --from.")
    try:
        server = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"Cannot open an SMTP session with {config.host}:{config.port} "
                        f"({config.security}): {exc}",
                        hint="Check --host/--port/--security and the login.") from exc
    with store.tx() as conn:
        batch_id = conn.execute(export_batches.insert().values(
            profile="smtp", created_by=actor.username,
            options={"host": config.host, "port": config.port, "security": config.security,
                     "from": config.from_addr}, n_rows=0, file_hash="", path=None,
            created_at=utcnow())).inserted_primary_key[0]
    sent, failed, ids_hash = [], [], hashlib.sha256()
    try:
        for pos, row in enumerate(rows):
            msg = build_message(row, config.from_addr)
            try:
                server.send_message(msg)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError,
                    smtplib.SMTPSenderRefused) as exc:
                failed.append({"id": row["id"], "email": row["email"], "error": str(exc)})
                continue
            ids_hash.update(msg["Message-ID"].encode())
            with store.tx() as conn:
                conn.execute(drafts.update().where(drafts.c.id == row["id"],
                                                   drafts.c.state == "approved")
                             .values(state="exported", row_version=drafts.c.row_version + 1,
                                     updated_at=utcnow(), updated_by=actor.username))
                conn.execute(export_items.insert().values(batch_id=batch_id, draft_id=row["id"],
                                                          position=pos))
                store.audit(conn, "send", actor=actor.username, draft_id=row["id"],
                            batch_id=batch_id, message_id=msg["Message-ID"], to=row["email"])
            sent.append(row["id"])
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            pass
        with store.tx() as conn:
            conn.execute(export_batches.update().where(export_batches.c.id == batch_id)
                         .values(n_rows=len(sent), file_hash=ids_hash.hexdigest()))
            store.audit(conn, "send_batch", actor=actor.username, batch_id=batch_id,
                        sent=len(sent), failed=len(failed))
    return {"batch_id": batch_id, "sent": sent, "failed": failed, "dry_run": False}


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                                context=context)
    else:
        server = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        if config.security == "starttls":
            server.ehlo()
            if not server.has_extn("starttls"):
                server.quit()
                raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
            server.starttls(context=context)
            server.ehlo()
    if config.username:
        server.login(config.username, config.password or "")
    return server


def _dry_run(store: Store, actor: User, rows: list[dict], folder: Path, from_addr: str) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for row in rows:
        path = textio.atomic_write(folder / f"draft-{row['id']}.eml", bytes(build_message(row, from_addr)))
        files.append(str(path))
    with store.tx() as conn:
        store.audit(conn, "send_dry_run", actor=actor.username, folder=str(folder),
                    drafts=[r["id"] for r in rows])
    return {"batch_id": None, "sent": [], "failed": [], "dry_run": True, "files": files}
