"""Our own IVR prompts, rendered from the text in the configuration.

`cti prompts build` speaks each tenant prompt with espeak-ng and converts it
with sox to what Asterisk plays best (8 kHz, mono, 16-bit WAV), as
`<prompts_dir>/<tenant>/<language>/<name>.wav`. A new menu needs no studio to
try; recorded files can replace the generated ones at the same paths.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from cti.config import PlatformConfig, TenantConfig
from cti.errors import CtiError


def prompt_path(prompts_dir: Path, tenant: TenantConfig, name: str, language: str) -> Path | None:
    """Where Asterisk finds our prompt (no extension), or None if it is not ours.

    Falls back to the tenant's first language for that prompt when the caller's
    language has no text.
    """
    texts = tenant.prompts.get(name)
    if not texts:
        return None
    chosen = language if language in texts else next(iter(texts))
    return Path(prompts_dir).resolve() / tenant.tenant.id / chosen / name


def build_prompts(config: PlatformConfig, prompts_dir: Path) -> list[Path]:
    """Render every configured prompt; returns the files written."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise CtiError(f"{tool} is not installed: run `make setup` (scripts/install-system.sh)")
    written = []
    for tenant in config.tenants:
        for name, texts in tenant.prompts.items():
            for language, text in texts.items():
                target = prompt_path(prompts_dir, tenant, name, language)
                assert target is not None
                written.append(_render(text, language, target.with_suffix(".wav")))
    return written


def _render(text: str, language: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    voice = language.replace("_", "-").lower()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        _run(["espeak-ng", "-v", voice, "-w", str(raw), text])
        _run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(target)])
    return target


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CtiError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")
