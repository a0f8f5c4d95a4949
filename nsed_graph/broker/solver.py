"""Exact seat binding with OR-Tools CP-SAT.

CP-SAT works on integers, so every float is scaled, in two ways:

- values: ``round(V * VALUE_SCALE)`` with ``VALUE_SCALE = 10**6``; the objective of the table
  found is within ``seats * 0.5e-6`` of the true optimum, below any difference telemetry can
  measure;
- budgets: each seat's spend ``w`` against a cap ``C`` becomes ``round(w / C * 10**9)`` against
  ``10**9 + floor(k / 2)``, k the most seats that can add up. That slack absorbs the rounding
  of k seats, so a table that fits in real numbers is never rejected, and a table accepted
  overshoots by at most ``k * 1e-9`` of the cap (float noise). A seat that alone exceeds a cap
  is fixed to 0 in real numbers before any scaling, so no coefficient can overflow.

The lexicographic preference of ``model.rank`` becomes one weighted objective: the value part
lies in ``[-A, A]`` (A = sum over agents of their largest ``|V'|``), so a weight of ``2A + 1`` per
avoided seat dominates any value difference, and a weight of ``(2A + 1) * (avoidable + 1)`` per
seat of size deviation dominates both. When the table cannot outgrow its target (the usual case:
the target is the table size), the deviation is the target minus the seats, so each seat simply
earns that weight and no deviation variable is needed.

OR-Tools is imported inside ``solve_exact`` so that ``import nsed_graph`` stays fast and the
default fixed binding never loads it. One worker and a fixed seed make the search reproducible.
Presolve is off: on these models (a few hundred to a few thousand Booleans, a handful of
knapsacks) it cost more than it saved, three to five times the solve time in
``benchmarks/broker_bench.py``, with the same optima.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nsed_graph.broker.model import SUMMED_DIMENSIONS, Problem

VALUE_SCALE = 10**6
BUDGET_RESOLUTION = 10**9

SolveStatus = Literal["optimal", "feasible", "infeasible", "unknown", "error"]


@dataclass(frozen=True)
class SolveResult:
    """What CP-SAT returned: ``chosen`` holds option indices, empty without a solution.

    ``seconds`` covers building the model and solving it, not the first import of OR-Tools.
    """

    status: SolveStatus
    chosen: tuple[int, ...]
    seconds: float
    detail: str


def solve_exact(
    problem: Problem, *, time_limit_s: float = 1.0, seed: int = 0, hint: Sequence[int] = ()
) -> SolveResult:
    """Maximise the table's value under every constraint of ``problem``; never raises.

    ``hint`` (a feasible table, typically the greedy one) only speeds the search up.
    """
    try:
        from ortools.sat.python import cp_model
    except ImportError as error:
        return SolveResult("error", (), 0.0, f"OR-Tools is not available ({error})")
    started = time.perf_counter()
    model = cp_model.CpModel()
    chosen = [model.new_bool_var(f"x{i}") for i in range(len(problem.options))]
    builder = _Builder(cp_model, model, problem, chosen)
    builder.add_constraints()
    model.maximize(builder.objective())
    hinted = set(hint)
    for i, variable in enumerate(chosen):
        model.add_hint(variable, i in hinted)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.cp_model_presolve = False
    name = solver.status_name(solver.solve(model))
    status = _STATUS.get(name, "error")
    picked: tuple[int, ...] = ()
    if status in ("optimal", "feasible"):
        picked = tuple(i for i, variable in enumerate(chosen) if solver.boolean_value(variable))
    return SolveResult(status, picked, time.perf_counter() - started, f"CP-SAT {name}")


_STATUS: dict[str, SolveStatus] = {
    "OPTIMAL": "optimal",
    "FEASIBLE": "feasible",
    "INFEASIBLE": "infeasible",
    "UNKNOWN": "unknown",
}


class _Builder:
    """Writes ``problem`` into a CP-SAT model; holds the module so OR-Tools stays a lazy import."""

    def __init__(self, cp: Any, model: Any, problem: Problem, chosen: list[Any]) -> None:
        self.cp, self.model, self.problem, self.chosen = cp, model, problem, chosen
        self.by_agent: dict[int, list[Any]] = defaultdict(list)
        self.by_role: dict[str, list[Any]] = defaultdict(list)
        self.by_family: dict[str, list[Any]] = defaultdict(list)
        for option, variable in zip(problem.options, chosen, strict=True):
            self.by_agent[option.agent].append(variable)
            self.by_role[option.role].append(variable)
            self.by_family[problem.candidates[option.agent].family].append(variable)

    def total(self, variables: Sequence[Any]) -> Any:
        return self.cp.LinearExpr.sum(list(variables))

    def add_constraints(self) -> None:
        model, problem = self.model, self.problem
        for agent, candidate in enumerate(problem.candidates):
            seats = self.total(self.by_agent[agent])
            model.add(seats == 1 if candidate.pinned else seats <= 1)
        for role in self.by_role.keys() | problem.role_bounds.keys():
            low, high = problem.role_bounds.get(role, (0, 0))
            seats = self.total(self.by_role[role])
            model.add(seats >= low)
            if high is not None:
                model.add(seats <= high)
        proposing = [v for role in problem.proposing for v in self.by_role[role]]
        reviewing = [v for role in problem.reviewing for v in self.by_role[role]]
        model.add(self.total(proposing) >= problem.min_proposing)
        model.add(self.total(reviewing) >= problem.min_reviewing)
        if problem.max_size is not None:
            model.add(self.total(self.chosen) <= problem.max_size)
        self.add_budgets()
        self.add_diversity()

    def add_budgets(self) -> None:
        problem = self.problem
        spends = {d: [getattr(o, d) for o in problem.options] for d in SUMMED_DIMENSIONS}
        spends["memory_gb"] = [problem.candidates[o.agent].memory_gb for o in problem.options]
        most_seats = len(problem.candidates)
        if problem.max_size is not None:
            most_seats = min(most_seats, problem.max_size)
        for dimension, spend in spends.items():
            cap = problem.limit(dimension)
            if cap is not None:
                self.add_knapsack(spend, cap, most_seats)
        latency_cap = problem.limit("latency_s")
        if latency_cap is not None:
            for option, variable in zip(problem.options, self.chosen, strict=True):
                if option.latency_s > latency_cap:
                    self.model.add(variable == 0)

    def add_knapsack(self, spends: list[float], cap: float, most_seats: int) -> None:
        variables: list[Any] = []
        weights: list[int] = []
        for variable, spend in zip(self.chosen, spends, strict=True):
            if spend > cap:
                self.model.add(variable == 0)
            elif spend > 0:
                variables.append(variable)
                weights.append(round(spend / cap * BUDGET_RESOLUTION))
        if variables:
            used = self.cp.LinearExpr.weighted_sum(variables, weights)
            self.model.add(used <= BUDGET_RESOLUTION + most_seats // 2)

    def add_diversity(self) -> None:
        families = list(self.by_family.values())
        if self.problem.max_per_family is not None:
            for variables in families:
                self.model.add(self.total(variables) <= self.problem.max_per_family)
        if self.problem.min_families > 1:
            present = [self.model.new_bool_var(f"family{i}") for i in range(len(families))]
            for flag, variables in zip(present, families, strict=True):
                self.model.add(flag <= self.total(variables))
            self.model.add(self.total(present) >= self.problem.min_families)

    def objective(self) -> Any:
        problem, chosen = self.problem, self.chosen
        values = [round(option.value * VALUE_SCALE) for option in problem.options]
        largest = [0] * len(problem.candidates)
        for option, value in zip(problem.options, values, strict=True):
            largest[option.agent] = max(largest[option.agent], abs(value))
        avoid_weight = 2 * sum(largest) + 1
        avoidable = sum(candidate.avoid for candidate in problem.candidates)
        size_weight = avoid_weight * (avoidable + 1)
        target = problem.target_size
        most_seats = len(problem.candidates)
        if problem.max_size is not None:
            most_seats = min(most_seats, problem.max_size)
        # When the table cannot outgrow the target, |seats - target| = target - seats: each seat
        # simply earns size_weight, with no deviation variable for the solver to reason about.
        one_sided = target is not None and most_seats <= target
        coefficients = [
            value + (size_weight if one_sided else 0) - (avoid_weight if self.avoid(o.agent) else 0)
            for o, value in zip(problem.options, values, strict=True)
        ]
        objective = self.cp.LinearExpr.weighted_sum(chosen, coefficients)
        if target is None or one_sided:
            return objective
        deviation = self.model.new_int_var(0, max(target, most_seats), "deviation")
        self.model.add(deviation >= self.total(chosen) - target)
        self.model.add(deviation >= target - self.total(chosen))
        return objective - size_weight * deviation

    def avoid(self, agent: int) -> bool:
        return self.problem.candidates[agent].avoid
