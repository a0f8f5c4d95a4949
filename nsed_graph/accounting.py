"""What the records say about spending and about each agent: usage totals, and the per-round
observations the broker's telemetry learns from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nsed_graph.protocol.voting import sign_agreement
from nsed_graph.records import CallRecord

_FIELDS = ("calls", "failed_calls", "input_tokens", "output_tokens", "total_tokens", "latency_s")


def summarize_usage(calls: Iterable[CallRecord]) -> dict[str, Any]:
    """``{"agents": {id: totals}, "total": totals}``; totals also carry ``cost``."""
    agents: dict[str, dict[str, float]] = {}
    for call in calls:
        row = agents.setdefault(call["agent"], {key: 0 for key in (*_FIELDS, "cost")})
        row["calls"] += 1
        row["failed_calls"] += 0 if call["ok"] else 1
        row["input_tokens"] += call["input_tokens"]
        row["output_tokens"] += call["output_tokens"]
        row["total_tokens"] += call["input_tokens"] + call["output_tokens"]
        row["latency_s"] += call["latency_s"]
        row["cost"] += call["cost"]
    total = {key: sum(row[key] for row in agents.values()) for key in (*_FIELDS, "cost")}
    for row in (*agents.values(), total):
        row["latency_s"] = round(row["latency_s"], 4)
    return {"agents": agents, "total": total}


def round_observations(
    record: Mapping[str, Any], calls: Iterable[CallRecord]
) -> list[dict[str, Any]]:
    """One telemetry observation per seated agent for the broker (``broker.update_telemetry``).

    Attempts count as calls, retries included; a failed attempt is a timeout or a failure.
    Reliability is the share of a reviewer's scores whose sign agreed with the round's winner.
    """
    winner = record["winner"]["agent"] if record["winner"] else None
    mine = [c for c in calls if c["round"] == record["round"]]
    observations = []
    for seat in record["seats"]:
        agent = seat["agent"]
        own = [c for c in mine if c["agent"] == agent]
        timeouts = sum(1 for c in own if not c["ok"] and (c["error"] or "").startswith("timeout"))
        row = record["raw_weights"].get(agent)
        agreed, cast = sign_agreement(row, winner) if row and winner else (0, 0)
        observations.append(
            {
                "agent": agent,
                "round": record["round"],
                "calls": len(own),
                "failures": sum(1 for c in own if not c["ok"]) - timeouts,
                "timeouts": timeouts,
                "latency_s": sum(c["latency_s"] for c in own),
                "tokens": sum(c["input_tokens"] + c["output_tokens"] for c in own),
                "support": record["supports"].get(agent),
                "won": agent == winner,
                "reliability": agreed / cast if cast else None,
            }
        )
    return observations
