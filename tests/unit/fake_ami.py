"""An AMI link for unit tests of the runner's edges: it records the actions it is asked
for; no Asterisk answers them (the live tests use a real one)."""

from __future__ import annotations

from typing import Any


class RecordingAmi:
    """Records every action and originate; subscribing does nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def subscribe(self, _subscriber: Any) -> Any:
        return lambda: None

    async def action(self, name: str, **headers: Any) -> None:
        self.sent.append((name, headers))

    async def originate(self, channel: str, **headers: Any) -> None:
        self.sent.append(("Originate", {"Channel": channel, **headers}))
