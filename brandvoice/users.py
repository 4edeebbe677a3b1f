"""Users and roles: marketer (trains, generates, ships), reviewer (approves, rejects, edits), admin.

Passwords are hashed with argon2 (argon2-cffi's PasswordHasher) and re-hashed on login when the
hasher's parameters changed. Sign-in is throttled per username in the store: each attempt takes
one of `MAX_FAILURES` per `FAILURE_WINDOW_MIN` minutes with one conditional UPDATE before the
password is checked (so parallel guesses cannot all be checked), a success gives them back; when
none is left even the right password is refused until the window has passed (an unknown username
is throttled the same way).

User names are normalised (Unicode NFKC) and must be 2-100 letters, digits, '.', '_', '@' or '-':
control, bidirectional and invisible characters are refused by name, and a name that differs from
another only in letter case is taken.

Roles are enforced in the core: every action that changes what a customer receives takes the
acting `User` and calls `require_role` with the roles of `PERMISSIONS`, which re-reads the user
from the store (a forged or stale `User` object cannot raise its own role, a deactivated user is
refused at once). The roles table of docs/review.md is this table (a test keeps them equal).

A browser keeps a signed, expiring session token (`session_token`), checked on every page load
against the store (`user_from_session`): the user must still exist and be active, and the token's
session epoch must be the user's current one, so signing out (`end_sessions`) or a deactivation
ends every session of that user at once; so does a new password (set by an admin, or changed by
the user) and a deactivation. Tokens are signed with itsdangerous and a secret kept in
BRANDVOICE_HOME/session.key (created once, mode 0600).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from brandvoice import textio
from brandvoice.errors import InputError, NotFoundError, PermissionDenied
from brandvoice.store import Store, throttle, users, utcnow

Role = Literal["marketer", "reviewer", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
MIN_PASSWORD = 8
# Five guesses per quarter hour: a person who mistypes gets through, a guessing script gets
# twenty tries an hour per username.
MAX_FAILURES = 5
FAILURE_WINDOW_MIN = 15

# Who may do what. Reviewers decide and may ship what they approved (export); sending by SMTP,
# training, generating and editing templates are a marketer's (or an admin's) work; users and the
# review policy are an admin's. Regenerating a rejected draft is open to reviewers too: the new
# draft is theirs, so the self-approval rule keeps them from approving it.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "train": ("marketer", "admin"),
    "generate": ("marketer", "admin"),
    "edit templates": ("marketer", "admin"),
    "edit policies": ("marketer", "admin"),
    "control jobs": ("marketer", "admin"),
    "review": ("reviewer", "admin"),
    "regenerate": ("marketer", "reviewer", "admin"),
    "export": ("marketer", "reviewer", "admin"),
    "send": ("marketer", "admin"),
    "manage users": ("admin",),
    "set the review policy": ("admin",),
}

# A signed-in browser stays signed in for a working day; after that the user signs in again.
SESSION_MAX_AGE = 12 * 3600
_SESSION_SALT = "brandvoice.session"
_secrets: dict[Path, bytes] = {}
normalize_username = textio.normalize_username  # how a typed user name is compared
_SECRET = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class User:
    """An authenticated user; pass it to every core call that acts on drafts."""

    id: int
    username: str
    role: Role


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def _validate(username: str, password: str, role: str) -> str:
    problems = []
    try:
        name = textio.check_username(username)
    except InputError as exc:
        problems.append(exc.message)
        name = ""
    if len(password or "") < MIN_PASSWORD:
        problems.append(f"password: at least {MIN_PASSWORD} characters")
    if role not in ROLES:
        problems.append(f"role {role!r}: use one of {', '.join(ROLES)}")
    if problems:
        raise InputError("Cannot add the user:", problems=problems)
    return name


def count_users(store: Store) -> int:
    """How many users exist (0 means the first `users add` creates the first admin)."""
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()


def add_user(store: Store, username: str, password: str, role: str, *,
             actor: User | None = None) -> User:
    """Create a user; the very first one (no actor) must be an admin, later ones need an admin actor."""
    username = _validate(username, password, role)
    password_hash = _hasher().hash(password)
    with store.tx() as conn:
        store.lock(conn, "users")  # two "first" users at once: one admin, the other is refused
        n = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
        if n == 0:
            if role != "admin":
                raise InputError(f"The first user must be an admin, not a {role}.",
                                 hint=f"Run `brandvoice users add {username} --role admin` first.")
            actor_name = None
        else:
            if actor is None:
                raise PermissionDenied("Adding a user needs an admin.",
                                       hint="Act as an admin: --as ADMIN (or BRANDVOICE_USER/"
                                            "BRANDVOICE_PASSWORD).")
            require_role(conn, actor, *PERMISSIONS["manage users"], action="add users")
            actor_name = actor.username
        exists = conn.execute(sa.select(users.c.username).where(
            sa.func.lower(users.c.username) == username.lower())).scalar()
        if exists:
            raise InputError(f"User {username!r} already exists"
                             + (f" (as {exists!r})." if exists != username else "."),
                             hint="Pick another username.")
        uid = conn.execute(users.insert().values(
            username=username, password_hash=password_hash, role=role, active=True,
            created_at=utcnow())).inserted_primary_key[0]
        store.audit(conn, "user_add", actor=actor_name or username, username=username, role=role)
    return User(uid, username, role)  # type: ignore[arg-type]


def authenticate(store: Store, username: str, password: str) -> User:
    """The user for these credentials; PermissionDenied on an unknown user, a wrong password, or
    too many recent failures for this username."""
    from argon2.exceptions import InvalidHashError, VerificationError

    username = textio.normalize_username(username)[:100]
    _take_attempt(store, username)  # before the check: parallel guesses share the same budget
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    denied = PermissionDenied(f"Wrong username or password for {username!r}.",
                              hint="Check --as/--password (or BRANDVOICE_USER/BRANDVOICE_PASSWORD).")
    hasher = _hasher()
    if row is None:
        # Spend the same time as a real check, so that timing does not reveal which users exist.
        try:
            hasher.verify(hasher.hash("x" * MIN_PASSWORD), password or "")
        except VerificationError:
            pass
        if count_users(store) == 0:  # an empty workspace: nobody can sign in until one exists
            raise PermissionDenied(f"No user exists yet in this workspace ({store.settings.home}).",
                                   hint="Create the first admin: `brandvoice users add NAME "
                                        "--role admin` (or in the app's sign-in page).")
        raise denied
    try:
        hasher.verify(row["password_hash"], password or "")
    except (VerificationError, InvalidHashError):
        raise denied from None
    if not row["active"]:
        raise PermissionDenied(f"User {username!r} is deactivated.", hint="Ask an admin.")
    with store.tx() as conn:
        _give_back(conn, username)
        if hasher.check_needs_rehash(row["password_hash"]):
            conn.execute(users.update().where(users.c.id == row["id"])
                         .values(password_hash=hasher.hash(password)))
    return User(row["id"], row["username"], row["role"])


def _throttle_key(username: str) -> str:
    return textio.normalize_username(username)[:100].casefold()


def _take_attempt(store: Store, username: str) -> None:
    """Take one sign-in attempt of the username's window (store.throttle: atomic across
    processes); PermissionDenied, with the wait, when none is left."""
    with store.tx() as conn:
        ends = throttle.take(conn, _throttle_key(username), limit=MAX_FAILURES,
                             window_min=FAILURE_WINDOW_MIN)
    if ends is None:
        return
    left = (ends - datetime.now(timezone.utc)).total_seconds()
    wait = max(1, -(-int(left) // 60))
    raise PermissionDenied(
        f"Too many failed sign-ins for {username!r} ({MAX_FAILURES} within {FAILURE_WINDOW_MIN} "
        f"minutes): try again in {wait} minute{'s' if wait != 1 else ''}.",
        hint="If you forgot your password, ask an admin to set a new one.")


def _give_back(conn: Connection, username: str) -> None:
    """A success: the username's attempts are forgotten."""
    throttle.give_back(conn, _throttle_key(username), window_min=FAILURE_WINDOW_MIN)


def authenticate_env(store: Store, username: str | None = None,
                     password: str | None = None) -> User:
    """Authenticate from explicit values, else the settings' user and password (BRANDVOICE_USER /
    BRANDVOICE_PASSWORD)."""
    settings = store.settings
    username = username or settings.user
    if password is None and settings.password is not None:
        password = settings.password.get_secret_value()
    if not username or password is None:
        raise PermissionDenied("This action needs a signed-in user.",
                               hint="Pass --as USER (you are asked for the password) or set "
                                    "BRANDVOICE_USER and BRANDVOICE_PASSWORD.")
    return authenticate(store, username, password)


def get_user(store: Store, username: str) -> User:
    """A user by name (NotFoundError if missing)."""
    username = textio.normalize_username(username)
    with store.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).mappings().first()
    if row is None:
        raise NotFoundError(f"No user {username!r}.", hint="List users with `brandvoice users list`.")
    return User(row["id"], row["username"], row["role"])


def list_users(store: Store) -> list[dict]:
    """All users (without password hashes), oldest first."""
    cols = [users.c.id, users.c.username, users.c.role, users.c.active, users.c.created_at]
    with store.read() as conn:
        return [dict(r) for r in conn.execute(sa.select(*cols).order_by(users.c.id)).mappings()]


def set_active(store: Store, actor: User, username: str, active: bool) -> None:
    """Activate or deactivate a user (admin only); history stays attributed to them. A
    deactivation ends every session of theirs."""
    username = textio.normalize_username(username)
    with store.tx() as conn:
        require_role(conn, actor, *PERMISSIONS["manage users"], action="change users")
        if username == actor.username and not active:
            raise InputError("You cannot deactivate yourself.", hint="Ask another admin.")
        values: dict = {"active": active}
        if not active:  # their open sessions end now, and do not come back on reactivation
            values["session_epoch"] = users.c.session_epoch + 1
        n = conn.execute(users.update().where(users.c.username == username)
                         .values(**values)).rowcount
        if not n:
            raise NotFoundError(f"No user {username!r}.")
        store.audit(conn, "user_activate" if active else "user_deactivate", actor=actor.username,
                    username=username)


def set_role(store: Store, actor: User, username: str, role: str) -> None:
    """Give a user another role (admin only); an admin cannot demote themselves."""
    username = textio.normalize_username(username)
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}.", hint=f"Use one of: {', '.join(ROLES)}.")
    with store.tx() as conn:
        require_role(conn, actor, *PERMISSIONS["manage users"], action="change roles")
        if username == actor.username and role != "admin":
            raise InputError("You cannot take away your own admin role.", hint="Ask another admin.")
        old = conn.execute(sa.select(users.c.role).where(users.c.username == username)).scalar()
        if old is None:
            raise NotFoundError(f"No user {username!r}.", hint="List users with `brandvoice users list`.")
        conn.execute(users.update().where(users.c.username == username).values(role=role))
        store.audit(conn, "user_role", actor=actor.username, username=username, old=old, new=role)


def set_password(store: Store, actor: User, username: str, password: str) -> None:
    """Set a user's password (admin only, a reset); every session of that user ends, and their
    failed sign-ins are forgotten."""
    username = textio.normalize_username(username)
    if len(password or "") < MIN_PASSWORD:
        raise InputError(f"The password needs at least {MIN_PASSWORD} characters.")
    password_hash = _hasher().hash(password)
    with store.tx() as conn:
        require_role(conn, actor, *PERMISSIONS["manage users"], action="set passwords")
        n = conn.execute(users.update().where(users.c.username == username)
                         .values(password_hash=password_hash,
                                 session_epoch=users.c.session_epoch + 1)).rowcount
        if not n:
            raise NotFoundError(f"No user {username!r}.", hint="List users with `brandvoice users list`.")
        _give_back(conn, username)
        store.audit(conn, "user_password", actor=actor.username, username=username,
                    sessions_ended=True)


def change_password(store: Store, user: User, old_password: str, new_password: str) -> None:
    """A user changes their own password (the old one checked, throttled like a sign-in); every
    session of theirs ends, this one too (the app signs this browser in again)."""
    if len(new_password or "") < MIN_PASSWORD:
        raise InputError(f"The password needs at least {MIN_PASSWORD} characters.")
    me = authenticate(store, user.username, old_password)
    if me.id != user.id:
        raise PermissionDenied(f"User {user.username!r} does not exist or is deactivated.")
    password_hash = _hasher().hash(new_password)
    with store.tx() as conn:
        conn.execute(users.update().where(users.c.id == me.id, users.c.username == me.username)
                     .values(password_hash=password_hash,
                             session_epoch=users.c.session_epoch + 1))
        store.audit(conn, "user_password", actor=me.username, username=me.username,
                    sessions_ended=True)


def require(store: Store, actor: User | None, permission: str, *, action: str) -> str:
    """require_role with the roles of PERMISSIONS[permission], in a read of its own."""
    with store.read() as conn:
        return require_role(conn, actor, *PERMISSIONS[permission], action=action)


def require_role(conn: Connection, actor: User | None, *roles: str, action: str) -> str:
    """Refuse (PermissionDenied) unless the actor exists, is active and has one of the roles."""
    if actor is None or not isinstance(actor, User):
        raise PermissionDenied(f"Only a signed-in user can {action}.",
                               hint="Sign in (--as USER or BRANDVOICE_USER/BRANDVOICE_PASSWORD).")
    row = conn.execute(sa.select(users.c.role, users.c.active)
                       .where(users.c.id == actor.id, users.c.username == actor.username)).first()
    if row is None or not row.active:
        raise PermissionDenied(f"User {actor.username!r} does not exist or is deactivated.",
                               hint="Ask an admin.")
    if row.role not in roles:
        raise PermissionDenied(f"User {actor.username!r} is a {row.role}; only "
                               f"{' or '.join(r + 's' for r in roles)} can {action}.",
                               hint="Ask a user with that role, or an admin to change your role.")
    return row.role


# --- browser sessions ------------------------------------------------------------------------------
def _session_secret(store: Store) -> bytes:
    """The signing secret of this workspace: read from BRANDVOICE_HOME/session.key, made once."""
    path = Path(store.settings.home) / "session.key"
    if path in _secrets:
        return _secrets[path]
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".session.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic create-if-missing: two processes never write two secrets
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    # Only a secret this code made is trusted: 64 hex digits in a file only its owner can read
    # (a file someone else wrote there, whose bytes they know, would sign sessions for them).
    private = os.name != "posix" or (path.stat().st_mode & 0o077) == 0
    if not _SECRET.fullmatch(text) or not private:
        raise PermissionDenied(f"The session secret {path} is damaged or not private "
                               "(not 64 hex digits, or readable by others).",
                               hint=f"Delete {path} (a new one is made; everyone signs in again).")
    key = text.encode()
    _secrets[path] = key
    return key


def _serializer(store: Store):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(_session_secret(store), salt=_SESSION_SALT)


def session_token(store: Store, user: User) -> str:
    """A signed token that lets this user's browser sign in again until it expires or is revoked."""
    with store.read() as conn:
        row = conn.execute(sa.select(users.c.active, users.c.session_epoch)
                           .where(users.c.id == user.id, users.c.username == user.username)).first()
    if row is None or not row.active:
        raise PermissionDenied(f"User {user.username!r} does not exist or is deactivated.",
                               hint="Ask an admin.")
    return _serializer(store).dumps({"uid": user.id, "name": user.username,
                                     "epoch": row.session_epoch})


def user_from_session(store: Store, token: str | None, *,
                      max_age: int = SESSION_MAX_AGE) -> User | None:
    """The user a session token stands for, or None when it is forged, expired, revoked, or its
    user is gone or deactivated. The role is read from the store, so a role change applies at once."""
    from itsdangerous import BadSignature

    if not token:
        return None
    try:
        data = _serializer(store).loads(token, max_age=max_age)
    except (BadSignature, PermissionDenied):  # also SignatureExpired; a secret not to be trusted
        return None
    if not isinstance(data, dict) or not {"uid", "name", "epoch"} <= data.keys():
        return None
    with store.read() as conn:
        row = conn.execute(sa.select(users.c.role, users.c.active, users.c.session_epoch)
                           .where(users.c.id == data["uid"], users.c.username == data["name"])).first()
    if row is None or not row.active or row.session_epoch != data["epoch"]:
        return None
    return User(int(data["uid"]), str(data["name"]), row.role)


def end_sessions(store: Store, user: User) -> None:
    """Sign a user out everywhere: every session token issued so far stops working."""
    with store.tx() as conn:
        n = conn.execute(users.update().where(users.c.id == user.id,
                                              users.c.username == user.username)
                         .values(session_epoch=users.c.session_epoch + 1)).rowcount
        if n:
            store.audit(conn, "sign_out", actor=user.username)
