"""The KPI definitions of PRODUCT.md on a small day worked out by hand."""

import ast
from pathlib import Path
from typing import Any

import pytest

import reports
from reports import grouping, kpis
from reports.kpis import AgentInterval, AgentState, CallRecord, Outcome, summarise

DAY = 86400


def call(call_id: str, outcome: Outcome, wait: float, **fields: Any) -> CallRecord:
    fields.setdefault("queue", "sales")
    fields.setdefault("arrived_at", 1000.0)
    if outcome is Outcome.ANSWERED:
        fields.setdefault("answered_at", fields["arrived_at"] + wait)
    return CallRecord(
        call_id=call_id,
        outcome=outcome,
        queue_seconds=wait,
        ended_at=fields.pop("ended_at", fields["arrived_at"] + wait),
        **fields,
    )


def handled(
    call_id: str, wait: float, talk: float, hold: float, acw: float, **f: Any
) -> CallRecord:
    return call(
        call_id, Outcome.ANSWERED, wait, talk_seconds=talk, hold_seconds=hold, acw_seconds=acw, **f
    )


# Three answered calls (waits 10, 20 = T, 30), three abandons (4 s short, 5 s = threshold
# so not short, 40 s) and one timeout after 300 s.
CALLS = [
    handled("c1", 10, 100, 20, 30, agent="ann", customer_id="C1"),
    handled("c2", 20, 200, 0, 10, agent="bob", transferred=True, caller_number="+331"),
    handled("c3", 30, 60, 10, 20, agent="ann"),
    call("c4", Outcome.ABANDONED, 4),
    call("c5", Outcome.ABANDONED, 5),
    call("c6", Outcome.ABANDONED, 40),
    call("c7", Outcome.TIMEOUT, 300),
]
# ann: 100 s ready, 300 s talk, 100 s hold, 100 s ACW, 400 s not ready.
INTERVALS = [
    AgentInterval("ann", AgentState.READY, 0, 100),
    AgentInterval("ann", AgentState.TALK, 100, 400),
    AgentInterval("ann", AgentState.HOLD, 400, 500),
    AgentInterval("ann", AgentState.ACW, 500, 600),
    AgentInterval("ann", AgentState.NOT_READY, 600, 1000),
]
FIELDS = (
    "offered answered abandoned short_abandoned transferred asa_seconds avg_queue_seconds "
    "avg_hold_seconds avg_talk_seconds avg_acw_seconds aht_seconds fcr_rate abandon_rate "
    "abandon_rate_excl_short occupancy occupancy_with_acw service_level "
    "service_level_with_abandons longest_wait_seconds service_level_bands resolved_mark_rate"
).split()


def test_summary_of_the_worked_day() -> None:
    summary = summarise(CALLS, INTERVALS)
    assert list(summary) == FIELDS
    bands = summary.pop("service_level_bands")  # answered after 10, 20 and 30 s
    assert bands == pytest.approx(
        {5: 0.0, 10: 1 / 3, 15: 1 / 3, 20: 2 / 3, **{b: 1.0 for b in range(30, 121, 10)}}
    )
    assert summary.pop("resolved_mark_rate") is None  # no agent gave a mark
    assert summary == pytest.approx(
        {
            "offered": 7,
            "answered": 3,
            "abandoned": 3,
            "short_abandoned": 1,
            "transferred": 1,
            "asa_seconds": 20.0,  # (10 + 20 + 30) / 3
            "avg_queue_seconds": 109 / 6,  # answered and abandoned waits, not the timeout
            "avg_hold_seconds": 10.0,
            "avg_talk_seconds": 120.0,
            "avg_acw_seconds": 20.0,
            "aht_seconds": 150.0,  # (150 + 210 + 90) / 3
            "fcr_rate": 1.0,  # C1 and +331 called once each; c3 is anonymous
            "abandon_rate": 3 / 7,
            "abandon_rate_excl_short": 2 / 6,
            "occupancy": 400 / 500,
            "occupancy_with_acw": 500 / 600,
            "service_level": 2 / 3,  # a wait of exactly 20 s is within 20 s
            "service_level_with_abandons": 2 / 5,  # answered + abandons of 5 s and 40 s
            "longest_wait_seconds": 300.0,
        }
    )


def test_empty_denominators_give_none() -> None:
    summary = summarise([], [])
    counts = {"offered", "answered", "abandoned", "short_abandoned", "transferred"}
    assert {k: v for k, v in summary.items() if k in counts} == dict.fromkeys(counts, 0)
    bands = summary.pop("service_level_bands")
    assert all(v is None for v in bands.values())
    assert all(v is None for k, v in summary.items() if k not in counts)


def test_thresholds_are_parameters() -> None:
    summary = summarise(CALLS, [], sl_threshold=19.5, short_abandon=5.5)
    assert summary["service_level"] == pytest.approx(1 / 3)
    assert summary["short_abandoned"] == 2
    assert summary["service_level_with_abandons"] == pytest.approx(1 / 4)


def test_service_level_bands_are_cumulative() -> None:
    bands = kpis.service_level_bands(CALLS)
    assert list(bands) == [5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]
    assert bands[5] == 0
    assert bands[10] == bands[15] == pytest.approx(1 / 3)
    assert bands[20] == pytest.approx(2 / 3)
    assert all(bands[b] == 1 for b in range(30, 121, 10))


def test_unknown_durations_are_left_out_of_their_means() -> None:
    queue_log_like = [call("q1", Outcome.ANSWERED, 10, talk_seconds=50), CALLS[0]]
    summary = summarise(queue_log_like)
    assert summary["avg_talk_seconds"] == 75
    assert summary["avg_hold_seconds"] == 20
    assert summary["aht_seconds"] == 150  # only c1 has talk, hold and ACW all known


def test_ringing_counts_as_idle_and_not_ready_counts_nowhere() -> None:
    intervals = [
        AgentInterval("ann", AgentState.TALK, 0, 60),
        AgentInterval("ann", AgentState.RINGING, 60, 80),
        AgentInterval("ann", AgentState.NOT_READY, 80, 5000),
    ]
    assert kpis.occupancy(intervals) == pytest.approx(60 / 80)
    assert kpis.occupancy([AgentInterval("ann", AgentState.NOT_READY, 0, 10)]) is None


def test_resolved_mark_rate_is_reported_beside_fcr() -> None:
    calls = [
        call("a", Outcome.ANSWERED, 1, resolved=True),
        call("b", Outcome.ANSWERED, 1, resolved=False),
        call("c", Outcome.ANSWERED, 1),
        call("d", Outcome.ABANDONED, 1, resolved=True),
    ]
    assert kpis.resolved_mark_rate(calls) == 0.5


def caller(call_id: str, day: float, **identity: Any) -> CallRecord:
    return call(call_id, Outcome.ANSWERED, 5, arrived_at=1e9 + day * DAY, **identity)


def test_fcr_repeat_inside_the_window_is_not_resolved_first_time() -> None:
    calls = [
        caller("a1", 0, customer_id="A"),
        caller("a2", 6.9, customer_id="A"),
        caller("b1", 1, caller_number="+33612345678"),
    ]
    assert [len(c) for c in kpis.fcr_clusters(calls)] == [2, 1]
    assert kpis.fcr_rate(calls) == 0.5


def test_fcr_window_edge_is_inclusive() -> None:
    assert kpis.fcr_rate([caller("a", 0, customer_id="A"), caller("b", 7, customer_id="A")]) == 0
    later = [caller("a", 0, customer_id="A"), caller("b", 7 + 1 / DAY, customer_id="A")]
    assert kpis.fcr_rate(later) == 1
    assert kpis.fcr_rate(later, window_days=8) == 0


def test_fcr_clusters_chain_from_the_previous_call() -> None:
    calls = [caller(f"x{day}", day, caller_number="+3361") for day in (0, 5, 10, 18)]
    assert [[c.call_id for c in cluster] for cluster in kpis.fcr_clusters(calls)] == [
        ["x0", "x5", "x10"],
        ["x18"],
    ]


def test_fcr_customer_id_wins_over_the_number() -> None:
    calls = [
        caller("a", 0, customer_id="A", caller_number="+331"),
        caller("b", 1, customer_id="B", caller_number="+331"),
        caller("c", 2, customer_id="A", caller_number="+332"),
    ]
    assert [len(c) for c in kpis.fcr_clusters(calls)] == [2, 1]


def test_fcr_anonymous_callers_never_cluster_and_are_left_out() -> None:
    anonymous = [caller("a", 0), caller("b", 0.1)]
    assert kpis.fcr_clusters(anonymous) == []
    assert kpis.fcr_rate(anonymous) is None
    assert kpis.fcr_rate([*anonymous, caller("c", 0, caller_number="+331")]) == 1


def test_fcr_counts_answered_calls_only() -> None:
    calls = [caller("a", 0, customer_id="A"), call("b", Outcome.ABANDONED, 3, customer_id="A")]
    assert kpis.fcr_rate(calls) == 1


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+33 6 12-34-56.78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("(06) 12 34 56 78", "0612345678"),
        ("anonymous", None),
        ("Restricted", None),
        ("", None),
        (None, None),
        ("+", None),
    ],
)
def test_normalise_number(raw: str | None, normalised: str | None) -> None:
    assert kpis.normalise_number(raw) == normalised


def test_by_queue_and_by_agent() -> None:
    calls = [*CALLS, handled("s1", 50, 10, 0, 0, queue="support", agent="ann")]
    by_queue = grouping.summarise_by_queue(calls)
    assert list(by_queue) == ["sales", "support"]
    assert by_queue["sales"]["offered"] == 7
    assert by_queue["support"]["service_level"] == 0
    assert by_queue["sales"]["occupancy"] is None
    by_agent = grouping.summarise_by_agent(calls, INTERVALS, sl_threshold=50)
    assert list(by_agent) == ["ann", "bob"]
    assert by_agent["ann"]["answered"] == 3
    assert by_agent["ann"]["service_level"] == 1
    assert by_agent["ann"]["occupancy"] == pytest.approx(0.8)
    assert by_agent["bob"]["transferred"] == 1
    assert by_agent["bob"]["occupancy"] is None


def test_bucket_start_aligns_on_the_given_offset() -> None:
    moment = 1_700_000_000  # 2023-11-14 22:13:20 UTC
    assert grouping.bucket_start(moment, 15) == moment - 13 * 60 - 20  # 22:00 UTC
    assert grouping.bucket_start(moment, 60) == moment - 13 * 60 - 20
    # 03:43:20 at +05:30: the local half hour began at 03:30, i.e. 22:00 UTC.
    assert grouping.bucket_start(moment, 30, utc_offset_minutes=330) == moment - 13 * 60 - 20
    assert grouping.bucket_start(moment, 60, utc_offset_minutes=330) == moment - 43 * 60 - 20
    with pytest.raises(ValueError, match="use one of"):
        grouping.bucket_start(moment, 20)


def test_by_interval_counts_calls_where_they_arrived_and_splits_agent_time() -> None:
    calls = [
        handled("a", 10, 60, 0, 0, arrived_at=100),
        call("b", Outcome.ABANDONED, 30, arrived_at=899),
        call("c", Outcome.ABANDONED, 30, arrived_at=900),
    ]
    intervals = [
        AgentInterval("ann", AgentState.TALK, 800, 1000),
        AgentInterval("ann", AgentState.READY, 1000, 1100),
    ]
    buckets = grouping.summarise_by_interval(calls, intervals, minutes=15)
    assert list(buckets) == [0.0, 900.0]
    assert (buckets[0]["offered"], buckets[900]["offered"]) == (2, 1)
    assert buckets[0]["occupancy"] == 1.0  # 100 s of talk before 900
    assert buckets[900]["occupancy"] == pytest.approx(100 / 200)
    with pytest.raises(ValueError):
        grouping.summarise_by_interval(calls, minutes=45)


def test_fcr_of_a_queue_or_an_agent_counts_repeats_to_it_alone() -> None:
    calls = [
        caller("a1", 0, customer_id="A", queue="sales", agent="ann"),
        caller("a2", 1, customer_id="A", queue="support", agent="ann"),
        caller("a3", 2, customer_id="A", queue="sales", agent="bob"),
    ]
    by_queue = grouping.summarise_by_queue(calls)
    assert by_queue["sales"]["fcr_rate"] == 0  # a1 and a3: one cluster of two
    assert by_queue["support"]["fcr_rate"] == 1  # a2 was the caller's only support call
    by_agent = grouping.summarise_by_agent(calls, [])
    assert by_agent["ann"]["fcr_rate"] == 0 and by_agent["bob"]["fcr_rate"] == 1
    # the same as a report on that queue or agent alone (and as the live figures)
    for queue, summary in by_queue.items():
        assert summary == kpis.summarise([c for c in calls if c.queue == queue], [])
    assert kpis.summarise(calls, [])["fcr_rate"] == 0  # the center: one cluster of three


def test_fcr_in_time_groups_counts_a_cluster_where_it_began() -> None:
    calls = [caller("a1", 0, customer_id="A"), caller("a2", 1, customer_id="A")]
    days = grouping.summarise_by_period(calls, period="day")
    first, second = days.values()
    assert first["fcr_rate"] == 0 and second["fcr_rate"] is None


def test_a_transfer_segment_is_the_same_contact_not_a_repeat() -> None:
    first = caller("c1", 0, customer_id="A", transferred=True)
    segment = caller("c1-t1", 0.001, customer_id="A", segment_of="c1")
    assert kpis.fcr_rate([first, segment]) == 1
    assert kpis.fcr_rate([first, segment, caller("c2", 3, customer_id="A")]) == 0


def test_reports_import_no_io_or_adapter() -> None:
    forbidden = {"asyncio", "socket", "sqlalchemy", "fastapi", "panoramisk", "cti", "acd"}
    forbidden |= {"ivr", "agent_console"}
    for path in Path(reports.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & forbidden, path.name


def test_records_accept_plain_strings_and_refuse_nonsense() -> None:
    record = CallRecord("a", "q", 0, 5, "abandoned", 5)  # type: ignore[arg-type]
    assert record.outcome is Outcome.ABANDONED
    assert AgentInterval("ann", "talk", 0, 1).state is AgentState.TALK  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CallRecord("a", "q", 0, 5, "lost", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="durations"):
        CallRecord("a", "q", 0, 5, Outcome.ANSWERED, 5, talk_seconds=-1)
    with pytest.raises(ValueError, match="before it starts"):
        AgentInterval("ann", AgentState.TALK, 10, 5)


def test_interval_buckets_come_in_time_order_and_options_are_checked() -> None:
    calls = [call(str(t), Outcome.ABANDONED, 1, arrived_at=t) for t in (9000, 1800, 900)]
    assert list(grouping.summarise_by_interval(calls, minutes=15)) == [900.0, 1800.0, 9000.0]
    with pytest.raises(TypeError, match="sl_treshold"):
        grouping.summarise_by_queue(calls, sl_treshold=30)
