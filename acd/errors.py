"""Errors raised by the routing core.

`RoutingError` is the root: the core was asked something impossible (an unknown
call or agent, a time that runs backwards, a transition the state tables forbid).
The service's own hierarchy (`cti.errors.CtiError`) wraps these at the adapter
boundary; the core cannot import it, because dependencies point inward.

A handler that raises has changed nothing: the router validates an event before
it touches its state, so the caller may log the error and carry on.
"""


class RoutingError(Exception):
    """The routing core was asked something impossible."""


class SpecError(RoutingError):
    """The static configuration (queues, agents, settings) is inconsistent."""


class IllegalTransition(RoutingError):
    """An event asked a call or an agent for a transition its state table forbids."""

    def __init__(self, entity: str, entity_id: str, state: str, trigger: str) -> None:
        self.entity = entity
        self.entity_id = entity_id
        self.state = state
        self.trigger = trigger
        super().__init__(
            f"{entity} {entity_id!r} cannot {trigger.replace('_', ' ')} "
            f"while {state.replace('_', ' ')}"
        )
