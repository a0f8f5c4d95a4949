"""Step 2, propose: one ``Send`` per proposer seat, its job, and its node
(docs/protocol.md, "2. Propose").

From round 2 on, a reply that only restates an answer (less worked reasoning than
``resolve_chars``, ``protocol.answers.restatement``) is asked once to solve again, and
refused (kind ``restated``) if it still does not: a later round must re-solve, not copy.

The proposer reasons in free text and its answer is read from a marked final line; only when
that line is missing or unreadable (no answer, or one absurd for its format: a runaway number,
an endless repetition, ``protocol.answers.answer_problem``) is it asked for the answer alone in
a short structured call. A proposal that still has no answer fails with both reasons recorded.
``propose_once`` asks one agent this same question outside a graph: the benchmark's
single-model baselines use it, so they are asked exactly what a proposer is asked, with the same
extraction and the same accounting.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableLambda
from langgraph.types import Send

from nsed_graph.agents import Agent
from nsed_graph.broker.model import PROPOSING
from nsed_graph.calls import CallFailure, CallLog, Job, Request, adrive, call_one, drive
from nsed_graph.config import NSEDConfig
from nsed_graph.events import emit
from nsed_graph.prompts import extract_messages, propose_messages, resolve_messages
from nsed_graph.protocol.answers import (
    answer_problem,
    extract_answer,
    extraction_problem,
    marked_answer,
    normalize_answer,
    reasoning_before_answer,
    restatement,
)
from nsed_graph.protocol.masking import critiques_received
from nsed_graph.records import Proposal
from nsed_graph.schemas import answer_schema
from nsed_graph.state import NSEDState, ProposeTask
from nsed_graph.steps.seat import Table, seat_done, seat_node


def send_proposals(table: Table, state: NSEDState) -> list[Send]:
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
            "brief": last["brief"] if last else "",
        }
        if last is not None:
            previous = next((p for p in last["proposals"] if p["agent"] == seat["agent"]), None)
            task["previous"] = previous if previous and previous["ok"] else None
            task["previous_support"] = last["supports"].get(seat["agent"])
            task["critiques"] = critiques_received(
                last["reviews"],
                seat["agent"],
                names=table.identities,
                limit=table.config.max_critiques,
            )
        sends.append(Send("propose", task))
    return sends


def propose_job(
    task: ProposeTask, config: NSEDConfig, log: CallLog, *, previous_text: str | None = None
) -> Job[Proposal]:
    """Reason in free text, read the marked answer; ask for the answer alone only if needed."""
    messages = propose_messages(
        task["task"],
        config.answer_format,
        brief=task["brief"],
        previous_answer=previous_text,
        previous_support=task.get("previous_support"),
        critiques=task.get("critiques", []),
    )
    proposal: Proposal = {
        "round": task["round"],
        "agent": task["agent"],
        "ok": False,
        "answer": None,
        "text": "",
        "answer_source": "none",
    }
    reply = yield from call_one(Request("propose", tuple(messages)), log, config)
    if isinstance(reply, CallFailure):
        log.fail(reply)
        return proposal
    needed = resolve_chars(task, config)
    if task["round"] > 1 and restatement(reply.text, config.answer_format, needed):
        again = resolve_messages(messages, reply.text, config.answer_format)
        reply = yield from call_one(Request("propose", tuple(again)), log, config)
        if isinstance(reply, CallFailure):
            log.fail(reply)
            return proposal
        why = restatement(reply.text, config.answer_format, needed)
        if why is not None:
            log.fail(
                CallFailure(
                    "restated",
                    f"round {task['round']}: the reply only restated an answer ({why}), also "
                    "when asked to solve again; a later-round proposal must be a full re-solve",
                )
            )
            return {**proposal, "text": reply.text}
    proposal["text"] = reply.text
    answer = extract_answer(reply.text, config.answer_format)
    if answer is not None:
        marked = marked_answer(reply.text) is not None
        return {
            **proposal,
            "ok": True,
            "answer": answer,
            "answer_source": "marker" if marked else "fallback",
        }
    request = Request(
        "extract",
        tuple(extract_messages(task["task"], reply.text, config.answer_format)),
        schema=answer_schema(config.answer_max_chars),
    )
    extracted = yield from call_one(request, log, config)
    if isinstance(extracted, CallFailure):
        log.fail(extracted)
        return proposal
    said = str((extracted.parsed or {}).get("answer", ""))
    answer = normalize_answer(said, config.answer_format)
    if answer is not None:
        return {**proposal, "ok": True, "answer": answer, "answer_source": "extract_call"}
    log.fail(
        CallFailure(
            "unparseable",
            f"no answer could be read: the proposal has {_problem(reply.text, config)}; "
            f"the re-ask for the answer alone gave {answer_problem(said, config.answer_format)}",
        )
    )
    return proposal


def resolve_chars(task: ProposeTask, config: NSEDConfig) -> int:
    """The worked reasoning a later-round reply must show: ``min_resolve_chars``, or half of
    what the seat's own previous proposal showed where that was less. An easy task solved in
    one line stays solvable in one line; a seat that reasoned at length and now only copies an
    answer does not."""
    previous = task.get("previous")
    if previous is None:
        return config.min_resolve_chars
    shown = len(reasoning_before_answer(previous["text"])) // 2
    return min(config.min_resolve_chars, shown)


def _problem(text: str, config: NSEDConfig) -> str:
    return extraction_problem(text, config.answer_format) or "no answer"


def propose_node(table: Table) -> RunnableLambda[ProposeTask, dict[str, Any]]:
    """The proposer seat's node: its own previous answer shown as its peers saw it."""

    def job(task: ProposeTask, log: CallLog) -> Job[Proposal]:
        previous = task.get("previous")
        shown = table.peer_view(previous) if previous else None
        return propose_job(task, table.config, log, previous_text=shown)

    def finish(task: ProposeTask, proposal: Proposal, log: CallLog) -> dict[str, Any]:
        emit({"event": "proposal", **seat_done(log, proposal["ok"]), "answer": proposal["answer"]})
        return {"proposals": [proposal], "calls": log.calls, "failures": log.failures}

    return seat_node(table, "propose", job, finish)


def solo_task(agent: Agent, task: str) -> ProposeTask:
    """A first-round proposer task for one agent alone (the baselines' question)."""
    return {"agent": agent.id, "round": 1, "task": task, "brief": ""}


def propose_once(agent: Agent, task: str, config: NSEDConfig) -> tuple[Proposal, CallLog]:
    """Ask one agent the proposer's question once, blocking: its proposal and every call made
    (deadline, retries and accounting as in a deliberation)."""
    log = CallLog(agent=agent, round=1, phase="propose")
    return drive(propose_job(solo_task(agent, task), config, log), agent, config), log


async def apropose_once(agent: Agent, task: str, config: NSEDConfig) -> tuple[Proposal, CallLog]:
    """``propose_once`` with async calls."""
    log = CallLog(agent=agent, round=1, phase="propose")
    return await adrive(propose_job(solo_task(agent, task), config, log), agent, config), log
