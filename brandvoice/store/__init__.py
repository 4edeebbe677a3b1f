"""The database every stage shares: tables, the engine and its transactions, the audit trail.

    from brandvoice.store import Store, drafts
    store = Store(settings)
    with store.tx() as conn:      # one transaction: committed on success, rolled back on error
        conn.execute(drafts.update()...)
        store.audit(conn, "edit", actor="rita", draft_id=7)

SQLite (WAL mode) under BRANDVOICE_HOME by default; a PostgreSQL URL for teams. The tables live in
`tables`, the engine in `engine`.
"""

from brandvoice.store.engine import Store
from brandvoice.store.tables import (
    adapters,
    audit,
    contacts,
    draft_versions,
    drafts,
    export_batches,
    export_items,
    guardrail_results,
    jobs,
    metadata,
    reviews,
    tone_profiles,
    users,
    utcnow,
)

__all__ = ["Store", "adapters", "audit", "contacts", "draft_versions", "drafts", "export_batches",
           "export_items", "guardrail_results", "jobs", "metadata", "reviews", "tone_profiles",
           "users", "utcnow"]
