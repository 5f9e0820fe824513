"""Reading Asterisk's queue_log into KPIs, and writing its lines."""

import json

import pytest

from reports.kpis import Outcome
from reports.queue_log import format_queue_log_line, read_queue_log

# A morning on two queues, as Asterisk 16 writes it, with some damage at the end.
LOG = """\
1795454000|NONE|NONE|NONE|QUEUESTART|
1795454001|NONE|sales|Local/100@agents|ADDMEMBER|
1795454002|NONE|sales|Local/101@agents|ADDMEMBER|
1795454059|1795454059.35|sales|NONE|ENTERQUEUE||+33612345678|1
1795454060|1795454060.36|sales|NONE|ENTERQUEUE||06 12 34 56 79|2
1795454070|1795454060.36|sales|Bob|RINGNOANSWER|5000
1795454070|NONE|sales|Bob|PAUSE|RONA
1795454078|1795454059.35|sales|Alice|CONNECT|19|1795454077.46|1
1795454083|1795454059.35|sales|Alice|COMPLETEAGENT|19|5|1
1795454089|1795454060.36|sales|NONE|ABANDON|1|2|29
1795454090|1795454090.40|support|NONE|ENTERQUEUE||anonymous|1
1795454092|1795454090.40|support|NONE|ABANDON|1|1|2
1795454100|1795454100.41|support|NONE|ENTERQUEUE||+33 6 12 34 56 78|1
1795454124|1795454100.41|support|Carol|RINGCANCELED|1200
1795454125|1795454100.41|support|Carol|CONNECT|25|1795454124.50|3
1795454185|1795454100.41|support|Carol|BLINDTRANSFER|700|default|25|60|1
1795454200|1795454200.42|sales|NONE|ENTERQUEUE|||1
1795454260|1795454200.42|sales|NONE|EXITWITHTIMEOUT|1|1|60
1795454260|1795454200.42|support|NONE|ENTERQUEUE|||1
1795454280|1795454200.42|support|Carol|CONNECT|20|1795454279.55|2
1795454300|1795454200.42|support|Carol|COMPLETECALLER|20|20|1
1795454310|1795454310.60|sales|NONE|ENTERQUEUE||+33700000000|1
1795454315|1795454315.70|sales|NONE|ENTERQUEUE|||1
1795454320|1795454315.70|sales|Alice|CONNECT|abc|1795454319.80|1
1795454330|1795454315.70|sales|Alice|COMPLETEAGENT|5|10|1

garbage line
1795454311|x|sales
notanumber|a|b|c|CONNECT|1
1795454312|1795454310.60|sales|NONE|FOOBAR|1
1795454313|1795454310.60|sales|NONE|FOOBAR|1
1795454314|NONE|sales|NONE|WEIRDEVENT|
""".splitlines(keepends=True)

UNKNOWN_TO_QUEUE_LOG = {
    "avg_hold_seconds": None,
    "avg_acw_seconds": None,
    "aht_seconds": None,
    "occupancy": None,
    "occupancy_with_acw": None,
    "resolved_mark_rate": None,
}
ABOVE_20 = {band: 1.0 for band in range(30, 121, 10)}


def test_a_realistic_log_per_queue_and_in_total() -> None:
    report = read_queue_log(LOG)
    assert list(report.queues) == ["sales", "support"]
    bands = {q: report.queues[q].pop("service_level_bands") for q in report.queues}
    assert bands["sales"] == pytest.approx({5: 0.5, 10: 0.5, 15: 0.5, 20: 1.0, **ABOVE_20})
    assert bands["support"] == pytest.approx({5: 0, 10: 0, 15: 0, 20: 0.5, **ABOVE_20})
    total_bands = report.total.pop("service_level_bands")
    assert total_bands == pytest.approx({5: 0.25, 10: 0.25, 15: 0.25, 20: 0.75, **ABOVE_20})
    assert report.queues["sales"] == pytest.approx(
        {
            "offered": 4,  # .35 answered, .36 abandoned, .42 timed out, .70 answered
            "answered": 2,
            "abandoned": 1,
            "short_abandoned": 0,
            "transferred": 0,
            "asa_seconds": 12.0,  # (19 + 5) / 2
            "avg_queue_seconds": 53 / 3,  # (19 + 29 + 5) / 3
            "avg_talk_seconds": 7.5,
            "fcr_rate": 1.0,  # +33612345678's one sales call (then support: not a repeat here)
            "abandon_rate": 1 / 4,
            "abandon_rate_excl_short": 1 / 4,
            "service_level": 1.0,
            "service_level_with_abandons": 2 / 3,
            "longest_wait_seconds": 60.0,
            **UNKNOWN_TO_QUEUE_LOG,
        }
    )
    assert report.queues["support"] == pytest.approx(
        {
            "offered": 3,  # .40 short abandon, .41 transferred, .42 overflowed from sales
            "answered": 2,
            "abandoned": 1,
            "short_abandoned": 1,
            "transferred": 1,
            "asa_seconds": 22.5,
            "avg_queue_seconds": 47 / 3,
            "avg_talk_seconds": 40.0,
            "fcr_rate": 1.0,  # its one support call (a queue's repeats are its own calls')
            "abandon_rate": 1 / 3,
            "abandon_rate_excl_short": 0.0,
            "service_level": 0.5,  # 20 s is within 20 s, 25 s is not
            "service_level_with_abandons": 0.5,
            "longest_wait_seconds": 25.0,
            **UNKNOWN_TO_QUEUE_LOG,
        }
    )
    assert report.total == pytest.approx(
        {
            "offered": 7,
            "answered": 4,
            "abandoned": 2,
            "short_abandoned": 1,
            "transferred": 1,
            "asa_seconds": 69 / 4,
            "avg_queue_seconds": 100 / 6,
            "avg_talk_seconds": 95 / 4,
            "fcr_rate": 0.0,
            "abandon_rate": 2 / 7,
            "abandon_rate_excl_short": 1 / 6,
            "service_level": 3 / 4,
            "service_level_with_abandons": 3 / 5,
            "longest_wait_seconds": 60.0,
            **UNKNOWN_TO_QUEUE_LOG,
        }
    )


def test_damage_is_counted_not_fatal() -> None:
    report = read_queue_log(LOG)
    assert report.unknown_events == {"FOOBAR": 2, "WEIRDEVENT": 1}
    # "garbage line", the 3-field line, the bad timestamp and CONNECT|abc; the blank line
    # is not damage.
    assert report.malformed_lines == 4
    assert report.incomplete_calls == 1  # .60 still waiting when the log ends


def test_call_records_carry_what_the_log_says() -> None:
    calls = {(c.call_id, c.queue): c for c in read_queue_log(LOG).calls}
    first = calls["1795454059.35", "sales"]
    assert (first.agent, first.answered_at, first.ended_at) == ("Alice", 1795454078, 1795454083)
    assert (first.queue_seconds, first.talk_seconds) == (19, 5)
    assert first.caller_number == "+33612345678"
    assert first.hold_seconds is None  # CONNECT's holdtime is the queue wait
    assert calls["1795454060.36", "sales"].caller_number == "0612345679"
    assert calls["1795454090.40", "support"].caller_number is None
    transferred = calls["1795454100.41", "support"]
    assert transferred.transferred and transferred.talk_seconds == 60
    timeout = calls["1795454200.42", "sales"]
    assert (timeout.outcome, timeout.queue_seconds) == (Outcome.TIMEOUT, 60)
    repaired = calls["1795454315.70", "sales"]  # its CONNECT was damaged; COMPLETEAGENT tells
    assert (repaired.outcome, repaired.answered_at, repaired.queue_seconds) == (
        Outcome.ANSWERED,
        1795454320,
        5,
    )


def test_filters_by_queue_and_time() -> None:
    support = read_queue_log(LOG, queue="support")
    assert list(support.queues) == ["support"]
    assert support.total["offered"] == 3
    morning = read_queue_log(LOG, from_epoch=1795454060, to_epoch=1795454200)
    assert [(c.call_id, c.queue) for c in morning.calls] == [
        ("1795454060.36", "sales"),
        ("1795454090.40", "support"),
        ("1795454100.41", "support"),
    ]
    assert morning.incomplete_calls == 0


def test_thresholds_pass_through() -> None:
    report = read_queue_log(LOG, sl_threshold=19, short_abandon=2)
    assert report.total["service_level"] == pytest.approx(2 / 4)  # 19 and 5 only
    assert report.total["short_abandoned"] == 0  # a 2 s wait is not under 2 s


def test_other_exits_and_transfers() -> None:
    log = [
        "10|a|q|NONE|ENTERQUEUE||100|1",
        "15|a|q|NONE|EXITWITHKEY|5|1|1|5",
        "20|b|q|NONE|ENTERQUEUE||100|1",
        "22|b|q|NONE|EXITEMPTY|1|1|2",
        "30|c|q|NONE|ENTERQUEUE||100|1",
        "33|c|q|Ann|CONNECT|3|x.1|1",
        "73|c|q|Ann|ATTENDEDTRANSFER|BRIDGE|bridge-id|3|40|1",
        "80|d|q|NONE|ENTERQUEUE||100|1",
        "81|d|q|Ann|CONNECT|1|x.2|1",
        "90|d|q|Ann|TRANSFER|200|default|1|9|1",
        "95|e|q|NONE|ENTERQUEUE||100|1",
        "96|e|q|NONE|EXITWITHTIMEOUT|1",
    ]
    calls = {c.call_id: c for c in read_queue_log(log).calls}
    assert (calls["a"].outcome, calls["a"].queue_seconds) == (Outcome.EXITED, 5)
    assert (calls["b"].outcome, calls["b"].queue_seconds) == (Outcome.EXITED, 2)
    assert (calls["c"].talk_seconds, calls["c"].transferred) == (40, True)
    assert (calls["d"].talk_seconds, calls["d"].transferred) == (9, True)
    assert calls["e"].queue_seconds == 1  # no waittime field: from the ENTERQUEUE time


def test_an_answered_call_still_talking_counts_as_answered() -> None:
    report = read_queue_log(["1|a|q|NONE|ENTERQUEUE|||1", "4|a|q|Ann|CONNECT|3|x|1"])
    assert (report.total["answered"], report.total["avg_talk_seconds"]) == (1, None)
    assert report.incomplete_calls == 0


def test_to_json() -> None:
    report = read_queue_log(LOG)
    data = json.loads(report.to_json())
    assert set(data) == {"queues", "total"}
    assert data["total"]["offered"] == 7
    assert data["queues"]["support"]["fcr_rate"] == 1.0


def test_writer_matches_asterisk_and_reads_back() -> None:
    lines = [
        format_queue_log_line(
            1795454059, "1795454059.35", "sales", "", "ENTERQUEUE", "", "+3361", 1
        ),
        format_queue_log_line(
            1795454078.9, "1795454059.35", "sales", "Alice", "CONNECT", 19, "b", 1
        ),
        format_queue_log_line(
            1795454083, "1795454059.35", "sales", "Alice", "COMPLETEAGENT", 19, 5, 1
        ),
    ]
    assert lines == [
        "1795454059|1795454059.35|sales|NONE|ENTERQUEUE||+3361|1",
        "1795454078|1795454059.35|sales|Alice|CONNECT|19|b|1",
        "1795454083|1795454059.35|sales|Alice|COMPLETEAGENT|19|5|1",
    ]
    assert format_queue_log_line(1, "", "", "", "QUEUESTART") == "1|NONE|NONE|NONE|QUEUESTART"
    total = read_queue_log(lines).total
    assert (total["answered"], total["asa_seconds"], total["avg_talk_seconds"]) == (1, 19, 5)


@pytest.mark.parametrize(
    "fields",
    [
        ("c|1", "q", "a", "CONNECT"),
        ("c", "q", "a", "CONNECT", "x\n"),
        ("c", "q", "a", ""),
        ("c", "q", "a", "CONNECT|X"),
        ("c", "q", "a", "connect"),
    ],
)
def test_writer_refuses_what_would_break_a_line(fields: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        format_queue_log_line(1, *fields)
