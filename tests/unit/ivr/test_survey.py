"""The post-call survey: the interpreter as stories, and its configuration checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cti.config import load_config
from cti.errors import ConfigError
from ivr.menu import IvrError, Play
from ivr.model import Survey, survey_problems
from ivr.survey import Done, Question, SurveyRun, score_of

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = (ROOT / "config" / "tenants" / "acme.yaml").read_text()

TWO = Survey.model_validate(
    {"questions": [{"prompt": "q-agent"}, {"prompt": "q-solved", "max_score": 3}]}
)


def run(survey: Survey, answers: list[str]) -> tuple[list[Any], Done]:
    """Drive a survey with the digits keyed at each question; returns the actions seen."""
    keyed = iter(answers)
    session = SurveyRun(survey)
    actions = [session.begin()]
    while not isinstance(actions[-1], Done):
        result = next(keyed) if isinstance(actions[-1], Question) else ""
        actions.append(session.resume(result))
    assert session.done is actions[-1]
    return actions, actions[-1]


def test_two_answers_are_scored_in_order_and_the_caller_is_thanked() -> None:
    actions, done = run(TWO, ["4", "3"])
    assert actions == [
        Question(1, 1, "q-agent", 5),
        Question(2, 1, "q-solved", 5),
        Play("auth-thankyou"),
        Done((4, 3), complete=True),
    ]
    assert done.scores == (4, 3)


def test_an_invalid_digit_is_asked_again_once() -> None:
    actions, _ = run(TWO, ["9", "5", "0", "2"])
    assert actions == [
        Question(1, 1, "q-agent", 5),
        Play("invalid"),
        Question(1, 2, "q-agent", 5),
        Question(2, 1, "q-solved", 5),
        Play("invalid"),
        Question(2, 2, "q-solved", 5),
        Play("auth-thankyou"),
        Done((5, 2), complete=True),
    ]


def test_two_misses_give_up_without_thanks_keeping_earlier_answers() -> None:
    actions, done = run(TWO, ["2", "4", ""])  # 4 is above the second question's maximum
    assert done == Done((2,), complete=False)
    assert Play("auth-thankyou") not in actions
    _, silent = run(TWO, ["", "#"])
    assert silent == Done((), complete=False)


@pytest.mark.parametrize(
    ("digits", "score"),
    [("1", 1), ("5", 5), ("0", None), ("6", None), ("", None), ("*", None), ("12", None)],
)
def test_score_of_a_keyed_digit(digits: str, score: int | None) -> None:
    assert score_of(digits, TWO.questions[0]) == score


def test_the_survey_cannot_be_driven_wrongly() -> None:
    session = SurveyRun(TWO)
    with pytest.raises(IvrError):
        session.resume("1")
    session.begin()
    with pytest.raises(IvrError):
        session.begin()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"questions": []}, "at least 1"),
        ({"questions": [{"prompt": "a"}] * 3}, "at most 2"),
        ({"questions": [{"prompt": "a", "max_score": 6}]}, "less than or equal to 5"),
        ({"questions": [{"prompt": "a", "min_score": 0}]}, "greater than or equal to 1"),
        ({"questions": [{"prompt": "a", "min_score": 4, "max_score": 2}]}, "below max_score"),
        ({"questions": [{"prompt": "a"}], "timeout_seconds": 0}, "greater than or equal"),
        ({"questions": [{"prompt": "a", "scale": 10}]}, "Extra inputs"),
    ],
)
def test_bad_surveys_are_refused(data: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Survey.model_validate(data)


def test_question_prompts_must_be_tenant_prompts() -> None:
    problems = list(survey_problems(TWO, ["q-agent"], ("queues", 1, "survey")))
    assert problems == [
        (
            ("queues", 1, "survey", "questions", 1, "prompt"),
            "survey: unknown prompt 'q-solved' (not in 'prompts')",
        )
    ]
    assert list(survey_problems(TWO, ["q-agent", "q-solved"], ())) == []


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "acme.yaml").write_text(text)
    return tmp_path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_example_offers_a_callback_in_sales_and_a_survey_in_support() -> None:
    (tenant,) = load_config(ROOT / "config").tenants
    sales, support = tenant.queue("sales"), tenant.queue("support")
    assert sales.offer_callback and sales.callback_prompt == "acme-callback-offer"
    assert sales.survey is None and not support.offer_callback
    assert support.survey is not None
    assert [q.prompt for q in support.survey.questions] == [
        "acme-survey-agent",
        "acme-survey-solved",
    ]


def test_offer_callback_is_off_unless_asked(tmp_path: Path) -> None:
    text = EXAMPLE.replace("    offer_callback: true", "    # no offer")
    (tenant,) = load_config(write(tmp_path, text)).tenants
    assert not tenant.queue("sales").offer_callback


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        (
            "- {prompt: acme-survey-solved}",
            "- {prompt: acme-survey-typo}",
            "acme-survey-typo",
            "survey: unknown prompt 'acme-survey-typo'",
        ),
        (
            "- {prompt: acme-survey-solved}",
            "- {prompt: acme-survey-solved, max_score: 7}",
            "max_score: 7",
            "less than or equal to 5",
        ),
        (
            "callback_prompt: acme-callback-offer",
            "callback_prompt: acme-nothing",
            "acme-nothing",
            "unknown prompt 'acme-nothing'",
        ),
        ("offer_callback: true ", "offer_callback: maybe ", "offer_callback", "valid boolean"),
    ],
)
def test_bad_survey_or_callback_settings_name_the_line(
    tmp_path: Path, old: str, new: str, needle: str, words: str
) -> None:
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new)
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert words in str(err.value)
    assert err.value.line == line_of(text, needle)
