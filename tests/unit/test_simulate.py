"""`cti simulate` against queueing theory, its KPIs, its command line and its replay.

The Erlang checks run long enough (hundreds of thousands of calls) for an honest
tolerance: the run's own batch-means standard error bounds the ASA, and the
probability of waiting and the service level converge much faster.
"""

import asyncio
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from acd import AgentSpec, Outcome, Policy, QueueSpec, Router
from acd.baseline import QueueStrategyDispatcher, Strategy
from acd.simulate import CallResult, Shift, SimulationResult, simulate
from acd.traffic import NEVER, SimCall, Traffic, exponential, generate
from cti.cli import main
from cti.simulate_cli import recorded_calls
from reports import erlang, kpis
from reports.simulation import call_record, simulation_kpis

AGENTS, AHT = 10, 60.0


def mmc_run(
    load: float, calls: int, seed: int, patience: float | None = None, agents: int = AGENTS
) -> tuple[float, SimulationResult]:
    """About `calls` calls at `load` of AGENTS agents' capacity, answered by `agents`."""
    rate = load * AGENTS * 3600 / AHT
    traffic = Traffic(
        calls / rate,
        (rate,),
        exponential(AHT),
        patience=exponential(patience) if patience else NEVER,
    )
    ids = [f"a{i}" for i in range(agents)]
    router = Router(
        [QueueSpec("main", policy=Policy.EVEN, wrapup_seconds=0)],
        [AgentSpec(a, {}, ("main",)) for a in ids],
    )
    result = simulate(generate(traffic, random.Random(seed)), router, [Shift(a) for a in ids])
    return rate, result


def batch_standard_error(values: list[float], batches: int = 40) -> float:
    size = len(values) // batches
    means = [statistics.fmean(values[i * size : (i + 1) * size]) for i in range(batches)]
    return statistics.stdev(means) / batches**0.5


@pytest.mark.parametrize(
    ("load", "calls", "seed", "precision"),
    [(0.70, 200_000, 1, 0.06), (0.85, 200_000, 2, 0.06), (0.95, 300_000, 3, 0.25)],
)
def test_mmc_waits_match_erlang_c(load: float, calls: int, seed: int, precision: float) -> None:
    """The ASA within three standard errors of the run's batch means, the error itself
    below `precision` of the ASA. Near saturation waits are correlated over so many calls
    that 300,000 of them still leave a wide error: P(wait) and the service level, which
    converge much faster, carry the check there (and `bench/simulate.py` checks the ASA
    of a million calls)."""
    rate, result = mmc_run(load, calls, seed)
    assert result.unfinished == 0
    waits = [c.queue_seconds for c in sorted(result.calls, key=lambda c: c.arrived_at)]
    asa = statistics.fmean(waits)
    expected_asa = erlang.asa_seconds(rate, AHT, AGENTS)
    error = batch_standard_error(waits)
    assert error < precision * expected_asa  # the run is long enough to say something
    assert abs(asa - expected_asa) < 3 * error, (asa, expected_asa, error)
    p_wait = sum(1 for w in waits if w > 0) / len(waits)
    assert p_wait == pytest.approx(erlang.probability_of_wait(rate, AHT, AGENTS), abs=0.015)
    records = [call_record(c) for c in result.calls]
    assert kpis.service_level(records, 20) == pytest.approx(
        erlang.service_level(rate, AHT, AGENTS, 20), abs=0.015
    )
    assert kpis.asa_seconds(records) == pytest.approx(asa)


def erlang_a(rate_per_hour: float, agents: int, patience: float) -> tuple[float, float]:
    """P(wait) and P(abandon) of M/M/c+M from its birth-death chain."""
    arrival, service, abandon = rate_per_hour / 3600, 1 / AHT, 1 / patience
    weights, weight = [1.0], 1.0
    for k in range(1, agents + 4000):
        weight *= arrival / (min(k, agents) * service + max(k - agents, 0) * abandon)
        weights.append(weight)
    total = sum(weights)
    p_wait = sum(weights[agents:]) / total
    lost = sum(w * (k - agents) * abandon for k, w in enumerate(weights) if k > agents)
    return p_wait, lost / total / arrival


@pytest.mark.parametrize(("load", "agents"), [(0.95, 10), (0.95, 9), (0.95, 8)])
def test_impatient_callers_abandon_as_erlang_a_says(load: float, agents: int) -> None:
    rate, result = mmc_run(load, 60_000, 5, patience=90.0, agents=agents)
    records = [call_record(c) for c in result.calls]
    p_wait, p_abandon = erlang_a(rate, agents, 90.0)
    assert kpis.abandon_rate(records) == pytest.approx(p_abandon, abs=0.01)
    waited = sum(1 for r in records if r.queue_seconds > 0) / len(records)
    assert waited == pytest.approx(p_wait, abs=0.02)


def test_fewer_agents_and_shorter_patience_mean_more_abandons() -> None:
    rates = {}
    for agents, patience in ((10, 90.0), (8, 90.0), (8, 30.0)):
        _, result = mmc_run(0.9, 20_000, 9, patience=patience, agents=agents)
        rates[agents, patience] = kpis.abandon_rate([call_record(c) for c in result.calls])
    assert rates[10, 90.0] < rates[8, 90.0] < rates[8, 30.0]
    p_abandon = [erlang_a(0.9 * AGENTS * 60, a, p)[1] for a, p in rates]
    assert p_abandon == sorted(p_abandon)


def test_kpis_of_a_run_are_those_of_its_records() -> None:
    router = Router([QueueSpec("main", wrapup_seconds=30)], [AgentSpec("ann", {}, ("main",))])
    calls = [
        SimCall(10.0, "main", 2, "u1", handle_seconds=100.0, acw_seconds=10.0),
        SimCall(20.0, "main", 0, "u2", handle_seconds=50.0, patience=15.0),
        SimCall(30.0, "main", 0, "u1", handle_seconds=40.0),
    ]
    result = simulate(calls, router, [Shift("ann")])
    summary = simulation_kpis(result, sl_threshold=60)
    # ann: ready 0-10, talks 10-110, wrap-up 110-120, talks 120-160, wrap-up 160-190
    assert summary["offered"] == 3 and summary["answered"] == 2 and summary["abandoned"] == 1
    assert summary["asa_seconds"] == pytest.approx((0 + 90) / 2)
    assert summary["occupancy"] == pytest.approx(140 / 150)
    assert summary["occupancy_with_acw"] == pytest.approx(180 / 190)
    assert summary["service_level"] == 0.5
    assert summary["fcr_rate"] == 0.0  # u1 called twice: one cluster, not resolved first time
    assert summary["tiers"][2]["asa_seconds"] == 0 and summary["tiers"][0]["asa_seconds"] == 90
    abandoned = call_record(CallResult("c2", "main", 0, "u2", 20.0, Outcome.ABANDONED, 15.0, 35.0))
    assert abandoned.outcome is kpis.Outcome.ABANDONED and abandoned.talk_seconds is None


def test_the_baselines_take_the_same_traffic_through_the_same_loop() -> None:
    traffic = Traffic(50, (150.0,), exponential(200), patience=exponential(100))
    queues = [QueueSpec("main", wrapup_seconds=0)]
    agents = [AgentSpec(f"a{i}", {}, ("main",)) for i in range(9)]
    results = {}
    for strategy in Strategy:
        dispatcher = QueueStrategyDispatcher(queues, agents, strategy, seed=4)
        run = simulate(
            generate(traffic, random.Random(4)), dispatcher, [Shift(a.agent_id) for a in agents]
        )
        results[strategy] = run
        assert run.offered == len(run.calls) > 6000
    router = Router(queues, agents)
    ours = simulate(
        generate(traffic, random.Random(4)), router, [Shift(a.agent_id) for a in agents]
    )
    # identical agents, one first-come first-served line: who answers differs, waits do not
    waits = {s: [c.queue_seconds for c in sorted(r.calls)] for s, r in results.items()}
    assert all(w == waits[Strategy.LEASTRECENT] for w in waits.values())
    assert [c.queue_seconds for c in sorted(ours.calls)] == pytest.approx(waits[Strategy.RANDOM])
    per_agent = {
        s: sorted(sum(1 for c in r.calls if c.agent == a.agent_id) for a in agents)
        for s, r in results.items()
    }
    spread = {s: counts[-1] - counts[0] for s, counts in per_agent.items()}
    assert spread[Strategy.FEWESTCALLS] < spread[Strategy.RANDOM]
    assert spread[Strategy.FEWESTCALLS] < spread[Strategy.LEASTRECENT]


def cti(*args: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "cti.cli", "simulate", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return completed.stdout


def test_the_json_contract() -> None:
    out = cti(
        "--agents", "10", "--calls-per-hour", "168", "--aht", "180", "--hours", "100",
        "--seed", "3", "--format", "json",
    )  # fmt: skip
    lines = out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["offered"] == result["answered"] + result["abandoned"] > 15_000
    assert result["abandoned"] == 0
    # a short run: near Erlang C (the long runs above hold it to its standard error)
    assert 0.5 < result["asa_seconds"] / erlang.asa_seconds(168, 180, 10) < 2
    assert result["service_level"] == pytest.approx(erlang.service_level(168, 180, 10, 20), abs=0.1)
    assert result["asa_seconds"] == result["avg_queue_seconds"]
    assert result["occupancy"] == pytest.approx(0.84, abs=0.04)  # 8.4 erlangs, 10 agents
    talk = result["avg_talk_seconds"] * result["answered"]
    assert result["occupancy"] == pytest.approx(talk / (10 * result["simulated_seconds"]))
    assert result["avg_acw_seconds"] == 0


def test_the_threshold_formats_and_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    common = ["simulate", "--agents", "5", "--calls-per-hour", "80", "--aht", "180"]
    common += ["--hours", "20", "--seed", "2", "--quiet"]
    assert main([*common, "--format", "json"]) == 0
    at_20 = json.loads(capsys.readouterr().out)
    assert main([*common, "--format", "json", "--sl-threshold", "60"]) == 0
    at_60 = json.loads(capsys.readouterr().out)
    assert at_20["offered"] == at_60["offered"]
    assert at_20["service_level"] < at_60["service_level"]
    assert main([*common, "--format", "csv", "--policy", "value", "--policy", "leastrecent"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("policy,offered,answered,abandoned,service_level,asa_seconds")
    assert [r.split(",")[0] for r in rows[1:]] == ["value", "leastrecent"]
    assert main([*common, "--compare", "--tiers", "0:0.8,2:0.2", "--patience", "60"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        *("even", "round_robin", "skills", "value"),
        *("leastrecent", "fewestcalls", "rrmemory", "random"),
    ]
    assert [line.split()[0] for line in table[1:]][-2:] == ["asa_tier_0", "asa_tier_2"]
    assert main([*common, "--agents", "0"]) == 2


def test_recorded_calls_replay_from_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import insert

    from cti.db import create_engine
    from cti.store.models import Call
    from cti.store.schema import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    start = 1_767_600_000.0
    rows = []
    for i in range(200):
        answered = i % 10 != 0
        rows.append(
            {
                "tenant_id": "acme",
                "call_id": f"r{i}",
                "queue": "sales" if i % 2 else "support",
                "queued_at": start + 30 * i,
                "tier": i % 3,
                "outcome": "answered" if answered else "abandoned",
                "talk_seconds": 120.0 if answered else None,
                "hold_seconds": 10.0 if answered else 0.0,
                "queue_seconds": 5.0,
                "acw_seconds": 15.0 if answered else None,
            }
        )

    async def store() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(Call), rows)
            other = {**rows[0], "tenant_id": "other", "call_id": "x"}
            await connection.execute(insert(Call), [other])
        await engine.dispose()

    asyncio.run(store())
    args = ["simulate", "--replay", str(start), str(start + 3000), "--url", url]
    args += ["--tenant", "acme", "--agents", "8", "--aht", "130", "--wrapup", "15"]
    args += ["--format", "json", "--quiet"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["offered"] == 100  # 100 calls queued in the first 3000 s
    assert set(result["queues"]) == {"sales", "support"}
    assert result["avg_talk_seconds"] == pytest.approx(130.0)
    replayed = recorded_calls(rows[:2], start, default_handle=99.0)
    assert replayed[0] == SimCall(0.0, "support", 0, None, 99.0, 5.0, (), None)
    assert replayed[1].handle_seconds == 130.0 and replayed[1].patience is None


def test_the_configured_center_runs_with_its_own_policies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cti.config import load_config

    config_dir = Path(__file__).resolve().parents[2] / "config"
    tenant = load_config(config_dir).tenants[0]
    args = ["--config-dir", str(config_dir), "simulate", "--configured"]
    args += ["--tenant", tenant.tenant.id, "--hours", "3", "--calls-per-hour", "30"]
    args += ["--aht", "120", "--wrapup", "10", "--quiet", "--format", "json"]
    assert main([*args, "--policy", "configured", "--policy", "rrmemory"]) == 0
    runs = json.loads(capsys.readouterr().out)["policies"]
    assert set(runs) == {"configured", "rrmemory"}
    for kpis_of_run in runs.values():
        assert set(kpis_of_run["queues"]) <= {q.id for q in tenant.queues}
        assert kpis_of_run["offered"] > 40 and kpis_of_run["unfinished"] == 0
    assert main([*args, "--tenant", "nobody"]) == 2
