"""Every knob of the protocol, validated once, frozen for the run.

Defaults follow the paper (arXiv 2601.16863) where it is explicit; the choices it leaves open
are marked [ours] in ``docs/protocol.md`` and are options here, never constants in the code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nsed_graph.protocol.answers import AnswerFormat
from nsed_graph.protocol.stopping import FatigueParams, StopRule
from nsed_graph.protocol.voting import Aggregation, Calibration
from nsed_graph.records import SeatRole

ReviewerWeighting = Literal["none", "reliability", "worth"]
ReviewMode = Literal["batch", "single", "reasoned"]
VoteUnit = Literal["proposals", "answers"]
StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]

_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
"""Frozen, no unknown fields, and no infinite or NaN number: ``timeout_s=inf`` crashed a run
with an OverflowError and infinite broker parameters with NaN errors deep inside (issue 16)."""


class Budget(BaseModel):
    """What one round may spend; any combination of limits (None = unlimited).

    The broker keeps the seated table within it: money, tokens and latency per round, and the
    total memory of the agents seated (the "hardware arbitrage" knapsack for local models).
    """

    model_config = _FROZEN

    money_per_round: float | None = Field(default=None, gt=0.0)
    tokens_per_round: int | None = Field(default=None, gt=0)
    memory_gb: float | None = Field(default=None, gt=0.0)
    latency_s: float | None = Field(default=None, gt=0.0)


class RoleSpec(BaseModel):
    """How many seats of one role the broker fills, and which capability tags they need."""

    model_config = _FROZEN

    min_seats: int = Field(default=0, ge=0)
    max_seats: int | None = Field(default=None, ge=0)
    tags: frozenset[str] = Field(default_factory=frozenset)

    @model_validator(mode="after")
    def _check_range(self) -> RoleSpec:
        if self.max_seats is not None and self.max_seats < self.min_seats:
            raise ValueError(
                f"roles: max_seats ({self.max_seats}) is below min_seats ({self.min_seats})"
            )
        return self


class NSEDConfig(BaseModel):
    """Configuration of one NSED deliberation. Invalid values fail here, naming the field."""

    model_config = _FROZEN

    # --- loop and stopping (docs/protocol.md, "6. Stop") ---
    max_rounds: int = Field(default=7, ge=1, le=100, description="Hard cap on rounds.")
    min_rounds: int = Field(
        default=1,
        ge=1,
        description="Rounds before convergence may stop; 1: a round-1 majority ends the run.",
    )
    patience: int = Field(
        default=1, ge=1, description="Rounds the winning answer must hold to converge."
    )
    convergence_threshold: float = Field(
        default=0.6,
        ge=-1.0,
        le=1.0,
        description="Conviction needed to count as converged; 0.6: a strict majority of 3 or "
        "5 seats, never a tie.",
    )
    fatigue: FatigueParams | None = Field(
        default=None, description="Efficiency-fatigue model; when set, stop at round(T_opt)."
    )
    max_total_tokens: int | None = Field(default=None, gt=0)
    max_total_cost: float | None = Field(default=None, gt=0.0)
    max_seconds: float | None = Field(default=None, gt=0.0)
    unanimous_exit: bool = Field(
        default=True,
        description="[ours] When every usable proposal of a round gives one answer, take it "
        "without reviews and stop.",
    )

    # --- vote (docs/protocol.md, "4. Vote") ---
    aggregation: Aggregation = "quadratic"
    calibration: Calibration = "none"
    answer_pooling: bool = Field(
        default=False, description="[ours] Pool the support of proposals with equal answers."
    )
    vote_unit: VoteUnit = Field(
        default="answers",
        description="[ours] 'answers': the vote is over answers, each usable proposal one "
        "solution weighted 1 + review_weight * its support (protocol/evidence.py).",
    )
    review_weight: float = Field(
        default=0.0,
        ge=0.0,
        le=10.0,
        description="[ours] With vote_unit='answers': how far reviews move a solution's weight.",
    )
    skip_uncounted_reviews: bool = Field(
        default=True,
        description="[ours] Skip a round's reviews when none could move its vote (the vote over "
        "answers at review_weight 0, or every reviewer's worth 0); it then takes the plurality.",
    )
    reviewer_weighting: ReviewerWeighting = "none"
    reliability_prior_strength: float = Field(
        default=4.0, ge=0.0, description="[ours] Pseudo-rounds that shrink reliability to 1."
    )
    worth_prior_accuracy: float = Field(
        default=0.6,
        gt=0.0,
        lt=1.0,
        description="[ours] Accuracy a reviewer without history is assumed to have (worth).",
    )
    worth_prior_strength: float = Field(
        default=10.0,
        ge=0.0,
        description="[ours] Review scores the prior accuracy is worth (worth).",
    )

    # --- forget gate (docs/protocol.md, "5. Forget gate") ---
    gamma: float = Field(default=0.5, ge=0.0, le=1.0, description="Decay per round of age.")
    decay_floor: float = Field(default=0.2, gt=0.0, le=1.0, description="[ours] Weight floor.")
    keep_top_k: int = Field(default=3, ge=1, description="Proposals kept per round.")
    state_token_budget: int = Field(
        default=600, ge=50, description="Size cap of the consensus brief, in tokens."
    )
    reasoning_token_budget: int = Field(
        default=200, ge=10, description="Reasoning kept per proposal in the brief."
    )
    max_critiques: int = Field(
        default=4, ge=0, description="[ours] Critiques an agent sees of its own answer."
    )

    # --- prompts and model calls ---
    answer_format: AnswerFormat = "text"
    masking: bool = Field(default=True, description="Identity masking of peers in reviews.")
    review_mode: ReviewMode = "batch"
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="For proposals; None keeps the model's own."
    )
    sampling_seed: int | None = Field(
        default=None, description="Sampling seed sent with proposals, where the model takes one."
    )
    seed: int = Field(default=0, description="Seeds the reviewers' label shuffles.")
    structured_output_method: StructuredMethod = "json_schema"
    proposal_max_tokens: int = Field(
        default=768, ge=16, description="Token cap of free-text calls (proposals, compressor)."
    )
    candidate_token_budget: int = Field(
        default=400, ge=20, description="Text of each candidate a reviewer sees, in tokens."
    )
    critique_max_chars: int = Field(default=300, ge=20, le=4000)
    min_resolve_chars: int = Field(
        default=80,
        ge=0,
        description="[ours] Reasoning a later-round proposal shows before its answer line; a "
        "shorter reply is asked once to re-solve, then refused. 0 accepts any reply.",
    )
    answer_max_chars: int = Field(
        default=200, ge=1, le=20000, description="Cap of the answer field (code needs more)."
    )
    timeout_s: float = Field(
        default=120.0, gt=0.0, le=3600.0, description="Per model call, at most an hour."
    )
    max_task_chars: int = Field(
        default=200_000,
        ge=1,
        description="[ours] Longest task accepted: every prompt carries the task whole.",
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries after a failed call, where a retry can help (nsed_graph/retry.py: "
        "not after a timeout or a client error).",
    )
    retry_backoff_s: float = Field(
        default=0.5,
        ge=0.0,
        le=60.0,
        description="[ours] Base of the exponential backoff (full jitter) before retrying a "
        "rate limit, a server error or a connection error.",
    )
    retry_max_wait_s: float = Field(
        default=30.0,
        ge=0.0,
        le=600.0,
        description="[ours] Longest wait before a retry; a longer Retry-After is not waited for.",
    )

    # --- broker (docs/protocol.md, "1. Broker") ---
    table_size: int | None = Field(
        default=None, ge=2, description="Seats per round; None seats every eligible agent."
    )
    roles: dict[SeatRole, RoleSpec] | None = None
    budget: Budget | None = None
    min_families: int = Field(default=1, ge=1)
    max_per_family: int | None = Field(default=None, ge=1)
    value_prior_strength: float = Field(
        default=4.0,
        ge=0.0,
        description="[ours] Rounds of telemetry the prior is worth (Bayesian shrinkage).",
    )
    win_rate_weight: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="[ours] Share of observed quality taken from the win rate, not support.",
    )
    failure_penalty: float = Field(
        default=0.5, ge=0.0, description="[ours] Value lost by an agent whose calls all fail."
    )
    latency_penalty_per_s: float = Field(
        default=0.001, ge=0.0, description="[ours] Value lost per expected second of a seat."
    )
    max_samples: int | None = Field(
        default=None,
        ge=1,
        description="[ours] Cap on every agent's samples (Agent.samples); 1 is the paper's table.",
    )
    sample_discount: float = Field(
        default=0.85,
        ge=0.0,
        le=1.0,
        description="[ours] Value of an agent's further sample seat, as a share of the one before.",
    )
    default_call_tokens: int = Field(
        default=1500, ge=1, description="[ours] Tokens per call assumed before telemetry."
    )
    default_call_latency_s: float = Field(
        default=0.0, ge=0.0, description="[ours] Seconds per call assumed before telemetry."
    )
    bench_support_threshold: float | None = Field(
        default=None,
        ge=-1.0,
        le=1.0,
        description="[ours] Bench an agent whose support stays below this; None never benches.",
    )
    bench_rounds: int = Field(
        default=2, ge=1, description="[ours] Consecutive low-support rounds before benching."
    )
    broker_time_limit_s: float = Field(
        default=1.0, gt=0.0, le=60.0, description="Time cap of one CP-SAT solve."
    )
    telemetry_file: str | None = Field(
        default=None,
        description="JSON file the broker's telemetry is read from and saved to across runs.",
    )
    telemetry_key: str = Field(
        default="default",
        min_length=1,
        description="Key of the telemetry in the LangGraph store, when the graph has a store.",
    )

    @staticmethod
    def _roles_can_deliberate(roles: dict[SeatRole, RoleSpec]) -> bool:
        """Whether the role bounds leave room for two proposals and one review per round."""

        def capacity(role: SeatRole) -> float:
            spec = roles.get(role)
            if spec is None:
                return 0.0
            return float("inf") if spec.max_seats is None else float(spec.max_seats)

        both = capacity("proposer_reviewer")
        return both + capacity("proposer") >= 2 and both + capacity("reviewer") >= 1

    @classmethod
    def paper(cls, **overrides: Any) -> NSEDConfig:
        """The protocol as the paper describes it, for ablations (``PAPER_PRESET``); any field
        can still be overridden, e.g. ``NSEDConfig.paper(max_rounds=3)``."""
        settings = {**PAPER_PRESET, **overrides}
        if "max_rounds" in overrides and "min_rounds" not in overrides:
            settings["min_rounds"] = overrides["max_rounds"]  # the paper's rounds are fixed
        return cls(**settings)

    def stop_rule(self) -> StopRule:
        """The settings the stopping rule reads (``protocol.stopping.stop_reason``)."""
        return StopRule(
            max_rounds=self.max_rounds,
            min_rounds=self.min_rounds,
            patience=self.patience,
            convergence_threshold=self.convergence_threshold,
            fatigue=self.fatigue,
            max_total_tokens=self.max_total_tokens,
            max_total_cost=self.max_total_cost,
            max_seconds=self.max_seconds,
            unanimous_exit=self.unanimous_exit,
        )

    @model_validator(mode="after")
    def _check_broker(self) -> NSEDConfig:
        roles = self.roles or {}
        if self.table_size is not None and self.min_families > self.table_size:
            raise ValueError(
                f"min_families ({self.min_families}) exceeds table_size ({self.table_size}): "
                "a table cannot hold more families than seats"
            )
        min_total = sum(spec.min_seats for spec in roles.values())
        if self.table_size is not None and min_total > self.table_size:
            raise ValueError(
                f"roles: the min_seats add up to {min_total}, more than table_size "
                f"({self.table_size}); lower a min_seats or raise table_size"
            )
        if roles and not self._roles_can_deliberate(roles):
            raise ValueError(
                "roles: the table needs at least two proposing seats (proposer or "
                "proposer_reviewer) and one reviewing seat (reviewer or proposer_reviewer); "
                "raise a max_seats or add the missing role"
            )
        return self

    @model_validator(mode="after")
    def _check_consistency(self) -> NSEDConfig:
        if self.min_rounds > self.max_rounds:
            raise ValueError(
                f"min_rounds ({self.min_rounds}) exceeds max_rounds ({self.max_rounds}); "
                "lower min_rounds or raise max_rounds"
            )
        if self.answer_format == "code" and self.answer_max_chars < 200:
            raise ValueError(
                "answer_max_chars: code answers need room; set it to at least 200 "
                f"(got {self.answer_max_chars})"
            )
        return self


PAPER_PRESET: dict[str, Any] = {
    "max_rounds": 7,
    "min_rounds": 7,
    "fatigue": None,
    "unanimous_exit": False,
    "skip_uncounted_reviews": False,
    "vote_unit": "proposals",
    "aggregation": "quadratic",
    "calibration": "none",
    "answer_pooling": False,
    "reviewer_weighting": "none",
    "review_mode": "batch",
    "min_resolve_chars": 0,
    "max_samples": 1,
}
"""``NSEDConfig.paper()``: seven fixed rounds, one seat per model, the proposal-level quadratic
vote with every review counted alike, one structured review call per reviewer, and later-round
replies taken as they come. Everything this project added on measurement ([ours]: the unanimous
exit, skipped reviews, re-solves, seats as samples, the vote over answers, reviewer worth) is
off."""

__all__ = [
    "PAPER_PRESET",
    "Aggregation",
    "AnswerFormat",
    "Budget",
    "Calibration",
    "FatigueParams",
    "NSEDConfig",
    "ReviewMode",
    "ReviewerWeighting",
    "RoleSpec",
    "SeatRole",
    "StopRule",
    "StructuredMethod",
    "VoteUnit",
]
