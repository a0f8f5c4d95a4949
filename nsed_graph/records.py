"""The plain records a run keeps: JSON-serialisable data only, each field with one writer.

Agents appear by id, never as model objects, so a run can be checkpointed after any node,
traced in LangSmith and saved as an audit trail. Who writes what:

- ``CallRecord``, ``FailureRecord``: the seat that made the call (``calls.CallLog``);
- ``Proposal``: its proposer seat; ``Review`` (with its ``Score``s): its reviewer seat;
- ``Binding`` (``seats`` and a ``Receipt``): the broker, at the start of each round;
- ``Vote`` (the tally of one round): the vote step;
- ``RoundRecord``: the stop step, once per round, from the round's seats, proposals, reviews,
  vote, brief, failures and calls; nothing fills it in later;
- ``Usage`` and ``AgentHistory`` (telemetry): the stop step.

This module is public: the benchmark harness and users' own tools read these shapes.
"""

from __future__ import annotations

from typing import Literal, NotRequired

from typing_extensions import TypedDict

SeatRole = Literal["proposer_reviewer", "proposer", "reviewer", "compressor"]
Phase = Literal["propose", "review", "compress"]
FailureKind = Literal["timeout", "error", "empty", "unparseable", "restated"]


class Seat(TypedDict):
    agent: str
    role: SeatRole


class CallRecord(TypedDict):
    """One attempt at one model call, retries included."""

    round: int
    agent: str
    phase: Phase
    purpose: str
    attempt: int
    ok: bool
    latency_s: float
    input_tokens: int
    output_tokens: int
    cost: float
    error: str | None


class FailureRecord(TypedDict):
    """A seat that stayed unusable for one phase of one round, after its retries."""

    round: int
    agent: str
    phase: Phase
    kind: FailureKind
    message: str


class Proposal(TypedDict):
    round: int
    agent: str
    ok: bool
    answer: str | None
    text: str
    answer_source: Literal["marker", "fallback", "extract_call", "none"]


class Score(TypedDict):
    label: str
    weight: float
    critique: str


class Review(TypedDict):
    """One reviewer's scores, keyed by candidate agent id, with the label it saw."""

    round: int
    reviewer: str
    ok: bool
    scores: dict[str, Score]


class Winner(TypedDict):
    agent: str
    round: int
    answer: str | None
    text: str
    support: float


class Vote(TypedDict):
    """What the vote step computed for one round (``protocol.voting.tally``), and its winner."""

    round: int
    raw_weights: dict[str, dict[str, float]]
    calibrated: dict[str, dict[str, float]]
    credits: dict[str, dict[str, float]]
    votes: dict[str, dict[str, float]]
    supports: dict[str, float]
    cluster_supports: dict[str, float]
    evidence: NotRequired[dict[str, float]]
    """With ``vote_unit="answers"``: each answer's evidence (``protocol.evidence``)."""
    pivotal: NotRequired[list[str]]
    """Reviewers without whose reviews the winning answer would have changed (absent when no
    review was tallied); the run's final answer does not grade them (``protocol.worth``)."""
    unanimous: NotRequired[bool]
    """True when every usable proposal gave one answer and the round took it without reviews."""
    unreviewed: NotRequired[bool]
    """True when the round's vote was taken without reviews (unanimous, or reviews that could
    not count: ``skip_uncounted_reviews``): the plurality of its answers."""
    winner: Winner | None
    conviction: float


class UsageTotals(TypedDict):
    """Sums over calls (attempts); ``latency_s`` adds the calls' own seconds."""

    calls: int
    failed_calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    latency_s: float
    cost: float


class Usage(TypedDict):
    agents: dict[str, UsageTotals]
    total: UsageTotals


class RoundRecord(TypedDict):
    """Everything one round did, enough for a reader to recompute its vote by hand."""

    round: int
    seats: list[Seat]
    proposals: list[Proposal]
    reviews: list[Review]
    raw_weights: dict[str, dict[str, float]]
    calibrated: dict[str, dict[str, float]]
    credits: dict[str, dict[str, float]]
    votes: dict[str, dict[str, float]]
    supports: dict[str, float]
    cluster_supports: dict[str, float]
    evidence: NotRequired[dict[str, float]]
    """With ``vote_unit="answers"``: each answer's evidence (``protocol.evidence``)."""
    pivotal: NotRequired[list[str]]
    """Reviewers without whose reviews the winning answer would have changed (absent when no
    review was tallied); the run's final answer does not grade them (``protocol.worth``)."""
    unanimous: NotRequired[bool]
    """True when every usable proposal gave one answer and the round took it without reviews."""
    unreviewed: NotRequired[bool]
    """True when the round's vote was taken without reviews (unanimous, or reviews that could
    not count: ``skip_uncounted_reviews``): the plurality of its answers."""
    winner: Winner | None
    conviction: float
    brief: str
    failures: list[FailureRecord]
    usage: Usage
    wall_s: float


class BudgetUse(TypedDict):
    used: float
    limit: float | None


class SolverRecord(TypedDict, total=False):
    status: str | None
    seconds: float | None
    greedy_objective: float | None


class AgentEntry(TypedDict):
    """Why one agent sits, or does not, this round."""

    seated: bool
    role: SeatRole | None
    value: float | None
    reason: str


class Receipt(TypedDict):
    """The broker's account of one binding (see ``broker.binding``)."""

    round: int
    status: str
    message: str
    objective: float
    solver: SolverRecord
    table_size: int
    target_size: int | None
    budget: dict[str, BudgetUse]
    relaxed: list[str]
    violations: list[str]
    failed: list[str]
    benched: list[str]
    agents: dict[str, AgentEntry]


class Binding(TypedDict):
    seats: list[Seat]
    receipt: Receipt


class Observation(TypedDict):
    """What one seated agent did in one round, as the broker's telemetry learns it."""

    agent: str
    round: int
    calls: int
    failures: int
    timeouts: int
    latency_s: float
    tokens: int
    support: float | None
    won: bool
    reliability: float | None


class AgentHistory(TypedDict):
    """One agent's telemetry: sums and counts (exact after a merge) and the means they give."""

    rounds: int
    calls: int
    failures: int
    timeouts: int
    tokens: int
    latency_s: float
    scored_rounds: int
    support_sum: float
    wins: int
    reliability_rounds: int
    reliability_sum: float
    review_right_endorsed: int
    review_right_scored: int
    review_wrong_rejected: int
    review_wrong_scored: int
    below_threshold_streak: int
    last_round: int | None
    mean_support: float | None
    win_rate: float | None
    success_rate: float | None
    mean_latency_s: float | None
    mean_tokens: float | None
    mean_reliability: float | None
    review_accuracy: float | None


Telemetry = dict[str, AgentHistory]
"""Agent id -> its history, as kept across runs (a file or a LangGraph store)."""

__all__ = [
    "AgentEntry",
    "AgentHistory",
    "Binding",
    "BudgetUse",
    "CallRecord",
    "FailureKind",
    "FailureRecord",
    "Observation",
    "Phase",
    "Proposal",
    "Receipt",
    "Review",
    "RoundRecord",
    "Score",
    "Seat",
    "SeatRole",
    "SolverRecord",
    "Telemetry",
    "Usage",
    "UsageTotals",
    "Vote",
    "Winner",
]
