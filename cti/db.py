"""The database engine (SQLAlchemy 2 async) and its health check.

SQLite (aiosqlite) is the embedded default, PostgreSQL (asyncpg) the
production target. The schema and the store arrive with `cti/store/`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str) -> AsyncEngine:
    """An async engine; for SQLite, the file's folder is created and WAL enabled."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        # a local file: no liveness ping, and a fixed pool (each aiosqlite connection is a
        # thread; overflow connections would be opened and closed again and again)
        engine = create_async_engine(url, pool_size=10, max_overflow=0)
    else:
        engine = create_async_engine(url, pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


async def database_status(engine: AsyncEngine) -> str:
    """'ok', or the error that a trivial query met."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"error: {type(exc).__name__}: {exc}".splitlines()[0]
    return "ok"
