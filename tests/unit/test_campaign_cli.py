"""`cti campaign` and `cti dnc` against a SQLite file: create, fill, run, report, refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cti.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_a_campaign_from_the_shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    base = ["--config-dir", str(ROOT / "config")]

    def cti(*words: str) -> int:
        return main([*base, *words, "--tenant", "acme", "--url", url])

    assert cti("campaign", "create", "spring", "--name", "Spring", "--queue", "sales",
               "--caller-id", "+33140000000", "--zone", "Europe/Paris") == 0  # fmt: skip
    assert "campaign spring created (draft)" in capsys.readouterr().out
    listing = tmp_path / "list.csv"
    listing.write_text("phone,name\n0612345305,Jeanne\n0698765432,Paul\nxx,Bad\n")
    assert cti("campaign", "import", "spring", str(listing)) == 1  # a line rejected
    out = capsys.readouterr().out
    assert "line 4: rejected" in out and "2 added, 0 already listed" in out
    assert cti("dnc", "add", "06 98 76 54 32", "--reason", "asked") == 0
    assert "+33698765432 will never be called" in capsys.readouterr().out
    assert cti("campaign", "start", "spring") == 0
    assert "campaign spring: running" in capsys.readouterr().out
    assert cti("campaign", "resume", "spring") == 2  # running already
    assert "is running: cannot resume" in capsys.readouterr().err
    assert cti("campaign", "status", "spring", "--format", "json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["status"], row["progress"]["contacts"], row["progress"]["remaining"]) == (
        "running",
        2,
        2,
    )
    assert cti("campaign", "status") == 0
    assert "spring" in capsys.readouterr().out
    assert cti("dnc", "list") == 0
    assert capsys.readouterr().out == "+33698765432\tasked\n"
    assert cti("dnc", "remove", "+33698765432") == 0
    assert cti("dnc", "remove", "+33698765432") == 2
    assert cti("campaign", "create", "x", "--name", "X", "--queue", "nope",
               "--caller-id", "1") == 2  # fmt: skip
    assert "no queue 'nope'" in capsys.readouterr().err
    assert main([*base, "campaign", "status", "--tenant", "globex", "--url", url]) == 2
    assert "no tenant 'globex'" in capsys.readouterr().err
