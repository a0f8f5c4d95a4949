"""Answer-level evidence: the vote over answers, not proposals (docs/protocol.md, "4. Vote").

The paper's vote picks the proposal with the highest review support. When three agents reach
one answer, that rule splits their evidence three ways, and when reviews carry no signal (small
models reviewed at chance in this project's runs) it lets noise overturn agreement. Here
each usable proposal is one independent solution of its answer, and its reviews move its weight
by ``review_weight`` times its support::

    evidence  E_a = sum over proposals p giving a of (1 + lambda * S_p)      (S_p in [-1, 1])

With ``lambda = 0`` this is plurality over answers; with ``lambda >= 1`` a proposal its reviewers
reject outright counts for nothing. The winning answer has the most evidence. Ties go to the
summed ``strength`` of the agents that reached it, then to a digest of ``tie_salt`` and the answer
(never to an id's spelling). Within the answer, the proposal with the highest support (then
strength, then digest) is the winner that carries the text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from nsed_graph.protocol.voting import TIE_PRECISION, tie_digest


@dataclass(frozen=True)
class AnswerVote:
    """The evidence of each answer, the winning answer and proposal, and the conviction."""

    evidence: dict[str, float]
    answer: str | None
    winner: str | None
    conviction: float


def answer_vote(
    answers: Mapping[str, str],
    supports: Mapping[str, float],
    *,
    review_weight: float,
    strength: Mapping[str, float] | None = None,
    tie_salt: str = "",
) -> AnswerVote:
    """The vote over answers of one round.

    ``answers`` maps each usable proposal (agent id) to its normalised answer. ``supports`` are
    the round's review supports (``voting.tally``); a proposal no review reached counts as one
    solution with support 0. ``conviction`` is the winner's share of all evidence.
    """
    strengths = strength or {}
    evidence: dict[str, float] = {}
    backing: dict[str, float] = {}
    for agent in sorted(answers):
        answer = answers[agent]
        weight = 1.0 + review_weight * supports.get(agent, 0.0)
        evidence[answer] = evidence.get(answer, 0.0) + weight
        backing[answer] = backing.get(answer, 0.0) + strengths.get(agent, 0.0)
    if not evidence:
        return AnswerVote(evidence={}, answer=None, winner=None, conviction=0.0)

    def answer_order(answer: str) -> tuple[float, float, str]:
        return (
            -round(evidence[answer], TIE_PRECISION),
            -backing[answer],
            tie_digest(tie_salt, answer),
        )

    best = min(evidence, key=answer_order)

    def member_order(agent: str) -> tuple[float, float, str]:
        own = round(supports.get(agent, 0.0), TIE_PRECISION)
        return (-own, -strengths.get(agent, 0.0), tie_digest(tie_salt, agent))

    winner = min((agent for agent, answer in answers.items() if answer == best), key=member_order)
    total = math.fsum(abs(value) for value in evidence.values())
    conviction = evidence[best] / total if total else 0.0
    return AnswerVote(evidence=evidence, answer=best, winner=winner, conviction=conviction)


__all__ = ["AnswerVote", "answer_vote"]
