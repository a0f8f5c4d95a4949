"""Thin graph nodes: gather inputs from the state, call the core or a model, write the state.

Each protocol step's logic lives elsewhere (``protocol/`` for the maths, ``prompts.py`` for the
words, ``calls.py`` for timeouts and retries); a node only moves data. Nodes that call models
exist in a blocking and an async form, so ``invoke`` and ``ainvoke`` both work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from langgraph.config import get_store
from langgraph.store.base import BaseStore
from langgraph.types import Overwrite, Send

from nsed_graph.accounting import round_observations, summarize_usage
from nsed_graph.agents import Agent
from nsed_graph.broker import bind_seats, load_telemetry, save_telemetry, update_telemetry
from nsed_graph.broker.model import PROPOSING, REVIEWING
from nsed_graph.broker.telemetry import normalize_telemetry
from nsed_graph.calls import CallLog, Job, adrive
from nsed_graph.calls import drive as drive_sync
from nsed_graph.config import NSEDConfig
from nsed_graph.events import SeatDone, emit
from nsed_graph.protocol.gate import MemoryItem, gate, truncate_tokens
from nsed_graph.protocol.masking import redact
from nsed_graph.protocol.stopping import RoundOutcome, Spent, best_round, stop_reason
from nsed_graph.protocol.voting import Tally, reliability_from_history, tally
from nsed_graph.records import Phase, Proposal, Review, RoundRecord, Seat, Winner
from nsed_graph.seats import compress_job, propose_job, review_job
from nsed_graph.state import CompressTask, NSEDState, ProposeTask, ReviewTask

SeatTask = TypeVar("SeatTask", ProposeTask, ReviewTask, CompressTask)
Result = TypeVar("Result", Proposal, Review, str | None)
Binder = Callable[[Sequence[Agent], NSEDConfig, NSEDState], dict[str, Any]]

_MIN_NAME = 3  # shorter names would redact ordinary words
TELEMETRY_NAMESPACE = ("nsed", "telemetry")


class Nodes:
    """The nodes of one NSED graph, closed over its agents and configuration."""

    def __init__(self, agents: Mapping[str, Agent], config: NSEDConfig, binder: Binder) -> None:
        self.agents = dict(agents)
        self.config = config
        self.binder = binder
        self.identities = _identities(self.agents.values())

    # ---- 1. broker -------------------------------------------------------------------------

    def broker(self, state: NSEDState) -> dict[str, Any]:
        """Start a round: on a new run, read the task; then bind agents to seats.

        A run is new on an empty thread, after a finished run, and whenever new input arrived
        (a different ``task``, or a human message not seen at the start), also when the
        previous run was interrupted midway: a new question never continues an old run.
        """
        fresh = (
            not state.get("round") or state.get("stop_reason") is not None or has_new_input(state)
        )
        update: dict[str, Any] = {}
        if fresh:
            task, message_id = resolve_task(state)
            update = {
                "task": task,
                "active_task": task,
                "task_message_id": message_id,
                "round": 0,
                "started_at": time.time(),
                "rounds": Overwrite([]),
                "memory": [],
                "brief": "",
                "calls": Overwrite([]),
                "failures": Overwrite([]),
                "telemetry": self._load_telemetry(),
                "answer": None,
                "winner": None,
                "stop_reason": None,
                "degraded": False,
                "error": None,
            }
        round_number = (0 if fresh else state["round"]) + 1
        view: NSEDState = state
        if fresh:  # the broker sees the new run, not the previous run of this thread
            view = {**state, "round": 0, "rounds": [], "receipts": [], "seats": []}
            view["telemetry"] = update["telemetry"]
        binding = self.binder(list(self.agents.values()), self.config, view)
        seats: list[Seat] = binding["seats"]
        emit({"event": "round_started", "round": round_number, "seats": seats})
        return {
            **update,
            "round": round_number,
            "round_started_at": time.time(),
            "seats": seats,
            "receipts": Overwrite([binding["receipt"]]) if fresh else [binding["receipt"]],
            "proposals": Overwrite([]),
            "reviews": Overwrite([]),
        }

    def send_proposals(self, state: NSEDState) -> list[Send]:
        """One ``Send`` per proposer seat, carrying what that seat may see of the last round."""
        last = state["rounds"][-1] if state.get("rounds") else None
        sends = []
        for seat in state["seats"]:
            if seat["role"] not in PROPOSING:
                continue
            task: ProposeTask = {
                "agent": seat["agent"],
                "round": state["round"],
                "task": state["task"],
                "brief": state.get("brief", ""),
            }
            if last is not None:
                previous = _own(last["proposals"], seat["agent"])
                task["previous"] = previous if previous and previous["ok"] else None
                task["previous_support"] = last["supports"].get(seat["agent"])
                task["critiques"] = self._critiques_of(last["reviews"], seat["agent"])
            sends.append(Send("propose", task))
        return sends

    # ---- 2. propose --------------------------------------------------------------------------

    def _proposed(self, task: ProposeTask, proposal: Proposal, log: CallLog) -> dict[str, Any]:
        done = _seat_done(log, proposal["ok"])
        emit({"event": "proposal", **done, "answer": proposal["answer"]})
        return {"proposals": [proposal], "calls": log.calls, "failures": log.failures}

    # ---- between phases: enough proposals to review? ----------------------------------------

    def gather(self, state: NSEDState) -> dict[str, Any]:
        """Check that the round can go on to review: at least two usable proposals."""
        usable = [p for p in state["proposals"] if p["ok"]]
        if len(usable) >= 2:
            return {}
        failed = sorted(p["agent"] for p in state["proposals"] if not p["ok"])
        return {
            "error": (
                f"round {state['round']}: only {len(usable)} usable proposal(s), NSED needs two; "
                f"failed proposers: {', '.join(failed) or 'none'} (see 'failures' for why)"
            )
        }

    def send_reviews(self, state: NSEDState) -> list[Send] | str:
        """One ``Send`` per reviewer seat with every usable proposal, or straight to stop."""
        if state.get("error"):
            return "stop"
        usable = [p for p in state["proposals"] if p["ok"]]
        return [
            Send(
                "review",
                {
                    "agent": seat["agent"],
                    "round": state["round"],
                    "task": state["task"],
                    "proposals": usable,
                },
            )
            for seat in state["seats"]
            if seat["role"] in REVIEWING
        ]

    # ---- 3. review ---------------------------------------------------------------------------

    def _reviewed(self, task: ReviewTask, review: Review, log: CallLog) -> dict[str, Any]:
        done = _seat_done(log, review["ok"])
        emit({"event": "review", **done, "scored": len(review["scores"])})
        return {"reviews": [review], "calls": log.calls, "failures": log.failures}

    # ---- 4. vote -----------------------------------------------------------------------------

    def vote(self, state: NSEDState) -> dict[str, Any]:
        """Quadratic vote over the round's reviews; record the round for the audit trail."""
        config, t = self.config, state["round"]
        proposals = [p for p in state["proposals"] if p["ok"]]
        weights = {
            r["reviewer"]: {agent: s["weight"] for agent, s in r["scores"].items()}
            for r in state["reviews"]
            if r["ok"]
        }
        if not weights:
            failed = sorted(r["reviewer"] for r in state["reviews"])
            return {
                "error": (
                    f"round {t}: no usable review, the vote cannot be taken; failed reviewers: "
                    f"{', '.join(failed) or 'none'} (see 'failures' for why)"
                )
            }
        previous = state["rounds"][-1]["supports"] if state.get("rounds") else {}
        telemetry = state.get("telemetry") or {}
        result = tally(
            weights,
            [p["agent"] for p in proposals],
            aggregation=config.aggregation,
            calibration=config.calibration,
            reliability=(
                reliability_from_history(
                    {
                        agent: (record["reliability_sum"], record["reliability_rounds"])
                        for agent, record in telemetry.items()
                    },
                    config.reliability_prior_strength,
                )
                if config.reviewer_weighting == "reliability"
                else None
            ),
            clusters={p["agent"]: p["answer"] or p["agent"] for p in proposals}
            if config.answer_pooling
            else None,
            previous_support=previous,
        )
        if result.winner is None:
            return {
                "error": (
                    f"round {t}: the vote produced no winner: every review weight was zero "
                    f"(after calibration '{config.calibration}'); reviewers: "
                    f"{', '.join(sorted(weights))}"
                )
            }
        record = self._round_record(state, proposals, result)
        winner = record["winner"]
        emit(
            {
                "event": "vote",
                "round": t,
                "winner": winner["agent"] if winner else None,
                "answer": winner["answer"] if winner else None,
                "support": winner["support"] if winner else None,
                "conviction": result.conviction,
                "supports": result.supports,
            }
        )
        return {"rounds": [record]}

    def _round_record(
        self, state: NSEDState, proposals: list[Proposal], result: Tally
    ) -> RoundRecord:
        t = state["round"]
        winner: Winner | None = None
        if result.winner is not None:
            chosen = _own(proposals, result.winner)
            winner = {
                "agent": result.winner,
                "round": t,
                "answer": chosen["answer"] if chosen else None,
                "text": chosen["text"] if chosen else "",
                "support": result.winner_support,
            }
        return {
            "round": t,
            "seats": state["seats"],
            "proposals": state["proposals"],
            "reviews": state["reviews"],
            "raw_weights": result.raw,
            "calibrated": result.calibrated,
            "credits": result.credits,
            "votes": result.votes,
            "supports": result.supports,
            "cluster_supports": result.cluster_supports,
            "winner": winner,
            "conviction": result.conviction,
            "brief": "",
            "failures": [],
            "usage": {"agents": {}, "total": summarize_usage([])["total"]},
            "wall_s": 0.0,
        }

    # ---- 5. forget gate ----------------------------------------------------------------------

    def forget_gate(self, state: NSEDState) -> dict[str, Any]:
        """Fold the round into the bounded consensus state and render the brief."""
        if state.get("error"):
            return {}
        config = self.config
        record = state["rounds"][-1]
        entering: list[MemoryItem] = [
            {
                "round": record["round"],
                "agent": p["agent"],
                "answer": p["answer"] or "",
                "reasoning": self._peer_text(p),
                "support": record["supports"][p["agent"]],
                "weight": 1.0,
            }
            for p in record["proposals"]
            if p["ok"] and p["agent"] in record["supports"]
        ]
        memory, brief = gate(
            state.get("memory", []),
            entering,
            now=record["round"],
            gamma=config.gamma,
            floor=config.decay_floor,
            keep_top_k=config.keep_top_k,
            reasoning_budget=config.reasoning_token_budget,
            state_token_budget=config.state_token_budget,
        )
        return {
            "memory": memory,
            "brief": brief,
            "rounds": [{"round": record["round"], "brief": brief}],
        }

    def send_compressor(self, state: NSEDState) -> list[Send] | str:
        """The compressor seat, if the broker seated one, rewrites the brief; else stop."""
        compressors = [s["agent"] for s in state["seats"] if s["role"] == "compressor"]
        if state.get("error") or not compressors or not state.get("brief"):
            return "stop"
        task: CompressTask = {
            "agent": compressors[0],
            "round": state["round"],
            "task": state["task"],
            "brief": state["brief"],
        }
        return [Send("compress", task)]

    def _compressed(self, task: CompressTask, brief: str | None, log: CallLog) -> dict[str, Any]:
        update: dict[str, Any] = {"calls": log.calls, "failures": log.failures}
        if brief:  # on failure the gate's own brief stands
            brief = redact(brief, self.identities)
            update |= {"brief": brief, "rounds": [{"round": task["round"], "brief": brief}]}
        return update

    # ---- 6. stop -----------------------------------------------------------------------------

    def stop(self, state: NSEDState) -> dict[str, Any]:
        """Decide whether to go round again; when stopping, answer from the best round."""
        rounds = state.get("rounds", [])
        usage = summarize_usage(state.get("calls", []))
        outcomes = [
            RoundOutcome(
                round=r["round"],
                answer=r["winner"]["answer"] if r["winner"] else None,
                support=r["winner"]["support"] if r["winner"] else None,
                conviction=r["conviction"],
            )
            for r in rounds
        ]
        spent = Spent(
            tokens=int(usage["total"]["total_tokens"]),
            cost=float(usage["total"]["cost"]),
            seconds=time.time() - state.get("started_at", time.time()),
        )
        error = state.get("error")
        reason = "failed" if error else stop_reason(outcomes, self.config.stop_rule(), spent)
        telemetry = self._learn(state)
        update: dict[str, Any] = {"usage": usage, "telemetry": telemetry}
        if rounds and rounds[-1]["round"] == state["round"]:  # the round's full accounts
            t = state["round"]
            update["rounds"] = [
                {
                    "round": t,
                    "failures": [f for f in state.get("failures", []) if f["round"] == t],
                    "usage": summarize_usage(c for c in state.get("calls", []) if c["round"] == t),
                    "wall_s": round(time.time() - state.get("round_started_at", time.time()), 3),
                }
            ]
        if reason is None:
            return update
        self._save_telemetry(telemetry)
        best = best_round(outcomes)
        winner = next((r["winner"] for r in rounds if best and r["round"] == best.round), None)
        answer = winner["answer"] if winner else None
        update |= {
            "stop_reason": reason,
            "answer": answer,
            "winner": winner,
            "degraded": bool(error or state.get("failures")),
        }
        if state.get("messages"):
            content = answer if answer is not None else f"No answer: {error}"
            update["messages"] = [AIMessage(content=content, name="nsed")]
        emit(
            {
                "event": "stop",
                "round": state["round"],
                "reason": reason,
                "answer": answer,
                "error": error,
            }
        )
        return update

    def _learn(self, state: NSEDState) -> dict[str, Any]:
        """Fold this round into the broker's telemetry, also when the round failed midway."""
        rounds = state.get("rounds", [])
        record: Mapping[str, Any]
        if rounds and rounds[-1]["round"] == state["round"]:
            record = rounds[-1]
        else:
            record = {
                "round": state["round"],
                "seats": state["seats"],
                "winner": None,
                "raw_weights": {},
                "supports": {},
            }
        observations = round_observations(record, state.get("calls", []))
        return update_telemetry(
            state.get("telemetry") or {},
            observations,
            bench_threshold=self.config.bench_support_threshold,
        )

    def _load_telemetry(self) -> dict[str, Any]:
        """What earlier runs learned: from the LangGraph store if the graph has one, else from
        ``config.telemetry_file`` if set, else nothing."""
        store = _store()
        if store is not None:
            item = store.get(TELEMETRY_NAMESPACE, self.config.telemetry_key)
            return normalize_telemetry(item.value) if item is not None else {}
        if self.config.telemetry_file:
            return load_telemetry(Path(self.config.telemetry_file))
        return {}

    def _save_telemetry(self, telemetry: dict[str, Any]) -> None:
        store = _store()
        if store is not None:
            store.put(TELEMETRY_NAMESPACE, self.config.telemetry_key, telemetry)
        elif self.config.telemetry_file:
            save_telemetry(Path(self.config.telemetry_file), telemetry)

    @staticmethod
    def route_after_stop(state: NSEDState) -> str:
        return "end" if state.get("stop_reason") else "broker"

    # ---- model-calling nodes, blocking and async -----------------------------------------------

    def seat_node(
        self,
        name: Phase,
        make_job: Callable[[SeatTask, CallLog], Job[Result]],
        finish: Callable[[SeatTask, Result, CallLog], dict[str, Any]],
    ) -> RunnableLambda[SeatTask, dict[str, Any]]:
        """A node that runs one seat's job, usable from both ``invoke`` and ``ainvoke``."""

        def run(task: SeatTask) -> dict[str, Any]:
            agent, log = self._start(task, name)
            return finish(task, drive_sync(make_job(task, log), agent, self.config), log)

        async def arun(task: SeatTask) -> dict[str, Any]:
            agent, log = self._start(task, name)
            return finish(task, await adrive(make_job(task, log), agent, self.config), log)

        return RunnableLambda(run, afunc=arun, name=name)

    def propose_node(self) -> RunnableLambda[ProposeTask, dict[str, Any]]:
        def job(task: ProposeTask, log: CallLog) -> Job[Proposal]:
            previous = task.get("previous")
            shown = self._peer_text(previous) if previous else None
            return propose_job(task, self.config, log, previous_text=shown)

        return self.seat_node("propose", job, self._proposed)

    def compress_node(self) -> RunnableLambda[CompressTask, dict[str, Any]]:
        def job(task: CompressTask, log: CallLog) -> Job[str | None]:
            return compress_job(task, self.config, log)

        return self.seat_node("compress", job, self._compressed)

    def review_node(self) -> RunnableLambda[ReviewTask, dict[str, Any]]:
        def job(task: ReviewTask, log: CallLog) -> Job[Review]:
            return review_job(task, self.config, log, peer_text=self._peer_text)

        return self.seat_node("review", job, self._reviewed)

    def _start(
        self, task: ProposeTask | ReviewTask | CompressTask, phase: Phase
    ) -> tuple[Agent, CallLog]:
        agent = self.agents[task["agent"]]
        return agent, CallLog(agent=agent, round=task["round"], phase=phase)

    # ---- masking helpers ---------------------------------------------------------------------

    def _peer_text(self, proposal: Proposal) -> str:
        """A proposal as others see it: answer first, work cut to budget, identities redacted."""
        work = truncate_tokens(proposal["text"], self.config.candidate_token_budget)
        return redact(f"Final answer: {proposal['answer']}\n\nWork:\n{work}", self.identities)

    def _critiques_of(self, reviews: Sequence[Review], agent: str) -> list[str]:
        found = [
            f"({s['weight']:+.0f}) {redact(s['critique'], self.identities)}"
            for r in reviews
            if (s := r["scores"].get(agent)) is not None
        ]
        return found[: self.config.max_critiques]


def _last_human(state: Mapping[str, Any]) -> HumanMessage | None:
    return next(
        (m for m in reversed(state.get("messages") or []) if isinstance(m, HumanMessage)), None
    )


def _new_task(state: Mapping[str, Any]) -> str | None:
    task = state.get("task")
    if isinstance(task, str) and task.strip() and task.strip() != state.get("active_task"):
        return task.strip()
    return None


def _new_message(state: Mapping[str, Any]) -> HumanMessage | None:
    human = _last_human(state)
    if human is not None and str(human.text).strip() and human.id != state.get("task_message_id"):
        return human
    return None


def has_new_input(state: Mapping[str, Any]) -> bool:
    """Whether input arrived that the running deliberation has not seen."""
    return _new_task(state) is not None or _new_message(state) is not None


def resolve_task(state: Mapping[str, Any]) -> tuple[str, str | None]:
    """The task of a new run, and the id of the last human message it has seen.

    A new ``task`` wins, then a new human message; on a thread that only re-runs, the same
    ``task`` again.
    """
    human = _last_human(state)
    seen = human.id if human is not None else None
    if (task := _new_task(state)) is not None:
        return task, seen
    if (message := _new_message(state)) is not None:
        return str(message.text).strip(), seen
    task = state.get("task")
    if isinstance(task, str) and task.strip():
        return task.strip(), seen
    raise ValueError(
        "input: give a non-empty 'task' string, or 'messages' ending with a human message, e.g. "
        "graph.invoke({'task': 'What is 17 + 25?'})"
    )


def broker_binding(agents: Sequence[Agent], config: NSEDConfig, state: NSEDState) -> dict[str, Any]:
    """The Dynamic Expertise Broker, fed from the state: telemetry, last round's seats, the
    agents that failed in it, and those benched earlier (PROTOCOL.md, "1. Broker")."""
    rounds = state.get("rounds") or []
    last = rounds[-1] if rounds else None
    receipts = state.get("receipts") or []
    return bind_seats(
        agents,
        config,
        state.get("telemetry") or {},
        previous={"seats": state["seats"]} if last else None,
        round_number=state.get("round", 0) + 1,
        failed={f["agent"] for f in last["failures"]} if last else (),
        benched=receipts[-1].get("benched", []) if last and receipts else (),
    )


def _store() -> BaseStore | None:
    """The graph's store, if it was compiled with one (``get_store`` needs a run context)."""
    try:
        return get_store()
    except RuntimeError:
        return None


def _seat_done(log: CallLog, ok: bool) -> SeatDone:
    """The part of a seat's progress event that every phase shares."""
    return {
        "round": log.round,
        "agent": log.agent.id,
        "ok": ok,
        "latency_s": round(sum(c["latency_s"] for c in log.calls), 4),
        "error": log.failures[-1]["message"] if log.failures else None,
    }


def _own(proposals: Sequence[Proposal], agent: str) -> Proposal | None:
    return next((p for p in proposals if p["agent"] == agent), None)


def _identities(agents: Iterable[Agent]) -> list[str]:
    """Every name that could reveal who wrote a text: ids, families and model names."""
    names: set[str] = set()
    for agent in agents:
        names.add(agent.id)
        if agent.family != "unknown":
            names.add(agent.family)
        for attribute in ("model_name", "model", "model_id", "name"):
            value = getattr(agent.model, attribute, None)
            if isinstance(value, str):
                names.add(value)
    return sorted(n for n in names if len(n) >= _MIN_NAME)
