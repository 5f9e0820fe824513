"""Migration 0002: the reports' covering indexes come and go with upgrade and downgrade."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine
from cti.store.schema import current_revision, head_revision, upgrade


def _indexes(connection: Connection) -> dict[str, dict[str, list[str]]]:
    found: dict[str, dict[str, list[str]]] = {}
    for table in ("calls", "agent_states"):
        for index in inspect(connection).get_indexes(table):
            options: dict[str, Any] = dict(index.get("dialect_options") or {})
            found[str(index["name"])] = {
                "columns": [str(c) for c in index["column_names"]],
                "include": [str(c) for c in options.get("postgresql_include") or []],
            }
    return found


async def _read(engine: AsyncEngine) -> dict[str, dict[str, list[str]]]:
    async with engine.connect() as conn:
        return await conn.run_sync(_indexes)


async def test_upgrade_adds_and_downgrade_removes_report_indexes(store_url: str) -> None:
    engine = create_engine(store_url)
    try:
        assert await current_revision(engine) == head_revision()
        indexes = await _read(engine)
        states = indexes["ix_agent_states_tenant_start_report"]
        if engine.dialect.name == "postgresql":
            assert states == {
                "columns": ["tenant_id", "start"],
                "include": ["end", "state", "agent_id"],
            }
            calls = indexes["ix_calls_tenant_queued_report"]
            assert calls["columns"] == ["tenant_id", "queued_at"]
            assert {"queue", "outcome", "queue_seconds", "customer_id", "call_id"} <= set(
                calls["include"]
            )
        else:
            assert states["columns"] == ["tenant_id", "start", "end", "state", "agent_id"]
            assert "ix_calls_tenant_queued_report" not in indexes

        await _downgrade(engine, "0001")
        assert await current_revision(engine) == "0001"
        after = await _read(engine)
        assert not {n for n in after if n.endswith("_report")}
        assert "ix_calls_tenant_queue_queued" in after  # 0001's own indexes stay

        await upgrade(engine)
        assert set(await _read(engine)) == set(indexes)
    finally:
        await engine.dispose()


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    from cti.store.schema import alembic_config

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)
