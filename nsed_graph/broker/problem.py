"""From agents, configuration and telemetry to the ``Problem`` the solvers read.

Here the broker decides what a seat costs, before any optimisation:

- calls per round: a proposer makes 1 call, a compressor 1, a reviewer 1 in ``batch`` and
  ``reasoned`` review mode (a reasoned review's rare structured fallback is not counted) and one
  per other proposal in ``single`` mode (bounded by the table size, an upper bound), and a
  proposer_reviewer the sum of both jobs; no review calls where the config skips reviews that
  cannot count (``skip_uncounted_reviews`` at ``review_weight`` 0: a seat only proposes);
- tokens per call: the agent's mean from telemetry, else ``default_call_tokens``;
- money per call: ``Agent.cost`` plus every expected token priced at the dearer of the input
  and output rates, an upper bound that holds whatever the split;
- seconds per round: mean latency per call (else ``default_call_latency_s``) times the calls,
  since one seat's calls run one after the other while seats run in parallel.

A seat that alone breaks a budget, or whose role needs tags the agent lacks, is not offered at
all, and the reason is kept for the receipt. Pinned agents stay candidates even with no option
left, so that the problem is infeasible, and says so, rather than silently unpinned.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from nsed_graph.broker.model import DIMENSIONS, Candidate, Option, Problem
from nsed_graph.broker.values import ValueKnobs, seat_value
from nsed_graph.protocol.ballot import reviews_can_count

if TYPE_CHECKING:
    from nsed_graph.config import Budget, NSEDConfig, RoleSpec, SeatRole

RELAXABLE = ("diversity", "roles", "budget")


class Agent(Protocol):
    """The facts about an agent that the broker prices and seats (``nsed_graph.Agent`` has them
    all); a protocol, so that the broker's model never imports the shell's agent and its chat
    model."""

    @property
    def id(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def cost(self) -> float: ...
    @property
    def cost_per_1k_input(self) -> float: ...
    @property
    def cost_per_1k_output(self) -> float: ...
    @property
    def memory_gb(self) -> float: ...
    @property
    def tags(self) -> frozenset[str]: ...
    @property
    def prior(self) -> float: ...
    @property
    def pinned(self) -> bool: ...
    @property
    def excluded(self) -> bool: ...
    @property
    def sample_index(self) -> int: ...


@dataclass(frozen=True)
class Built:
    """The problem, and why each agent that is not a candidate (or lacks a role) is so."""

    problem: Problem
    left_out: Mapping[str, str]
    unfit_roles: Mapping[str, str]


def role_specs(config: NSEDConfig, *, relaxed: bool = False) -> dict[SeatRole, RoleSpec]:
    """The roles to fill; without ``config.roles``, up to ``table_size`` proposer_reviewers."""
    from nsed_graph.config import RoleSpec

    if config.roles is not None and not relaxed:
        return dict(config.roles)
    return {"proposer_reviewer": RoleSpec(min_seats=0, max_seats=config.table_size)}


def build_problem(
    agents: Sequence[Agent],
    config: NSEDConfig,
    telemetry: Mapping[str, Mapping[str, Any]],
    *,
    avoid: Collection[str] = (),
    target_size: int | None = None,
    relax: Collection[str] = (),
    offer_all: bool = False,
) -> Built:
    """Candidates and options for this round.

    ``relax`` drops whole families of constraints (``RELAXABLE``) for the fallback when the full
    problem has no solution. ``offer_all`` keeps every agent that is not excluded and offers it
    every role, fit or not: the ledger on which any binding, even a fallback, is valued and
    checked.
    """
    limits = _limits(None if "budget" in relax else config.budget)
    specs = role_specs(config, relaxed="roles" in relax)
    roles: list[SeatRole] = list(specs)
    named = {str(role): spec for role, spec in specs.items()}
    if offer_all and "proposer_reviewer" not in specs:
        roles.append("proposer_reviewer")
    seats_guess = config.table_size or target_size or len(agents)
    review_calls = 1 if config.review_mode != "single" else max(1, seats_guess - 1)
    if config.skip_uncounted_reviews and not reviews_can_count(
        vote_unit=config.vote_unit, review_weight=config.review_weight, worths=None
    ):
        review_calls = 0
    knobs = ValueKnobs.from_config(config)
    candidates: list[Candidate] = []
    options: list[Option] = []
    left_out: dict[str, str] = {}
    unfit_roles: dict[str, str] = {}
    for agent in agents:
        memory = None if offer_all else _over_memory(agent, limits["memory_gb"])
        if agent.excluded or (memory and not agent.pinned):
            left_out[agent.id] = "excluded by user" if agent.excluded else str(memory)
            continue
        costs = SeatCosts(agent, telemetry.get(agent.id), config, review_calls)
        seats = [costs.option(len(candidates), role, knobs) for role in roles]
        offered, unfit = (seats, []) if offer_all else _screen(agent, seats, named, limits)
        unfit = [memory, *unfit] if memory else unfit
        if not offered and not agent.pinned:
            left_out[agent.id] = "no eligible role: " + "; ".join(unfit)
            continue
        if unfit:
            unfit_roles[agent.id] = "; ".join(unfit)
        candidates.append(
            Candidate(agent.id, agent.family, agent.memory_gb, agent.pinned, agent.id in avoid)
        )
        options += offered
    diverse = "diversity" not in relax
    problem = Problem(
        candidates=tuple(candidates),
        options=tuple(options),
        role_bounds={role: (spec.min_seats, spec.max_seats) for role, spec in specs.items()},
        limits=limits,
        min_families=config.min_families if diverse else 1,
        max_per_family=config.max_per_family if diverse else None,
        max_size=config.table_size,
        target_size=target_size,
    )
    return Built(problem, left_out, unfit_roles)


def _limits(budget: Budget | None) -> dict[str, float | None]:
    if budget is None:
        return dict.fromkeys(DIMENSIONS)
    tokens = budget.tokens_per_round
    return {
        "money_per_round": budget.money_per_round,
        "tokens_per_round": None if tokens is None else float(tokens),
        "memory_gb": budget.memory_gb,
        "latency_s": budget.latency_s,
    }


def _over_memory(agent: Agent, memory_cap: float | None) -> str | None:
    if memory_cap is not None and agent.memory_gb > memory_cap:
        return f"over memory budget ({agent.memory_gb:g} GB > {memory_cap:g} GB)"
    return None


def _screen(
    agent: Agent,
    seats: Sequence[Option],
    specs: Mapping[str, RoleSpec],
    limits: Mapping[str, float | None],
) -> tuple[list[Option], list[str]]:
    """The seats the agent may take, and why it may not take the others."""
    offered: list[Option] = []
    unfit: list[str] = []
    for option in seats:
        why = _unfit(agent, option, specs[option.role], limits)
        if why is None:
            offered.append(option)
        else:
            unfit.append(why)
    return offered, unfit


def _unfit(
    agent: Agent, option: Option, spec: RoleSpec, limits: Mapping[str, float | None]
) -> str | None:
    """Why the agent cannot take the role on its own, before any other seat is counted."""
    missing = sorted(spec.tags - agent.tags)
    if missing:
        return f"{option.role} needs tags {', '.join(missing)}"
    for dimension in ("money_per_round", "tokens_per_round", "latency_s"):
        cap, spend = limits[dimension], getattr(option, dimension)
        if cap is not None and spend > cap:
            return f"{option.role} over {dimension} budget ({spend:.4g} > {cap:.4g})"
    return None


class SeatCosts:
    """What one agent is expected to spend per call, from its telemetry or the defaults."""

    def __init__(
        self,
        agent: Agent,
        record: Mapping[str, Any] | None,
        config: NSEDConfig,
        review_calls: int,
    ) -> None:
        self.agent, self.record = agent, record
        history = record or {}
        calls = int(history.get("calls", 0))
        tokens, latency = int(history.get("tokens", 0)), float(history.get("latency_s", 0.0))
        self.tokens = tokens / calls if calls else float(config.default_call_tokens)
        self.latency = latency / calls if calls else config.default_call_latency_s
        rate = max(agent.cost_per_1k_input, agent.cost_per_1k_output)
        self.money = agent.cost + rate * self.tokens / 1000.0
        self.calls: dict[str, int] = {
            "proposer": 1,
            "compressor": 1,
            "reviewer": review_calls,
            "proposer_reviewer": 1 + review_calls,
        }

    def option(self, index: int, role: SeatRole, knobs: ValueKnobs) -> Option:
        """The seat in ``role``: its value and its spend per round."""
        calls = self.calls[role]
        latency = self.latency * calls
        value = seat_value(
            self.agent.prior, self.record, role, latency, knobs, sample=self.agent.sample_index
        )
        return Option(
            index,
            role,
            value,
            money_per_round=self.money * calls,
            tokens_per_round=self.tokens * calls,
            latency_s=latency,
        )
