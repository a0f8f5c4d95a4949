"""Who carries signal in an NSED run: each agent's measured proposer accuracy, reviewer
discrimination and position bias (issue 13: "report, per run, ... so a user sees which case
their ensemble is in").

Per scored row (``row_signal``, with the item's checker): each agent's round-1 proposal right or
not; as a reviewer, over every round, the right candidates it endorsed and the wrong ones it
rejected (``protocol.worth``); and whether the first-shown candidate of each of its reviews
(label ``A`` under masking) was scored below or above the mean of the others. Over the run
(``summarize_signal``): the sums, the balanced accuracy (the mean of the two rates, 50% at
chance whatever the share of right answers), and a two-sided sign test of the position counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nsed_graph.protocol.worth import (
    OUTCOME_FIELDS,
    observed_accuracy,
    outcome_of,
    score_outcomes,
)

SIGNAL_KEY = "signal"


def row_signal(record: Mapping[str, Any], right: Callable[[str | None], bool]) -> dict[str, Any]:
    """One row's signal, per agent: ``proposed``/``proposed_right`` (round 1), the four review
    counts, ``first_lower``/``first_higher``."""
    rounds = record.get("rounds") or []
    agents: dict[str, dict[str, int]] = {}

    def entry(agent: str) -> dict[str, int]:
        return agents.setdefault(
            agent,
            dict.fromkeys(
                ("proposed", "proposed_right", *OUTCOME_FIELDS, "first_lower", "first_higher"), 0
            ),
        )

    for p in rounds[0]["proposals"] if rounds else []:
        if p["ok"]:
            entry(p["agent"])["proposed"] += 1
            entry(p["agent"])["proposed_right"] += right(p["answer"])
    for record_round in rounds:
        correct = {p["agent"]: right(p["answer"]) for p in record_round["proposals"] if p["ok"]}
        for reviewer, outcome in score_outcomes(record_round["raw_weights"], correct).items():
            counts = entry(reviewer)
            for key, value in zip(OUTCOME_FIELDS, outcome, strict=True):
                counts[key] += value
        for review in record_round.get("reviews") or []:
            order = sorted(review["scores"].values(), key=lambda s: s["label"])
            if not review["ok"] or len(order) < 2:
                continue
            rest = [s["weight"] for s in order[1:]]
            first, mean = order[0]["weight"], sum(rest) / len(rest)
            if first != mean:
                entry(review["reviewer"])["first_lower" if first < mean else "first_higher"] += 1
    return agents


def summarize_signal(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per agent over the run's rows: the summed counts, proposer accuracy, balanced reviewer
    accuracy and the position sign test's p."""
    from scipy.stats import binomtest  # the bench extra; imported when a report is written

    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        for agent, counts in (row.get(SIGNAL_KEY) or {}).items():
            into = totals.setdefault(agent, {})
            for key, value in counts.items():
                into[key] = into.get(key, 0) + int(value)
    summary: dict[str, dict[str, Any]] = {}
    for agent, c in sorted(totals.items()):
        lower, higher = c.get("first_lower", 0), c.get("first_higher", 0)
        summary[agent] = {
            **c,
            "proposer_accuracy": c["proposed_right"] / c["proposed"] if c.get("proposed") else None,
            "balanced_accuracy": observed_accuracy(outcome_of(c)),
            "position_p": (
                float(binomtest(lower, lower + higher, 0.5).pvalue) if lower + higher else 1.0
            ),
        }
    return summary


def signal_section(methods: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The report's table of who carries signal, for each NSED method that has one."""
    lines: list[str] = []
    for label, method in methods.items():
        agents = method.get(SIGNAL_KEY)
        if not agents:
            continue
        lines += [
            "",
            f"## Who carries signal in `{label}`",
            "",
            "Per agent: its round-1 proposals right (the agent alone, drawn once); as a reviewer, "
            "the right candidates it endorsed and the wrong ones it rejected, and their balanced "
            "accuracy (50% is chance, whatever share of the answers was right); and how often "
            "the first-shown candidate of its reviews was scored below or above the others "
            "(a two-sided sign test's p). Reviews whose balanced accuracy is near 50% carry no "
            "signal: the default vote counts answers and lets reviews move nothing.",
            "",
            "| agent | proposer right | right endorsed | wrong rejected | balanced | first-shown "
            "lower / higher (p) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for agent, s in agents.items():
            proposer = f"{s['proposed_right']}/{s['proposed']}" if s.get("proposed") else "–"
            balanced = "–" if s["balanced_accuracy"] is None else f"{s['balanced_accuracy']:.0%}"
            lines.append(
                f"| {agent} | {proposer} | {s.get('right_endorsed', 0)}/{s.get('right_scored', 0)}"
                f" | {s.get('wrong_rejected', 0)}/{s.get('wrong_scored', 0)} | {balanced} | "
                f"{s.get('first_lower', 0)} / {s.get('first_higher', 0)} "
                f"({s['position_p']:.3g}) |"
            )
    return lines


__all__ = ["SIGNAL_KEY", "row_signal", "signal_section", "summarize_signal"]
