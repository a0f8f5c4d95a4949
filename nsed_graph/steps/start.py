"""Step 1, the broker node: a new run reads its task; every round binds agents to seats
(docs/protocol.md, "1. Broker").

A run is new on an empty thread, after a finished run, and whenever new input arrived (a
different ``task``, or a human message not seen at the start), also when the previous run was
interrupted midway: a new question never continues an old run. Every round this step resets
the round's working keys (proposals, reviews, vote, halt, compressed brief), so each is then
written by the one step that owns it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import HumanMessage
from langgraph.config import get_config
from langgraph.types import Overwrite

from nsed_graph.agents import Agent
from nsed_graph.broker import bind_seats
from nsed_graph.config import NSEDConfig
from nsed_graph.events import emit
from nsed_graph.persistence import load_history
from nsed_graph.protocol.answers import normalize_answer
from nsed_graph.records import CallRecord, Seat
from nsed_graph.state import NSEDState
from nsed_graph.steps.seat import StateNode, Table

Binder = Callable[[Sequence[Agent], NSEDConfig, NSEDState], dict[str, Any]]
"""Who sits in which seat each round: ``(agents, config, state) -> {"seats", "receipt"}``."""


def make_start(table: Table, binder: Binder) -> StateNode:
    def start(state: NSEDState) -> dict[str, Any]:
        """Start a round: on a new run, read the task; then bind agents to seats."""
        fresh = (
            not state.get("round") or state.get("stop_reason") is not None or has_new_input(state)
        )
        update: dict[str, Any] = {}
        view: NSEDState = state
        if fresh:
            task, message_id = resolve_task(state)
            check_task_size(task, table.config)
            run_reference(table.config)  # refuse a bad one before the run spends a call
            update = {
                "task": task,
                "active_task": task,
                "task_message_id": message_id,
                "round": 0,
                "started_at": time.time(),
                "rounds": Overwrite([]),
                "memory": [],
                "calls": Overwrite([]),
                "failures": Overwrite([]),
                "telemetry": load_history(table.config),
                "answer": None,
                "winner": None,
                "stop_reason": None,
                "degraded": False,
                "error": None,
                "warning": None,
            }
            # the broker sees the new run, not the previous run of this thread
            view = {**state, "round": 0, "rounds": [], "receipts": [], "seats": []}
            view["telemetry"] = update["telemetry"]
        round_number = (0 if fresh else state["round"]) + 1
        binding = binder(list(table.agents.values()), table.config, view)
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
            "vote": None,
            "halt": None,
            "compressed": None,
        }

    return start


def broker_binding(agents: Sequence[Agent], config: NSEDConfig, state: NSEDState) -> dict[str, Any]:
    """The Dynamic Expertise Broker, fed from the state: telemetry, last round's seats, the
    agents that failed in it, and those benched earlier (docs/protocol.md, "1. Broker")."""
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
        down=endpoint_down(state.get("calls") or [], last["round"]) if last else (),
    )


def endpoint_down(calls: Sequence[CallRecord], round_number: int) -> set[str]:
    """Agents every one of whose calls in ``round_number`` failed at the endpoint: a timeout
    or an error, not a reply that could not be read (a bad draw, which a retry can mend)."""
    verdicts: dict[str, bool] = {}
    for call in calls:
        if call["round"] != round_number:
            continue
        error = call["error"] or ""
        dead = not call["ok"] and error.startswith(("timeout", "error"))
        verdicts[call["agent"]] = verdicts.get(call["agent"], True) and dead
    return {agent for agent, dead in verdicts.items() if dead}


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


def check_task_size(task: str, config: NSEDConfig) -> None:
    """Refuse a task longer than ``max_task_chars`` before any call: every prompt of every
    seat carries it whole (issue 16: a 10 MB task ran, each prompt 10 MB)."""
    if len(task) > config.max_task_chars:
        raise ValueError(
            f"task: {len(task):,} characters, more than max_task_chars "
            f"({config.max_task_chars:,}); shorten it, or raise "
            "NSEDConfig(max_task_chars=...) if your models take prompts that long"
        )


REFERENCE_KEY = "reference"
"""Where an invocation gives the known right answer: ``config["configurable"]["reference"]``."""


def run_reference(config: NSEDConfig) -> str | None:
    """The known right answer this invocation was given, if any, checked against the format.

    It travels in the invocation's config, not in the state, so it is never checkpointed, never
    carried to the next run of a thread, and a bad one fails this call only. Reviewers' worth
    is learned from it when the run ends (``protocol.worth``); it reaches no prompt.
    """
    reference = (get_config().get("configurable") or {}).get(REFERENCE_KEY)
    if reference is None:
        return None
    if (
        not isinstance(reference, str)
        or not reference.strip()
        or normalize_answer(reference, config.answer_format) is None
    ):
        raise ValueError(
            f"reference: expected the known right answer as a non-empty string that reads as "
            f"a {config.answer_format!r} answer, got {type(reference).__name__} {reference!r}; "
            "e.g. graph.invoke({'task': ...}, {'configurable': {'reference': '42'}}), or leave "
            "it out"
        )
    return reference


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
