"""Helpers for the ACD story tests: terse agents, log-ins and command filters.

Not a test module. Tests import it by name (pytest's default import mode puts
this directory on sys.path).
"""

from acd import (
    AgentLoggedIn,
    AgentReady,
    AgentSpec,
    Command,
    OfferAnswered,
    OfferCall,
    PlaceCallback,
    Router,
)


def agent(agent_id: str, *queues: str, **skills: int) -> AgentSpec:
    """An agent serving `queues` with `skills` (e.g. agent("ann", "sales", sales=3))."""
    return AgentSpec(agent_id, skills, queues)


def ready(router: Router, agent_id: str, now: float) -> list[Command]:
    """Log an agent in and make them ready; returns what their readiness caused."""
    assert router.handle(AgentLoggedIn(agent_id), now) == []
    return router.handle(AgentReady(agent_id), now)


def offers(commands: list[Command]) -> list[tuple[str, str]]:
    """(call, agent) of each offer or callback among `commands`."""
    return [
        (command.call_id, command.agent_id)
        for command in commands
        if isinstance(command, OfferCall | PlaceCallback)
    ]


def answer(router: Router, commands: list[Command], now: float) -> None:
    """Answer every offer among `commands`."""
    for call_id, agent_id in offers(commands):
        assert router.handle(OfferAnswered(call_id, agent_id), now) == []
