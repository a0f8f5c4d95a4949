"""Greedy seat binding: the fallback when CP-SAT is missing, fails or runs out of time.

It fills the table in the order the constraints are hardest to meet: pinned agents, then the
minimum of each role (scarcest role first), then the two proposals and one review deliberation
needs, then missing families, then the remaining seats by value, agents to avoid last. Every
constraint is a capacity that only tightens as seats are taken, so an option that does not fit
now never fits later and each pass is a single sweep. No backtracking: the result is checked
against the whole problem and refused (None) rather than returned half-feasible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from nsed_graph.broker.model import SUMMED_DIMENSIONS, Option, Problem, rank, violations

_SLACK = 1.0 + 1e-9
_ADDITIVE = (*SUMMED_DIMENSIONS, "memory_gb")


def greedy(problem: Problem) -> tuple[int, ...] | None:
    """A feasible table of option indices, or None when this heuristic finds none.

    Several passes, the best table wins. Seats are taken by value, or by value per share of
    the budgets (a seat spending its fair share, one target-th of each cap, keeps its value),
    the usual greedy for a knapsack. Budget is kept in reserve for the seats still to fill
    (what the cheapest agents left would spend), toward the target or toward the fewest seats
    the constraints allow, so that early valuable seats do not starve the table; or not at all,
    for when even that is too cautious.
    """
    role_minimum = sum(low for low, _ in problem.role_bounds.values())
    fewest = max(role_minimum, problem.min_families, problem.min_proposing)
    reserves = dict.fromkeys((problem.target_size or 0, fewest, 0))
    cheapest = _cheapest_first(problem)
    tables = [
        _Fill(problem, order, reserve, cheapest).run()
        for order in _orders(problem)
        for reserve in reserves
    ]
    feasible = [table for table in tables if table is not None]
    return min(feasible, key=lambda table: rank(problem, table), default=None)


def _orders(problem: Problem) -> list[list[int]]:
    """Option indices by value and by value per budget share; agents to avoid always last."""
    caps = {d: c for d in _ADDITIVE if (c := problem.limit(d))}
    fair = 1.0 / max(problem.target_size or 1, 1)

    def share(option: Option) -> float:
        spends = _spends(problem, option)
        return sum(spends[d] / cap for d, cap in caps.items())

    def density(option: Option) -> float:
        return option.value * fair / (share(option) + fair) if option.value > 0 else option.value

    def value(option: Option) -> float:
        return option.value

    def ordered(worth: Callable[[Option], float]) -> list[int]:
        options = problem.options
        return sorted(
            range(len(options)),
            key=lambda i: (problem.candidates[options[i].agent].avoid, -worth(options[i]), i),
        )

    return [ordered(value), ordered(density)] if caps else [ordered(value)]


class _Fill:
    """One greedy pass: its order, its reserve, and the table taking shape."""

    def __init__(
        self,
        problem: Problem,
        order: list[int],
        reserve_seats: int,
        cheapest: dict[str, list[tuple[float, int]]],
    ) -> None:
        self.problem = problem
        self.order = order
        self.reserve_seats = reserve_seats
        self.cheapest = cheapest
        self.chosen: list[int] = []
        self.seated: set[int] = set()
        self.roles: Counter[str] = Counter()
        self.families: Counter[str] = Counter()
        self.used = {dimension: 0.0 for dimension in _ADDITIVE}

    def run(self) -> tuple[int, ...] | None:
        steps = (
            self.seat_pinned,
            self.meet_role_minimums,
            self.meet_deliberation,
            self.meet_families,
            self.fill_table,
        )
        if not all(step() for step in steps):
            return None
        chosen = tuple(sorted(self.chosen))
        return None if violations(self.problem, chosen) else chosen

    def avoid(self, option: Option) -> bool:
        return self.problem.candidates[option.agent].avoid

    def family(self, option: Option) -> str:
        return self.problem.candidates[option.agent].family

    def fits(self, option: Option) -> bool:
        problem = self.problem
        if option.agent in self.seated or option.role not in problem.role_bounds:
            return False
        high = problem.role_bounds[option.role][1]
        if high is not None and self.roles[option.role] >= high:
            return False
        family_cap = problem.max_per_family
        if family_cap is not None and self.families[self.family(option)] >= family_cap:
            return False
        if problem.max_size is not None and len(self.chosen) >= problem.max_size:
            return False
        latency_cap = problem.limit("latency_s")
        if latency_cap is not None and option.latency_s > latency_cap:
            return False
        ahead = max(0, self.reserve_seats - len(self.chosen) - 1)
        for dimension, spend in _spends(problem, option).items():
            cap = problem.limit(dimension)
            if cap is None:
                continue
            reserve = self.reserve(dimension, ahead, option.agent) if ahead else 0.0
            if self.used[dimension] + spend + reserve > cap * _SLACK:
                return False
        return True

    def reserve(self, dimension: str, seats: int, taking: int) -> float:
        """The least that ``seats`` more agents, other than ``taking``, would spend."""
        total, counted = 0.0, 0
        for spend, agent in self.cheapest[dimension]:
            if counted == seats:
                break
            if agent != taking and agent not in self.seated:
                total += spend
                counted += 1
        return total

    def take_best(self, wanted: Callable[[Option], bool]) -> bool:
        """Seat the most valuable option that fits and is wanted; False when there is none.

        While families are missing, a seat from a new family comes first, so that the seats
        the roles need do not use up the budget the family rule needs.
        """
        if len(self.families) < self.problem.min_families:
            fresh = [
                i for i in self.order if self.family(self.problem.options[i]) not in self.families
            ]
            if self.take_first(fresh, wanted):
                return True
        return self.take_first(self.order, wanted)

    def take_first(self, order: list[int], wanted: Callable[[Option], bool]) -> bool:
        for i in order:
            option = self.problem.options[i]
            if wanted(option) and self.fits(option):
                self.chosen.append(i)
                self.seated.add(option.agent)
                self.roles[option.role] += 1
                self.families[self.family(option)] += 1
                for dimension, spend in _spends(self.problem, option).items():
                    self.used[dimension] += spend
                return True
        return False

    def seat_pinned(self) -> bool:
        pinned = [a for a, c in enumerate(self.problem.candidates) if c.pinned]
        return all(self.take_best(_of_agent(a)) for a in pinned)

    def meet_role_minimums(self) -> bool:
        while True:
            unmet = [
                role
                for role, (low, _) in self.problem.role_bounds.items()
                if self.roles[role] < low
            ]
            if not unmet:
                return True
            scarcest = min(unmet, key=lambda role: (self.room(role), role))
            if not self.take_best(_in_roles(frozenset({scarcest}))):
                return False

    def room(self, role: str) -> int:
        return sum(1 for o in self.problem.options if o.role == role and self.fits(o))

    def meet_deliberation(self) -> bool:
        problem = self.problem
        for roles, needed in (
            (problem.proposing, problem.min_proposing),
            (problem.reviewing, problem.min_reviewing),
        ):
            while sum(self.roles[r] for r in roles) < needed:
                if not self.take_best(_in_roles(roles)):
                    return False
        return True

    def meet_families(self) -> bool:
        while len(self.families) < self.problem.min_families:
            if not self.take_best(lambda o: self.family(o) not in self.families):
                return False
        return True

    def fill_table(self) -> bool:
        """Up to the target size whatever the values; without a target, only seats that pay."""
        target = self.problem.target_size
        if target is None:
            while self.take_best(lambda o: not self.avoid(o) and o.value > 0):
                pass
            return True
        while len(self.chosen) < target and self.take_best(lambda o: True):
            pass
        return True


def _of_agent(agent: int) -> Callable[[Option], bool]:
    return lambda option: option.agent == agent


def _in_roles(roles: frozenset[str]) -> Callable[[Option], bool]:
    return lambda option: option.role in roles


def _cheapest_first(problem: Problem) -> dict[str, list[tuple[float, int]]]:
    """Per dimension, every agent's cheapest seat, cheapest agent first."""
    floor: dict[str, dict[int, float]] = {d: {} for d in _ADDITIVE}
    for option in problem.options:
        for dimension, spend in _spends(problem, option).items():
            floor[dimension][option.agent] = min(floor[dimension].get(option.agent, spend), spend)
    return {d: sorted((s, a) for a, s in spends.items()) for d, spends in floor.items()}


def _spends(problem: Problem, option: Option) -> dict[str, float]:
    """What the seat adds to each budget that sums: money, tokens and memory."""
    return {
        "money_per_round": option.money_per_round,
        "tokens_per_round": option.tokens_per_round,
        "memory_gb": problem.candidates[option.agent].memory_gb,
    }
