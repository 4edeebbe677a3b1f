"""The review policy an admin stores in the database: who may approve what they wrote.

    review.get_review_policy(store)  # {"allow_self_approval": False, "allow_own_edit_approval": False, ...}
    review.set_review_policy(store, admin, allow_self_approval=False, allow_own_edit_approval=True)

Both rules are off by default: nobody approves a draft they generated, nor text they edited, so
every text that reaches a customer was read by a second person. The policy lives in the store
(`app_settings`), never in the acting user's environment, and every change is audited.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice.errors import InputError
from brandvoice.store import Store, app_settings, utcnow
from brandvoice.users import PERMISSIONS, User, require_role

POLICY_KEY = "review_policy"
DEFAULT_POLICY = {"allow_self_approval": False, "allow_own_edit_approval": False}


def read_policy(conn: Connection) -> dict:
    """The policy as stored (defaults for the rules never set), inside the caller's transaction."""
    row = conn.execute(sa.select(app_settings.c.value, app_settings.c.updated_by,
                                 app_settings.c.updated_at)
                       .where(app_settings.c.key == POLICY_KEY)).first()
    stored = row.value if row is not None and isinstance(row.value, dict) else {}
    policy = {k: bool(stored.get(k, v)) for k, v in DEFAULT_POLICY.items()}
    policy["updated_by"] = row.updated_by if row is not None else None
    policy["updated_at"] = row.updated_at if row is not None else None
    return policy


def get_review_policy(store: Store) -> dict:
    """allow_self_approval, allow_own_edit_approval (off unless an admin set them), updated_by/_at."""
    with store.read() as conn:
        return read_policy(conn)


def set_review_policy(store: Store, actor: User, *, allow_self_approval: bool,
                      allow_own_edit_approval: bool) -> dict:
    """Store the review policy (admin only, audited with the old and the new values)."""
    values = {"allow_self_approval": allow_self_approval,
              "allow_own_edit_approval": allow_own_edit_approval}
    bad = [k for k, v in values.items() if not isinstance(v, bool)]
    if bad:
        raise InputError(f"The review policy takes true or false for {', '.join(bad)}.")
    with store.tx() as conn:
        require_role(conn, actor, *PERMISSIONS["set the review policy"],
                     action="set the review policy")
        Store.lock(conn, POLICY_KEY)
        old = read_policy(conn)
        now = utcnow()
        done = conn.execute(app_settings.update().where(app_settings.c.key == POLICY_KEY)
                            .values(value=values, updated_by=actor.username, updated_at=now)).rowcount
        if not done:
            conn.execute(app_settings.insert().values(key=POLICY_KEY, value=values,
                                                      updated_by=actor.username, updated_at=now))
        store.audit(conn, "review_policy", actor=actor.username,
                    old={k: old[k] for k in DEFAULT_POLICY}, new=values)
    return {**values, "updated_by": actor.username, "updated_at": now}


def self_approval_allowed(store: Store) -> bool:
    """Whether the stored policy lets a user approve a draft they generated."""
    return get_review_policy(store)["allow_self_approval"]
