"""``bind_seats``: the broker's entry point, from agents and telemetry to seats and a receipt.

A binding is plain data, so it can sit in the graph state and the audit trail::

    {"seats": [{"agent": id, "role": SeatRole}, ...],
     "receipt": {
        "round": int,
        "status": "fixed" | "optimal" | "feasible" | "greedy" | "previous" | "relaxed"
                  | "everyone",
        "message": str,                       # what happened, in one sentence
        "objective": float,                   # sum of the seats' values
        "solver": {"status": str | None, "seconds": float | None,
                   "greedy_objective": float | None},
        "table_size": int, "target_size": int | None,
        "budget": {dimension: {"used": float, "limit": float | None}},
        "relaxed": [str],                     # constraint families dropped to find a table
        "violations": [str],                  # what a fallback table breaks; [] otherwise
        "failed": [id], "benched": [id],
        "agents": {id: {"seated": bool, "role": SeatRole | None, "value": float | None,
                        "reason": str}}}}

The statuses, best first: ``optimal`` (CP-SAT proved it), ``feasible`` (CP-SAT hit its time cap
with a table better than greedy's), ``greedy`` (CP-SAT failed or timed out; the greedy table
meets every constraint), ``previous`` (no table meets them: last round's is reused),
``relaxed`` (no previous table: constraints were dropped, listed in ``relaxed``), ``everyone``
(nothing else worked: every agent not excluded sits). ``fixed`` is the default configuration
without a table size, roles, budget or diversity rule: everyone sits and no solver runs. A
binding never raises.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nsed_graph.broker.greedy import greedy
from nsed_graph.broker.model import (
    DIMENSIONS,
    PROPOSING,
    REVIEWING,
    Option,
    Problem,
    budget_used,
    rank,
    total_value,
    violations,
)
from nsed_graph.broker.problem import RELAXABLE, Built, build_problem, role_specs
from nsed_graph.broker.solver import solve_exact

if TYPE_CHECKING:
    from nsed_graph.agents import Agent
    from nsed_graph.config import NSEDConfig

Seats = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Context:
    """Everything one call of ``bind_seats`` knows, shared by the steps below."""

    agents: Sequence[Agent]
    config: NSEDConfig
    telemetry: Mapping[str, Mapping[str, Any]]
    round_number: int
    failed: frozenset[str]
    benching: Mapping[str, str]
    target: int | None
    ledger: Built

    @cached_property
    def index(self) -> dict[tuple[str, str], int]:
        """(agent id, role) to the ledger's option index."""
        return _option_index(self.ledger.problem)

    @cached_property
    def families(self) -> dict[str, str]:
        return {agent.id: agent.family for agent in self.agents}

    def build(self, relax: Collection[str] = ()) -> Built:
        avoid = self.failed | self.benching.keys()
        return build_problem(
            self.agents,
            self.config,
            self.telemetry,
            avoid=avoid,
            target_size=self.target,
            relax=relax,
        )


@dataclass(frozen=True)
class _Outcome:
    """A table as (agent id, role) pairs, and how it was found."""

    seats: Seats
    status: str
    message: str
    solver: Mapping[str, Any] = field(default_factory=dict)
    relaxed: tuple[str, ...] = ()


def bind_seats(
    agents: Sequence[Agent],
    config: NSEDConfig,
    telemetry: Mapping[str, Mapping[str, Any]],
    *,
    previous: Mapping[str, Any] | None,
    round_number: int,
    failed: Collection[str] = (),
    benched: Collection[str] = (),
    down: Collection[str] = (),
) -> dict[str, Any]:
    """Seat agents for round ``round_number``; see the module docstring for the result.

    ``failed`` names the agents whose seat failed or timed out last round: they are replaced
    where a substitute fits, else kept. ``benched`` names agents benched earlier in this run
    (the previous receipt's ``"benched"``); from round 2 on, agents whose support stayed below
    ``bench_support_threshold`` for ``bench_rounds`` scored rounds join them, and so do the
    agents in ``down``, every one of whose calls last round failed at its endpoint (a timeout
    or an error): seated again, a hung endpoint costs a timeout every round (issue 14). Benched
    agents are kept out, for the rest of the run, only while the table can be filled without
    them, even by the fixed binding; pinned agents are never benched.
    """
    fixed = _fixed_configuration(config)
    previous_seats = _previous_seats(previous)
    target = None
    if not fixed:
        eligible = sum(not agent.excluded for agent in agents)
        target = config.table_size or len(previous_seats) or eligible
    context = _Context(
        agents=agents,
        config=config,
        telemetry=telemetry,
        round_number=round_number,
        failed=frozenset(a.id for a in agents if a.id in set(failed)),
        benching=_benching(agents, config, telemetry, round_number, benched, down),
        target=target,
        ledger=build_problem(agents, config, telemetry, target_size=target, offer_all=True),
    )
    if fixed:
        return _receipt(context, context.ledger, _fixed(context))
    built = context.build()
    return _receipt(context, built, _solve_chain(context, built, previous_seats))


def _fixed_configuration(config: NSEDConfig) -> bool:
    """Nothing to optimise: no table size, roles, budget or diversity rule is configured."""
    return (
        config.table_size is None
        and config.roles is None
        and config.budget is None
        and config.min_families == 1
        and config.max_per_family is None
    )


def _benching(
    agents: Sequence[Agent],
    config: NSEDConfig,
    telemetry: Mapping[str, Mapping[str, Any]],
    round_number: int,
    benched: Collection[str],
    down: Collection[str] = (),
) -> dict[str, str]:
    """Agents to keep out (for low support, or a dead endpoint), with the reason; a
    between-rounds decision only."""
    earlier, dead = set(benched), set(down)
    reasons = {
        agent.id: "benched earlier in this run"
        for agent in agents
        if agent.id in earlier and not agent.pinned
    }
    for agent in agents:
        if agent.id in dead and not agent.pinned:
            reasons[agent.id] = f"benched: every call failed in round {round_number - 1}"
    threshold = config.bench_support_threshold
    if threshold is None or round_number < 2:
        return reasons
    for agent in agents:
        streak = int(telemetry.get(agent.id, {}).get("below_threshold_streak", 0))
        if streak >= config.bench_rounds and not agent.pinned:
            reasons[agent.id] = f"benched: support below {threshold:g} for {streak} rounds"
    return reasons


def _previous_seats(previous: Mapping[str, Any] | None) -> Seats:
    seats = previous.get("seats", []) if previous else []
    return tuple((str(seat["agent"]), str(seat["role"])) for seat in seats)


def _fixed(context: _Context) -> _Outcome:
    """Everyone not excluded sits; benched agents leave only if two others remain."""
    everyone = [c.id for c in context.ledger.problem.candidates]
    staying = [agent for agent in everyone if agent not in context.benching]
    seated = staying if len(staying) >= 2 else everyone
    seats = tuple((agent, "proposer_reviewer") for agent in seated)
    message = "fixed binding: everyone sits (no table_size, roles, budget or diversity rule)"
    return _Outcome(seats, "fixed", message, _solver_record(None, None, None))


def _solve_chain(context: _Context, built: Built, previous_seats: Seats) -> _Outcome:
    """Exact, then greedy, then the previous table, then ever looser problems, then everyone."""
    attempt = _attempt(built.problem, context.config)
    if attempt.seats:
        return attempt
    reused = _reusable(previous_seats, context.ledger)
    if reused:
        message = f"{attempt.message}; the previous binding is reused"
        return _Outcome(reused, "previous", message, attempt.solver)
    for depth in range(1, len(RELAXABLE) + 1):
        dropped = RELAXABLE[:depth]
        relaxed = _attempt(context.build(dropped).problem, context.config)
        if relaxed.seats:
            message = f"{attempt.message}; dropped {', '.join(dropped)} to seat a table"
            return _Outcome(relaxed.seats, "relaxed", message, relaxed.solver, dropped)
    everyone = tuple((c.id, "proposer_reviewer") for c in context.ledger.problem.candidates)
    message = f"{attempt.message}; even without constraints no table: every agent not excluded sits"
    return _Outcome(everyone, "everyone", message, attempt.solver)


def _attempt(problem: Problem, config: NSEDConfig) -> _Outcome:
    """CP-SAT warm-started from the greedy table; the greedy table when CP-SAT has none."""
    fallback = greedy(problem)
    result = solve_exact(
        problem, time_limit_s=config.broker_time_limit_s, seed=config.seed, hint=fallback or ()
    )
    greedy_value = None if fallback is None else total_value(problem, fallback)
    solver = _solver_record(result.status, result.seconds, greedy_value)
    milliseconds = f"{result.seconds * 1000:.1f} ms"
    if result.status == "optimal":
        message = f"CP-SAT proved the table optimal in {milliseconds}"
        return _Outcome(_seats(problem, result.chosen), "optimal", message, solver)
    if result.status == "feasible" and (
        fallback is None or rank(problem, result.chosen) <= rank(problem, fallback)
    ):
        message = f"CP-SAT hit its {config.broker_time_limit_s:g} s cap; best table found kept"
        return _Outcome(_seats(problem, result.chosen), "feasible", message, solver)
    if fallback is not None:
        message = f"{result.detail} after {milliseconds}; the greedy table is used"
        return _Outcome(_seats(problem, fallback), "greedy", message, solver)
    return _Outcome((), "none", f"{result.detail}; greedy found no table either", solver)


def _solver_record(
    status: str | None, seconds: float | None, greedy_value: float | None
) -> dict[str, Any]:
    return {"status": status, "seconds": seconds, "greedy_objective": greedy_value}


def _seats(problem: Problem, chosen: Sequence[int]) -> Seats:
    options = (problem.options[i] for i in sorted(chosen))
    return tuple((problem.candidates[o.agent].id, o.role) for o in options)


def _reusable(previous_seats: Seats, ledger: Built) -> Seats:
    """The previous table without agents now excluded, if it can still deliberate."""
    known = _option_index(ledger.problem)
    seats = tuple(seat for seat in previous_seats if seat in known)
    roles = Counter(role for _, role in seats)
    proposing = sum(roles[role] for role in PROPOSING)
    reviewing = sum(roles[role] for role in REVIEWING)
    return seats if proposing >= 2 and reviewing >= 1 else ()


def _option_index(problem: Problem) -> dict[tuple[str, str], int]:
    return {
        (problem.candidates[option.agent].id, option.role): i
        for i, option in enumerate(problem.options)
    }


def _receipt(context: _Context, built: Built, outcome: _Outcome) -> dict[str, Any]:
    ledger = context.ledger.problem
    chosen = [context.index[seat] for seat in outcome.seats]
    used = budget_used(ledger, chosen)
    broken = violations(ledger, chosen, tolerance=1e-6) + _tag_violations(context, outcome.seats)
    size_note = ""
    if context.target is not None and len(chosen) != context.target:
        size_note = f"; {len(chosen)} seats instead of the target {context.target}"
    receipt = {
        "round": context.round_number,
        "status": outcome.status,
        "message": outcome.message + size_note,
        "objective": total_value(ledger, chosen),
        "solver": dict(outcome.solver),
        "table_size": len(chosen),
        "target_size": context.target,
        "budget": {d: {"used": used[d], "limit": ledger.limit(d)} for d in DIMENSIONS},
        "relaxed": list(outcome.relaxed),
        "violations": broken,
        "failed": sorted(context.failed),
        "benched": sorted(a for a in context.benching if a not in dict(outcome.seats)),
        "agents": _agent_entries(context, built, outcome),
    }
    seats = [{"agent": agent, "role": role} for agent, role in outcome.seats]
    return {"seats": seats, "receipt": receipt}


def _tag_violations(context: _Context, seats: Seats) -> list[str]:
    specs = {str(role): spec for role, spec in role_specs(context.config).items()}
    by_id = {agent.id: agent for agent in context.agents}
    found = []
    for agent, role in seats:
        spec = specs.get(role)
        missing = sorted(spec.tags - by_id[agent].tags) if spec is not None else []
        if missing:
            found.append(f"{agent} lacks tags {', '.join(missing)} for {role}")
    return found


_SEATED_NOTE = {
    "fixed": "fixed binding: everyone sits",
    "previous": "previous binding reused",
    "everyone": "fallback: everyone sits",
}


def _agent_entries(context: _Context, built: Built, outcome: _Outcome) -> dict[str, Any]:
    """For every agent, whether it sits, in which role, at what value, and why."""
    ledger = context.ledger.problem
    seated = dict(outcome.seats)
    offered: dict[str, list[Option]] = defaultdict(list)
    for option in built.problem.options:
        offered[built.problem.candidates[option.agent].id].append(option)
    entries: dict[str, Any] = {}
    for agent in context.agents:
        role = seated.get(agent.id)
        if role is not None:
            value: float | None = ledger.options[context.index[agent.id, role]].value
            reason = _seated_reason(context, outcome, agent, role, value)
        else:
            own = offered[agent.id]
            value = max((o.value for o in own), default=None)
            reason = _unseated_reason(context, built, outcome, agent, own)
        entries[agent.id] = {
            "seated": role is not None,
            "role": role,
            "value": value,
            "reason": reason,
        }
    return entries


def _seated_reason(
    context: _Context, outcome: _Outcome, agent: Agent, role: str, value: float | None
) -> str:
    notes = [f"seated as {role} (value {value:.2f})"]
    if agent.pinned:
        notes.append("pinned by user")
    if agent.id in context.failed:
        notes.append("failed last round, kept: no substitute fits")
    if agent.id in context.benching:
        notes.append(f"{context.benching[agent.id]}, kept: no substitute fits")
    if outcome.status in _SEATED_NOTE:
        notes.append(_SEATED_NOTE[outcome.status])
    if outcome.relaxed:
        notes.append(f"constraints relaxed: {', '.join(outcome.relaxed)}")
    return "; ".join(notes)


def _unseated_reason(
    context: _Context, built: Built, outcome: _Outcome, agent: Agent, own: list[Option]
) -> str:
    if agent.id in built.left_out:
        return built.left_out[agent.id]
    if agent.pinned:
        obstacle = built.unfit_roles.get(agent.id) or "no table meeting the constraints seats it"
        return f"pinned, but cannot sit: {obstacle}"
    if agent.id in context.benching:
        return context.benching[agent.id]
    if agent.id in context.failed:
        return "failed last round; a substitute takes its seat"
    if outcome.status in ("previous", "relaxed"):
        return f"not chosen: not in the {outcome.status} table"
    return "not chosen: " + _why_not_chosen(context, built.problem, outcome.seats, own)


def _why_not_chosen(context: _Context, problem: Problem, seats: Seats, own: list[Option]) -> str:
    """The first obstacle found: a better rival, a full family, a budget, or the whole table."""
    best = max(own, key=lambda o: o.value)
    candidate = problem.candidates[best.agent]
    ledger, index = context.ledger.problem, context.index
    roles = {o.role for o in own}
    rivals = sorted(
        (ledger.options[index[seat]].value, seat[0]) for seat in seats if seat[1] in roles
    )
    if not rivals:
        return f"no seat is open in its roles ({', '.join(sorted(roles))})"
    weakest_value, weakest = rivals[0]
    if best.value <= weakest_value:
        return f"lower value ({best.value:.2f} as {best.role}) than {weakest} ({weakest_value:.2f})"
    family_seats = sum(1 for seat, _ in seats if context.families[seat] == candidate.family)
    if problem.max_per_family is not None and family_seats >= problem.max_per_family:
        return (
            f"family {candidate.family} already holds {_count(family_seats, 'seat')} "
            f"(max_per_family {problem.max_per_family})"
        )
    swapped = [index[seat] for seat in seats if seat[0] != weakest]
    swapped.append(index[candidate.id, best.role])
    used = budget_used(ledger, swapped)
    for dimension in DIMENSIONS:
        cap = ledger.limit(dimension)
        if cap is not None and used[dimension] > cap * (1 + 1e-9):
            return (
                f"in place of {weakest} it would exceed the {dimension} budget "
                f"({used[dimension]:.4g} > {cap:.4g})"
            )
    return f"the best table is worth more without it (its value {best.value:.2f})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
