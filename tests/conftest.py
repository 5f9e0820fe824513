"""Fixtures shared by every test: the example configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.config import PlatformConfig, load_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def example_config() -> PlatformConfig:
    return load_config(ROOT / "config")
