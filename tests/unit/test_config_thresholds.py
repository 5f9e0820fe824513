"""A queue's wallboard thresholds: optional, validated, and a bad one names file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.config import load_config
from cti.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config" / "tenants" / "acme.yaml").read_text()
ANCHOR = "    callback_prompt: acme-callback-offer\n"


def with_thresholds(tmp_path: Path, block: str) -> Path:
    assert ANCHOR in EXAMPLE
    text = EXAMPLE.replace(ANCHOR, ANCHOR + "    thresholds:\n" + block, 1)
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "acme.yaml").write_text(text)
    return tmp_path


def test_thresholds_are_optional_and_the_example_has_some(tmp_path: Path) -> None:
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "acme.yaml").write_text(EXAMPLE)
    tenant = load_config(tmp_path).tenants[0]
    assert tenant.queue("sales").thresholds.model_dump(exclude_none=True) == {}
    service_level = tenant.queue("support").thresholds.service_level
    assert service_level is not None and service_level.below


def test_thresholds_load_per_queue(tmp_path: Path) -> None:
    block = (
        "      longest_wait_seconds: {amber: 60, red: 120}\n"
        "      service_level: {amber: 0.8, red: 0.7, below: true}\n"
        "      calls_waiting: {amber: 3, red: 6}\n"
        "      abandon_rate: {amber: 0.05, red: 0.1}\n"
    )
    tenant = load_config(with_thresholds(tmp_path, block)).tenants[0]
    levels = tenant.queue("sales").thresholds.model_dump(exclude_none=True)
    assert levels == {
        "calls_waiting": {"amber": 3, "red": 6, "below": False},
        "longest_wait_seconds": {"amber": 60, "red": 120, "below": False},
        "service_level": {"amber": 0.8, "red": 0.7, "below": True},
        "abandon_rate": {"amber": 0.05, "red": 0.1, "below": False},
    }


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ("      calls_waiting: {amber: 5, red: 2}\n", "red must not be below amber"),
        (
            "      service_level: {amber: 0.7, red: 0.8, below: true}\n",
            "red must not be above amber",
        ),
        ("      service_level: {amber: 80, red: 70, below: true}\n", "fractions in 0..1"),
        ("      abandon_rate: {amber: 0.1, red: 1.5}\n", "fractions in 0..1"),
        ("      calls_waiting: {amber: -1, red: 2}\n", "greater than or equal to 0"),
        ("      queue_length: {amber: 1, red: 2}\n", "Extra inputs are not permitted"),
        ("      calls_waiting: {amber: 1}\n", "Field required"),
    ],
)
def test_a_bad_threshold_names_the_line(tmp_path: Path, block: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(with_thresholds(tmp_path, block))
    assert words in err.value.reason
    assert err.value.line == EXAMPLE.splitlines().index(ANCHOR.rstrip("\n")) + 3
