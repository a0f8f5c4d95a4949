"""The seat-binding problem as plain data, and the checks every solution must pass.

The exact solver, the greedy fill and the tests all read this one description, so they cannot
disagree about what a feasible table is. Roles are plain strings here (the graph uses the four
``SeatRole`` names; the benchmark adds synthetic ones), and every number is a float in the
user's units: scaling to integers is the CP-SAT module's business alone.

Preferences between feasible tables are lexicographic (``rank``): first keep the table at its
target size, then seat as few agents to avoid (failed last round, or benched) as possible, then
maximise the total value. That order is what "replace a failed agent when a substitute fits,
keep the table size stable unless the budget forces a change" means as an objective.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PROPOSING = frozenset({"proposer_reviewer", "proposer"})
REVIEWING = frozenset({"proposer_reviewer", "reviewer"})
SUMMED_DIMENSIONS = ("money_per_round", "tokens_per_round")
DIMENSIONS = ("money_per_round", "tokens_per_round", "memory_gb", "latency_s")


@dataclass(frozen=True)
class Candidate:
    """An agent that may sit this round (excluded agents never become candidates)."""

    id: str
    family: str
    memory_gb: float = 0.0
    pinned: bool = False
    avoid: bool = False


@dataclass(frozen=True)
class Option:
    """One eligible (agent, role) pair: its value and what the seat spends per round."""

    agent: int
    role: str
    value: float
    money_per_round: float = 0.0
    tokens_per_round: float = 0.0
    latency_s: float = 0.0


@dataclass(frozen=True)
class Problem:
    """Everything the broker optimises; ``limits`` is keyed by ``DIMENSIONS`` (None: no cap)."""

    candidates: tuple[Candidate, ...]
    options: tuple[Option, ...]
    role_bounds: Mapping[str, tuple[int, int | None]]
    limits: Mapping[str, float | None] = field(default_factory=dict)
    min_families: int = 1
    max_per_family: int | None = None
    max_size: int | None = None
    target_size: int | None = None
    proposing: frozenset[str] = PROPOSING
    reviewing: frozenset[str] = REVIEWING
    min_proposing: int = 2
    min_reviewing: int = 1

    def limit(self, dimension: str) -> float | None:
        return self.limits.get(dimension)


def total_value(problem: Problem, chosen: Iterable[int]) -> float:
    return sum(problem.options[i].value for i in chosen)


def budget_used(problem: Problem, chosen: Sequence[int]) -> dict[str, float]:
    """Spend per dimension: money and tokens add up, memory adds up per agent, latency is the
    slowest seat, because the seats of a round run in parallel."""
    picked = [problem.options[i] for i in chosen]
    return {
        "money_per_round": sum(o.money_per_round for o in picked),
        "tokens_per_round": sum(o.tokens_per_round for o in picked),
        "memory_gb": sum(problem.candidates[o.agent].memory_gb for o in picked),
        "latency_s": max((o.latency_s for o in picked), default=0.0),
    }


def rank(problem: Problem, chosen: Sequence[int]) -> tuple[int, int, float]:
    """Sort key of a feasible table, lower is better (see the module docstring)."""
    size = len(chosen)
    deviation = abs(size - problem.target_size) if problem.target_size is not None else 0
    avoided = sum(problem.candidates[problem.options[i].agent].avoid for i in chosen)
    return deviation, avoided, -total_value(problem, chosen)


def violations(problem: Problem, chosen: Sequence[int], *, tolerance: float = 1e-9) -> list[str]:
    """Every constraint the table breaks, in words; empty when the table is feasible.

    ``tolerance`` is relative to each budget, and absorbs float rounding of sums only.
    """
    picked = [problem.options[i] for i in chosen]
    problems: list[str] = []
    seats = Counter(o.agent for o in picked)
    problems += [
        f"{problem.candidates[a].id} holds {n} seats" for a, n in sorted(seats.items()) if n > 1
    ]
    problems += [
        f"pinned {c.id} is not seated"
        for a, c in enumerate(problem.candidates)
        if c.pinned and a not in seats
    ]
    problems += _role_violations(problem, picked)
    problems += _budget_violations(problem, chosen, tolerance)
    problems += _family_violations(problem, picked)
    if problem.max_size is not None and len(picked) > problem.max_size:
        problems.append(f"{len(picked)} seats exceed the table size {problem.max_size}")
    return problems


def _role_violations(problem: Problem, picked: Sequence[Option]) -> list[str]:
    found: list[str] = []
    per_role = Counter(o.role for o in picked)
    for role, (low, high) in problem.role_bounds.items():
        if per_role[role] < low or (high is not None and per_role[role] > high):
            bounds = f"{low}..{'' if high is None else high}"
            found.append(f"role {role} has {per_role[role]} seats, outside {bounds}")
    found += [f"role {role} is not offered" for role in per_role if role not in problem.role_bounds]
    proposing = sum(per_role[r] for r in problem.proposing)
    reviewing = sum(per_role[r] for r in problem.reviewing)
    if proposing < problem.min_proposing or reviewing < problem.min_reviewing:
        found.append(
            f"{proposing} proposing and {reviewing} reviewing seats; deliberation needs "
            f"{problem.min_proposing} and {problem.min_reviewing}"
        )
    return found


def _budget_violations(problem: Problem, chosen: Sequence[int], tolerance: float) -> list[str]:
    used = budget_used(problem, chosen)
    found: list[str] = []
    for dimension in DIMENSIONS:
        cap = problem.limit(dimension)
        if cap is not None and used[dimension] > cap * (1.0 + tolerance):
            found.append(f"{dimension} {used[dimension]:.6g} exceeds the budget {cap:.6g}")
    return found


def _family_violations(problem: Problem, picked: Sequence[Option]) -> list[str]:
    families = Counter(problem.candidates[o.agent].family for o in picked)
    found: list[str] = []
    if len(families) < problem.min_families:
        found.append(f"families seated: {len(families)}, below min_families {problem.min_families}")
    if problem.max_per_family is not None:
        found += [
            f"family {family} holds {n} seats, above max_per_family {problem.max_per_family}"
            for family, n in sorted(families.items())
            if n > problem.max_per_family
        ]
    return found
