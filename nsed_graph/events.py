"""Typed progress events, written to LangGraph's custom stream.

The CLI's live display, a notebook and a LangGraph Server client all read the same events with
``graph.stream(..., stream_mode="custom")``; there is no second code path for progress.
Every event is a plain dict with an ``event`` key naming its kind.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from langgraph.config import get_stream_writer

from nsed_graph.records import Seat


class RoundStarted(TypedDict):
    event: Literal["round_started"]
    round: int
    seats: list[Seat]


class SeatDone(TypedDict):
    """What every seat's event says: who, in which round, how long its calls took, and the
    last failure if its phase failed."""

    round: int
    agent: str
    ok: bool
    latency_s: float
    error: str | None


class ProposalReceived(SeatDone):
    event: Literal["proposal"]
    answer: str | None


class ReviewReceived(SeatDone):
    event: Literal["review"]
    scored: int


class VoteCast(TypedDict):
    event: Literal["vote"]
    round: int
    winner: str | None
    answer: str | None
    support: float | None
    conviction: float
    supports: dict[str, float]


class Stopped(TypedDict):
    event: Literal["stop"]
    round: int
    reason: str
    answer: str | None
    error: str | None
    warning: str | None


Event = RoundStarted | ProposalReceived | ReviewReceived | VoteCast | Stopped


def emit(event: Event) -> None:
    """Write ``event`` to the custom stream; outside a graph run there is no one to tell."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    payload: dict[str, Any] = dict(event)
    writer(payload)
