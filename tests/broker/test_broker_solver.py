"""CP-SAT against brute force on small random problems, and the greedy fallback's guarantees."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsed_graph.broker.greedy import greedy
from nsed_graph.broker.model import Candidate, Option, Problem, rank, violations
from nsed_graph.broker.solver import VALUE_SCALE, solve_exact

ROLES = ("proposer_reviewer", "proposer", "reviewer", "compressor")


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """Small problems with integer spends, so that float sums are exact and brute force agrees
    with the solver's scaled budgets to the last unit. Tight enough that some are infeasible."""
    n = draw(st.integers(2, 7))
    first = draw(st.sampled_from([["proposer_reviewer"], ["proposer", "reviewer"]]))
    extra = draw(st.lists(st.sampled_from(ROLES), max_size=1))
    roles = list(dict.fromkeys([*first, *extra]))
    families = draw(st.integers(1, 4))
    candidates = tuple(
        Candidate(
            id=f"m{i}",
            family=f"f{draw(st.integers(0, families - 1))}",
            memory_gb=float(draw(st.integers(0, 10))),
            pinned=draw(st.integers(0, 9)) == 0,
            avoid=draw(st.integers(0, 3)) == 0,
        )
        for i in range(n)
    )
    options = tuple(
        Option(
            agent=i,
            role=role,
            value=draw(st.integers(-200, 1000)) / 1000,
            money_per_round=float(draw(st.integers(0, 5))),
            tokens_per_round=float(draw(st.integers(0, 5))),
            latency_s=float(draw(st.integers(0, 5))),
        )
        for i in range(n)
        for role in roles
        if draw(st.integers(0, 4)) > 0
    )
    bounds: dict[str, tuple[int, int | None]] = {}
    for role in roles:
        low = draw(st.integers(0, 1))
        bounds[role] = (low, draw(st.one_of(st.none(), st.integers(max(low, 1), 4))))
    caps = st.one_of(st.none(), st.integers(4, 30).map(float))
    limits = {
        "money_per_round": draw(caps),
        "tokens_per_round": draw(caps),
        "memory_gb": draw(caps),
        "latency_s": draw(st.one_of(st.none(), st.integers(2, 5).map(float))),
    }
    return Problem(
        candidates=candidates,
        options=options,
        role_bounds=bounds,
        limits=limits,
        min_families=draw(st.integers(1, min(2, families))),
        max_per_family=draw(st.one_of(st.none(), st.integers(1, 3))),
        max_size=draw(st.one_of(st.none(), st.integers(3, 7))),
        target_size=draw(st.one_of(st.none(), st.integers(2, 7))),
    )


def brute_force(problem: Problem) -> tuple[int, ...] | None:
    """Every assignment of at most one option per agent; the best feasible one by ``rank``."""
    per_agent: list[list[int | None]] = [[None] for _ in problem.candidates]
    for i, option in enumerate(problem.options):
        per_agent[option.agent].append(i)
    best: tuple[int, ...] | None = None
    for pick in itertools.product(*per_agent):
        chosen = tuple(i for i in pick if i is not None)
        if violations(problem, chosen):
            continue
        if best is None or rank(problem, chosen) < rank(problem, best):
            best = chosen
    return best


def assert_same_rank(problem: Problem, found: Sequence[int], expected: Sequence[int]) -> None:
    got, want = rank(problem, found), rank(problem, expected)
    assert got[:2] == want[:2]
    assert got[2] == pytest.approx(want[2], abs=len(problem.candidates) / VALUE_SCALE)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(problems())
def test_cp_sat_matches_brute_force(problem: Problem) -> None:
    result = solve_exact(problem, time_limit_s=10.0)
    expected = brute_force(problem)
    if expected is None:
        assert result.status == "infeasible"
        assert greedy(problem) is None
        return
    assert result.status == "optimal"
    assert violations(problem, result.chosen) == []
    assert_same_rank(problem, result.chosen, expected)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(problems())
def test_greedy_is_feasible_and_never_beats_the_optimum(problem: Problem) -> None:
    found = greedy(problem)
    if found is None:
        return
    assert violations(problem, found) == []
    optimum = solve_exact(problem, time_limit_s=10.0, hint=found)
    assert optimum.status == "optimal"
    best, fallback = rank(problem, optimum.chosen), rank(problem, found)
    tolerance = len(problem.candidates) / VALUE_SCALE
    assert best[:2] < fallback[:2] or (
        best[:2] == fallback[:2] and best[2] <= fallback[2] + tolerance
    )


def _simple(values: Sequence[float], **changes: object) -> Problem:
    fields: dict[str, object] = {
        "candidates": tuple(Candidate(f"m{i}", f"f{i}") for i in range(len(values))),
        "options": tuple(Option(i, "proposer_reviewer", v) for i, v in enumerate(values)),
        "role_bounds": {"proposer_reviewer": (0, None)},
    }
    fields.update(changes)
    return Problem(**fields)  # type: ignore[arg-type]


def test_budget_scaling_never_rejects_an_exact_fit() -> None:
    # six seats of a sixth of the budget each: per-seat rounding must not push the sum over
    candidates = tuple(Candidate(f"m{i}", f"f{i}", memory_gb=1.0) for i in range(6))
    problem = _simple([0.5] * 6, candidates=candidates, limits={"memory_gb": 6.0})
    assert len(solve_exact(problem).chosen) == 6
    tight = _simple([0.5] * 6, candidates=candidates, limits={"memory_gb": 5.999})
    assert len(solve_exact(tight).chosen) == 5


def test_a_seat_over_a_cap_alone_is_never_taken() -> None:
    options = (
        Option(0, "proposer_reviewer", 0.9, money_per_round=1e12),
        Option(1, "proposer_reviewer", 0.1),
        Option(2, "proposer_reviewer", 0.1),
    )
    problem = _simple([0, 0, 0], options=options, limits={"money_per_round": 1.0})
    result = solve_exact(problem)
    assert result.status == "optimal"
    assert result.chosen == (1, 2)


def test_size_target_outranks_avoidance_which_outranks_value() -> None:
    candidates = (
        Candidate("good", "f0"),
        Candidate("failed", "f1", avoid=True),
        Candidate("weak", "f2"),
    )
    problem = _simple([0.9, 0.8, -0.5], candidates=candidates, target_size=3)
    assert len(solve_exact(problem).chosen) == 3
    fewer = _simple([0.9, 0.8, 0.1], candidates=candidates, target_size=2)
    assert solve_exact(fewer).chosen == (0, 2)


def test_infeasible_pinned_agent_without_options() -> None:
    candidates = (Candidate("a", "f"), Candidate("b", "g"), Candidate("p", "h", pinned=True))
    problem = _simple([0.5, 0.5], candidates=candidates)
    assert solve_exact(problem).status == "infeasible"
    assert greedy(problem) is None
    assert "pinned p is not seated" in violations(problem, (0, 1))


def test_missing_ortools_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def refuse(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("ortools"):
            raise ImportError("no ortools here")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", refuse)
    result = solve_exact(_simple([0.5, 0.5]))
    assert result.status == "error"
    assert "OR-Tools is not available" in result.detail


def test_violations_names_every_kind_of_broken_constraint() -> None:
    candidates = (
        Candidate("a", "f", memory_gb=6.0),
        Candidate("b", "f", memory_gb=6.0),
        Candidate("p", "g", pinned=True),
    )
    options = (
        Option(0, "proposer", 0.5, money_per_round=2.0, tokens_per_round=2.0, latency_s=9.0),
        Option(0, "reviewer", 0.5),
        Option(1, "proposer", 0.5),
        Option(2, "proposer", 0.5),
    )
    problem = Problem(
        candidates=candidates,
        options=options,
        role_bounds={"proposer": (0, 1), "reviewer": (1, None)},
        limits={"money_per_round": 1.0, "tokens_per_round": 1.0, "memory_gb": 10.0, "latency_s": 5},
        min_families=2,
        max_per_family=1,
        max_size=1,
    )
    assert violations(problem, (0, 1, 2)) == [
        "a holds 2 seats",
        "pinned p is not seated",
        "role proposer has 2 seats, outside 0..1",
        "money_per_round 2 exceeds the budget 1",
        "tokens_per_round 2 exceeds the budget 1",
        "memory_gb 18 exceeds the budget 10",
        "latency_s 9 exceeds the budget 5",
        "families seated: 1, below min_families 2",
        "family f holds 3 seats, above max_per_family 1",
        "3 seats exceed the table size 1",
    ]
    assert violations(problem, (3,)) == [
        "role reviewer has 0 seats, outside 1..",
        "1 proposing and 0 reviewing seats; deliberation needs 2 and 1",
        "families seated: 1, below min_families 2",
    ]
