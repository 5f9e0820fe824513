"""Users in the store, on SQLite and PostgreSQL: created, authenticated, listed per tenant."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.store import users
from cti.store.models import User


async def _hash_of(engine: AsyncEngine, tenant: str, username: str) -> str:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(User.password_hash).where(User.tenant_id == tenant, User.username == username)
        )
        return result.scalar_one()


async def test_created_user_authenticates_with_its_password_only(store_engine: AsyncEngine) -> None:
    created = await users.create_user(
        store_engine,
        "acme",
        "alice",
        "agent",
        "correct horse",
        agent_id="alice",
        extension="1001",
        display_name="Alice Martin",
        now=1000.0,
    )
    assert created.id > 0
    assert (created.tenant_id, created.username, created.role) == ("acme", "alice", "agent")
    assert (created.agent_id, created.extension, created.created_at) == ("alice", "1001", 1000.0)

    found = await users.authenticate(store_engine, "acme", "alice", "correct horse")
    assert found == created
    assert await users.authenticate(store_engine, "acme", "alice", "correct horsE") is None
    assert await users.authenticate(store_engine, "acme", "alice", "") is None
    assert await users.authenticate(store_engine, "acme", "bob", "correct horse") is None
    assert await users.authenticate(store_engine, "other", "alice", "correct horse") is None


async def test_the_password_is_stored_as_an_argon2id_hash(store_engine: AsyncEngine) -> None:
    await users.create_user(store_engine, "acme", "sam", "supervisor", "s3cret-words")
    stored = await _hash_of(store_engine, "acme", "sam")
    assert stored.startswith("$argon2id$")
    assert "s3cret-words" not in stored
    await users.create_user(store_engine, "acme", "tom", "supervisor", "s3cret-words")
    assert await _hash_of(store_engine, "acme", "tom") != stored  # salted


async def test_same_username_in_two_tenants_are_two_people(store_engine: AsyncEngine) -> None:
    await users.create_user(store_engine, "acme", "sam", "supervisor", "acme-password")
    await users.create_user(store_engine, "globex", "sam", "admin", "globex-password")
    acme = await users.authenticate(store_engine, "acme", "sam", "acme-password")
    assert acme is not None and acme.role == "supervisor"
    assert await users.authenticate(store_engine, "acme", "sam", "globex-password") is None
    globex = await users.authenticate(store_engine, "globex", "sam", "globex-password")
    assert globex is not None and globex.role == "admin" and globex.tenant_id == "globex"


async def test_a_duplicate_username_in_a_tenant_is_refused(store_engine: AsyncEngine) -> None:
    await users.create_user(store_engine, "acme", "sam", "supervisor", "first-password")
    with pytest.raises(users.UserError, match="already exists"):
        await users.create_user(store_engine, "acme", "sam", "admin", "second-password")
    still = await users.authenticate(store_engine, "acme", "sam", "first-password")
    assert still is not None and still.role == "supervisor"


@pytest.mark.parametrize(
    ("username", "role", "password", "extension", "message"),
    [
        ("sam", "root", "long-enough", None, "invalid role"),
        ("", "agent", "long-enough", None, "invalid username"),
        ("sam smith", "agent", "long-enough", None, "invalid username"),
        ("sam", "agent", "short", None, "at least 8"),
        ("sam", "agent", "long-enough", "10a1", "invalid extension"),
    ],
)
async def test_invalid_users_are_refused(
    store_engine: AsyncEngine,
    username: str,
    role: str,
    password: str,
    extension: str | None,
    message: str,
) -> None:
    with pytest.raises(users.UserError, match=message):
        await users.create_user(store_engine, "acme", username, role, password, extension=extension)
    assert await users.list_users(store_engine, "acme") == []


async def test_list_users_shows_one_tenant_only(store_engine: AsyncEngine) -> None:
    for tenant, name, role in [
        ("acme", "zoe", "agent"),
        ("acme", "adam", "supervisor"),
        ("globex", "mallory", "admin"),
    ]:
        await users.create_user(
            store_engine,
            tenant,
            name,
            role,
            "password-1",
            agent_id=name if role == "agent" else None,
        )
    acme = await users.list_users(store_engine, "acme")
    assert [(u.username, u.role, u.tenant_id) for u in acme] == [
        ("adam", "supervisor", "acme"),
        ("zoe", "agent", "acme"),
    ]
    assert [u.username for u in await users.list_users(store_engine, "globex")] == ["mallory"]
    assert await users.list_users(store_engine, "initech") == []


async def test_set_password_replaces_the_old_one(store_engine: AsyncEngine) -> None:
    await users.create_user(store_engine, "acme", "sam", "supervisor", "old-password")
    await users.set_password(store_engine, "acme", "sam", "new-password")
    assert await users.authenticate(store_engine, "acme", "sam", "old-password") is None
    assert await users.authenticate(store_engine, "acme", "sam", "new-password") is not None
    with pytest.raises(users.UserError, match="no user 'nobody'"):
        await users.set_password(store_engine, "acme", "nobody", "new-password")
    with pytest.raises(users.UserError, match="at least 8"):
        await users.set_password(store_engine, "acme", "sam", "short")


async def test_a_hash_with_old_parameters_is_upgraded_at_login(store_engine: AsyncEngine) -> None:
    await users.create_user(store_engine, "acme", "sam", "supervisor", "the-password")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("the-password")
    async with store_engine.begin() as conn:
        await conn.execute(update(User).where(User.username == "sam").values(password_hash=weak))
    assert await users.authenticate(store_engine, "acme", "sam", "the-password") is not None
    upgraded = await _hash_of(store_engine, "acme", "sam")
    assert upgraded != weak and upgraded.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(upgraded)
    assert await users.authenticate(store_engine, "acme", "sam", "the-password") is not None


async def test_a_corrupt_hash_never_matches(store_engine: AsyncEngine) -> None:
    await users.create_user(store_engine, "acme", "sam", "supervisor", "the-password")
    async with store_engine.begin() as conn:
        await conn.execute(update(User).values(password_hash="not-a-hash"))
    assert await users.authenticate(store_engine, "acme", "sam", "the-password") is None
    assert await users.authenticate(store_engine, "acme", "sam", "not-a-hash") is None


async def test_set_extension_records_where_a_user_sits(store_engine: AsyncEngine) -> None:
    await users.create_user(
        store_engine, "acme", "alice", "agent", "the-password", agent_id="alice", extension="1001"
    )
    await users.set_extension(store_engine, "acme", "alice", "2001")
    found = await users.get_user(store_engine, "acme", "alice")
    assert found is not None and found.extension == "2001"
    assert await users.get_user(store_engine, "globex", "alice") is None
