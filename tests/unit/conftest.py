"""Fixtures of the unit tests that need a database: a migrated SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cti.db import create_engine
from cti.store.schema import upgrade


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty SQLite database of the test's own."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()
