"""Session tokens, the login throttle and the session secret, without a server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest

from agent_console.auth import (
    SECRET_FILE,
    InvalidToken,
    LoginThrottle,
    Principal,
    SessionTokens,
    load_or_create_secret,
    require_role,
)
from cti.errors import CtiError
from cti.settings import Settings

SECRET = b"0123456789abcdef0123456789abcdef-test"
ALICE = Principal(tenant_id="acme", username="alice", role="agent", agent_id="alice")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_token_gives_back_its_principal_until_it_expires() -> None:
    clock = Clock(1_000_000.0)
    tokens = SessionTokens(SECRET, hours=2, clock=clock)
    token, expires_at = tokens.issue(ALICE)
    assert expires_at == 1_000_000.0 + 7200
    assert tokens.read(token) == ALICE
    clock.now = expires_at - 1
    assert tokens.read(token) == ALICE
    clock.now = expires_at
    with pytest.raises(InvalidToken, match="expired"):
        tokens.read(token)


def test_a_principal_without_agent_round_trips() -> None:
    tokens = SessionTokens(SECRET, hours=1)
    boss = Principal("globex", "boss", "admin", None)
    assert tokens.read(tokens.issue(boss)[0]) == boss


def test_a_changed_payload_or_signature_is_refused() -> None:
    tokens = SessionTokens(SECRET, hours=1)
    token, _ = tokens.issue(ALICE)
    payload, signature = token.split(".")
    body = json.loads(_unb64(payload))
    for field, value in [("role", "admin"), ("tenant", "globex"), ("exp", body["exp"] + 1e6)]:
        forged = _b64(json.dumps({**body, field: value}).encode())
        with pytest.raises(InvalidToken, match="invalid"):
            tokens.read(f"{forged}.{signature}")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(InvalidToken, match="invalid"):
        tokens.read(f"{payload}.{flipped}")
    with pytest.raises(InvalidToken):
        tokens.read(payload)
    with pytest.raises(InvalidToken):
        tokens.read("")
    with pytest.raises(InvalidToken):
        tokens.read(f"{payload}.{signature}\u00e9")


def test_a_token_signed_with_another_secret_is_refused() -> None:
    theirs = SessionTokens(b"another-secret-another-secret-another", hours=1)
    token, _ = theirs.issue(ALICE)
    with pytest.raises(InvalidToken, match="invalid"):
        SessionTokens(SECRET, hours=1).read(token)


def test_a_correctly_signed_but_malformed_payload_is_refused() -> None:
    tokens = SessionTokens(SECRET, hours=1)
    for body in [
        {"tenant": "acme", "username": "alice", "role": "root", "agent_id": None, "exp": 9e12},
        {"tenant": "acme", "username": 5, "role": "agent", "agent_id": None, "exp": 9e12},
        {"tenant": "acme", "role": "agent", "agent_id": None, "exp": 9e12},
        ["not", "an", "object"],
    ]:
        payload = _b64(json.dumps(body).encode())
        signature = _b64(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest())
        with pytest.raises(InvalidToken, match="malformed"):
            tokens.read(f"{payload}.{signature}")


def test_a_short_configured_secret_is_a_clear_error() -> None:
    with pytest.raises(CtiError, match="CTI_SESSION_SECRET"):
        SessionTokens.from_settings(Settings(session_secret="too-short"))


def test_a_generated_secret_is_kept_so_a_restart_logs_nobody_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = SessionTokens.from_settings(Settings(session_secret=""))
    assert not SECRET_FILE.exists()  # made at first use, not at import or app creation
    token, _ = first.issue(ALICE)
    assert SECRET_FILE.exists()
    assert stat.S_IMODE(SECRET_FILE.stat().st_mode) == 0o600
    restarted = SessionTokens.from_settings(Settings(session_secret=""))
    assert restarted.read(token) == ALICE


def test_load_or_create_secret_makes_one_random_secret_and_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "secret"
    secret = load_or_create_secret(path)
    assert len(secret) >= 32
    assert load_or_create_secret(path) == secret
    assert load_or_create_secret(tmp_path / "other") != secret
    path.write_text("short\n")
    assert load_or_create_secret(path) not in (b"short", secret)  # too short: replaced


def test_the_throttle_refuses_after_five_failures_within_a_minute() -> None:
    clock = Clock(100.0)
    throttle = LoginThrottle(max_failures=5, window_seconds=60, clock=clock)
    key = ("acme", "alice", "10.0.0.1")
    for _ in range(4):
        throttle.failed(key)
        clock.now += 1
    assert throttle.retry_after(key) is None
    throttle.failed(key)
    assert throttle.retry_after(key) == pytest.approx(56.0)
    assert throttle.retry_after(("acme", "alice", "10.0.0.2")) is None
    assert throttle.retry_after(("acme", "bob", "10.0.0.1")) is None
    clock.now = 160.5  # the first failure (at 100) has left the window
    assert throttle.retry_after(key) is None
    throttle.failed(key)
    assert throttle.retry_after(key) is not None


def test_a_success_clears_the_failures() -> None:
    clock = Clock(0.0)
    throttle = LoginThrottle(max_failures=2, window_seconds=60, clock=clock)
    throttle.failed(("t", "u", "c"))
    throttle.succeeded(("t", "u", "c"))
    throttle.failed(("t", "u", "c"))
    assert throttle.retry_after(("t", "u", "c")) is None


def test_the_throttle_forgets_the_oldest_keys_past_its_size() -> None:
    clock = Clock(0.0)
    throttle = LoginThrottle(max_failures=1, window_seconds=60, clock=clock, max_keys=10)
    for i in range(25):
        throttle.failed(("t", f"user{i}", "c"))
    assert len(throttle._failures) <= 10
    assert throttle.retry_after(("t", "user24", "c")) is not None


def test_require_role_rejects_unknown_roles_at_definition() -> None:
    with pytest.raises(ValueError, match="roles"):
        require_role("superuser")
    with pytest.raises(ValueError, match="roles"):
        require_role()
