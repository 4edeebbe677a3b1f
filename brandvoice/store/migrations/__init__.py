"""Alembic revisions of the store's schema: `env.py` and `versions/`, run by `brandvoice.store.migrate`."""
