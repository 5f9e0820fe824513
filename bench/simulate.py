"""Benchmark of the simulator: a year of a 50-agent center through the real routing core.

Generated traffic (Poisson arrivals around the clock, exponential handle times of
1,340 s: 85% occupancy, about a million calls a year) runs through `acd.Router`
(value policy) on a virtual clock, then every KPI is computed with `reports.kpis`,
exactly as `cti simulate` does. Figures: calls, router events, wall-clock and CPU
seconds of the simulation and of the KPIs, calls per second overall.

`--quick` simulates a month (about 80,000 calls); `--hours` sets any length.
`--json` prints one JSON object as the last line.
"""

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd import AgentSpec, Policy, QueueSpec, Router, SkillNeed
from acd.simulate import Shift, simulate
from acd.traffic import Traffic, exponential, generate
from reports.erlang import asa_seconds
from reports.simulation import simulation_kpis

AGENTS = 50
AHT = 1340.0
CALLS_PER_HOUR = 114.16  # 1,000,000 calls over 8,760 hours; 42.5 erlangs


def run(hours: float, seed: int, progress: bool) -> dict[str, float]:
    queue = QueueSpec("main", policy=Policy.VALUE, needs=(SkillNeed("main"),), wrapup_seconds=0)
    ids = [f"agent{i:02d}" for i in range(AGENTS)]
    router = Router([queue], [AgentSpec(a, {"main": 1}, ("main",)) for a in ids])
    traffic = Traffic(hours, (CALLS_PER_HOUR,), exponential(AHT))

    def report(now: float, finished: int) -> None:
        if progress:
            print(f"  {now / 3600 / hours:6.1%} simulated, {finished} calls", file=sys.stderr)

    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate(
            generate(traffic, random.Random(seed)),
            router,
            [Shift(a) for a in ids],
            progress=report if progress else None,
        )
        sim_wall, sim_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        kpis = simulation_kpis(result)
        kpi_wall, kpi_cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.enable()
    calls = len(result.calls)
    seconds = sim_wall + kpi_wall
    return {
        "hours": hours,
        "agents": AGENTS,
        "calls": calls,
        "events": result.events,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(sim_cpu + kpi_cpu, 2),
        "simulate_seconds": round(sim_wall, 2),
        "kpi_seconds": round(kpi_wall, 2),
        "simulate_cpu_seconds": round(sim_cpu, 2),
        "kpi_cpu_seconds": round(kpi_cpu, 2),
        "calls_per_second": round(calls / seconds),
        "calls_per_cpu_second": round(calls / (sim_cpu + kpi_cpu)),
        "asa_seconds": round(kpis["asa_seconds"], 2),
        "erlang_c_asa_seconds": round(asa_seconds(CALLS_PER_HOUR, AHT, AGENTS), 2),
        "service_level": round(kpis["service_level"], 4),
        "occupancy": round(kpis["occupancy"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a month instead of a year")
    parser.add_argument("--hours", type=float, help="simulated hours of arrivals")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    args = parser.parse_args()
    hours = args.hours or (730.0 if args.quick else 8760.0)
    figures = run(hours, args.seed, progress=not args.json)
    print(
        f"{figures['calls']:,} calls ({figures['events']:,} router events) over {hours:,.0f} h "
        f"with {AGENTS} agents: simulated in {figures['simulate_seconds']} s, KPIs in "
        f"{figures['kpi_seconds']} s; {figures['calls_per_second']:,} calls/s "
        f"(CPU {figures['cpu_seconds']} s)"
    )
    print(
        f"ASA {figures['asa_seconds']} s (Erlang C {figures['erlang_c_asa_seconds']} s), "
        f"service level {figures['service_level']:.1%}, occupancy {figures['occupancy']:.1%}"
    )
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
