"""Erlang C against textbook values, a brute-force M/M/c formula, and its monotonicity."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import erlang


def brute_force_wait(traffic: float, agents: int) -> float:
    """Erlang C straight from the M/M/c formula with factorials (fine for small c)."""
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    below = sum(traffic**k / math.factorial(k) for k in range(agents))
    return top / (below + top)


def per_hour(traffic: float, aht: float = 180) -> float:
    return traffic * 3600 / aht


def test_two_erlangs_on_three_agents() -> None:
    assert erlang.probability_of_wait(per_hour(2), 180, 3) == pytest.approx(4 / 9)
    assert erlang.erlang_b(2, 3) == pytest.approx(4 / 19)


STABLE = [(a, n) for a in (0.1, 0.5, 0.99, 2.5, 7.3, 14.2) for n in range(1, 16) if a < n]


@pytest.mark.parametrize(("traffic", "agents"), STABLE)
def test_matches_the_brute_force_formula(traffic: float, agents: int) -> None:
    assert erlang.probability_of_wait(per_hour(traffic), 180, agents) == pytest.approx(
        brute_force_wait(traffic, agents), rel=1e-12
    )


def test_the_classic_100_calls_per_half_hour_example() -> None:
    # 100 calls in 30 min, AHT 180 s: 10 Erlangs; 80 % in 20 s needs 14 agents.
    assert erlang.traffic_erlangs(200, 180) == pytest.approx(10)
    assert erlang.probability_of_wait(200, 180, 14) == pytest.approx(0.1741, abs=1e-4)
    assert erlang.service_level(200, 180, 14, 20) == pytest.approx(0.8884, abs=1e-4)
    assert erlang.asa_seconds(200, 180, 14) == pytest.approx(7.84, abs=0.01)
    assert erlang.agents_needed(200, 180, 0.8, 20) == 14
    assert erlang.service_level(200, 180, 13, 20) < 0.8
    assert erlang.occupancy(200, 180, 14) == pytest.approx(10 / 14)


def test_occupancy_cap_can_add_agents() -> None:
    assert erlang.agents_needed(200, 180, 0.8, 20, max_occupancy=0.7) == 15
    assert erlang.agents_needed(200, 180, 0.8, 20, max_occupancy=0.8) == 14
    assert erlang.agents_needed(200, 180, 0.5, 20, max_occupancy=0.5) == 20  # exactly 10 / 20


def test_hundreds_of_agents_stay_finite() -> None:
    calls = per_hour(480, 300)
    wait = erlang.probability_of_wait(calls, 300, 500)
    assert 0 < wait < 1
    assert erlang.asa_seconds(calls, 300, 500) < 300
    needed = erlang.agents_needed(per_hour(2000, 300), 300, 0.9, 15)
    assert 2000 < needed < 2100
    assert erlang.erlang_b(5000, 5000) == pytest.approx(0.0111, abs=1e-3)


def test_unstable_queue_has_explicit_limits() -> None:
    assert erlang.probability_of_wait(per_hour(3), 180, 3) == 1.0
    assert erlang.asa_seconds(per_hour(4), 180, 3) == math.inf
    assert erlang.service_level(per_hour(3), 180, 3, 20) == 0.0
    assert erlang.occupancy(per_hour(4), 180, 3) == 1.0
    assert erlang.agents_needed(per_hour(3), 180, 0.8, 20) > 3


def test_no_traffic() -> None:
    assert erlang.probability_of_wait(0, 180, 1) == 0
    assert erlang.service_level(0, 180, 1, 0) == 1
    assert erlang.agents_needed(0, 180, 0.8, 20) == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang.probability_of_wait(-1, 180, 3), "calls_per_hour"),
        (lambda: erlang.probability_of_wait(math.nan, 180, 3), "calls_per_hour"),
        (lambda: erlang.probability_of_wait(100, 0, 3), "aht_seconds"),
        (lambda: erlang.probability_of_wait(100, 180, 0), "at least 1"),
        (lambda: erlang.probability_of_wait(100, 180, 2.5), "whole number"),  # type: ignore[arg-type]
        (lambda: erlang.service_level(100, 180, 3, -1), "threshold_seconds"),
        (lambda: erlang.agents_needed(100, 180, 1.0, 20), "target_service_level"),
        (lambda: erlang.agents_needed(100, 180, 0.8, 20, max_occupancy=0), "max_occupancy"),
        (lambda: erlang.erlang_b(-1, 3), "traffic"),
    ],
)
def test_invalid_inputs_are_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


rates = st.floats(min_value=0, max_value=5000)
ahts = st.floats(min_value=10, max_value=900)
staff = st.integers(min_value=1, max_value=300)


@given(rates, ahts, staff)
def test_more_agents_never_raise_the_chance_of_waiting(calls: float, aht: float, n: int) -> None:
    assert (
        erlang.probability_of_wait(calls, aht, n + 1)
        <= erlang.probability_of_wait(calls, aht, n) + 1e-12
    )
    assert 0 <= erlang.probability_of_wait(calls, aht, n) <= 1


@given(rates, ahts, staff, st.floats(min_value=0, max_value=120))
def test_service_level_never_falls_with_agents_or_threshold(
    calls: float, aht: float, n: int, threshold: float
) -> None:
    level = erlang.service_level(calls, aht, n, threshold)
    assert 0 <= level <= 1
    assert erlang.service_level(calls, aht, n + 1, threshold) >= level - 1e-12
    assert erlang.service_level(calls, aht, n, threshold + 5) >= level - 1e-12


@given(rates, ahts, st.floats(min_value=0.05, max_value=0.95), st.floats(0, 60))
def test_agents_needed_is_the_fewest_that_reach_the_target(
    calls: float, aht: float, target: float, threshold: float
) -> None:
    needed = erlang.agents_needed(calls, aht, target, threshold)
    if needed == 0:
        return
    assert erlang.service_level(calls, aht, needed, threshold) >= target
    if needed > 1:
        assert erlang.service_level(calls, aht, needed - 1, threshold) < target
