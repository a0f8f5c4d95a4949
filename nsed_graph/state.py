"""The graph state and the records it keeps: plain JSON-serialisable data only.

Agents appear by id, never as model objects, so a run can be checkpointed after any node,
traced in LangSmith and saved as an audit trail. The per-round accumulators (``proposals``,
``reviews``) are reset by the broker at the start of every round with LangGraph's ``Overwrite``.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from nsed_graph.protocol.gate import MemoryItem
from nsed_graph.records import (
    CallRecord,
    FailureRecord,
    Proposal,
    Review,
    RoundRecord,
    Seat,
    Winner,
)


def merge_rounds(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    """Round records keyed by round number: a write adds a round or fills in fields of one.

    The vote writes a round's record, the forget gate and the compressor add its brief later,
    without rewriting the list.
    """
    merged = {record["round"]: record for record in left or []}
    for record in right or []:
        merged[record["round"]] = {**merged.get(record["round"], {}), **record}
    return [merged[number] for number in sorted(merged)]


class NSEDInput(TypedDict, total=False):
    """What a caller gives: a ``task``, or chat ``messages`` whose last human turn is the task."""

    task: str
    messages: Annotated[list[AnyMessage], add_messages]


class NSEDOutput(TypedDict, total=False):
    """What a run returns (PROTOCOL.md, "What a run returns")."""

    task: str
    messages: Annotated[list[AnyMessage], add_messages]
    answer: str | None
    winner: Winner | None
    rounds: Annotated[list[RoundRecord], merge_rounds]
    stop_reason: str | None
    degraded: bool
    failures: Annotated[list[FailureRecord], operator.add]
    usage: dict[str, Any]
    receipts: Annotated[list[dict[str, Any]], operator.add]
    calls: Annotated[list[CallRecord], operator.add]
    telemetry: dict[str, Any]
    error: str | None


class NSEDState(NSEDOutput, total=False):
    """The full working state of the loop."""

    round: int
    seats: list[Seat]
    started_at: float
    round_started_at: float
    task_message_id: str | None
    active_task: str
    proposals: Annotated[list[Proposal], operator.add]
    reviews: Annotated[list[Review], operator.add]
    memory: list[MemoryItem]
    brief: str


class ProposeTask(TypedDict):
    """The ``Send`` payload of one proposer seat."""

    agent: str
    round: int
    task: str
    brief: str
    previous: NotRequired[Proposal | None]
    previous_support: NotRequired[float | None]
    critiques: NotRequired[list[str]]


class CompressTask(TypedDict):
    """The ``Send`` payload of the compressor seat: the gate's brief to rewrite."""

    agent: str
    round: int
    task: str
    brief: str


class ReviewTask(TypedDict):
    """The ``Send`` payload of one reviewer seat: every proposal of the round."""

    agent: str
    round: int
    task: str
    proposals: list[Proposal]
