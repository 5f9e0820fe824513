"""Routing core (sans-IO): events in, commands out, time injected.

Build a `Router` from `QueueSpec`s and `AgentSpec`s, feed it events with
`Router.handle(event, now)`, carry out the commands it returns, and call
`handle(ClockTick(), now)` whenever `now` reaches `Router.next_deadline()`.
Nothing in this package performs I/O, reads a clock or imports the service.
"""

from acd.commands import (
    Announce,
    CallFinished,
    CancelOffer,
    Command,
    OfferCall,
    Outcome,
    OverflowCall,
    PlaceCallback,
    ReturnToWaiting,
    RouteOut,
    SetAgentNotReady,
    SetAgentReady,
    SetAgentWrapUp,
)
from acd.errors import IllegalTransition, RoutingError, SpecError
from acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    CallbackCancelled,
    CallbackRequested,
    CallConnected,
    CallEnded,
    CallerHungUp,
    CallQueued,
    ClockTick,
    Event,
    OfferAnswered,
    OfferNotAnswered,
    WrapUpDone,
    WrapUpExtended,
)
from acd.router import Router
from acd.specs import (
    AgentSpec,
    MaxWait,
    OverflowRule,
    Policy,
    QueueSpec,
    RouterSettings,
    RouteTarget,
    SkillNeed,
    TargetKind,
)
from acd.state import AgentState, CallState

__all__ = [
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentNotReady",
    "AgentReady",
    "AgentSpec",
    "AgentState",
    "Announce",
    "CallConnected",
    "CallEnded",
    "CallFinished",
    "CallQueued",
    "CallState",
    "CallbackCancelled",
    "CallbackRequested",
    "CallerHungUp",
    "CancelOffer",
    "ClockTick",
    "Command",
    "Event",
    "IllegalTransition",
    "MaxWait",
    "OfferAnswered",
    "OfferCall",
    "OfferNotAnswered",
    "Outcome",
    "OverflowCall",
    "OverflowRule",
    "PlaceCallback",
    "Policy",
    "QueueSpec",
    "ReturnToWaiting",
    "RouteOut",
    "RouteTarget",
    "Router",
    "RouterSettings",
    "RoutingError",
    "SetAgentNotReady",
    "SetAgentReady",
    "SetAgentWrapUp",
    "SkillNeed",
    "SpecError",
    "TargetKind",
    "WrapUpDone",
    "WrapUpExtended",
]
