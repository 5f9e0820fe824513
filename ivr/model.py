"""The IVR menu tree as configuration: node kinds, validated by pydantic.

A tenant's `ivr:` section is a start node and named nodes. Each node kind says
what it plays, what it reads and where it goes next (`links()`). Terminal
kinds (queue, callback, voicemail, transfer, hangup) end the IVR. The loader in
`cti.config` checks that every link names a node, that every node is reachable
from the start, and that from every node some terminal can be reached (a loop
without an exit is refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NodeName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]
Digit = Annotated[str, Field(pattern=r"^[0-9*#]$")]
Prompt = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_/.-]+$")]
Clock = Annotated[
    str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$")
]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    link_fields: ClassVar[tuple[str, ...]] = ()

    def links(self) -> list[tuple[tuple[str | int, ...], str]]:
        """The nodes this one leads to, each with where in the node it is named."""
        return [((name,), getattr(self, name)) for name in self.link_fields]


class PlayNode(_Node):
    link_fields = ("next",)
    kind: Literal["play"]
    prompt: Prompt
    next: NodeName


class MenuNode(_Node):
    """Play a prompt, read one digit, branch; retries on no or invalid input."""

    kind: Literal["menu"]
    prompt: Prompt
    choices: dict[Digit, NodeName] = Field(min_length=1)
    timeout_seconds: Annotated[int, Field(ge=1, le=60)] = 5
    retries: Annotated[int, Field(ge=0, le=9)] = 2
    invalid_prompt: Prompt = "invalid"
    fallback: NodeName

    def links(self) -> list[tuple[tuple[str | int, ...], str]]:
        choices: list[tuple[tuple[str | int, ...], str]] = [
            (("choices", digit), target) for digit, target in self.choices.items()
        ]
        return [*choices, (("fallback",), self.fallback)]


class CollectNode(_Node):
    """Read several digits into a variable (e.g. an account number), validated."""

    link_fields = ("next", "fallback")
    kind: Literal["collect"]
    prompt: Prompt
    variable: NodeName
    min_digits: Annotated[int, Field(ge=1, le=32)] = 1
    max_digits: Annotated[int, Field(ge=1, le=32)] = 16
    checksum: Literal["none", "luhn"] = "none"
    timeout_seconds: Annotated[int, Field(ge=1, le=60)] = 8
    retries: Annotated[int, Field(ge=0, le=9)] = 2
    invalid_prompt: Prompt = "invalid"
    next: NodeName
    fallback: NodeName

    @model_validator(mode="after")
    def _lengths(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is larger than max_digits")
        return self


class IdentifyNode(_Node):
    """Find the customer by caller number (ANI) or by a collected variable."""

    link_fields = ("found", "not_found")
    kind: Literal["identify"]
    by: Literal["ani", "account"]
    variable: NodeName | None = None
    found: NodeName
    not_found: NodeName

    @model_validator(mode="after")
    def _variable(self) -> IdentifyNode:
        if self.by == "account" and self.variable is None:
            raise ValueError("identify by account needs the collected 'variable'")
        return self


class LanguageNode(_Node):
    """Offer languages by digit; the choice selects prompts for the rest of the call."""

    link_fields = ("next",)
    kind: Literal["language"]
    prompt: Prompt
    choices: dict[Digit, Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")]]
    default: str = "en"
    timeout_seconds: Annotated[int, Field(ge=1, le=60)] = 5
    next: NodeName


class HoursNode(_Node):
    """Branch on business hours (weekly ranges and holidays) in a time zone."""

    link_fields = ("open", "closed")
    kind: Literal["hours"]
    timezone: str = "UTC"
    weekly: dict[Weekday, list[Clock]]
    holidays: list[Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]] = []
    open: NodeName
    closed: NodeName


class LookupNode(_Node):
    """Self-service: ask a named lookup for a value and read it back."""

    link_fields = ("next", "not_found")
    kind: Literal["lookup"]
    service: NodeName
    key: Literal["customer", "ani"] | str = "customer"
    prompt: Prompt | None = None
    say: Literal["digits", "number"] = "number"
    next: NodeName
    not_found: NodeName


class QueueNode(_Node):
    """Queue the call; `skills` (skill -> minimum level 1..5) are what it needs from an
    agent beyond the queue's own, `priority` raises its value tier."""

    kind: Literal["queue"]
    queue: NodeName
    priority: Annotated[int, Field(ge=0, le=9)] = 0
    skills: dict[NodeName, Annotated[int, Field(ge=1, le=5)]] = Field(default_factory=dict)


class CallbackNode(_Node):
    """Leave a callback request for the caller's number (or a collected one)."""

    kind: Literal["callback"]
    queue: NodeName
    variable: NodeName | None = None
    prompt: Prompt = "queue-thankyou"


class VoicemailNode(_Node):
    kind: Literal["voicemail"]
    box: NodeName


class TransferNode(_Node):
    kind: Literal["transfer"]
    number: Annotated[str, Field(pattern=r"^[0-9*#+]{1,32}$")]


class HangupNode(_Node):
    kind: Literal["hangup"]
    prompt: Prompt | None = None


IvrNode = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | IdentifyNode
    | LanguageNode
    | HoursNode
    | LookupNode
    | QueueNode
    | CallbackNode
    | VoicemailNode
    | TransferNode
    | HangupNode,
    Field(discriminator="kind"),
]
TERMINAL = (QueueNode, CallbackNode, VoicemailNode, TransferNode, HangupNode)


class Ivr(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: NodeName
    nodes: dict[NodeName, IvrNode]


# ---- the post-call survey (per queue: `survey:` in the tenant file) ------------
Score = Annotated[int, Field(ge=1, le=5)]


class SurveyQuestion(BaseModel):
    """One question: a tenant prompt, answered with one digit from min to max score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Prompt
    min_score: Score = 1
    max_score: Score = 5

    @model_validator(mode="after")
    def _range(self) -> SurveyQuestion:
        if self.min_score >= self.max_score:
            raise ValueError("min_score must be below max_score")
        return self


class Survey(BaseModel):
    """A short satisfaction survey played to the caller after the agent hangs up.

    Question prompts must be the tenant's own prompts (`prompts:`), since
    Asterisk's sounds ask no such question; `invalid_prompt` and `thanks_prompt`
    may also be Asterisk sounds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    questions: tuple[SurveyQuestion, ...] = Field(min_length=1, max_length=2)
    timeout_seconds: Annotated[int, Field(ge=1, le=30)] = 5
    invalid_prompt: Prompt = "invalid"
    thanks_prompt: Prompt = "auth-thankyou"


def survey_problems(
    survey: Survey, prompts: Iterable[str], where: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Question prompts that name no tenant prompt, located under `where`."""
    known = set(prompts)
    for i, question in enumerate(survey.questions):
        if question.prompt not in known:
            loc = (*where, "questions", i, "prompt")
            yield loc, f"survey: unknown prompt {question.prompt!r} (not in 'prompts')"
