"""The MQTT bus's queue while the broker is away (no broker needed)."""

from __future__ import annotations

import json

import pytest

from cti.bus import Bus


async def test_a_reconnect_sends_the_retained_state_once_not_its_stale_versions() -> None:
    bus = Bus("mqtt://127.0.0.1:1", max_pending=100)
    bus.publish("cti/t/stats", {"offered": 2}, retain=True)
    bus.publish("cti/t/events", {"n": 1})
    bus.publish("cti/t/stats", {"offered": 8}, retain=True)
    bus.publish("cti/t/events", {"n": 2})
    bus._drop_pending_retained()
    assert [(t, json.loads(d)) for t, d, _ in bus._pending] == [
        ("cti/t/events", {"n": 1}),
        ("cti/t/events", {"n": 2}),
    ]
    assert json.loads(bus._retained["cti/t/stats"]) == {"offered": 8}


def test_a_bad_url_is_refused() -> None:
    with pytest.raises(ValueError, match="mqtt://"):
        Bus("http://broker")
