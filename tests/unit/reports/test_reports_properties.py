"""Invariants of the KPI summaries, over any calls and agent time hypothesis can think of."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reports import grouping, kpis
from reports.kpis import AgentInterval, AgentState, CallRecord, Outcome, summarise
from reports.queue_log import format_queue_log_line, read_queue_log

RATES = (
    "fcr_rate abandon_rate abandon_rate_excl_short occupancy occupancy_with_acw "
    "service_level service_level_with_abandons"
).split()
seconds = st.floats(min_value=0, max_value=600, allow_nan=False)
maybe_seconds = st.none() | seconds


@st.composite
def calls(draw: st.DrawFn) -> CallRecord:
    arrived = draw(st.floats(min_value=0, max_value=30 * 86400))
    wait = draw(seconds)
    outcome = draw(st.sampled_from(Outcome))
    return CallRecord(
        call_id=str(draw(st.integers(0, 10**6))),
        queue=draw(st.sampled_from(["sales", "support"])),
        arrived_at=arrived,
        ended_at=arrived + wait,
        outcome=outcome,
        queue_seconds=wait,
        agent=draw(st.sampled_from(["ann", "bob"])) if outcome is Outcome.ANSWERED else None,
        customer_id=draw(st.none() | st.sampled_from(["A", "B"])),
        caller_number=draw(st.none() | st.sampled_from(["+331", "+332"])),
        talk_seconds=draw(maybe_seconds),
        hold_seconds=draw(maybe_seconds),
        acw_seconds=draw(maybe_seconds),
        transferred=draw(st.booleans()),
    )


@st.composite
def intervals(draw: st.DrawFn) -> AgentInterval:
    start = draw(st.floats(min_value=0, max_value=86400))
    length = draw(st.floats(min_value=0, max_value=7200))
    return AgentInterval(
        draw(st.sampled_from(["ann", "bob"])),
        draw(st.sampled_from(AgentState)),
        start,
        start + length,
    )


day = st.lists(calls(), max_size=40)
agent_time = st.lists(intervals(), max_size=20)


def check(summary: dict[str, Any]) -> None:
    assert summary["answered"] + summary["abandoned"] <= summary["offered"]
    assert summary["short_abandoned"] <= summary["abandoned"]
    assert summary["transferred"] <= summary["offered"]
    for name in RATES:
        assert summary[name] is None or 0 <= summary[name] <= 1 + 1e-12, name
    if summary["service_level_with_abandons"] is not None and summary["service_level"]:
        assert summary["service_level_with_abandons"] <= summary["service_level"]
    if summary["abandon_rate_excl_short"] is not None:
        assert summary["abandon_rate_excl_short"] <= summary["abandon_rate"] + 1e-12
    if summary["occupancy"] is not None:
        assert summary["occupancy"] <= summary["occupancy_with_acw"] + 1e-12
    if summary["asa_seconds"] is not None:
        assert summary["asa_seconds"] <= summary["longest_wait_seconds"] + 1e-9


@given(day, agent_time)
def test_summary_invariants(records: list[CallRecord], time: list[AgentInterval]) -> None:
    check(summarise(records, time))


@given(day, st.floats(0, 120), st.floats(0, 60))
def test_summary_invariants_for_any_thresholds(
    records: list[CallRecord], threshold: float, short: float
) -> None:
    check(summarise(records, sl_threshold=threshold, short_abandon=short))


@given(day)
def test_bands_are_cumulative_and_contain_the_service_level(records: list[CallRecord]) -> None:
    bands = kpis.service_level_bands(records)
    values = [v for v in bands.values() if v is not None]
    assert values == sorted(values)
    assert bands[20] == summarise(records)["service_level"]


@given(day, agent_time, st.sampled_from([15, 30, 60]), st.integers(-720, 840))
def test_groups_add_up_to_the_whole(
    records: list[CallRecord], time: list[AgentInterval], minutes: int, offset: int
) -> None:
    whole = summarise(records, time)
    groupings: list[dict[Any, dict[str, Any]]] = [
        grouping.summarise_by_queue(records),
        grouping.summarise_by_interval(records, time, minutes=minutes, utc_offset_minutes=offset),
    ]
    for groups in groupings:
        for count in ("offered", "answered", "abandoned", "short_abandoned", "transferred"):
            assert sum(g[count] for g in groups.values()) == whole[count]
        for group in groups.values():
            check(group)
    by_agent = grouping.summarise_by_agent(records, time)
    assert sum(g["answered"] for g in by_agent.values()) == whole["answered"]


@given(st.lists(st.tuples(st.integers(0, 10**6), seconds, st.booleans()), max_size=30))
def test_written_queue_log_reads_back(attempts: list[tuple[int, float, bool]]) -> None:
    """Lines our ACD would write read back into the same counts and waits."""
    lines = []
    for number, (start, wait, answers) in enumerate(attempts):
        call_id, wait_s = f"{start}.{number}", int(wait)
        lines.append(format_queue_log_line(start, call_id, "q", "", "ENTERQUEUE", "", "", 1))
        if answers:
            lines.append(
                format_queue_log_line(start + wait_s, call_id, "q", "A", "CONNECT", wait_s, "x", 1)
            )
            lines.append(
                format_queue_log_line(
                    start + wait_s + 9, call_id, "q", "A", "COMPLETECALLER", wait_s, 9, 1
                )
            )
        else:
            lines.append(
                format_queue_log_line(start + wait_s, call_id, "q", "", "ABANDON", 1, 1, wait_s)
            )
    report = read_queue_log(lines)
    answered = sum(1 for _, _, a in attempts if a)
    assert (report.total["offered"], report.total["answered"]) == (len(attempts), answered)
    assert report.malformed_lines == 0 and report.unknown_events == {}
    check(report.total)
