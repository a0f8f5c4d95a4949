"""What a reviewer's votes are worth, learned from outcomes (docs/protocol.md, "4. Vote").

In this project's recorded runs the reviewers told right from wrong at chance (p_v about 0.5),
yet their votes counted in full and could overturn agreement. The old reliability was learned
against the same round's winner, which the reviewer had helped to choose, and shrunk toward 1;
so it could not find that out. Here a reviewer's worth is learned from outcomes:

- a score is a **hit** when its sign is right about the candidate (positive for a right answer,
  negative for a wrong one) and a **miss** otherwise; a score of 0 is neither;
- what is right comes from a known answer (the run's ``reference``, which a benchmark has),
  else from the run's final answer, counting a reviewer only in rounds whose winning answer did
  not depend on it (it is not ``pivotal``), so that no reviewer grades itself;
- its accuracy is shrunk toward a prior, ``p = (hits + k * p0) / (hits + misses + k)``, and its
  worth is the log-odds of that accuracy, floored at 0::

      worth = max(0, ln(p / (1 - p)))       (capped at WORTH_CAP)

  so a reviewer at chance (or worse) moves nothing, and a reviewer right 3 times in 4 counts
  about 1.1 times a full vote. A review that scores every candidate alike gains as many misses
  as hits on a contested table, so it earns nothing either.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

from nsed_graph.records import RoundRecord

WORTH_CAP = math.log(0.99 / 0.01)
"""No reviewer is worth more than one right 99 times in 100: a short perfect history must not
make one voice decide every later round."""

Weights = Mapping[str, Mapping[str, float]]


def score_outcomes(
    raw_weights: Weights, right: Mapping[str, bool], *, skip: Collection[str] = ()
) -> dict[str, tuple[int, int]]:
    """(hits, misses) of each reviewer over the candidates whose rightness is known.

    ``raw_weights`` maps reviewer -> candidate -> weight (the round's ``raw_weights``);
    candidates missing from ``right`` and reviewers in ``skip`` are not counted.
    """
    outcomes: dict[str, tuple[int, int]] = {}
    for reviewer in sorted(raw_weights):
        if reviewer in skip:
            continue
        hits = misses = 0
        for candidate, weight in raw_weights[reviewer].items():
            if candidate not in right or weight == 0:
                continue
            if (weight > 0) == right[candidate]:
                hits += 1
            else:
                misses += 1
        if hits or misses:
            outcomes[reviewer] = (hits, misses)
    return outcomes


def add_outcomes(
    totals: Iterable[Mapping[str, tuple[int, int]]],
) -> dict[str, tuple[int, int]]:
    """Sum (hits, misses) per reviewer over several rounds."""
    summed: dict[str, tuple[int, int]] = {}
    for outcomes in totals:
        for reviewer, (hits, misses) in outcomes.items():
            old_hits, old_misses = summed.get(reviewer, (0, 0))
            summed[reviewer] = (old_hits + hits, old_misses + misses)
    return summed


def run_outcomes(
    rounds: Sequence[RoundRecord], right: Callable[[str], bool], *, graded_by_final: bool
) -> dict[str, tuple[int, int]]:
    """(hits, misses) of each reviewer over a finished run's rounds.

    ``right`` says whether a proposal's answer is right: against a known answer, or against the
    run's final answer when ``graded_by_final``, in which case a round's ``pivotal`` reviewers
    are left out of that round (their reviews chose the answer they would be graded by).
    """
    per_round = []
    for record in rounds:
        known = {
            p["agent"]: right(p["answer"])
            for p in record["proposals"]
            if p["ok"] and p["answer"] is not None
        }
        skip = record.get("pivotal", []) if graded_by_final else ()
        per_round.append(score_outcomes(record["raw_weights"], known, skip=skip))
    return add_outcomes(per_round)


def reviewer_worth(
    hits: int, misses: int, *, prior_accuracy: float, prior_strength: float
) -> float:
    """The log-odds worth of a reviewer with this record; see the module docstring."""
    scored = hits + misses
    if scored + prior_strength == 0:
        p = prior_accuracy
    else:
        p = (hits + prior_strength * prior_accuracy) / (scored + prior_strength)
    if p <= 0.5:
        return 0.0
    if p >= 1.0:
        return WORTH_CAP
    return min(WORTH_CAP, math.log(p / (1.0 - p)))


def pivotal_reviewers(
    reviewers: Iterable[str],
    winner: str | None,
    winner_without: Callable[[str], str | None],
) -> list[str]:
    """The reviewers without whose votes the round's winning answer would change.

    ``winner_without(reviewer)`` recomputes the vote with that reviewer's reviews left out.
    """
    return sorted(r for r in reviewers if winner_without(r) != winner)


__all__ = [
    "WORTH_CAP",
    "add_outcomes",
    "pivotal_reviewers",
    "reviewer_worth",
    "run_outcomes",
    "score_outcomes",
]
