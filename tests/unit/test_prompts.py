"""`cti prompts build`: configured texts spoken into 8 kHz mono WAV files."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from cti.config import PlatformConfig
from cti.errors import CtiError
from cti.prompts import build_prompts, prompt_path

ACME_PROMPTS = ("acme-callback-offer", "acme-survey-agent", "acme-survey-solved", "acme-welcome")


def test_every_language_of_every_prompt_is_built(
    example_config: PlatformConfig, tmp_path: Path
) -> None:
    files = build_prompts(example_config, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in files) == [
        f"acme/{language}/{name}.wav" for language in ("en", "fr") for name in ACME_PROMPTS
    ]
    with wave.open(str(files[0])) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert 0.5 < audio.getnframes() / 8000 < 10


def test_prompt_paths_fall_back_to_a_language_that_has_text(
    example_config: PlatformConfig, tmp_path: Path
) -> None:
    tenant = example_config.tenants[0]
    assert prompt_path(tmp_path, tenant, "acme-welcome", "fr") == (
        tmp_path.resolve() / "acme" / "fr" / "acme-welcome"
    )
    assert prompt_path(tmp_path, tenant, "acme-welcome", "de").parent.name == "en"  # type: ignore[union-attr]
    assert prompt_path(tmp_path, tenant, "hello-world", "en") is None  # Asterisk's own sound


def test_missing_synthesiser_is_a_clear_error(
    example_config: PlatformConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CtiError, match="espeak-ng is not installed"):
        build_prompts(example_config, tmp_path)
