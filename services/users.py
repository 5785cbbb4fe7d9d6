"""Users: argon2id password hashes, creation, authentication."""
from __future__ import annotations

import datetime as dt
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.models import ROLES, User

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


class UserError(ValueError):
    """A user-facing problem with a user request (bad role, weak password, duplicate name)."""


def password_hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def validate_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise UserError(f"Password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long.")


def create_user(session: Session, username: str, password: str, role: str = "viewer",
                country_scope: list[str] | None = None) -> User:
    username = username.strip()
    if not username:
        raise UserError("Username must not be empty.")
    if role not in ROLES:
        raise UserError(f"Role must be one of {', '.join(ROLES)}.")
    validate_password(password)
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise UserError(f"User {username!r} already exists.")
    user = User(username=username, password_hash=hash_password(password), role=role,
                country_scope=country_scope, active=True, session_version=1)
    session.add(user)
    session.flush()
    return user


# Verifying against a fixed hash for unknown users keeps their timing like a wrong password.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None; same work for unknown users."""
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    hasher = password_hasher()
    try:
        hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return user


def has_users(session: Session) -> bool:
    return session.scalar(select(func.count(User.id))) > 0


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def set_password(session: Session, username: str, password: str) -> User:
    """New password; bumping the session version signs the user out everywhere."""
    validate_password(password)
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise UserError(f"No user {username!r}.")
    user.password_hash = hash_password(password)
    user.session_version += 1
    return user
