"""`brandvoice users ...` (accounts and roles) and `brandvoice settings ...` (the review policy)."""

from __future__ import annotations

import click

from brandvoice.cli.auth import acting, actor_from
from brandvoice.cli.base import echo_table, group, store

ROLES = click.Choice(["marketer", "reviewer", "admin"])
users_group = group("users", "Users and roles: add, list, set-role, set-password, activate, "
                             "deactivate.")
settings_group = group("settings", "Settings an admin stores in the database: the review policy.")


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=ROLES, default=None,
              help="Role of the new user (the first user is always an admin).")
@click.option("--user-password", "new_password", envvar="BRANDVOICE_NEW_PASSWORD",
              help="The new user's password (prompted if missing; env BRANDVOICE_NEW_PASSWORD).")
@click.option("--as", "as_user", metavar="USER", help="Act as this admin (env BRANDVOICE_USER).")
@click.option("--password", default=None, help="The admin's password (env BRANDVOICE_PASSWORD).")
def users_add(username, role, new_password, as_user, password) -> None:
    """Add a user. With no users yet, creates the first admin (no --as needed)."""
    from brandvoice import users

    st = store()
    first = users.count_users(st) == 0
    role = role or ("admin" if first else None)
    if role is None:
        raise click.UsageError("Give --role marketer|reviewer|admin.")
    actor = None if first else actor_from(as_user, password)
    if new_password is None:
        new_password = click.prompt(f"Password for the new user {username}", hide_input=True,
                                    confirmation_prompt=True)
    u = users.add_user(st, username, new_password, role, actor=actor)
    click.echo(f"Added {u.role} {u.username}" + (" (first admin)." if first else "."))


@users_group.command("list")
def users_list() -> None:
    """List users and roles."""
    from brandvoice import users

    echo_table(users.list_users(store()), ["id", "username", "role", "active", "created_at"])


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLES)
@acting
def users_set_role(actor, username: str, role: str) -> None:
    """Give a user another role (admin only)."""
    from brandvoice import users

    users.set_role(store(), actor, username, role)
    click.echo(f"{username} is now a {role}.")


@users_group.command("set-password")
@click.argument("username")
@click.option("--user-password", "new_password", envvar="BRANDVOICE_NEW_PASSWORD",
              help="The new password (prompted if missing; env BRANDVOICE_NEW_PASSWORD).")
@acting
def users_set_password(actor, username: str, new_password: str | None) -> None:
    """Set a user's password (admin only): every session of theirs ends, failed sign-ins are
    forgotten."""
    from brandvoice import users

    if new_password is None:
        new_password = click.prompt(f"New password for {username}", hide_input=True,
                                    confirmation_prompt=True)
    users.set_password(store(), actor, username, new_password)
    click.echo(f"Password of {username} set.")


@users_group.command("change-password")
@click.option("--as", "as_user", metavar="USER", envvar="BRANDVOICE_USER",
              help="Your username (env BRANDVOICE_USER).")
@click.option("--password", default=None, envvar="BRANDVOICE_PASSWORD",
              help="Your current password (env BRANDVOICE_PASSWORD; prompted if missing).")
@click.option("--new-password", default=None, envvar="BRANDVOICE_NEW_PASSWORD",
              help="The new password (env BRANDVOICE_NEW_PASSWORD; prompted if missing).")
def users_change_password(as_user: str | None, password: str | None,
                          new_password: str | None) -> None:
    """Change your own password: every session of yours ends (sign in again)."""
    from brandvoice import users

    if not as_user:
        raise click.UsageError("Give --as USER (or BRANDVOICE_USER).")
    if password is None:
        password = click.prompt("Current password", hide_input=True)
    if new_password is None:
        new_password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    users.change_password(store(), users.get_user(store(), as_user), password, new_password)
    click.echo(f"Password of {users.normalize_username(as_user)} changed; every session of "
               "yours has ended.")


@users_group.command("deactivate")
@click.argument("username")
@acting
def users_deactivate(actor, username: str) -> None:
    """Deactivate a user (admin only); their history stays theirs."""
    from brandvoice import users

    users.set_active(store(), actor, username, False)
    click.echo(f"{username} is deactivated.")


@users_group.command("activate")
@click.argument("username")
@acting
def users_activate(actor, username: str) -> None:
    """Activate a user again (admin only)."""
    from brandvoice import users

    users.set_active(store(), actor, username, True)
    click.echo(f"{username} is active.")


def _show(policy: dict) -> None:
    click.echo(f"allow-self-approval:     {'yes' if policy['allow_self_approval'] else 'no'}")
    click.echo(f"allow-own-edit-approval: {'yes' if policy['allow_own_edit_approval'] else 'no'}")
    if policy.get("updated_by"):
        click.echo(f"set by {policy['updated_by']} at {policy['updated_at']}")
    else:
        click.echo("(defaults: nobody approves text they generated or edited)")


@settings_group.command("show")
def settings_show() -> None:
    """Show the review policy."""
    from brandvoice import review

    _show(review.get_review_policy(store()))


@settings_group.command("set")
@click.option("--allow-self-approval/--no-allow-self-approval", default=None,
              help="May a reviewer approve a draft they generated?")
@click.option("--allow-own-edit-approval/--no-allow-own-edit-approval", default=None,
              help="May a reviewer approve text they edited?")
@acting
def settings_set(actor, allow_self_approval: bool | None, allow_own_edit_approval: bool | None) -> None:
    """Change the review policy (admin only; audited)."""
    from brandvoice import review

    if allow_self_approval is None and allow_own_edit_approval is None:
        raise click.UsageError("Give --allow-self-approval/--no-allow-self-approval or "
                               "--allow-own-edit-approval/--no-allow-own-edit-approval.")
    current = review.get_review_policy(store())
    _show(review.set_review_policy(
        store(), actor,
        allow_self_approval=current["allow_self_approval"] if allow_self_approval is None
        else allow_self_approval,
        allow_own_edit_approval=current["allow_own_edit_approval"] if allow_own_edit_approval is None
        else allow_own_edit_approval))
