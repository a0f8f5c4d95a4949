"""What the model-calling steps share: the table, and a node that drives a seat's job.

A seat's job is a generator over model requests (``calls.py``), so one piece of logic serves
``invoke`` and ``ainvoke``; ``seat_node`` wraps it in a runnable with both forms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from langchain_core.runnables import RunnableLambda

from nsed_graph.agents import Agent
from nsed_graph.calls import CallLog, Job, adrive, drive
from nsed_graph.config import NSEDConfig
from nsed_graph.events import SeatDone
from nsed_graph.protocol.masking import identity_names, peer_view
from nsed_graph.records import Phase, Proposal
from nsed_graph.state import CompressTask, NSEDState, ProposeTask, ReviewTask

SeatTask = TypeVar("SeatTask", ProposeTask, ReviewTask, CompressTask)
Result = TypeVar("Result")


class StateNode(Protocol):
    """A node over the whole state (LangGraph matches nodes by the parameter name ``state``)."""

    def __call__(self, state: NSEDState) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Table:
    """The agents of one graph, its configuration, and the names masking hides from peers."""

    agents: Mapping[str, Agent]
    config: NSEDConfig
    identities: list[str]

    @classmethod
    def of(cls, agents: Mapping[str, Agent], config: NSEDConfig) -> Table:
        return cls(dict(agents), config, identity_names(_names(agents.values())))

    def peer_view(self, proposal: Proposal) -> str:
        """A proposal as another seat sees it (``protocol.masking.peer_view``)."""
        return peer_view(proposal, budget=self.config.candidate_token_budget, names=self.identities)


def _names(agents: Iterable[Agent]) -> Iterable[str]:
    """Every name that could reveal who wrote a text: ids, families and model names."""
    for agent in agents:
        yield agent.id
        if agent.family != "unknown":
            yield agent.family
        for attribute in ("model_name", "model", "model_id", "name"):
            value = getattr(agent.model, attribute, None)
            if isinstance(value, str):
                yield value


def seat_node(
    table: Table,
    name: Phase,
    make_job: Callable[[SeatTask, CallLog], Job[Result]],
    finish: Callable[[SeatTask, Result, CallLog], dict[str, Any]],
) -> RunnableLambda[SeatTask, dict[str, Any]]:
    """A node that runs one seat's job, usable from both ``invoke`` and ``ainvoke``."""

    def start(task: SeatTask) -> tuple[Agent, CallLog]:
        agent = table.agents[task["agent"]]
        return agent, CallLog(agent=agent, round=task["round"], phase=name)

    def run(task: SeatTask) -> dict[str, Any]:
        agent, log = start(task)
        return finish(task, drive(make_job(task, log), agent, table.config), log)

    async def arun(task: SeatTask) -> dict[str, Any]:
        agent, log = start(task)
        return finish(task, await adrive(make_job(task, log), agent, table.config), log)

    return RunnableLambda(run, afunc=arun, name=name)


def seat_done(log: CallLog, ok: bool) -> SeatDone:
    """The part of a seat's progress event that every phase shares."""
    return {
        "round": log.round,
        "agent": log.agent.id,
        "ok": ok,
        "latency_s": round(sum(c["latency_s"] for c in log.calls), 4),
        "error": log.failures[-1]["message"] if log.failures else None,
    }
