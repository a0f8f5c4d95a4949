"""Step 6, stop: the round's record, the stopping rule, telemetry, and the final answer
(docs/protocol.md, "6. Stop").

This step is the only writer of the round's ``RoundRecord``: it assembles it once from what the
round's steps wrote (seats, proposals, reviews, vote, brief, failures, calls). Then it decides
whether to go round again; when it stops, it saves the telemetry and answers from the best
round (``protocol.stopping.final_winner``). A round that cannot be completed (``halt``) ends the
run: ``"degraded"`` with the best completed round's answer and the halt as ``warning``
(``"stalled"`` when the round's proposers only restated answers: nothing new to say). When no
round was completed, the halted round's usable proposals still answer, by plurality
(``"degraded"``); ``"failed"``, with the halt as ``error``, only when there is none
(``protocol.stopping.halt_reason``).
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage

from nsed_graph.accounting import round_observations, spent_so_far, summarize_usage
from nsed_graph.broker import add_review_outcomes, update_telemetry
from nsed_graph.events import emit
from nsed_graph.persistence import save_history
from nsed_graph.protocol.answers import answers_equal
from nsed_graph.protocol.stopping import final_winner, halt_reason, outcomes, stop_reason
from nsed_graph.protocol.worth import run_outcomes
from nsed_graph.records import RoundRecord, Vote
from nsed_graph.state import NSEDState
from nsed_graph.steps.seat import StateNode, Table
from nsed_graph.steps.start import run_reference
from nsed_graph.steps.vote import unreviewed_vote


def make_stop(table: Table) -> StateNode:
    config = table.config
    rule = config.stop_rule()

    def learn_worth(
        telemetry: dict[str, Any],
        rounds: list[RoundRecord],
        answer: str | None,
        reference: str | None,
    ) -> dict[str, Any]:
        """Fold what the finished run showed of each reviewer into the telemetry: graded by the
        known answer where the caller gave one, else by the final answer."""
        truth = reference if reference is not None else answer
        if truth is None:
            return telemetry
        outcomes = run_outcomes(
            rounds,
            lambda given: answers_equal(given, truth, config.answer_format),
            graded_by_final=reference is None,
        )
        return add_review_outcomes(telemetry, outcomes)

    def stop(state: NSEDState) -> dict[str, Any]:
        """Record the round; go on, or stop with the answer of the best round."""
        vote = state.get("vote")
        record = round_record(state, vote) if vote is not None else None
        rounds = [*state.get("rounds", []), *([record] if record else [])]
        usage = summarize_usage(state.get("calls", []))
        spent = spent_so_far(usage["total"], state.get("started_at"))
        halt = state.get("halt")
        winner = final_winner(rounds)
        usable = [p for p in state.get("proposals", []) if p["ok"]]
        if halt and winner is None and usable:
            # nothing completed, but a proposal is better than no answer: degrade, never fail
            winner = unreviewed_vote(table, state)["winner"]
            halt = f"{halt}; answered with the plurality of its {len(usable)} usable proposal(s)"
        failures = state.get("failures") or []
        faults = [f for f in failures if f["kind"] != "restated"]
        this_round = [f for f in failures if f["round"] == state["round"]]
        restated_only = bool(this_round) and all(f["kind"] == "restated" for f in this_round)
        reason = (
            halt_reason(winner, restated_only=restated_only)
            if halt
            else stop_reason(outcomes(rounds), rule, spent)
        )
        telemetry = learn(state, record, config.bench_support_threshold)
        update: dict[str, Any] = {"usage": usage, "telemetry": telemetry}  # again at the end
        if record is not None:
            update["rounds"] = [record]
        if reason is None:
            return update
        answer = winner["answer"] if winner else None
        telemetry = learn_worth(telemetry, rounds, answer, run_reference(config))
        save_history(config, telemetry)
        # a halt after a completed round keeps that round's answer: a warning, not an error
        error, warning = (halt, None) if reason == "failed" else (None, halt)
        update |= {
            "stop_reason": reason,
            "answer": answer,
            "winner": winner,
            # a proposer that would not re-solve is the protocol refusing a copy, not a fault
            "degraded": bool((halt and reason != "stalled") or faults),
            "error": error,
            "warning": warning,
            "telemetry": telemetry,
        }
        if state.get("messages"):
            content = answer if answer is not None else f"No answer: {halt}"
            update["messages"] = [AIMessage(content=content, name="nsed")]
        emit(
            {
                "event": "stop",
                "round": state["round"],
                "reason": reason,
                "answer": answer,
                "error": error,
                "warning": warning,
            }
        )
        return update

    return stop


def round_record(state: NSEDState, vote: Vote) -> RoundRecord:
    """The round as the audit trail keeps it, written once, complete."""
    t = state["round"]
    calls = state.get("calls", [])
    record: RoundRecord = {
        "round": t,
        "seats": state["seats"],
        "proposals": state["proposals"],
        "reviews": state["reviews"],
        "raw_weights": vote["raw_weights"],
        "calibrated": vote["calibrated"],
        "credits": vote["credits"],
        "votes": vote["votes"],
        "supports": vote["supports"],
        "cluster_supports": vote["cluster_supports"],
        "winner": vote["winner"],
        "conviction": vote["conviction"],
        "brief": state.get("compressed") or state.get("brief", ""),
        "failures": [f for f in state.get("failures", []) if f["round"] == t],
        "usage": summarize_usage(c for c in calls if c["round"] == t),
        "wall_s": round(time.time() - state.get("round_started_at", time.time()), 3),
    }
    if "evidence" in vote:
        record["evidence"] = vote["evidence"]
    if "pivotal" in vote:
        record["pivotal"] = vote["pivotal"]
    if vote.get("unanimous"):
        record["unanimous"] = True
    if vote.get("unreviewed"):
        record["unreviewed"] = True
    return record


def learn(
    state: NSEDState, record: RoundRecord | None, bench_threshold: float | None
) -> dict[str, Any]:
    """Fold this round into the broker's telemetry, also when the round failed midway."""
    seen: dict[str, Any] = (
        dict(record)
        if record is not None
        else {
            "round": state["round"],
            "seats": state["seats"],
            "winner": None,
            "raw_weights": {},
            "supports": {},
        }
    )
    observations = round_observations(seen, state.get("calls", []))
    return update_telemetry(
        state.get("telemetry") or {}, observations, bench_threshold=bench_threshold
    )


def route_after_stop(state: NSEDState) -> str:
    return "end" if state.get("stop_reason") else "broker"
