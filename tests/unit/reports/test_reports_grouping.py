"""Calendar groups (day, month) at a fixed UTC offset, and their ISO labels."""

from datetime import UTC, datetime

import pytest

from reports.grouping import (
    local_iso,
    period_end,
    period_start,
    summarise_by_period,
)
from reports.kpis import AgentInterval, AgentState, CallRecord, Outcome


def epoch(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_days_and_months_start_at_local_midnight() -> None:
    moment = epoch(2027, 1, 31, 20, 0)  # 01:30 on February 1st at +05:30
    assert period_start(moment, "day") == epoch(2027, 1, 31)
    assert period_start(moment, "month") == epoch(2027, 1, 1)
    assert period_start(moment, "day", 330) == epoch(2027, 1, 31, 18, 30)
    assert period_start(moment, "month", 330) == epoch(2027, 1, 31, 18, 30)
    assert period_end(moment, "month", 330) == epoch(2027, 2, 28, 18, 30)
    assert period_end(epoch(2027, 12, 31, 23), "month") == epoch(2028, 1, 1)
    assert period_start(epoch(2027, 3, 1, 2), "month", -300) == epoch(2027, 2, 1, 5)
    with pytest.raises(ValueError, match="period"):
        period_start(moment, "week")  # type: ignore[arg-type]


def test_local_iso_shows_the_offset() -> None:
    assert local_iso(epoch(2027, 1, 31, 18, 30), 330) == "2027-02-01T00:00:00+05:30"
    assert local_iso(epoch(2027, 1, 31)) == "2027-01-31T00:00:00+00:00"


def test_by_month_counts_calls_where_they_arrived_and_splits_agent_time() -> None:
    feb = epoch(2027, 2, 1)
    calls = [
        CallRecord("a", "sales", feb - 10, feb, Outcome.ANSWERED, 3.0, agent="ann"),
        CallRecord("b", "sales", feb + 10, feb + 20, Outcome.ABANDONED, 9.0),
        CallRecord("c", "sales", feb + 30, feb + 40, Outcome.ABANDONED, 2.0),
    ]
    time = [
        AgentInterval("ann", AgentState.TALK, feb - 100, feb + 300),
        AgentInterval("ann", AgentState.READY, feb + 300, feb + 400),
    ]
    months = summarise_by_period(calls, time, period="month")
    assert list(months) == [epoch(2027, 1, 1), feb]
    january, february = months.values()
    assert (january["offered"], february["offered"], february["abandoned"]) == (1, 2, 2)
    assert january["occupancy"] == 1.0
    assert february["occupancy"] == 300 / 400
    days = summarise_by_period(calls, time, period="day", utc_offset_minutes=60)
    assert list(days) == [epoch(2027, 1, 31, 23)]  # all within Feb 1st at +01:00
    with pytest.raises(ValueError, match="period"):
        summarise_by_period(calls, period="year")  # type: ignore[arg-type]
