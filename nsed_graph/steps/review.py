"""Step 3, review: the barrier after proposing, one ``Send`` per reviewer seat, its job and its
node (docs/protocol.md, "3. Review").

Each reviewer scores every other usable proposal, never its own, under its own opaque labels
(``protocol.masking``). A round with fewer than two usable proposals cannot be reviewed: the
barrier records why (``halt``) and the edge after it goes straight to the stop step. A round
whose usable proposals all give one answer is not reviewed either (``unanimous_exit``), nor one
whose reviews could not move its vote (``skip_uncounted_reviews``): the edge goes to the vote,
which takes the plurality of the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableLambda
from langgraph.types import Send

from nsed_graph.accounting import spent_so_far, summarize_usage
from nsed_graph.agents import sampled_from
from nsed_graph.broker.model import REVIEWING
from nsed_graph.calls import CallFailure, CallLog, Job, Reply, Request, call_all, call_one
from nsed_graph.config import NSEDConfig
from nsed_graph.events import emit
from nsed_graph.prompts import (
    reasoned_review_messages,
    review_messages,
    verdicts_again_messages,
)
from nsed_graph.protocol.ballot import reviewer_worths, reviews_can_count
from nsed_graph.protocol.masking import assign_labels
from nsed_graph.protocol.stopping import budget_spent, unanimous
from nsed_graph.protocol.verdicts import read_verdicts
from nsed_graph.records import Proposal, Review, Score
from nsed_graph.schemas import batch_review_schema, score_schema, scores_by_label
from nsed_graph.state import NSEDState, ReviewTask
from nsed_graph.steps.seat import Table, seat_done, seat_node

PeerText = Callable[[Proposal], str]
"""How a proposal is shown to another seat: masked, redacted and cut to budget."""
ReviewReplies = tuple[list[Reply | CallFailure], dict[str, dict[str, Any]]]
"""Every reply of a review's calls, and the scores read from them by label."""


def gather(state: NSEDState) -> dict[str, Any]:
    """The barrier between the fan-outs: a round goes on to review with two usable proposals."""
    usable = [p for p in state["proposals"] if p["ok"]]
    if len(usable) >= 2:
        return {}
    failed = sorted(p["agent"] for p in state["proposals"] if not p["ok"])
    return {
        "halt": (
            f"round {state['round']}: only {len(usable)} usable proposal(s), NSED needs two; "
            f"failed proposers: {', '.join(failed) or 'none'} (see 'failures' for why)"
        )
    }


def measured_worths(config: NSEDConfig, state: NSEDState, reviewers: list[str]) -> dict[str, float]:
    """Each reviewer's worth from the run's telemetry, under the config's prior (``worth``)."""
    return reviewer_worths(
        state.get("telemetry") or {},
        reviewers,
        prior_accuracy=config.worth_prior_accuracy,
        prior_strength=config.worth_prior_strength,
    )


def candidates_for(reviewer: str, proposals: list[Proposal]) -> list[Proposal]:
    """What a reviewer scores: every usable proposal but its own and its siblings' (the other
    samples of its model). A model's review of its own draw is self-preference, not an
    independent judgement, and a table of samples would mostly review itself."""
    own = sampled_from(reviewer)
    return [p for p in proposals if sampled_from(p["agent"]) != own]


def reviews_skipped(config: NSEDConfig, state: NSEDState) -> bool:
    """Whether the round goes to its vote without reviews: none could count
    (``skip_uncounted_reviews``, ``protocol.ballot.reviews_can_count``), no reviewer has a
    candidate left once its own model's samples are set aside (a table of one model's
    samples), or a budget (``max_total_tokens``, ``max_total_cost``, ``max_seconds``) was
    already reached by the proposals."""
    usable = [p for p in state["proposals"] if p["ok"]]
    reviewers = [seat["agent"] for seat in state["seats"] if seat["role"] in REVIEWING]
    if not any(candidates_for(reviewer, usable) for reviewer in reviewers):
        return True
    usage = summarize_usage(state.get("calls") or [])
    spent = spent_so_far(usage["total"], state.get("started_at"))
    if budget_spent(config.stop_rule(), spent) is not None:
        return True  # a budget gone in the proposals: no review phase on top (issue 16)
    if not config.skip_uncounted_reviews:
        return False
    worths = None
    if config.reviewer_weighting == "worth":
        worths = measured_worths(config, state, reviewers)
    return not reviews_can_count(
        vote_unit=config.vote_unit, review_weight=config.review_weight, worths=worths
    )


def send_reviews(table: Table, state: NSEDState) -> list[Send] | str:
    """One ``Send`` per reviewer seat with every usable proposal; straight to stop after a
    halt, or to the vote when the proposals are unanimous (``unanimous_exit``) or their
    reviews could not count (``skip_uncounted_reviews``)."""
    if state.get("halt"):
        return "stop"
    usable = [p for p in state["proposals"] if p["ok"]]
    if table.config.unanimous_exit and unanimous([p["answer"] for p in usable]):
        return "vote"
    if reviews_skipped(table.config, state):
        return "vote"
    sends = []
    for seat in state["seats"]:
        candidates = candidates_for(seat["agent"], usable)
        if seat["role"] not in REVIEWING or not candidates:
            continue
        own = [p for p in usable if p["agent"] == seat["agent"]]  # the anchor of a reasoned review
        task: ReviewTask = {
            "agent": seat["agent"],
            "round": state["round"],
            "task": state["task"],
            "proposals": [*own, *candidates],
        }
        sends.append(Send("review", task))
    return sends


def review_job(
    task: ReviewTask, config: NSEDConfig, log: CallLog, *, peer_text: PeerText
) -> Job[Review]:
    """Score every other proposal under this reviewer's own labels; a failed call scores none."""
    by_agent = {p["agent"]: p for p in task["proposals"]}
    assignment = assign_labels(
        [p["agent"] for p in task["proposals"]],
        task["agent"],
        seed=config.seed,
        round_number=task["round"],
        masking=config.masking,
        task=task["task"],
    )
    shown = [(label, peer_text(by_agent[agent])) for label, agent in assignment]
    review: Review = {
        "round": task["round"],
        "reviewer": task["agent"],
        "ok": False,
        "scores": {},
    }
    if config.review_mode == "reasoned":
        own = by_agent.get(task["agent"])
        replies, parsed = yield from reasoned_review(
            task, config, log, shown, own=peer_text(own) if own else None
        )
    elif config.review_mode == "batch":
        labels = tuple(label for label, _ in shown)
        request = Request(
            "review",
            tuple(review_messages(task["task"], shown)),
            schema=batch_review_schema(labels, config.critique_max_chars),
        )
        reply = yield from call_one(request, log, config)
        replies = [reply]
        parsed = scores_by_label(reply.parsed or {}, labels) if isinstance(reply, Reply) else {}
    else:
        requests = [
            Request(
                "review",
                tuple(review_messages(task["task"], [item], batch=False)),
                schema=score_schema(config.critique_max_chars),
            )
            for item in shown
        ]
        replies = yield from call_all(requests, log, config)
        parsed = {
            label: r.parsed
            for (label, _), r in zip(shown, replies, strict=True)
            if isinstance(r, Reply) and r.parsed is not None
        }
    for failure in replies:
        if isinstance(failure, CallFailure):
            log.fail(failure)
    scores: dict[str, Score] = {
        agent: {
            "label": label,
            "weight": float(parsed[label]["weight"]),
            "critique": str(parsed[label]["critique"]),
        }
        for label, agent in assignment
        if label in parsed
    }
    return {**review, "ok": bool(scores), "scores": scores}


def reasoned_review(
    task: ReviewTask,
    config: NSEDConfig,
    log: CallLog,
    shown: list[tuple[str, str]],
    *,
    own: str | None,
) -> Job[ReviewReplies]:
    """Solve, then judge (``review_mode="reasoned"``): one free-text call, anchored on the
    reviewer's own proposal, whose verdicts are read from its final lines; candidates left
    without a readable verdict are asked for once more, as JSON, in the same conversation."""
    messages = reasoned_review_messages(task["task"], shown, own=own)
    reply = yield from call_one(Request("review", tuple(messages)), log, config)
    if isinstance(reply, CallFailure):
        return [reply], {}
    labels = [label for label, _ in shown]
    read = read_verdicts(reply.text, labels, critique_max_chars=config.critique_max_chars)
    parsed: dict[str, dict[str, Any]] = {
        label: {"weight": weight, "critique": reason} for label, (weight, reason) in read.items()
    }
    missing = tuple(label for label in labels if label not in parsed)
    if not missing:
        return [reply], parsed
    again = Request(
        "review",
        tuple(verdicts_again_messages(messages, reply.text, missing)),
        schema=batch_review_schema(missing, config.critique_max_chars),
    )
    fallback = yield from call_one(again, log, config)
    if isinstance(fallback, Reply):
        parsed |= scores_by_label(fallback.parsed or {}, missing)
    return [reply, fallback], parsed


def review_node(table: Table) -> RunnableLambda[ReviewTask, dict[str, Any]]:
    """The reviewer seat's node: peers shown through the table's masked view."""

    def job(task: ReviewTask, log: CallLog) -> Job[Review]:
        return review_job(task, table.config, log, peer_text=table.peer_view)

    def finish(task: ReviewTask, review: Review, log: CallLog) -> dict[str, Any]:
        emit({"event": "review", **seat_done(log, review["ok"]), "scored": len(review["scores"])})
        return {"reviews": [review], "calls": log.calls, "failures": log.failures}

    return seat_node(table, "review", job, finish)
