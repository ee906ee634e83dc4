"""Users and API tokens: creating them, checking passwords and tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from checks.errors import BadInput
from store.users import ROLES, ApiToken, User

MIN_PASSWORD = 12


class UserError(BadInput):
    """A user that cannot be created or changed as asked; the message says why."""


def add_user(session: Session, username: str, password: str, role: str, now: datetime) -> User:
    """A new user (the password is kept as a salted scrypt hash)."""
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"user {username!r} exists already")
    user = User(
        username=username,
        password_hash=generate_password_hash(password, method="scrypt"),
        role=role,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        # Spend the same time as a real check, so timing does not tell names apart.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")


def change_password(session: Session, user_id: int, current: str, new: str) -> None:
    """Replace a user's password, given the current one."""
    user = session.get(User, user_id)
    if user is None or not check_password_hash(user.password_hash, current):
        raise UserError("the current password is wrong")
    if len(new) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    user.password_hash = generate_password_hash(new, method="scrypt")
    end_sessions(session, user)


def end_sessions(session: Session, user: User) -> None:
    """End every session of ``user`` signed in so far (its cookies stop working)."""
    user.session_generation = (user.session_generation or 0) + 1
    session.flush()


def set_role(session: Session, username: str, role: str) -> User:
    """Give a user another role; their sessions end, so the new role holds at once."""
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user {username!r}")
    user.role = role
    end_sessions(session, user)
    return user


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable a user; disabling ends their sessions."""
    user.active = active
    end_sessions(session, user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_token(session: Session, user: User, name: str, now: datetime) -> str:
    """A new API token for ``user``; the token itself is returned once and never stored."""
    token = f"pw_{secrets.token_urlsafe(32)}"
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token), created_at=now))
    session.flush()
    return token


def user_for_token(session: Session, token: str, now: datetime) -> User | None:
    """The active user an API token belongs to, else None (its last use is noted)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = now
    return user
