"""The value ``V[m, r]`` of agent m in role r: a prior shrunk toward telemetry, minus penalties.

A new agent must be neither ignored nor trusted blindly, so the user's prior (a benchmark
score in [0, 1]) counts as ``k`` rounds of evidence, and each scored round the agent plays moves
its value toward what the table actually observed::

    n     = scored rounds (rounds in which the agent's proposal received support)
    obs   = (1 - w) * (S + 1) / 2 + w * win_rate       S = mean support, in [-1, 1]
    q     = (k * prior + n * obs) / (k + n)            quality as a proposer
    rel   = (k * q + n_r * R) / (k + n_r)              reliability as a reviewer: R = mean
                                                       agreement with the round's winner over
                                                       n_r rounds, shrunk toward q
    fail  = (failures + timeouts) / (calls + k)        failure rate, shrunk toward 0
    pen_r = failure_penalty * fail + latency_penalty_per_s * latency_r

    V[m, proposer]          = q - pen_proposer
    V[m, reviewer]          = rel - pen_reviewer
    V[m, proposer_reviewer] = (q + rel) / 2 - pen_proposer_reviewer
    V[m, compressor]        = q - pen_compressor

    a further sample of m (its seat k, k >= 2) is worth d ** (k - 1) of that before penalties

``k`` is ``value_prior_strength`` (for ``fail`` it counts pseudo-calls that succeeded), ``w``
is ``win_rate_weight``, and ``latency_r`` the expected seconds the seat takes per round: the
mean latency per call times the calls of the role. Support maps linearly onto [0, 1], so a
proposal nobody endorsed or rejected (S = 0) is worth 0.5, like an uninformed prior. A seat
that does both jobs is worth the mean of the two, so seat values stay on one scale whatever the
role; a value can fall below zero, meaning an empty seat is worth more. ``d`` is
``sample_discount``: samples of one model are correlated, so each further one adds less than the
one before (the marginal gain of docs/protocol.md, "1. Broker"), yet a second sample of a strong
model can still outbid a first seat of a much weaker one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nsed_graph.protocol.estimates import shrink

if TYPE_CHECKING:
    from nsed_graph.config import NSEDConfig, SeatRole


@dataclass(frozen=True)
class ValueKnobs:
    """The configuration the value formula reads (see the module docstring for each symbol)."""

    prior_strength: float = 4.0
    win_rate_weight: float = 0.25
    failure_penalty: float = 0.5
    latency_penalty_per_s: float = 0.001
    sample_discount: float = 0.85

    @classmethod
    def from_config(cls, config: NSEDConfig) -> ValueKnobs:
        return cls(
            prior_strength=config.value_prior_strength,
            win_rate_weight=config.win_rate_weight,
            failure_penalty=config.failure_penalty,
            latency_penalty_per_s=config.latency_penalty_per_s,
            sample_discount=config.sample_discount,
        )


def quality(prior: float, record: Mapping[str, Any] | None, knobs: ValueKnobs) -> float:
    """Expected quality of the agent's proposals, ``q``."""
    scored = int(record.get("scored_rounds", 0)) if record else 0
    if not record or scored == 0:
        return prior
    support = float(record["support_sum"]) / scored
    win_rate = float(record["wins"]) / scored
    observed = (1.0 - knobs.win_rate_weight) * (support + 1.0) / 2.0
    observed += knobs.win_rate_weight * win_rate
    return shrink(prior, knobs.prior_strength, observed, scored)


def reliability(q: float, record: Mapping[str, Any] | None, knobs: ValueKnobs) -> float:
    """Expected reliability of the agent's reviews, ``rel``; its quality until it is measured."""
    count = int(record.get("reliability_rounds", 0)) if record else 0
    if not record or count == 0:
        return q
    return shrink(q, knobs.prior_strength, float(record["reliability_sum"]) / count, count)


def failure_rate(record: Mapping[str, Any] | None, knobs: ValueKnobs) -> float:
    """Share of calls expected to fail, ``fail``; one bad call of a new agent is not 100%."""
    if not record:
        return 0.0
    failed = int(record.get("failures", 0)) + int(record.get("timeouts", 0))
    attempts = int(record.get("calls", 0)) + knobs.prior_strength
    return failed / attempts if attempts else 0.0


def seat_value(
    prior: float,
    record: Mapping[str, Any] | None,
    role: SeatRole,
    latency_s: float,
    knobs: ValueKnobs,
    *,
    sample: int = 1,
) -> float:
    """``V[m, r]`` for one agent and role, given the seat's expected seconds per round;
    ``sample`` is which of the agent's samples the seat is."""
    q = quality(prior, record, knobs)
    if role == "reviewer":
        base = reliability(q, record, knobs)
    elif role == "proposer_reviewer":
        base = (q + reliability(q, record, knobs)) / 2.0
    else:
        base = q
    base *= knobs.sample_discount ** (sample - 1)
    penalty = knobs.failure_penalty * failure_rate(record, knobs)
    penalty += knobs.latency_penalty_per_s * latency_s
    return base - penalty
