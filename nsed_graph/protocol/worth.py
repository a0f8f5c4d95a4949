"""What a reviewer's votes are worth, learned from outcomes (docs/protocol.md, "4. Vote").

In this project's recorded runs the reviewers told right from wrong at chance (p_v about 0.5),
yet their votes counted in full and could overturn agreement. The old reliability was learned
against the same round's winner, which the reviewer had helped to choose, and shrunk toward 1;
so it could not find that out. Here a reviewer's worth is learned from outcomes:

- a reviewer's scores are counted on each side: of the right candidates it scored, how many it
  endorsed (weight > 0); of the wrong ones, how many it rejected (weight < 0); a score of 0
  counts on neither side;
- what is right comes from a known answer (the run's ``reference``, which a benchmark has),
  else from the run's final answer, counting a reviewer only in rounds whose winning answer did
  not depend on it (it is not ``pivotal``), so that no reviewer grades itself;
- its accuracy is **balanced**, the mean of the two sides, each shrunk toward a prior ``p0``
  with ``k / 2`` pseudo-scores::

      tpr   = (right endorsed + k/2 p0) / (right scored + k/2)
      tnr   = (wrong rejected + k/2 p0) / (wrong scored + k/2)
      p     = (tpr + tnr) / 2
      worth = min(1, max(0, ln(p / (1 - p))))

  so a reviewer at chance (or worse) moves nothing. Balanced, because a plain share of right
  signs rewards a reviewer for the table it sat at: one that rejects everything looked 82%
  accurate where most answers were wrong (the 1.5B on GSM8K, right in 1 of its 10 endorsements),
  and one that endorses everything looked 65% accurate where most were right (SmolLM2 on
  ARC-Easy). A reviewer that rejects, or endorses, everything has a balanced accuracy of one
  half, and a worth of 0, whatever its table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from nsed_graph.records import RoundRecord

WORTH_CAP = 1.0
"""No reviewer counts more than one full vote (reached at a balanced accuracy of about 73%), so
supports stay in [-1, 1], where the broker's values and benching read them, and a short perfect
history cannot make one voice decide every later round."""

Weights = Mapping[str, Mapping[str, float]]

Outcome = tuple[int, int, int, int]
"""A reviewer's record: (right endorsed, right scored, wrong rejected, wrong scored)."""

OUTCOME_FIELDS = ("right_endorsed", "right_scored", "wrong_rejected", "wrong_scored")
"""The names of an ``Outcome``'s counts, in its order, wherever they are kept by name."""
REVIEW_PREFIX = "review_"
"""Telemetry keeps an agent's outcome as ``review_right_endorsed`` and so on."""


def outcome_of(counts: Mapping[str, Any], prefix: str = "") -> Outcome:
    """The ``Outcome`` kept by name in ``counts`` (``prefix`` + each of ``OUTCOME_FIELDS``),
    a missing count being 0: a telemetry record (``review_``) or a report's tally."""
    endorsed, seen_right, rejected, seen_wrong = (
        int(counts.get(prefix + name, 0)) for name in OUTCOME_FIELDS
    )
    return endorsed, seen_right, rejected, seen_wrong


def score_outcomes(
    raw_weights: Weights, right: Mapping[str, bool], *, skip: Collection[str] = ()
) -> dict[str, Outcome]:
    """Each reviewer's ``Outcome`` over the candidates whose rightness is known.

    ``raw_weights`` maps reviewer -> candidate -> weight (the round's ``raw_weights``);
    candidates missing from ``right``, scores of 0 and reviewers in ``skip`` are not counted.
    """
    outcomes: dict[str, Outcome] = {}
    for reviewer in sorted(raw_weights):
        if reviewer in skip:
            continue
        endorsed = seen_right = rejected = seen_wrong = 0
        for candidate, weight in raw_weights[reviewer].items():
            if candidate not in right or weight == 0:
                continue
            if right[candidate]:
                seen_right += 1
                endorsed += weight > 0
            else:
                seen_wrong += 1
                rejected += weight < 0
        if seen_right or seen_wrong:
            outcomes[reviewer] = (endorsed, seen_right, rejected, seen_wrong)
    return outcomes


def add_outcomes(totals: Iterable[Mapping[str, Outcome]]) -> dict[str, Outcome]:
    """Sum each reviewer's outcomes over several rounds or runs."""
    summed: dict[str, Outcome] = {}
    for outcomes in totals:
        for reviewer, outcome in outcomes.items():
            old = summed.get(reviewer, (0, 0, 0, 0))
            summed[reviewer] = (
                old[0] + outcome[0],
                old[1] + outcome[1],
                old[2] + outcome[2],
                old[3] + outcome[3],
            )
    return summed


def run_outcomes(
    rounds: Sequence[RoundRecord], right: Callable[[str], bool], *, graded_by_final: bool
) -> dict[str, Outcome]:
    """Each reviewer's ``Outcome`` over a finished run's rounds.

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


def balanced_accuracy(outcome: Outcome, *, prior_accuracy: float, prior_strength: float) -> float:
    """The mean of the shrunk rates of endorsing right and rejecting wrong candidates."""
    endorsed, seen_right, rejected, seen_wrong = outcome
    half = prior_strength / 2.0

    def rate(hits: int, seen: int) -> float:
        return (hits + half * prior_accuracy) / (seen + half) if seen + half else prior_accuracy

    return (rate(endorsed, seen_right) + rate(rejected, seen_wrong)) / 2.0


def observed_accuracy(outcome: Outcome) -> float | None:
    """The balanced accuracy of what was observed, with no prior: a side never seen counts as
    chance (rejecting everything at a table of wrong answers reads 0.75, not 1); None when
    nothing was scored. For reports and telemetry, not for weighting a vote."""
    if outcome[1] + outcome[3] == 0:
        return None
    return balanced_accuracy(outcome, prior_accuracy=0.5, prior_strength=0.0)


def reviewer_worth(outcome: Outcome, *, prior_accuracy: float, prior_strength: float) -> float:
    """The log-odds worth of a reviewer with this record; see the module docstring."""
    p = balanced_accuracy(outcome, prior_accuracy=prior_accuracy, prior_strength=prior_strength)
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
    "OUTCOME_FIELDS",
    "REVIEW_PREFIX",
    "WORTH_CAP",
    "Outcome",
    "add_outcomes",
    "balanced_accuracy",
    "observed_accuracy",
    "outcome_of",
    "pivotal_reviewers",
    "reviewer_worth",
    "run_outcomes",
    "score_outcomes",
]
