"""The signed-in user a benchmark acts as in its scratch workspace (generation and training need one)."""

from __future__ import annotations


def marketer(store):
    """A marketer of the scratch store, created with an admin the first time."""
    from brandvoice import users
    from brandvoice.errors import NotFoundError

    try:
        return users.get_user(store, "bench")
    except NotFoundError:
        pass
    if users.count_users(store) == 0:
        admin = users.add_user(store, "bench-admin", "bench-admin-password", "admin")
    else:
        admin = next(users.get_user(store, u["username"]) for u in users.list_users(store)
                     if u["role"] == "admin")
    return users.add_user(store, "bench", "bench-password", "marketer", actor=admin)
