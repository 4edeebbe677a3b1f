"""The tables: one schema for adapters, jobs, contacts, drafts, guardrails, reviews, exports, audit.

These `Table` objects are what the code queries and what autogenerate compares against; the
database itself is built by the revisions in `migrations/versions/`. Change a table here and in a
new revision together (see `brandvoice.store`).
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

# Constraint names follow PostgreSQL's own defaults: a database created before names were set
# (PostgreSQL named its constraints itself) already carries them. SQLite keeps no name for an
# unnamed constraint; batch migrations pass this convention, so reflection names it alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}
metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> str:
    """Current UTC time as an ISO-8601 string (sorts correctly, portable across databases)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ts(name: str, **kw) -> sa.Column:
    return sa.Column(name, sa.String(32), **kw)


# --- adapters and jobs ----------------------------------------------------------------------------
adapters = sa.Table(
    "adapters", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),  # the brand the adapter speaks for
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("base_model", sa.String(500), nullable=False),
    sa.Column("quantization", sa.String(10), nullable=False),
    sa.Column("data_hash", sa.String(64), nullable=False),
    sa.Column("hyperparameters", sa.JSON, nullable=False, default=dict),
    sa.Column("selection", sa.JSON, nullable=False, default=dict),
    sa.Column("metrics", sa.JSON, nullable=False, default=dict),
    sa.Column("status", sa.String(20), nullable=False, default="training"),
    sa.Column("path", sa.String(1000), nullable=False),
    sa.Column("job_id", sa.Integer, nullable=True),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("name", "version", name="uq_adapter_version"),
)

jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(30), nullable=False),  # train | generate | check
    sa.Column("status", sa.String(20), nullable=False, default="queued"),
    sa.Column("params", sa.JSON, nullable=False, default=dict),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),  # 0..1
    sa.Column("done", sa.Integer, nullable=False, default=0),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("metrics", sa.JSON, nullable=False, default=dict),  # latest step, loss, tokens/s, eta
    sa.Column("history", sa.JSON, nullable=False, default=list),  # loss curve points
    sa.Column("log", sa.Text, nullable=False, default=""),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("created_by", sa.String(100), nullable=True),
    _ts("created_at", nullable=False),
    _ts("started_at"),
    _ts("finished_at"),
    _ts("heartbeat_at"),
    # where it runs: the machine of the process that claimed it (a pid means something only
    # there), and how it was started (process | queue | a registered runner)
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("runner", sa.String(30), nullable=True),
)

# A job the queue runs in parts (a generate job: contacts by id range), each taken by any worker.
job_parts = sa.Table(
    "job_parts", metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("first_contact", sa.Integer, nullable=False),  # contacts.id range, both ends in
    sa.Column("last_contact", sa.Integer, nullable=False),
    sa.Column("contacts", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # queued | running | done | failed | cancelled
    sa.Column("queue_job_id", sa.BigInteger, nullable=True),  # the job engine's id of the part
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("worker", sa.String(100), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("done", sa.Integer, nullable=False, default=0),  # drafts written by this part's runs
    sa.Column("error", sa.Text, nullable=True),
    _ts("started_at"),
    _ts("finished_at"),
)

# The schema level of a job engine that keeps its own tables in this database (Procrastinate's on
# PostgreSQL): the name of the newest of its migration scripts applied (store.queue_schema).
engine_schemas = sa.Table(
    "engine_schemas", metadata,
    sa.Column("engine", sa.String(40), primary_key=True),
    sa.Column("level", sa.String(200), nullable=False),
    _ts("applied_at", nullable=False),
)

# --- contacts, drafts, guardrail results ----------------------------------------------------------
contacts = sa.Table(
    "contacts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), nullable=False),
    sa.Column("contact_key", sa.String(320), nullable=False),  # CRM record id, else email
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("first_name", sa.String(200), nullable=True),
    sa.Column("last_name", sa.String(200), nullable=True),
    sa.Column("company", sa.String(300), nullable=True),
    sa.Column("data", sa.JSON, nullable=False),  # the full snapshot: fields, custom fields, activities
    sa.Column("source_file", sa.String(1000), nullable=True),
    sa.Column("row_number", sa.Integer, nullable=True),
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("job_id", "contact_key", name="uq_contact_per_job"),
)

drafts = sa.Table(
    "drafts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id"), nullable=False),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id"), nullable=False),
    sa.Column("variant", sa.Integer, nullable=False, default=0),
    sa.Column("attempt", sa.Integer, nullable=False, default=0),  # >0: regenerated
    sa.Column("brand", sa.String(200), nullable=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("generated_subject", sa.Text, nullable=False),
    sa.Column("generated_body", sa.Text, nullable=False),
    sa.Column("raw_output", sa.Text, nullable=True),
    sa.Column("prompt", sa.Text, nullable=True),
    sa.Column("template_name", sa.String(200), nullable=False),
    sa.Column("template_hash", sa.String(64), nullable=False),
    sa.Column("adapter_id", sa.Integer, sa.ForeignKey("adapters.id"), nullable=True),
    sa.Column("adapter_label", sa.String(300), nullable=False),  # "acme v3" or "base:<model>"
    sa.Column("settings", sa.JSON, nullable=False, default=dict),  # generation settings
    sa.Column("seed", sa.Integer, nullable=True),
    sa.Column("state", sa.String(20), nullable=False, default="pending"),
    sa.Column("verdict", sa.String(10), nullable=True),  # pass | warn | fail (worst check)
    sa.Column("tone_score", sa.Float, nullable=True),
    sa.Column("flags", sa.JSON, nullable=False, default=list),  # e.g. ["malformed"]
    # slot drafts: the generated text as parts, who wrote each (marketer text, model, fallback)
    sa.Column("parts", sa.JSON, nullable=True),
    sa.Column("row_version", sa.Integer, nullable=False, default=1),  # optimistic concurrency
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("drafts.id"), nullable=True),
    sa.Column("created_by", sa.String(100), nullable=True),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=True),
    # the row_version at which the current text was written: a guardrail result holds for the
    # text when its row_version is at least this (state changes alone do not call for a new check)
    sa.Column("text_row_version", sa.Integer, nullable=False, default=1, server_default="1"),
    # true on the one draft that first went (or is going) to its contact in its job, else null:
    # the unique index lets the database refuse a second first delivery (lifecycle, delivery.once)
    sa.Column("first_delivery", sa.Boolean, nullable=True),
    sa.UniqueConstraint("job_id", "contact_id", "variant", "attempt", name="uq_draft_slot"),
)
sa.Index("ix_drafts_state", drafts.c.state, drafts.c.id)
sa.Index("ix_drafts_job", drafts.c.job_id)
sa.Index("uq_drafts_first_delivery", drafts.c.job_id, drafts.c.contact_id, drafts.c.first_delivery,
         unique=True)

guardrail_results = sa.Table(
    "guardrail_results", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id"), nullable=False),
    sa.Column("row_version", sa.Integer, nullable=False),  # the text version that was checked
    sa.Column("check", sa.String(40), nullable=False),  # tone | policy | personalization
    sa.Column("rule", sa.String(80), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # pass | warn | fail
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False, default=dict),
    _ts("created_at", nullable=False),
)
sa.Index("ix_guardrail_draft", guardrail_results.c.draft_id)

tone_profiles = sa.Table(
    "tone_profiles", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("brand", sa.String(200), nullable=False),
    sa.Column("adapter_id", sa.Integer, sa.ForeignKey("adapters.id"), nullable=True),
    sa.Column("embedder", sa.String(500), nullable=False),
    sa.Column("n_emails", sa.Integer, nullable=False),
    sa.Column("threshold", sa.Float, nullable=False),
    sa.Column("calibration", sa.JSON, nullable=False, default=dict),  # precision, recall, counts
    sa.Column("path", sa.String(1000), nullable=False),  # cached embeddings
    _ts("created_at", nullable=False),
)

# --- users, review decisions, versions, exports, audit --------------------------------------------
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),  # marketer | reviewer | admin
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    _ts("created_at", nullable=False),
    # Bumped when the user signs out or is deactivated: session tokens carry the epoch they were
    # issued in, so every older token stops working at once.
    sa.Column("session_epoch", sa.Integer, nullable=False, default=0, server_default="0"),
)

draft_versions = sa.Table(
    "draft_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("author", sa.String(100), nullable=True),
    sa.Column("kind", sa.String(20), nullable=False),  # generated | edit
    _ts("created_at", nullable=False),
    sa.UniqueConstraint("draft_id", "version", name="uq_draft_version"),
)

reviews = sa.Table(
    "reviews", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id"), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # approve | reject | edit | regenerate
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("from_state", sa.String(20), nullable=False),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("reason_code", sa.String(30), nullable=True),
    sa.Column("reason_text", sa.Text, nullable=True),
    sa.Column("diff", sa.Text, nullable=True),
    sa.Column("edit_distance", sa.Float, nullable=True),  # normalized, generated vs final text
    _ts("created_at", nullable=False),
    sa.Column("verdict", sa.String(10), nullable=True),  # of the text approved or rejected
)
sa.Index("ix_reviews_draft", reviews.c.draft_id)

export_batches = sa.Table(
    "export_batches", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("profile", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("options", sa.JSON, nullable=False, default=dict),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("file_hash", sa.String(64), nullable=False),
    sa.Column("path", sa.String(1000), nullable=True),
    _ts("created_at", nullable=False),
    # file exports: "pending" from the commit until the file is in place, then "written"
    sa.Column("file_status", sa.String(20), nullable=True),
)

export_items = sa.Table(
    "export_items", metadata,
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("export_batches.id"), primary_key=True),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    # SMTP sends: recorded before the message goes out (a crash after it is reconciled, not resent)
    sa.Column("message_id", sa.String(998), nullable=True),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("draft_id", sa.Integer, nullable=True),
    sa.Column("actor", sa.String(100), nullable=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("details", sa.JSON, nullable=False, default=dict),
    _ts("created_at", nullable=False),
)
sa.Index("ix_audit_draft", audit.c.draft_id)

# --- settings an admin stores, sign-in throttling ---------------------------------------------------
app_settings = sa.Table(
    "app_settings", metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=True),
    _ts("updated_at", nullable=False),
)

# one row per (normalised) username: the sign-in attempts of its window, taken with a conditional
# UPDATE before the password is checked (users._take_attempt)
login_throttle = sa.Table(
    "login_throttle", metadata,
    sa.Column("username", sa.String(100), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    _ts("window_start", nullable=False),
)

# --- campaign results: what the email tools and the mailbox report back ----------------------------
result_imports = sa.Table(
    "result_imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(20), nullable=False),  # mailchimp | hubspot | ... | mailbox
    sa.Column("file_name", sa.String(1000), nullable=False),
    sa.Column("file_hash", sa.String(64), nullable=False),  # sha256 of the file (or the folder)
    # sha256 of the file hash and the options: the same file imported the same way is one import
    sa.Column("import_key", sa.String(64), nullable=False, unique=True),
    sa.Column("options", sa.JSON, nullable=False, default=dict),
    sa.Column("batch_ids", sa.JSON, nullable=False, default=list),  # the batches it measured
    sa.Column("counts", sa.JSON, nullable=False, default=dict),  # rows, matched, events, named
    sa.Column("created_by", sa.String(100), nullable=False),
    _ts("created_at", nullable=False),
)

result_events = sa.Table(
    "result_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("result_imports.id"), nullable=False),
    sa.Column("draft_id", sa.Integer, sa.ForeignKey("drafts.id"), nullable=False),
    sa.Column("batch_id", sa.Integer, sa.ForeignKey("export_batches.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # delivered | open | click | reply | ...
    # UTC, to the second; "" when the tool gave no time: one such event per draft and kind
    sa.Column("occurred_at", sa.String(32), nullable=False, default=""),
    sa.Column("matched_by", sa.String(20), nullable=False),  # message_id | address | draft_id
    sa.Column("row_number", sa.Integer, nullable=True),
    # the same event in a later, overlapping export is known by these: imported once
    sa.UniqueConstraint("draft_id", "kind", "occurred_at", name="uq_result_event"),
)
sa.Index("ix_result_events_batch", result_events.c.batch_id)
sa.Index("ix_result_events_import", result_events.c.import_id)

result_rows = sa.Table(
    "result_rows", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("result_imports.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # spreadsheet row, or message number
    sa.Column("label", sa.String(300), nullable=False),  # "row 12", "message 3 (reply.eml)"
    sa.Column("status", sa.String(20), nullable=False),  # unmatched | ignored | invalid
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("kind", sa.String(20), nullable=True),
)
sa.Index("ix_result_rows_import", result_rows.c.import_id, result_rows.c.position)
