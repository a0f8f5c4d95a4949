"""The graph state: plain JSON-serialisable data only (the records are in ``records.py``).

Agents appear by id, never as model objects, so a run can be checkpointed after any node,
traced in LangSmith and saved as an audit trail. The start step resets the round's working
keys at the start of every round (the accumulators ``proposals`` and ``reviews`` with
LangGraph's ``Overwrite``); after that each key has one writer: ``proposals`` the proposer
seats, ``reviews`` the reviewer seats, ``vote`` the vote, ``memory``, ``brief`` and
``brief_cut`` the forget gate, ``compressed`` the compressor seat, ``halt`` the barrier that
found the round cannot go on (fewer than two proposals, or no vote), and ``rounds`` the stop
step. ``TypedDict`` comes
from ``typing_extensions`` so LangGraph can derive JSON schemas on Python 3.11.
"""

from __future__ import annotations

import operator
from typing import Annotated, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from nsed_graph.protocol.gate import MemoryItem
from nsed_graph.records import (
    CallRecord,
    FailureRecord,
    Proposal,
    Receipt,
    Review,
    RoundRecord,
    Seat,
    Telemetry,
    Usage,
    Vote,
    Winner,
)


class NSEDInput(TypedDict, total=False):
    """What a caller gives: a ``task``, or chat ``messages`` whose last human turn is the task."""

    task: str
    messages: Annotated[list[AnyMessage], add_messages]


class NSEDOutput(TypedDict, total=False):
    """What a run returns (docs/protocol.md, "What a run returns")."""

    task: str
    messages: Annotated[list[AnyMessage], add_messages]
    answer: str | None
    winner: Winner | None
    rounds: Annotated[list[RoundRecord], operator.add]
    stop_reason: str | None
    degraded: bool
    failures: Annotated[list[FailureRecord], operator.add]
    usage: Usage
    receipts: Annotated[list[Receipt], operator.add]
    calls: Annotated[list[CallRecord], operator.add]
    telemetry: Telemetry
    error: str | None
    warning: str | None


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
    vote: Vote | None
    halt: str | None
    memory: list[MemoryItem]
    brief: str
    brief_cut: bool
    compressed: str | None


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
