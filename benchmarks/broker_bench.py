"""How fast the broker's CP-SAT model solves, and how far the greedy fallback falls behind.

Run ``python benchmarks/broker_bench.py``. Random instances with a fixed seed: 10, 50 and 200
agents by 3 to 8 roles. The graph knows four roles; beyond them the benchmark adds synthetic
specialist roles (neither proposing nor reviewing) to see how the model scales with more.

Each instance has a table of ``min(n / 2, roles + 3)`` seats, per-role bounds, a memory budget
that fits about two thirds of an average table, a money budget, at least three families and at
most two seats per family, and one agent to avoid. Solve time covers building the model and
solving it with one worker, after OR-Tools was imported and one model solved to warm up; wall
time in milliseconds, and the process's CPU time, steadier on a shared machine.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

# Runs from a checkout too, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nsed_graph.broker.greedy import greedy
from nsed_graph.broker.model import Candidate, Option, Problem, rank, total_value
from nsed_graph.broker.solver import solve_exact

AGENTS = (10, 50, 200)
ROLE_COUNTS = range(3, 9)
INSTANCES = 10
SEED = 20260124
TIME_LIMIT_S = 10.0
BASE_ROLES = ("proposer_reviewer", "proposer", "reviewer", "compressor")


def instance(rng: random.Random, n: int, role_count: int) -> Problem:
    roles = [*BASE_ROLES, *(f"specialist{i}" for i in range(role_count - 4))][:role_count]
    table = min(n // 2, role_count + 3)
    families = max(3, n // 4)
    candidates = tuple(
        Candidate(
            id=f"m{i}",
            family=f"f{rng.randrange(families)}",
            memory_gb=rng.uniform(1.0, 40.0),
            avoid=i == 0,
        )
        for i in range(n)
    )
    options: list[Option] = []
    for agent in range(n):
        quality = rng.uniform(0.3, 0.9)
        money = rng.uniform(0.0, 0.02)
        for role in roles:
            if rng.random() < 0.8:
                calls = 2 if role == "proposer_reviewer" else 1
                value = quality + rng.gauss(0.0, 0.05)
                options.append(Option(agent, role, value, money_per_round=money * calls))
    bounds: dict[str, tuple[int, int | None]] = {role: (0, 2) for role in roles}
    bounds["proposer_reviewer"] = (1, table)
    bounds["reviewer"] = (1, 2)
    return Problem(
        candidates=candidates,
        options=tuple(options),
        role_bounds=bounds,
        limits={"memory_gb": table * 14.0, "money_per_round": table * 0.015},
        min_families=3,
        max_per_family=2,
        max_size=table,
        target_size=table,
    )


def main() -> None:
    rng = random.Random(SEED)
    solve_exact(instance(random.Random(0), 10, 3))  # warm-up: import OR-Tools, first solve
    print(f"CP-SAT, one worker; {INSTANCES} random instances per row, seed {SEED}")
    print("proved: CP-SAT proved the optimum (or infeasibility); greedy gap: value lost on")
    print("instances where greedy seats as many and avoids as well; greedy short: fewer seats")
    print("or more avoided agents than the optimum; greedy none: no table at all\n")
    header = (
        "agents",
        "roles",
        "median ms",
        "max ms",
        "median cpu",
        "proved",
        "infeasible",
        "gap mean",
        "gap max",
        "greedy short",
        "greedy none",
    )
    print(" ".join(f"{h:>10}" for h in header))
    every_proved = True
    for n in AGENTS:
        for role_count in ROLE_COUNTS:
            row, proved = _row(rng, n, role_count)
            every_proved &= proved == INSTANCES
            print(" ".join(f"{cell:>10}" for cell in row))
    print(f"\nCP-SAT proved every instance: {'yes' if every_proved else 'NO'}")


def _row(rng: random.Random, n: int, role_count: int) -> tuple[tuple[object, ...], int]:
    """One printed row, and how many of its instances CP-SAT proved."""
    times: list[float] = []
    cpu: list[float] = []
    gaps: list[float] = []
    proved = infeasible = short = none = 0
    for _ in range(INSTANCES):
        problem = instance(rng, n, role_count)
        started, started_cpu = time.perf_counter(), time.process_time()
        result = solve_exact(problem, time_limit_s=TIME_LIMIT_S)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        proved += result.status in ("optimal", "infeasible")
        infeasible += result.status == "infeasible"
        fallback = greedy(problem)
        if fallback is None:
            none += result.status != "infeasible"
        elif rank(problem, fallback)[:2] != rank(problem, result.chosen)[:2]:
            short += 1
        else:
            best = total_value(problem, result.chosen)
            gaps.append((best - total_value(problem, fallback)) / abs(best))
    mean_gap = f"{100 * statistics.mean(gaps):.2f}%" if gaps else "-"
    max_gap = f"{100 * max(gaps):.2f}%" if gaps else "-"
    cells = (
        n,
        role_count,
        f"{statistics.median(times):.1f}",
        f"{max(times):.1f}",
        f"{statistics.median(cpu):.1f}",
        f"{proved}/{INSTANCES}",
        infeasible,
        mean_gap,
        max_gap,
        short,
        none,
    )
    return cells, proved


if __name__ == "__main__":
    main()
