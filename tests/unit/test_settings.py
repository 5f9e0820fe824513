"""Connection settings come from CTI_* variables or a .env file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.settings import Settings


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert (settings.ami_port, settings.agi_port) == (5038, 4573)


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CTI_AMI_SECRET=from-dotenv\nCTI_AMI_PORT=6038\n")
    monkeypatch.setenv("CTI_AMI_PORT", "7038")
    settings = Settings()
    assert settings.ami_secret == "from-dotenv"
    assert settings.ami_port == 7038  # the environment wins over .env


def test_a_bad_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CTI_AMI_PORT", "five")
    with pytest.raises(ValueError, match="ami_port"):
        Settings()
