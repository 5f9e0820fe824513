"""The people who log in: creating users, checking and changing their passwords, listing them.

Passwords are hashed with argon2id (`argon2-cffi`, its RFC 9106 defaults); a hash
made with older parameters is replaced at the next successful login. Hashing is
deliberately slow, so it runs in a worker thread and never blocks the event loop.
Every function takes the tenant: a user exists only inside one tenant, and the
same username may exist in two tenants as two different people. Role names and
who may do what live in `agent_console.auth`; this module only stores them.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.errors import CtiError
from cti.store.models import User

ROLES = ("agent", "supervisor", "admin")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,99}$")
_EXTENSION = re.compile(r"^[0-9*#+]{1,32}$")

_hasher = PasswordHasher()


class UserError(CtiError):
    """A user cannot be created or changed as asked (bad name, role, password; already exists)."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the rest of the platform sees it: everything but the password hash."""

    id: int
    tenant_id: str
    username: str
    role: str
    agent_id: str | None
    extension: str | None
    display_name: str | None
    created_at: float


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (encoded with its salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`; a malformed hash never matches."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against when the user does not exist, so both cases take as long."""
    return hash_password("not a password of anybody")


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def _check_fields(username: str, role: str, extension: str | None) -> None:
    if not _USERNAME.match(username):
        raise UserError(
            f"invalid username {username!r}: use letters, digits, '_', '.', '@' or '-'"
            " (at most 100 characters)"
        )
    if role not in ROLES:
        raise UserError(f"invalid role {role!r}: one of {', '.join(ROLES)}")
    if extension is not None and not _EXTENSION.match(extension):
        raise UserError(f"invalid extension {extension!r}: digits, '*', '#' or '+'")


def _record(row: Any) -> UserRecord:
    return UserRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        username=row.username,
        role=row.role,
        agent_id=row.agent_id,
        extension=row.extension,
        display_name=row.display_name,
        created_at=row.created_at,
    )


_COLUMNS = (
    User.id,
    User.tenant_id,
    User.username,
    User.role,
    User.agent_id,
    User.extension,
    User.display_name,
    User.created_at,
)


async def create_user(
    engine: AsyncEngine,
    tenant_id: str,
    username: str,
    role: str,
    password: str,
    *,
    agent_id: str | None = None,
    extension: str | None = None,
    display_name: str | None = None,
    now: float | None = None,
) -> UserRecord:
    """Add a user to a tenant; `UserError` if the fields are invalid or the name is taken."""
    _check_fields(username, role, extension)
    check_password_policy(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    created_at = time.time() if now is None else now
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                insert(User).returning(User.id),
                {
                    "tenant_id": tenant_id,
                    "username": username,
                    "role": role,
                    "password_hash": password_hash,
                    "agent_id": agent_id,
                    "extension": extension,
                    "display_name": display_name,
                    "created_at": created_at,
                },
            )
            user_id: int = result.scalar_one()
    except IntegrityError as exc:
        raise UserError(f"user {username!r} already exists in tenant {tenant_id!r}") from exc
    return UserRecord(
        user_id, tenant_id, username, role, agent_id, extension, display_name, created_at
    )


async def get_user(engine: AsyncEngine, tenant_id: str, username: str) -> UserRecord | None:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(*_COLUMNS).where(User.tenant_id == tenant_id, User.username == username)
        )
        row = result.one_or_none()
    return None if row is None else _record(row)


async def list_users(engine: AsyncEngine, tenant_id: str) -> list[UserRecord]:
    """The tenant's users, by username."""
    async with engine.connect() as conn:
        result = await conn.execute(
            select(*_COLUMNS).where(User.tenant_id == tenant_id).order_by(User.username)
        )
        return [_record(row) for row in result]


async def set_password(engine: AsyncEngine, tenant_id: str, username: str, password: str) -> None:
    """Replace a user's password; `UserError` if there is no such user."""
    check_password_policy(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with engine.begin() as conn:
        result = await conn.execute(
            update(User)
            .where(User.tenant_id == tenant_id, User.username == username)
            .values(password_hash=password_hash)
        )
    if result.rowcount != 1:
        raise UserError(f"no user {username!r} in tenant {tenant_id!r}")


async def set_extension(
    engine: AsyncEngine, tenant_id: str, username: str, extension: str | None
) -> None:
    """Record the phone extension a user logged in at (hot-desking)."""
    if extension is not None and not _EXTENSION.match(extension):
        raise UserError(f"invalid extension {extension!r}: digits, '*', '#' or '+'")
    async with engine.begin() as conn:
        await conn.execute(
            update(User)
            .where(User.tenant_id == tenant_id, User.username == username)
            .values(extension=extension)
        )


async def authenticate(
    engine: AsyncEngine, tenant_id: str, username: str, password: str
) -> UserRecord | None:
    """The user if the password is theirs, else None (unknown user or wrong password alike).

    An unknown user costs one hash verification too, so the time taken does not
    tell whether a username exists.
    """
    async with engine.connect() as conn:
        result = await conn.execute(
            select(User.password_hash, *_COLUMNS).where(
                User.tenant_id == tenant_id, User.username == username
            )
        )
        row = result.one_or_none()
    if row is None or len(password) > MAX_PASSWORD_LENGTH:
        await asyncio.to_thread(verify_password, _decoy_hash(), password[:MAX_PASSWORD_LENGTH])
        return None
    password_hash: str = row.password_hash
    if not await asyncio.to_thread(verify_password, password_hash, password):
        return None
    if _hasher.check_needs_rehash(password_hash):
        fresh = await asyncio.to_thread(hash_password, password)
        async with engine.begin() as conn:
            await conn.execute(
                update(User)
                .where(User.tenant_id == tenant_id, User.username == username)
                .values(password_hash=fresh)
            )
    return _record(row)
