"""The workspace the edges work in: its settings and its store, opened for a page or a command.

The app's pages never import the store or SQLAlchemy themselves (a layer rule); they open the
store here and hand it to the core functions.
"""

from __future__ import annotations

from brandvoice.config import Settings
from brandvoice.store import Store


def open_store(settings: Settings | None = None) -> Store:
    """The store of these settings (or of BRANDVOICE_* in the environment); cheap, engines are pooled."""
    return Store(settings or Settings.from_env())
