"""`cti users add | passwd | list`, then logging in to the web app with what it made."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_console.app import create_app
from cti.cli import main
from cti.db import create_engine
from cti.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("CTI_DATABASE_URL", "CTI_CONFIG_DIR", "CTI_SESSION_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"


def cti(*args: str) -> int:
    return main(["--config-dir", str(ROOT / "config"), *args])


async def _healthy() -> dict[str, Any]:
    return {"status": "ok"}


async def _login(url: str, tenant: str, username: str, password: str) -> httpx.Response:
    engine = create_engine(url)
    settings = Settings(session_secret="x" * 40)
    app = create_app(_healthy, engine=engine, settings=settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = {"tenant": tenant, "username": username, "password": password}
            return await client.post("/api/login", json=body)
    finally:
        await engine.dispose()


def test_a_user_added_on_the_command_line_can_log_in(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("bobs-password\n"))
    code = cti(
        "users", "add", "--tenant", "acme", "--username", "bob", "--role", "agent",
        "--agent-id", "bob", "--password-stdin", "--url", url,
    )  # fmt: skip
    assert code == 0
    assert "added agent 'bob'" in capsys.readouterr().out

    assert cti("users", "add", "--tenant", "acme", "--username", "sue", "--role", "supervisor",
               "--password", "sues-password", "--url", url) == 0  # fmt: skip

    response = asyncio.run(_login(url, "acme", "bob", "bobs-password"))
    assert response.status_code == 200
    body = response.json()
    assert (body["role"], body["agent_id"], body["tenant"]) == ("agent", "bob", "acme")
    assert body["extension"] == "1002"  # the agent's extension in the configuration
    assert asyncio.run(_login(url, "acme", "bob", "bobs-passwor")).status_code == 401
    assert asyncio.run(_login(url, "acme", "sue", "sues-password")).json()["role"] == "supervisor"

    capsys.readouterr()
    assert cti("users", "list", "--tenant", "acme", "--url", url) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["USERNAME", "ROLE", "AGENT", "EXTENSION", "NAME"]
    assert [line.split() for line in lines[1:]] == [
        ["bob", "agent", "bob", "1002"],
        ["sue", "supervisor", "-", "-"],
    ]


def test_passwd_changes_the_password(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cti("users", "add", "--tenant", "acme", "--username", "sue", "--role", "admin",
               "--password", "first-password", "--url", url) == 0  # fmt: skip
    assert cti("users", "passwd", "--tenant", "acme", "--username", "sue",
               "--password", "second-password", "--url", url) == 0  # fmt: skip
    assert asyncio.run(_login(url, "acme", "sue", "first-password")).status_code == 401
    assert asyncio.run(_login(url, "acme", "sue", "second-password")).status_code == 200
    assert cti("users", "passwd", "--tenant", "acme", "--username", "nobody",
               "--password", "second-password", "--url", url) == 2  # fmt: skip
    assert "no user 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "initech", "--username", "x", "--role", "admin"], "unknown tenant 'initech'"),
        (
            ["--tenant", "acme", "--username", "x", "--role", "agent", "--agent-id", "zed"],
            "no agent 'zed'",
        ),
        (["--tenant", "acme", "--username", "x", "--role", "agent"], "needs --agent-id"),
        (["--tenant", "acme", "--username", "x x", "--role", "admin"], "invalid username"),
    ],
)
def test_bad_users_are_refused_with_a_clear_error(
    url: str, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cti("users", "add", *args, "--password", "long-enough", "--url", url) == 2
    assert message in capsys.readouterr().err
    capsys.readouterr()
    assert cti("users", "list", "--tenant", "acme", "--url", url) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []


def test_an_unknown_role_and_a_short_password_are_refused(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cti("users", "add", "--tenant", "acme", "--username", "x", "--role", "root",
            "--password", "long-enough", "--url", url)  # fmt: skip
    assert "invalid choice: 'root'" in capsys.readouterr().err
    assert cti("users", "add", "--tenant", "acme", "--username", "x", "--role", "admin",
               "--password", "short", "--url", url) == 2  # fmt: skip
    assert "at least 8" in capsys.readouterr().err


def test_an_agent_is_bound_to_one_user_only(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--role", "agent", "--agent-id", "carol", "--password", "long-enough", "--url", url]
    assert cti("users", "add", "--tenant", "acme", "--username", "carol", *common) == 0
    assert cti("users", "add", "--tenant", "acme", "--username", "carol2", *common) == 2
    assert "already the user 'carol'" in capsys.readouterr().err
    assert cti("users", "add", "--tenant", "acme", "--username", "carol", "--role", "admin",
               "--password", "long-enough", "--url", url) == 2  # fmt: skip
    assert "already exists" in capsys.readouterr().err
