"""The quadratic-voting activation (docs/protocol.md, "4. Vote").

For reviewer i over the candidates j it scored::

    credits  s_ij = w_ij / sum_k |w_ik|          (one credit per reviewer; all zero -> no vote)
    votes    v_ij = sign(s_ij) * sqrt(|s_ij|)     (v votes cost v^2 credits)
    support  S_j  = (1 / n_j) * sum_i v_ij        (n_j = reviewers who voted on j)

Quadratic votes let a reviewer concentrate its credit on the candidate it is sure of, but at a
rising price, so intensity of evidence counts without one voice buying the round. Missing reviews
are left out, never filled in; the diagonal (a reviewer scoring itself) is dropped.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from nsed_graph.protocol.estimates import shrink

Aggregation = Literal["quadratic", "linear", "majority"]
"""How credits become votes (``NSEDConfig.aggregation``): square roots, the credits themselves, or
one vote for each reviewer's best."""
Calibration = Literal["none", "center", "zscore"]
"""How a reviewer's raw weights are put on a common scale before they become credits
(``NSEDConfig.calibration``)."""

Weights = Mapping[str, Mapping[str, float]]
"""Raw endorsement weights: reviewer id -> candidate id -> w in [-100, 100]."""

TIE_PRECISION = 12
"""Supports equal to this many decimals count as tied, whatever the summation order."""


@dataclass(frozen=True)
class Tally:
    """Everything the vote computed, kept so a reader can recompute the round by hand."""

    raw: dict[str, dict[str, float]]
    calibrated: dict[str, dict[str, float]]
    credits: dict[str, dict[str, float]]
    votes: dict[str, dict[str, float]]
    supports: dict[str, float]
    reviewers: dict[str, int]
    cluster_supports: dict[str, float]
    ranking: list[str]
    winner: str | None
    winner_support: float
    conviction: float


def tie_digest(salt: str, name: str) -> str:
    """The last tie-break of a vote: reproducible for one task and round (``salt``), but
    favouring no name across tasks, as the spelling of an id would."""
    return hashlib.sha256(f"{salt}\0{name}".encode()).hexdigest()


def calibrate(weights: Mapping[str, float], mode: Calibration) -> dict[str, float]:
    """Per-reviewer calibration before the credit step.

    ``center`` subtracts the reviewer's mean, so a reviewer that endorses everything equally casts
    no vote; ``zscore`` also divides by the spread, so loud and quiet reviewers weigh the same.
    """
    if mode == "none" or len(weights) < 2:  # one score has no scale to calibrate against
        return dict(weights)
    mean = math.fsum(weights.values()) / len(weights)
    centred = {j: w - mean for j, w in weights.items()}
    if mode == "center":
        return centred
    spread = math.sqrt(math.fsum(c * c for c in centred.values()) / len(centred))
    if spread == 0.0:
        return {j: 0.0 for j in centred}
    return {j: c / spread for j, c in centred.items()}


def credits(weights: Mapping[str, float]) -> dict[str, float]:
    """Spend exactly one credit: ``s_j = w_j / sum_k |w_k|``; all-zero weights spend nothing."""
    total = math.fsum(abs(w) for w in weights.values())
    if total == 0.0:
        return {}
    return {j: w / total for j, w in weights.items()}


def votes(spent: Mapping[str, float], aggregation: Aggregation) -> dict[str, float]:
    """Turn credits into votes.

    quadratic: ``sign(s) sqrt(|s|)``; linear: the credit itself; majority: one vote for the
    candidate with the highest credit (ties split evenly), a head count for ablations.
    """
    if not spent:
        return {}
    if aggregation == "quadratic":
        return {j: math.copysign(math.sqrt(abs(s)), s) if s else 0.0 for j, s in spent.items()}
    if aggregation == "linear":
        return dict(spent)
    best = max(spent.values())
    if best <= 0.0:
        return {j: 0.0 for j in spent}
    top = [j for j, s in spent.items() if s == best]
    return {j: (1.0 / len(top) if j in top else 0.0) for j in spent}


def tally(
    weights: Weights,
    candidates: Sequence[str],
    *,
    aggregation: Aggregation = "quadratic",
    calibration: Calibration = "none",
    reliability: Mapping[str, float] | None = None,
    clusters: Mapping[str, str] | None = None,
    previous_support: Mapping[str, float] | None = None,
    strength: Mapping[str, float] | None = None,
    tie_salt: str = "",
) -> Tally:
    """Combine one round's reviews into supports, a winner and its conviction.

    ``reliability`` multiplies each reviewer's votes ([ours]; docs/protocol.md, "Reviewer
    reliability" and "Reviewer worth"); a reviewer multiplied by 0 is silent, left out of the
    mean support (a candidate only silent reviewers scored has support 0 from 0 reviewers).
    ``clusters`` maps candidates to an answer key: candidates in one cluster pool their support
    ([ours] answer pooling) and the winner is the best-supported member of the best cluster.
    Ties go to evidence, never to the spelling of an id (issue 13, defect 2: with the lower id
    winning ties, the 0.5B beat the 1.5B): first to the answer more candidates reached
    (agreement), then to the candidate's own support, its ``previous_support``, and its
    proposer's ``strength`` (its prior or measured accuracy). Only a tie in all of these is
    settled by a digest of ``tie_salt`` (the task and round) and the candidate, which is
    reproducible but favours no agent across tasks. The result does not depend on the order in
    which candidates or reviewers are listed.
    """
    pool = set(candidates)
    raw: dict[str, dict[str, float]] = {}
    for reviewer in sorted(weights):
        row = {j: float(w) for j, w in weights[reviewer].items() if j in pool and j != reviewer}
        if row:
            raw[reviewer] = row
    calibrated = {i: calibrate(row, calibration) for i, row in raw.items()}
    spent = {i: c for i, row in calibrated.items() if (c := credits(row))}
    cast: dict[str, dict[str, float]] = {}
    for reviewer, row in spent.items():
        factor = 1.0 if reliability is None else reliability.get(reviewer, 1.0)
        cast[reviewer] = {j: v * factor for j, v in votes(row, aggregation).items()}

    # a reviewer weighted 0 is silent: it does not dilute the mean of those that count
    silent = {i for i in cast if reliability is not None and reliability.get(i, 1.0) == 0.0}
    supports: dict[str, float] = {}
    counted: dict[str, int] = {}
    for candidate in sorted(pool):
        scored = [i for i in sorted(cast) if candidate in cast[i]]
        heard = [cast[i][candidate] for i in scored if i not in silent]
        if scored:
            counted[candidate] = len(heard)
            supports[candidate] = math.fsum(heard) / len(heard) if heard else 0.0

    key_of = {j: (clusters or {}).get(j, j) for j in supports}
    cluster_supports: dict[str, float] = {}
    for candidate in sorted(supports):
        key = key_of[candidate]
        cluster_supports[key] = cluster_supports.get(key, 0.0) + supports[candidate]

    previous = previous_support or {}
    strengths = strength or {}
    agreement = Counter((clusters or {}).get(j, j) for j in pool)

    def order(candidate: str) -> tuple[float, int, float, float, float, str]:
        key = key_of[candidate]
        return (
            -round(cluster_supports[key], TIE_PRECISION),
            -agreement[key],
            -round(supports[candidate], TIE_PRECISION),
            -previous.get(candidate, 0.0),
            -strengths.get(candidate, 0.0),
            tie_digest(tie_salt, candidate),
        )

    ranking = sorted(supports, key=order)
    winner = ranking[0] if ranking else None
    total = math.fsum(abs(s) for s in cluster_supports.values())
    conviction = cluster_supports[key_of[winner]] / total if winner and total else 0.0
    return Tally(
        raw=raw,
        calibrated=calibrated,
        credits=spent,
        votes=cast,
        supports=supports,
        reviewers=counted,
        cluster_supports=cluster_supports,
        ranking=ranking,
        winner=winner,
        winner_support=cluster_supports[key_of[winner]] if winner else 0.0,
        conviction=conviction,
    )


def reliability_from_history(
    agreements: Mapping[str, tuple[float, float]], prior_strength: float
) -> dict[str, float]:
    """Reviewer reliability in [0, 1], shrunk toward 1 for reviewers with little history.

    ``agreements`` maps a reviewer to (agreement observed, opportunities): for example the sum
    of per-round shares of scores whose sign agreed with the winner, and the rounds reviewed.
    ``r = (prior_strength + agreed) / (prior_strength + cast)``.
    """
    return {
        reviewer: shrink(1.0, prior_strength, agreed / cast if cast else 1.0, cast)
        for reviewer, (agreed, cast) in agreements.items()
    }


def sign_agreement(scores: Mapping[str, float], winner: str) -> tuple[int, int]:
    """(scores whose sign agreed with the winner, scores cast): positive for the winner and
    not positive for the others counts as agreement. Feeds reviewer reliability."""
    agreed = sum(1 for candidate, w in scores.items() if (w > 0) == (candidate == winner))
    return agreed, len(scores)
