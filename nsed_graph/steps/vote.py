"""Step 4, vote: the round's quadratic vote over its usable reviews
(docs/protocol.md, "4. Vote").

The arithmetic is ``protocol.voting.tally`` and its inputs and record ``protocol.ballot``; this
node gathers them from the state. A vote that cannot be taken (no usable review, or every
weight zero after calibration) records why (``halt``), and the edge after it goes to stop. A
round whose proposals are unanimous (``unanimous_exit``), or whose reviews could not have
counted (``skip_uncounted_reviews``), reaches the vote without reviews and takes the plurality
of its answers (``protocol.ballot.unreviewed_record``); after a unanimous round the stop step
ends the run.
"""

from __future__ import annotations

from typing import Any

from nsed_graph.events import emit
from nsed_graph.protocol.ballot import (
    answer_clusters,
    review_weights,
    reviewer_reliability,
    unreviewed_record,
    vote_record,
)
from nsed_graph.protocol.evidence import AnswerVote, answer_vote
from nsed_graph.protocol.stopping import unanimous
from nsed_graph.protocol.voting import Tally, Weights, tally
from nsed_graph.protocol.worth import pivotal_reviewers
from nsed_graph.records import Proposal, Vote
from nsed_graph.state import NSEDState
from nsed_graph.steps.review import measured_worths, reviews_skipped
from nsed_graph.steps.seat import StateNode, Table


def ballot(table: Table, state: NSEDState) -> tuple[list[Proposal], dict[str, float], str]:
    """What every vote of the round reads besides its reviews: the usable proposals, each
    proposer's strength (its declared prior) for ties, and the salt of the tie digest."""
    proposals = [p for p in state["proposals"] if p["ok"]]
    strength = {p["agent"]: table.agents[p["agent"]].prior for p in proposals}
    return proposals, strength, f"{state['task']}\0{state['round']}"


def unreviewed_vote(table: Table, state: NSEDState) -> Vote:
    """The round's vote taken without reviews: the plurality of its usable answers (what a
    halted first round answers with, ``steps.stop``)."""
    proposals, strength, salt = ballot(table, state)
    return unreviewed_record(state["round"], proposals, strength, salt)


def make_vote(table: Table) -> StateNode:
    config = table.config

    def weighting(state: NSEDState, reviewers: list[str]) -> dict[str, float] | None:
        """Each reviewer's multiplier under ``reviewer_weighting`` (None: all count alike)."""
        if config.reviewer_weighting == "reliability":
            telemetry = state.get("telemetry") or {}
            return reviewer_reliability(telemetry, config.reliability_prior_strength)
        if config.reviewer_weighting == "worth":
            return measured_worths(config, state, reviewers)
        return None

    def reviewed(
        state: NSEDState, proposals: list[Proposal], strength: dict[str, float], salt: str
    ) -> Vote | str:
        """The vote over the round's usable reviews, or why it cannot be taken."""
        t = state["round"]
        weights = review_weights(state["reviews"])
        if not weights:
            failed = sorted(r["reviewer"] for r in state["reviews"])
            return (
                f"round {t}: no usable review, the vote cannot be taken; failed reviewers: "
                f"{', '.join(failed) or 'none'} (see 'failures' for why)"
            )
        reliability = weighting(state, sorted(weights))
        clusters = answer_clusters(proposals)
        previous = state["rounds"][-1]["supports"] if state.get("rounds") else {}

        def decide(counted: Weights) -> tuple[Tally, AnswerVote | None]:
            result = tally(
                counted,
                [p["agent"] for p in proposals],
                aggregation=config.aggregation,
                calibration=config.calibration,
                reliability=reliability,
                clusters=clusters if config.answer_pooling else None,
                previous_support=previous,
                strength=strength,
                tie_salt=salt,
            )
            if config.vote_unit != "answers":
                return result, None
            answers = answer_vote(
                clusters,
                result.supports,
                review_weight=config.review_weight,
                strength=strength,
                tie_salt=salt,
            )
            return result, answers

        def answer_of(outcome: tuple[Tally, AnswerVote | None]) -> str | None:
            result, answers = outcome
            if answers is not None:
                return answers.answer
            return clusters.get(result.winner) if result.winner is not None else None

        result, answers = decide(weights)
        if result.winner is None:
            return (
                f"round {t}: the vote produced no winner: every review weight was zero "
                f"(after calibration '{config.calibration}'); reviewers: "
                f"{', '.join(sorted(weights))}"
            )
        record = vote_record(t, proposals, result, answers)
        heard = [r for r in weights if reliability is None or reliability.get(r, 1.0) != 0.0]
        record["pivotal"] = pivotal_reviewers(  # a silent reviewer decides nothing
            heard,
            answer_of((result, answers)),
            lambda left_out: answer_of(
                decide({i: row for i, row in weights.items() if i != left_out})
            ),
        )
        return record

    def vote(state: NSEDState) -> dict[str, Any]:
        """The round's ``vote`` (over its reviews, or without any when unanimous or when they
        could not count), or why there is none (``halt``)."""
        t = state["round"]
        proposals, strength, salt = ballot(table, state)
        if config.unanimous_exit and unanimous([p["answer"] for p in proposals]):
            record = unreviewed_record(t, proposals, strength, salt, unanimous=True)
        elif not state["reviews"] and reviews_skipped(config, state):
            # the review step's own decision; reviews made stand, even if a budget is gone now
            record = unreviewed_record(t, proposals, strength, salt)
        else:
            outcome = reviewed(state, proposals, strength, salt)
            if isinstance(outcome, str):
                return {"halt": outcome}
            record = outcome
        winner = record["winner"]
        emit(
            {
                "event": "vote",
                "round": t,
                "winner": winner["agent"] if winner else None,
                "answer": winner["answer"] if winner else None,
                "support": winner["support"] if winner else None,
                "conviction": record["conviction"],
                "supports": record["supports"],
            }
        )
        return {"vote": record}

    return vote


def route_after_vote(state: NSEDState) -> str:
    """On to the forget gate, or to stop when the vote could not be taken."""
    return "stop" if state.get("halt") else "forget_gate"
