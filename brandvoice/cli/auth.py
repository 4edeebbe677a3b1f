"""The acting user of a command: --as USER (password prompted, or --password), or
BRANDVOICE_USER / BRANDVOICE_PASSWORD for scripts. Every command that changes what a customer
receives signs in this way; the core checks the role and audits the action."""

from __future__ import annotations

import functools

import click

from brandvoice.cli.base import store


def actor_from(username: str | None, password: str | None):
    """The authenticated User for these values (or the settings' user and password); prompts for
    a missing password."""
    from brandvoice import users

    st = store()
    username = username or st.settings.user
    if password is None and st.settings.password is not None:
        password = st.settings.password.get_secret_value()
    if username and password is None:
        password = click.prompt(f"Password for {username}", hide_input=True)
    return users.authenticate_env(st, username, password)


def acting(fn):
    """Add --as/--password and pass the authenticated User as `actor`."""
    @click.option("--as", "as_user", metavar="USER", help="Act as this user (env BRANDVOICE_USER).")
    @click.option("--password", default=None, help="The user's password (env BRANDVOICE_PASSWORD; "
                                                    "prompted if missing).")
    @functools.wraps(fn)
    def wrapper(as_user, password, **kw):
        return fn(actor=actor_from(as_user, password), **kw)
    return wrapper
