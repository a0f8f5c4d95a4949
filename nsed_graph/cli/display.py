"""What a person watching a deliberation sees: live progress from the graph's custom events,
then the answer and a per-round table from the run record.

The live view reads the same events a notebook or a LangGraph Server client would
(``stream_mode="custom"``), so the terminal shows nothing the graph did not say.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

_PENDING, _DONE, _FAILED = "…", "✓", "✗"


class ProgressView:
    """Folds the stream of events into a renderable status: round, phase, seats, elapsed."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.round = 0
        self.phase = "starting"
        self.seats: list[str] = []
        self.proposals: dict[str, str] = {}
        self.reviews: dict[str, str] = {}
        self.history: list[str] = []

    def update(self, event: Mapping[str, Any]) -> None:
        kind = event.get("event")
        if kind == "round_started":
            self.round = int(event["round"])
            self.phase = "propose"
            self.seats = [seat["agent"] for seat in event["seats"]]
            self.proposals, self.reviews = {}, {}
        elif kind == "proposal":
            mark = f"{_DONE} {event['answer']}" if event["ok"] else f"{_FAILED} {event['error']}"
            self.proposals[event["agent"]] = f"{mark} ({event['latency_s']:.1f}s)"
            self.phase = "propose"
        elif kind == "review":
            scored = f"{_DONE} scored {event['scored']}"
            mark = scored if event["ok"] else f"{_FAILED} {event['error']}"
            self.reviews[event["agent"]] = f"{mark} ({event['latency_s']:.1f}s)"
            self.phase = "review"
        elif kind == "vote":
            support = event["support"]
            shown = "-" if support is None else f"{support:+.2f}"
            self.history.append(
                f"round {event['round']}: winner {event['winner']} -> {event['answer']} "
                f"(support {shown}, conviction {event['conviction']:+.2f})"
            )
            self.phase = "vote"
        elif kind == "stop":
            self.phase = f"stopped: {event['reason']}"

    def render(self) -> RenderableType:
        elapsed = time.monotonic() - self.started
        header = Text(
            f"round {self.round} · {self.phase} · {elapsed:5.1f}s elapsed", style="bold cyan"
        )
        table = Table(box=None, pad_edge=False)
        table.add_column("seat")
        table.add_column("proposal")
        table.add_column("review")
        for agent in self.seats:
            table.add_row(
                agent, self.proposals.get(agent, _PENDING), self.reviews.get(agent, _PENDING)
            )
        return Group(header, table, *(Text(line, style="dim") for line in self.history))


def summary(out: Mapping[str, Any]) -> RenderableType:
    """The answer, one row per round (winner, support, conviction, every answer), the stop."""
    rounds = out.get("rounds") or []
    agents = sorted({p["agent"] for r in rounds for p in r["proposals"]})
    table = Table(title="Rounds")
    for column in ("round", "time", "winner", "support", "conviction"):
        table.add_column(column)
    failures = out.get("failures") or []
    agents = sorted({*agents, *(f["agent"] for f in failures)})
    for column in agents:
        table.add_column(column)
    for record in rounds:
        winner = record["winner"] or {}
        failed = _failed_seats(failures, record["round"], phase="propose")
        answers = {
            p["agent"]: (p["answer"] if p["ok"] else failed.get(p["agent"], _FAILED))
            for p in record["proposals"]
        }
        table.add_row(
            str(record["round"]),
            f"{record.get('wall_s', 0.0):.0f}s",
            f"{winner.get('agent', '-')}: {winner.get('answer', '-')}",
            f"{winner['support']:+.2f}" if winner else "-",
            f"{record['conviction']:+.2f}",
            *(_short(answers.get(a, "-")) for a in agents),
        )
    recorded = {record["round"] for record in rounds}
    halted_rounds = {f["round"] for f in failures}
    if out.get("stop_reason") in ("degraded", "stalled", "failed") and isinstance(
        out.get("round"), int
    ):
        halted_rounds.add(out["round"])  # halted with no failed seat (all weights zero)
    for halted in sorted(halted_rounds - recorded):
        failed = _failed_seats(failures, halted)
        table.add_row(str(halted), "-", "halted", "-", "-", *(failed.get(a, "-") for a in agents))
    best = out.get("winner")
    lines = [
        Text(f"Answer: {out.get('answer')}", style="bold green"),
        Text(
            f"Stopped: {out.get('stop_reason')}"
            + (f" · best round {best['round']} ({best['agent']})" if best else "")
            + (
                " · degraded (see the failed seats)"
                if out.get("degraded") and out.get("stop_reason") != "degraded"
                else ""
            )
        ),
    ]
    if out.get("warning"):
        lines.append(Text(f"Warning: {out['warning']}", style="bold yellow"))
    if out.get("error"):
        lines.append(Text(f"Error: {out['error']}", style="bold red"))
    if failures:
        lines.append(Text("Failed seats:", style="yellow"))
    lines.extend(
        Text(f"  round {f['round']} {f['phase']} {f['agent']}: {f['kind']}: {f['message']}")
        for f in failures
    )
    total = (out.get("usage") or {}).get("total") or {}
    if total:
        lines.append(
            Text(
                f"Calls {total['calls']} · tokens {total['total_tokens']} · "
                f"model time {total['latency_s']:.1f}s",
                style="dim",
            )
        )
    return Group(table, *lines)


def _failed_seats(
    failures: list[Mapping[str, Any]], round_number: int, phase: str | None = None
) -> dict[str, str]:
    """Agent -> "✗ phase kind" for the seats that failed in a round (in ``phase`` only, when
    given); the reasons are listed below the table."""
    return {
        f["agent"]: f"{_FAILED} {f['phase']} {f['kind']}"
        for f in failures
        if f["round"] == round_number and phase in (None, f["phase"])
    }


def _short(text: str | None, width: int = 24) -> str:
    value = "-" if text is None else " ".join(str(text).split())
    return value if len(value) <= width else value[: width - 1] + "…"
