"""Send approved drafts through SMTP (smtplib), or write them as .eml files in dry-run mode.

A real send is recorded like an export: a batch with profile "smtp". The drafts are chosen as for
an export (`once`: one per contact and job, one per address), every message is built before the
first one leaves (a bad header stops the send before anything is sent), then for each draft:

1. claim: approved -> sending, with its Message-ID recorded (export_items.message_id), committed;
2. send;
3. mark: sending -> exported (its unpicked variants superseded), committed.

A crash between 2 and 3 leaves the draft `sending` with its Message-ID: it is never sent again by
itself. Every later send (and `unconfirmed`) reports it, and a user settles it (`settle`: it went
out, or it did not and may be sent again). A recipient the server refused goes back to approved.
Dry runs write one RFC 5322 .eml file per draft (all or none) and change no state.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import ClassVar, Literal

import sqlalchemy as sa
from pydantic import Field, field_validator, model_validator

from brandvoice import textio
from brandvoice.config import Config
from brandvoice.delivery import campaign, files, once
from brandvoice.delivery.export import recover_exports
from brandvoice.errors import ConfigError, ExportError
from brandvoice.store import (
    Store,
    contacts,
    drafts,
    export_batches,
    export_items,
    lifecycle,
    utcnow,
)
from brandvoice.users import PERMISSIONS, User, require_role

Security = Literal["starttls", "ssl", "none"]
SEND_ROLES = PERMISSIONS["send"]


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


_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused)


def build_message(row: dict, from_addr: str, message_id: str | None = None) -> EmailMessage:
    """One draft as an email message (plain text, UTF-8)."""
    msg = EmailMessage()
    name = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
    msg["From"] = from_addr
    msg["To"] = formataddr((name, row["email"])) if name else row["email"]
    msg["Subject"] = row["subject"]
    msg["Date"] = formatdate(localtime=False)
    domain = parseaddr(from_addr)[1].rsplit("@", 1)[-1]
    msg["Message-ID"] = message_id or make_msgid(idstring=f"draft{row['id']}", domain=domain)
    msg["X-Brandvoice-Draft"] = str(row["id"])
    msg.set_content(row["body"])
    return msg


def _messages(rows: list[dict], from_addr: str) -> list[EmailMessage]:
    """Every message built (and serialised) before any is sent or written; ExportError naming the
    drafts whose text is no email (a line break in a subject or a name, ...)."""
    out, bad = [], []
    for row in rows:
        try:
            msg = build_message(row, from_addr)
            msg.as_bytes()
            out.append(msg)
        except (ValueError, TypeError, UnicodeError) as exc:
            bad.append(f"draft {row['id']} ({row['email']}): {exc}")
    if bad:
        raise ExportError("Some drafts cannot be written as emails; nothing was sent:\n" +
                          "\n".join(f"  - {b}" for b in bad[:20]),
                          hint="Edit them (a subject is one line), or leave them out.")
    return out


def _rows(store: Store, draft_ids: list[int] | None, job_id: int | None, on_duplicate: str,
          allow_repeat: bool) -> tuple[list[dict], list[dict]]:
    q = (sa.select(drafts.c.id, drafts.c.id.label("draft_id"), drafts.c.subject, drafts.c.body,
                   drafts.c.state, drafts.c.job_id, drafts.c.contact_id, drafts.c.updated_at,
                   contacts.c.email, contacts.c.first_name, contacts.c.last_name,
                   drafts.c.template_name, drafts.c.brand)
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
            raise ExportError("Only approved drafts are sent:\n" +
                              "\n".join(f"  - {b}" for b in bad[:20]),
                              hint="Approve them first, or leave them out.")
        # a plan only: each draft's claim locks its contact and asks again (`_Run.claim`)
        rows, skipped = once.plan(conn, rows, explicit=draft_ids is not None,
                                  on_duplicate=on_duplicate, allow_repeat=allow_repeat, lock=False)
        rows, repeats = campaign.drop_sent(conn, rows, explicit=draft_ids is not None,
                                           allow_repeat=allow_repeat)
    return rows, skipped + repeats


def _nothing_to_send(waiting: list[dict]) -> ExportError:
    return ExportError("There are no approved drafts to send." + _waiting_note(waiting),
                       hint="Approve drafts in the review queue first." if not waiting else
                       "Find out whether those messages arrived, then record it: "
                       "`brandvoice send --settle-sent ID` or `--settle-not-sent ID`.")


def _waiting_note(waiting: list[dict]) -> str:
    if not waiting:
        return ""
    lines = [f"draft {w['id']} to {w['email']} (batch {w['batch_id']}, Message-ID {w['message_id']})"
             for w in waiting[:20]]
    return (f"\n{len(waiting)} earlier send(s) were never confirmed and are not sent again by "
            "themselves:\n" + "\n".join(f"  - {x}" for x in lines))


def unconfirmed(store: Store) -> list[dict]:
    """Drafts claimed by a send whose outcome was never recorded (a crash, a lost connection):
    id, email, batch_id, message_id, since. They are not sent again until a user settles them."""
    q = (sa.select(drafts.c.id, contacts.c.email, export_items.c.batch_id,
                   export_items.c.message_id, drafts.c.updated_at.label("since"))
         .join(contacts, contacts.c.id == drafts.c.contact_id)
         .join(export_items, export_items.c.draft_id == drafts.c.id)
         .where(drafts.c.state == "sending", export_items.c.message_id.is_not(None))
         .order_by(drafts.c.id))
    with store.read() as conn:
        return [dict(r) for r in conn.execute(q).mappings()]


def settle(store: Store, actor: User, draft_ids: list[int], *, sent: bool) -> list[int]:
    """Record the outcome of unconfirmed sends (marketer or admin, audited): `sent` (the message
    reached the server: exported) or not (back to approved: a later send sends it again)."""
    done = []
    with store.tx() as conn:
        require_role(conn, actor, *SEND_ROLES, action="settle sends")
        for draft_id in dict.fromkeys(int(i) for i in draft_ids):
            row = conn.execute(sa.select(drafts.c.job_id, drafts.c.contact_id, export_items.c.batch_id,
                                         export_items.c.message_id)
                               .join(export_items, export_items.c.draft_id == drafts.c.id)
                               .where(drafts.c.id == draft_id, drafts.c.state == "sending",
                                      export_items.c.message_id.is_not(None))).first()
            if row is None:
                raise ExportError(f"Draft {draft_id} is not waiting for a send to be confirmed.",
                                  hint="See `brandvoice send --unconfirmed`.")
            _finish(store, conn, actor, draft_id, row.batch_id, row.message_id, sent=sent,
                    pair=(row.job_id, row.contact_id), how="settled")
            done.append(draft_id)
    return done


def _finish(store: Store, conn, actor: User, draft_id: int, batch_id: int, message_id: str, *,
            sent: bool, pair: tuple[int, int], how: str) -> None:
    """sending -> exported (siblings superseded) or back to approved (the claim undone)."""
    action = "send" if sent else "send_not_sent"
    if lifecycle.move(conn, draft_id, action, actor.username, batch_id=batch_id,
                      message_id=message_id, how=how) is None:
        raise ExportError(f"Draft {draft_id} is no longer being sent; its outcome was not recorded.")
    if sent:
        once.supersede_siblings(store, conn, actor, [{"draft_id": draft_id, "job_id": pair[0],
                                                      "contact_id": pair[1]}], batch_id=batch_id)
    else:
        conn.execute(export_items.delete().where(export_items.c.batch_id == batch_id,
                                                 export_items.c.draft_id == draft_id))


def send(store: Store, actor: User, config: SmtpConfig | None = None, *,
         draft_ids: list[int] | None = None, job_id: int | None = None,
         dry_run_dir: str | Path | None = None, on_duplicate: str = "refuse",
         allow_repeat: bool = False) -> dict:
    """Send approved drafts (or, with dry_run_dir, write them as .eml files); returns a summary
    with `unconfirmed`: earlier sends whose outcome is unknown (see `settle`)."""
    with store.read() as conn:
        require_role(conn, actor, *SEND_ROLES, action="send emails")
    recover_exports(store)
    waiting = unconfirmed(store)
    rows, skipped = _rows(store, draft_ids, job_id, on_duplicate, allow_repeat)
    _set_aside(store, actor, [s["id"] for s in skipped if s.get("repeat")])
    if not rows:
        raise _nothing_to_send(waiting)
    from_addr = config.from_addr if config else "brandvoice@localhost"
    messages = _messages(rows, from_addr)
    if dry_run_dir is not None:
        return {**_dry_run(store, actor, rows, messages, Path(dry_run_dir)),
                "unconfirmed": waiting, "skipped": once.skipped_report(skipped)}
    if config is None:
        raise ConfigError("Sending needs an SMTP configuration.", hint="Pass --host and --from.")
    try:
        server = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"Cannot open an SMTP session with {config.host}:{config.port} "
                        f"({config.security}): {exc}",
                        hint="Check --host/--port/--security and the login.") from exc
    run = _Run(store, actor, config, skipped, allow_repeat)
    try:
        for pos, (row, msg) in enumerate(zip(rows, messages, strict=True)):
            if not run.one(pos, row, msg, server):
                break
    finally:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            pass
        run.close()
    return {"batch_id": run.batch_id, "sent": run.sent, "failed": run.failed, "dry_run": False,
            "unconfirmed": waiting + run.lost, "skipped": once.skipped_report(run.skipped)}


def _set_aside(store: Store, actor: User, draft_ids: list[int]) -> None:
    """Supersede approved drafts whose contact already received a draft of their job."""
    if draft_ids:
        with store.tx() as conn:
            once.supersede(store, conn, actor, draft_ids, batch_id=None,
                           reason="the contact already received a draft of the job")


class _Run:
    """One SMTP send: claim, send, mark per draft; the batch is created by the first claim."""

    def __init__(self, store: Store, actor: User, config: SmtpConfig, skipped: list[dict],
                 allow_repeat: bool):
        self.store, self.actor, self.config = store, actor, config
        self.allow_repeat = allow_repeat
        self.batch_id: int | None = None
        self.sent: list[int] = []
        self.failed: list[dict] = []
        self.lost: list[dict] = []
        self.skipped = list(skipped)
        self.ids_hash = hashlib.sha256()

    def claim(self, pos: int, row: dict, message_id: str) -> bool:
        """approved -> sending with the Message-ID recorded, committed; False (and the reason in
        `skipped`) when the draft or its contact was taken meanwhile."""
        new_batch = self.batch_id is None
        try:
            with self.store.tx() as conn:
                return self._claim(conn, pos, row, message_id)
        except lifecycle.DeliveryConflict:  # the database refused a second first email
            if new_batch:
                self.batch_id = None  # rolled back with the claim
            self.skipped.append({"id": row["id"], "reason": "another delivery gave "
                                 f"{row['email']} a draft of the job meanwhile",
                                 "supersede": False})
            return False

    def _claim(self, conn, pos: int, row: dict, message_id: str) -> bool:
        if self.batch_id is None:
            c = self.config
            self.batch_id = conn.execute(export_batches.insert().values(
                profile="smtp", created_by=self.actor.username,
                options={"host": c.host, "port": c.port, "security": c.security,
                         "from": c.from_addr}, n_rows=0, file_hash="", path=None,
                created_at=utcnow())).inserted_primary_key[0]
        once.lock_contacts(conn, [row])  # a delivery to this contact elsewhere waits for us
        prior = once.delivered(conn, [row])
        if prior and not self.allow_repeat:
            self.skipped.append({"id": row["id"], "reason": "another draft of the job went to "
                                 f"{row['email']} meanwhile", "supersede": False})
            return False
        claimed = lifecycle.move(conn, row["id"], "send_claim", self.actor.username,
                                 repeat=bool(prior), batch_id=self.batch_id,
                                 message_id=message_id, to=row["email"])
        if claimed is None:
            self.skipped.append({"id": row["id"], "reason": "no longer approved (another "
                                 "export or send took it, or a reviewer changed it)",
                                 "supersede": False})
            return False
        conn.execute(export_items.insert().values(batch_id=self.batch_id, draft_id=row["id"],
                                                  position=pos, message_id=message_id))
        return True

    def one(self, pos: int, row: dict, msg: EmailMessage, server) -> bool:
        """Claim, send and mark one draft; False when the connection broke (stop sending)."""
        message_id = msg["Message-ID"]
        if not self.claim(pos, row, message_id):
            return True
        pair = (row["job_id"], row["contact_id"])
        try:
            server.send_message(msg)
        except _REFUSED as exc:
            with self.store.tx() as conn:
                _finish(self.store, conn, self.actor, row["id"], self.batch_id, message_id,
                        sent=False, pair=pair, how=f"refused: {exc}")
            self.failed.append({"id": row["id"], "email": row["email"], "error": str(exc)})
            return True
        except (OSError, smtplib.SMTPException) as exc:  # did it go out? unknown: not resent
            self.lost.append({"id": row["id"], "email": row["email"], "batch_id": self.batch_id,
                              "message_id": message_id, "error": str(exc)})
            return False
        self.mark(row, message_id, pair)
        return True

    def mark(self, row: dict, message_id: str, pair: tuple[int, int]) -> None:
        with self.store.tx() as conn:
            _finish(self.store, conn, self.actor, row["id"], self.batch_id, message_id, sent=True,
                    pair=pair, how="accepted by the server")
        self.ids_hash.update(message_id.encode())
        self.sent.append(row["id"])

    def close(self) -> None:
        if self.batch_id is None:
            return
        with self.store.tx() as conn:
            conn.execute(export_batches.update().where(export_batches.c.id == self.batch_id)
                         .values(n_rows=len(self.sent), file_hash=self.ids_hash.hexdigest()))
            self.store.audit(conn, "send_batch", actor=self.actor.username, batch_id=self.batch_id,
                             sent=len(self.sent), failed=len(self.failed),
                             unconfirmed=len(self.lost))


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


def _dry_run(store: Store, actor: User, rows: list[dict], messages: list[EmailMessage],
             folder: Path) -> dict:
    """Write every .eml into a temporary folder first, then move them in: all or none."""
    targets = [files.check_target(store.settings, folder / f"draft-{row['id']}.eml",
                                  what="dry-run file", overwrite=True) for row in rows]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files.remove_leftovers(store, folder)  # a killed dry run's staging folder
        staging = Path(tempfile.mkdtemp(prefix=f".dry-run-{os.getpid()}-", dir=folder))
    except OSError as exc:
        raise ExportError(f"Cannot write to {folder}: {exc.strerror or exc}.",
                          hint="Pick a folder you can write to (--dry-run).") from exc
    moved: list[Path] = []
    try:
        staged = [textio.atomic_write(staging / t.name, bytes(m)) for t, m in zip(targets, messages,
                                                                                  strict=True)]
        for path, target in zip(staged, targets, strict=True):
            path.replace(target)
            moved.append(target)
    except OSError as exc:
        for p in moved:
            p.unlink(missing_ok=True)
        raise ExportError(f"Cannot write the .eml files to {folder}: {exc.strerror or exc}; "
                          "none was kept.", hint="Check the folder and its free space.") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with store.tx() as conn:
        store.audit(conn, "send_dry_run", actor=actor.username, folder=str(folder),
                    drafts=[r["id"] for r in rows])
    return {"batch_id": None, "sent": [], "failed": [], "dry_run": True,
            "files": [str(p) for p in targets]}
