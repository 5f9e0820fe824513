"""What every `cti` subcommand needs first: the settings and the configuration."""

from __future__ import annotations

import sys
from pathlib import Path

from cti.config import PlatformConfig, load_config
from cti.errors import ConfigError
from cti.settings import Settings


def settings_and_config(config_dir: Path | None) -> tuple[Settings, PlatformConfig] | None:
    """The settings (environment, `.env`) and the configuration they point at; None, with
    the error on stderr, when the configuration is broken."""
    settings = Settings() if config_dir is None else Settings(config_dir=config_dir)
    try:
        return settings, load_config(settings.config_dir)
    except ConfigError as exc:
        print(f"cti: configuration error: {exc}", file=sys.stderr)
        return None
