"""The pure parts of call recording: file names, pause arithmetic, rights, retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_console.auth import Principal
from agent_console.recordings_api import may_play
from agent_console.ws import CenterError
from cti.config import PlatformConfig, TenantConfig
from cti.recording import ActiveRecording, cutoff, paused_seconds, recording_path, records


def test_the_file_is_named_by_tenant_and_call_under_the_root(tmp_path: Path) -> None:
    path = recording_path(tmp_path / "rec", "acme", "1795454059.35")
    assert path == (tmp_path / "rec" / "acme" / "1795454059.35.wav").resolve()
    assert path.is_absolute()


def test_a_file_name_cannot_leave_its_folder(tmp_path: Path) -> None:
    path = recording_path(tmp_path, "../acme", "../../etc/passwd")
    assert path.parent.parent == tmp_path.resolve()
    assert ".." not in path.parts
    with pytest.raises(ValueError):
        recording_path(tmp_path, "acme", "..")


def test_paused_seconds_adds_closed_pauses_and_runs_the_open_one_until_now() -> None:
    assert paused_seconds([], 100.0) == 0.0
    assert paused_seconds([[10.0, 12.5], [20.0, 21.0]], 100.0) == pytest.approx(3.5)
    assert paused_seconds([[10.0, 12.0], [30.0, None]], 34.0) == pytest.approx(6.0)


def recording() -> ActiveRecording:
    return ActiveRecording("acme", "c1", Path("/r/acme/c1.wav"), "PJSIP/x-1", "sales", "alice", 5.0)


def test_pause_resume_and_end_fill_the_row() -> None:
    rec = recording()
    assert rec.state == "recording"
    rec.pause(10.0)
    assert rec.paused and rec.view()["recording"] == "paused" and rec.state == "paused"
    with pytest.raises(CenterError):
        rec.pause(11.0)
    assert rec.row()["paused_seconds"] == 0.0  # a running pause is not counted yet
    rec.resume(12.0)
    assert not rec.paused and rec.view()["recording"] == "recording"
    with pytest.raises(CenterError):
        rec.resume(13.0)
    rec.pause(20.0)
    rec.end(23.0)  # the call ends during a pause: the pause ends with it
    assert rec.state == "ended"
    row = rec.row()
    assert row["pauses"] == [[10.0, 12.0], [20.0, 23.0]]
    assert row["paused_seconds"] == pytest.approx(5.0)
    assert (row["started_at"], row["ended_at"]) == (5.0, 23.0)
    assert row["path"] == "/r/acme/c1.wav" and row["agent_id"] == "alice"


def test_only_queues_marked_record_are_recorded(example_config: PlatformConfig) -> None:
    data = example_config.tenants[0].model_dump()
    assert all(q["record"] is False for q in data["queues"])  # the default
    data["queues"][0]["record"] = True
    tenant = TenantConfig.model_validate(data)
    first, second = tenant.queues[0].id, tenant.queues[1].id
    assert records(tenant, first) and not records(tenant, second)
    assert not records(tenant, None) and not records(tenant, "nowhere")


def test_retention_and_agent_rights_default_and_validate(example_config: PlatformConfig) -> None:
    data = example_config.tenants[0].model_dump()
    tenant = TenantConfig.model_validate(data)
    assert tenant.recording_retention_days == 90 and tenant.agents_may_play_recordings is False
    assert cutoff(tenant, 100 * 86400.0) == pytest.approx(10 * 86400.0)
    tenant = TenantConfig.model_validate({**data, "recording_retention_days": 7})
    assert cutoff(tenant, 100 * 86400.0) == pytest.approx(93 * 86400.0)
    with pytest.raises(ValueError):
        TenantConfig.model_validate({**data, "recording_retention_days": 0})


def test_who_may_play_a_recording() -> None:
    sue = Principal("acme", "sue", "supervisor", None)
    root = Principal("acme", "root", "admin", None)
    alice = Principal("acme", "alice", "agent", "alice")
    bob = Principal("acme", "bob", "agent", "bob")
    assert may_play(sue, "alice", False) and may_play(root, None, False)
    assert not may_play(alice, "alice", False)  # the tenant does not allow agents
    assert may_play(alice, "alice", True)
    assert not may_play(bob, "alice", True)  # not their call
    assert not may_play(bob, None, True)
