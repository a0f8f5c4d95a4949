"""What the records say about spending and about each agent: usage totals, and the per-round
observations the broker's telemetry learns from."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from nsed_graph.protocol.stopping import Spent
from nsed_graph.protocol.voting import sign_agreement
from nsed_graph.records import CallRecord, Usage, UsageTotals


def summarize_usage(calls: Iterable[CallRecord]) -> Usage:
    """``{"agents": {id: totals}, "total": totals}``: attempts, failed attempts, tokens, the
    calls' own seconds (rounded to 0.1 ms once summed) and cost; the total sums the agents'."""
    by_agent: dict[str, list[CallRecord]] = {}
    for call in calls:
        by_agent.setdefault(call["agent"], []).append(call)
    agents = {agent: _totals([_call_totals(c) for c in own]) for agent, own in by_agent.items()}
    total = _totals(list(agents.values()))
    return {
        "agents": {agent: _rounded(row) for agent, row in agents.items()},
        "total": _rounded(total),
    }


def _call_totals(call: CallRecord) -> UsageTotals:
    return {
        "calls": 1,
        "failed_calls": 0 if call["ok"] else 1,
        "input_tokens": call["input_tokens"],
        "output_tokens": call["output_tokens"],
        "total_tokens": call["input_tokens"] + call["output_tokens"],
        "latency_s": call["latency_s"],
        "cost": call["cost"],
    }


def _totals(rows: list[UsageTotals]) -> UsageTotals:
    return {
        "calls": sum(r["calls"] for r in rows),
        "failed_calls": sum(r["failed_calls"] for r in rows),
        "input_tokens": sum(r["input_tokens"] for r in rows),
        "output_tokens": sum(r["output_tokens"] for r in rows),
        "total_tokens": sum(r["total_tokens"] for r in rows),
        "latency_s": sum(r["latency_s"] for r in rows),
        "cost": sum(r["cost"] for r in rows),
    }


def _rounded(row: UsageTotals) -> UsageTotals:
    return {**row, "latency_s": round(row["latency_s"], 4)}


def spent_so_far(total: UsageTotals, started_at: float | None) -> Spent:
    """What the run has used, from its usage totals (``summarize_usage(...)["total"]``): every
    attempt's tokens and cost, and the seconds since it began."""
    now = time.time()
    return Spent(
        tokens=int(total["total_tokens"]),
        cost=float(total["cost"]),
        seconds=now - (started_at if started_at is not None else now),
    )


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


__all__ = ["round_observations", "summarize_usage"]
