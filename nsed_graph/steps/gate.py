"""Step 5, the forget gate, and the compressor seat that may rewrite its brief
(docs/protocol.md, "5. Forget gate").

The gate folds the round's vote into a memory of fixed size and renders the brief the next
round sees (``protocol.gate``). When the broker seated a compressor and the gate had to cut
the brief to ``state_token_budget``, that seat rewrites it within the budget; if it fails, the
gate's own brief stands.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableLambda
from langgraph.types import Send

from nsed_graph.calls import CallFailure, CallLog, Job, Request, call_one
from nsed_graph.config import NSEDConfig
from nsed_graph.prompts import compress_messages
from nsed_graph.protocol.gate import gate, memory_entries, truncate_tokens
from nsed_graph.protocol.masking import redact
from nsed_graph.state import CompressTask, NSEDState
from nsed_graph.steps.seat import StateNode, Table, seat_node


def make_forget_gate(table: Table) -> StateNode:
    config = table.config

    def forget_gate(state: NSEDState) -> dict[str, Any]:
        """Fold the round into the bounded consensus state and render the brief."""
        vote = state["vote"]
        assert vote is not None  # the edge after the vote comes here only with one
        evidence = vote.get("evidence")
        supports = vote["supports"]
        if evidence is not None:  # under the vote over answers, every usable one is a solution
            usable = [p["agent"] for p in state["proposals"] if p["ok"]]
            supports = {agent: supports.get(agent, 0.0) for agent in usable}
        entering = memory_entries(
            vote["round"],
            state["proposals"],
            supports,
            table.peer_view,
            answer_view=lambda answer: redact(answer, table.identities),
            evidence=evidence,
        )
        memory, brief, cut = gate(
            state.get("memory", []),
            entering,
            now=vote["round"],
            gamma=config.gamma,
            floor=config.decay_floor,
            keep_top_k=config.keep_top_k,
            reasoning_budget=config.reasoning_token_budget,
            state_token_budget=config.state_token_budget,
            by_answer=evidence is not None,
        )
        return {"memory": memory, "brief": brief, "brief_cut": cut}

    return forget_gate


def send_compressor(state: NSEDState) -> list[Send] | str:
    """The compressor seat, if the broker seated one, rewrites the brief when the gate had to
    cut it to its budget; else stop. A brief within budget needs no rewrite (issue 14: the
    compressor was a serial call every round, three latencies a round instead of two), and
    after a unanimous round, which ends the run, no later round would read it."""
    compressors = [s["agent"] for s in state["seats"] if s["role"] == "compressor"]
    vote = state.get("vote")
    unanimous = vote is not None and vote.get("unanimous", False)
    if not compressors or not state.get("brief") or not state.get("brief_cut") or unanimous:
        return "stop"
    task: CompressTask = {
        "agent": compressors[0],
        "round": state["round"],
        "task": state["task"],
        "brief": state["brief"],
    }
    return [Send("compress", task)]


def compress_job(task: CompressTask, config: NSEDConfig, log: CallLog) -> Job[str | None]:
    """Rewrite the gate's brief as a compact one, cut to the state budget; None on failure."""
    messages = compress_messages(task["task"], task["brief"], config.state_token_budget)
    reply = yield from call_one(Request("compress", tuple(messages)), log, config)
    if isinstance(reply, CallFailure):
        log.fail(reply)
        return None
    return truncate_tokens(reply.text.strip(), config.state_token_budget)


def compress_node(table: Table) -> RunnableLambda[CompressTask, dict[str, Any]]:
    """The compressor seat's node; what it writes is redacted like any peer text."""

    def job(task: CompressTask, log: CallLog) -> Job[str | None]:
        return compress_job(task, table.config, log)

    def finish(task: CompressTask, brief: str | None, log: CallLog) -> dict[str, Any]:
        update: dict[str, Any] = {"calls": log.calls, "failures": log.failures}
        if brief:  # on failure the gate's own brief stands
            update["compressed"] = redact(brief, table.identities)
        return update

    return seat_node(table, "compress", job, finish)
