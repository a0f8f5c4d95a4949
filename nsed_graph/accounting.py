"""Usage totals from the call records: what the run spent, per agent and overall."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nsed_graph.state import CallRecord

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
