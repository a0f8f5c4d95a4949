"""When to stop, and which round's answer to return (docs/protocol.md, "6. Stop").

Rules, checked after every vote in this order: the round cap; convergence with patience; the
efficiency-fatigue optimum T_opt; a spent budget. The answer comes from the round whose winner
had the highest support, because the paper finds accuracy falls after a peak round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nsed_graph.records import RoundRecord, Winner

_W_BRANCH_POINT = -1.0 / math.e


class FatigueParams(BaseModel):
    """Parameters of the efficiency-fatigue model U(t) (docs/protocol.md, "6. Stop", rule 3).

    ``U(t) = 1 - (1 - p_g) exp(-L (p_v - p_g) t) - beta t^2``: p_g is an agent's accuracy alone,
    p_v the reviewers' accuracy at telling right from wrong, L the rate of signal extraction and
    beta the context fatigue. Configure them, or fit them with the benchmark harness.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    p_g: float = Field(ge=0.0, le=1.0)
    p_v: float = Field(ge=0.0, le=1.0)
    L: float = Field(gt=0.0)
    beta: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _check_order(self) -> FatigueParams:
        if self.p_v <= self.p_g:
            raise ValueError(
                "fatigue: p_v must exceed p_g (review must be better than guessing for "
                "deliberation to help); without that, leave fatigue unset"
            )
        return self


@dataclass(frozen=True)
class StopRule:
    """The stopping rule's settings (``NSEDConfig.stop_rule()`` gives the configured ones)."""

    max_rounds: int
    min_rounds: int
    patience: int
    convergence_threshold: float
    fatigue: FatigueParams | None = None
    max_total_tokens: int | None = None
    max_total_cost: float | None = None
    max_seconds: float | None = None
    unanimous_exit: bool = False


@dataclass(frozen=True)
class RoundOutcome:
    """What the stopping rule needs to know of one finished round."""

    round: int
    answer: str | None
    support: float | None
    conviction: float
    unanimous: bool = False


def unanimous(answers: Sequence[str | None]) -> bool:
    """Whether a round's usable proposals (at least two) all reached one answer.

    Such a round needs no review: every vote over these proposals picks that answer, so reviews
    could only cost tokens and time (and later rounds, in this project's records, changed right
    answers to wrong ones far more often than the reverse)."""
    return len(answers) >= 2 and None not in answers and len(set(answers)) == 1


@dataclass(frozen=True)
class Spent:
    """What the run has used so far, for the budget rule."""

    tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0


def lambert_w0(x: float, *, tol: float = 1e-14, max_iter: int = 100) -> float:
    """Principal branch W0 of the Lambert W function (``w e^w = x``) for ``x >= -1/e``.

    Halley's iteration from a starting point that is good on both sides of zero; written here so
    the package does not need SciPy for one function.
    """
    if math.isnan(x) or x < _W_BRANCH_POINT:
        raise ValueError(f"lambert_w0 is defined for x >= -1/e, got {x}")
    if x == 0.0:
        return 0.0
    if x == _W_BRANCH_POINT:
        return -1.0
    if x < 1.0:
        p = math.sqrt(2.0 * (math.e * x + 1.0))
        w = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p**3
    else:
        w = math.log(x)
        if x > 3.0:
            w -= math.log(w)
    for _ in range(max_iter):
        ew = math.exp(w)
        f = w * ew - x
        step = f / (ew * (w + 1.0) - (w + 2.0) * f / (2.0 * w + 2.0))
        w -= step
        if abs(step) <= tol * (1.0 + abs(w)):
            break
    return w


def utility(t: float, params: FatigueParams) -> float:
    """Expected accuracy after round t: ``1 - (1-p_g) e^{-k t} - beta t^2``, ``k = L (p_v-p_g)``."""
    k = params.L * (params.p_v - params.p_g)
    return 1.0 - (1.0 - params.p_g) * math.exp(-k * t) - params.beta * t * t


def optimal_rounds(params: FatigueParams) -> float:
    """The peak of U(t): ``T_opt = W(k^2 (1-p_g) / (2 beta)) / k``."""
    k = params.L * (params.p_v - params.p_g)
    return lambert_w0(k * k * (1.0 - params.p_g) / (2.0 * params.beta)) / k


def halt_reason(best: Winner | None, *, restated_only: bool = False) -> str:
    """Why a run stops when a round cannot be completed (fewer than two usable proposals, or no
    usable review): ``"degraded"`` when an earlier round was completed and has a winner, whose
    answer the run keeps; ``"failed"`` only when there is no answer at all. ``"stalled"`` when
    the round's only failures were proposers that would not re-solve (``restated``): the table
    has nothing new to say, which is an end of deliberation, not a fault."""
    if best is None:
        return "failed"
    return "stalled" if restated_only else "degraded"


def stop_reason(history: Sequence[RoundOutcome], config: StopRule, spent: Spent) -> str | None:
    """Why the run should stop after the last round of ``history``, or None to go on."""
    if not history:
        return None
    t = history[-1].round
    if config.unanimous_exit and history[-1].unanimous:
        return "unanimous"
    if t >= config.max_rounds:
        return "max_rounds"
    if t >= config.min_rounds and _converged(history, config):
        return "converged"
    if config.fatigue is not None and t >= max(1, math.floor(optimal_rounds(config.fatigue) + 0.5)):
        return "fatigue_optimum"
    return budget_spent(config, spent)


def _converged(history: Sequence[RoundOutcome], config: StopRule) -> bool:
    """The winning answer was the same, each time with enough conviction, ``patience`` rounds."""
    recent = history[-config.patience :]
    if len(recent) < config.patience or recent[-1].answer is None:
        return False
    return all(
        r.answer == recent[-1].answer and r.conviction >= config.convergence_threshold
        for r in recent
    )


def budget_spent(config: StopRule, spent: Spent) -> str | None:
    """Which budget ``spent`` has reached, if any: checked after every round, and before a
    round's review phase, which does not start once a budget is gone."""
    if config.max_total_tokens is not None and spent.tokens >= config.max_total_tokens:
        return "token_budget"
    if config.max_total_cost is not None and spent.cost >= config.max_total_cost:
        return "cost_budget"
    if config.max_seconds is not None and spent.seconds >= config.max_seconds:
        return "time_budget"
    return None


def best_round(history: Sequence[RoundOutcome]) -> RoundOutcome | None:
    """The round whose winner had the highest support; the earlier round wins a tie."""
    scored = [r for r in history if r.support is not None and r.answer is not None]
    if not scored:
        return None
    return max(scored, key=lambda r: (r.support, -r.round))


def outcomes(rounds: Sequence[RoundRecord]) -> list[RoundOutcome]:
    """What the stopping rule reads of each finished round."""
    return [
        RoundOutcome(
            round=r["round"],
            answer=r["winner"]["answer"] if r["winner"] else None,
            support=r["winner"]["support"] if r["winner"] else None,
            conviction=r["conviction"],
            unanimous=r.get("unanimous", False),
        )
        for r in rounds
    ]


def final_winner(rounds: Sequence[RoundRecord]) -> Winner | None:
    """What the run answers: the winning proposal of the best round (``best_round``), except
    after a unanimous last round, whose answer every proposal gave (``unanimous_exit``): a
    support of 1 there is no measure to compare with an earlier round's."""
    if rounds and rounds[-1].get("unanimous"):
        return rounds[-1]["winner"]
    best = best_round(outcomes(rounds))
    return next((r["winner"] for r in rounds if best and r["round"] == best.round), None)
