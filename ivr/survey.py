"""The post-call survey, sans-IO: digits in, actions out.

`SurveyRun(survey)` asks each question of a queue's `Survey` (`ivr.model`).
`begin()` returns the first action; the shell carries it out and hands the
result to `resume(result)` until `Done`. What each action expects back:

- `Question` -> the digit keyed ("" on timeout);
- `Play` (`ivr.menu`) -> anything (ignored).

A digit outside the question's score range, or no digit, is asked again once
(after the invalid prompt); a second miss gives up: no more questions, no
thanks. `Done.scores` holds the scores given, in question order (possibly
fewer than the questions when the caller gave up).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from ivr.menu import IvrError, Play
from ivr.model import Survey, SurveyQuestion

ATTEMPTS = 2  # the first try and one retry


@dataclass(frozen=True, slots=True)
class Question:
    """Ask question `number` (1-based), `attempt` (1 or 2): one digit, within `timeout_seconds`."""

    number: int
    attempt: int
    prompt: str
    timeout_seconds: int


@dataclass(frozen=True, slots=True)
class Done:
    scores: tuple[int, ...]
    complete: bool


SurveyAction = Question | Play | Done


def score_of(digits: str, question: SurveyQuestion) -> int | None:
    """The score a keyed digit stands for, or None if it is not a valid answer."""
    if len(digits) != 1 or not digits.isdigit():
        return None
    value = int(digits)
    return value if question.min_score <= value <= question.max_score else None


class SurveyRun:
    def __init__(self, survey: Survey) -> None:
        self.survey = survey
        self.scores: list[int] = []
        self.done: Done | None = None
        self._run = self._walk()
        self._begun = False

    def begin(self) -> SurveyAction:
        if self._begun:
            raise IvrError("survey already begun")
        self._begun = True
        return self._advance(None)

    def resume(self, result: Any) -> SurveyAction:
        if not self._begun or self.done is not None:
            raise IvrError("survey is not waiting for a result")
        return self._advance(result)

    def _advance(self, result: Any) -> SurveyAction:
        action = self._run.send(result)
        if isinstance(action, Done):
            self.done = action
        return action

    def _walk(self) -> Generator[SurveyAction, Any, None]:
        survey = self.survey
        for number, question in enumerate(survey.questions, 1):
            score = None
            for attempt in range(1, ATTEMPTS + 1):
                if attempt > 1:
                    yield Play(survey.invalid_prompt)
                digits = yield Question(number, attempt, question.prompt, survey.timeout_seconds)
                score = score_of(str(digits or ""), question)
                if score is not None:
                    break
            if score is None:
                yield Done(tuple(self.scores), complete=False)
                return
            self.scores.append(score)
        yield Play(survey.thanks_prompt)
        yield Done(tuple(self.scores), complete=True)
