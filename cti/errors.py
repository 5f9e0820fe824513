"""The project's error hierarchy: one root, errors named for who is at fault.

`ConfigError` (a file we read is wrong), `AsteriskError` (Asterisk refused or
went away). The routing core keeps its own `acd.errors.RoutingError`, since the
core imports nothing from here.
"""

from __future__ import annotations

from pathlib import Path


class CtiError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(CtiError):
    """A configuration file is missing, unreadable or invalid."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class AsteriskError(CtiError):
    """Asterisk said no, timed out, or is unreachable."""


class AmiAuthError(AsteriskError):
    """The AMI refused our credentials: retrying cannot help."""


class AmiActionError(AsteriskError):
    """An AMI action was answered with an error, or not answered in time."""
