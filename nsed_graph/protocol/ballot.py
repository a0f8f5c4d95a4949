"""What goes into a round's vote, and the record it leaves (docs/protocol.md, "4. Vote").

The vote itself is the arithmetic of ``voting.tally``; this module is the protocol around it:
which reviews count (usable ones only, missing ones left out, never filled in), how proposals
group into answers for pooling, how much each reviewer is trusted from its history, and the
plain record of the outcome that the rest of the run reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nsed_graph.protocol.evidence import AnswerVote, answer_vote
from nsed_graph.protocol.voting import Tally, reliability_from_history, tally
from nsed_graph.protocol.worth import REVIEW_PREFIX, outcome_of, reviewer_worth
from nsed_graph.records import AgentHistory, Proposal, Review, Vote, Winner


def review_weights(reviews: Sequence[Review]) -> dict[str, dict[str, float]]:
    """Reviewer -> candidate -> raw weight, from the usable reviews of the round."""
    return {
        review["reviewer"]: {agent: score["weight"] for agent, score in review["scores"].items()}
        for review in reviews
        if review["ok"]
    }


def answer_clusters(proposals: Sequence[Proposal]) -> dict[str, str]:
    """Candidate -> the answer it gave, the key under which equal answers pool their support;
    a proposal without an answer is a cluster of its own."""
    return {p["agent"]: p["answer"] or p["agent"] for p in proposals}


def reviewer_reliability(
    telemetry: Mapping[str, AgentHistory], prior_strength: float
) -> dict[str, float]:
    """Each reviewer's reliability from the sign agreement its telemetry has accumulated."""
    return reliability_from_history(
        {
            agent: (record["reliability_sum"], record["reliability_rounds"])
            for agent, record in telemetry.items()
        },
        prior_strength,
    )


def reviewer_worths(
    telemetry: Mapping[str, AgentHistory],
    reviewers: Sequence[str],
    *,
    prior_accuracy: float,
    prior_strength: float,
) -> dict[str, float]:
    """Each reviewer's worth from the review outcomes in its telemetry (``protocol.worth``);
    a reviewer without history is worth what the prior accuracy gives."""
    worths: dict[str, float] = {}
    for reviewer in reviewers:
        outcome = outcome_of(telemetry.get(reviewer) or {}, REVIEW_PREFIX)
        worths[reviewer] = reviewer_worth(
            outcome, prior_accuracy=prior_accuracy, prior_strength=prior_strength
        )
    return worths


def vote_record(
    round_number: int,
    proposals: Sequence[Proposal],
    result: Tally,
    answers: AnswerVote | None = None,
) -> Vote:
    """The vote as plain data: every intermediate a reader needs to recompute it, and the
    winning proposal (``None`` when no candidate received a vote).

    With ``answers`` (``vote_unit="answers"``) the winner is the answer vote's, its support the
    evidence of its answer per usable proposal, and the conviction the answer's share of all
    evidence; the proposal-level tally stays in the record beside it."""
    chosen_id, support, conviction = result.winner, result.winner_support, result.conviction
    if answers is not None:
        chosen_id, conviction = answers.winner, answers.conviction
        share = answers.evidence[answers.answer] if answers.answer is not None else 0.0
        support = share / len(proposals) if proposals else 0.0
    winner: Winner | None = None
    if chosen_id is not None:
        chosen = next((p for p in proposals if p["agent"] == chosen_id), None)
        winner = {
            "agent": chosen_id,
            "round": round_number,
            "answer": chosen["answer"] if chosen else None,
            "text": chosen["text"] if chosen else "",
            "support": support,
        }
    record: Vote = {
        "round": round_number,
        "raw_weights": result.raw,
        "calibrated": result.calibrated,
        "credits": result.credits,
        "votes": result.votes,
        "supports": result.supports,
        "cluster_supports": result.cluster_supports,
        "winner": winner,
        "conviction": conviction,
    }
    if answers is not None:
        record["evidence"] = answers.evidence
    return record


def reviews_can_count(
    *, vote_unit: str, review_weight: float, worths: Mapping[str, float] | None
) -> bool:
    """Whether any review of the round could move its vote (``skip_uncounted_reviews``).

    Not under the vote over answers at ``review_weight`` 0, where a solution weighs 1 whatever
    its reviews say; and not when every seated reviewer's measured worth (``worths``, under
    ``reviewer_weighting="worth"``) is 0: an ensemble whose reviewers were shown to judge at
    chance. Reviews that cannot count are pure cost: about 69% of a round's compute in the
    recorded runs (issue 13)."""
    if vote_unit == "answers" and review_weight == 0.0:
        return False
    return worths is None or not worths or any(w > 0.0 for w in worths.values())


def unreviewed_record(
    round_number: int,
    proposals: Sequence[Proposal],
    strength: Mapping[str, float],
    salt: str,
    *,
    unanimous: bool = False,
) -> Vote:
    """The vote of a round taken without reviews: the plurality of its usable proposals'
    answers, ties to the agents' ``strength``, marked ``unreviewed``; ``unanimous`` when every
    proposal gave that answer (``unanimous_exit``: support and conviction 1).

    Also what a halted first round answers with: its usable proposals' own answers are the
    best evidence left (``steps.stop``)."""
    answers = answer_vote(
        answer_clusters(proposals), {}, review_weight=0.0, strength=strength, tie_salt=salt
    )
    record = vote_record(round_number, proposals, tally({}, []), answers)
    record["unreviewed"] = True
    if unanimous:
        record["unanimous"] = True
    return record
