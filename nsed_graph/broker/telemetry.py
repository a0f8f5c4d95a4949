"""Telemetry: what each agent did in earlier rounds and runs, as plain JSON data.

Pure functions over that data; where it is stored between runs is ``nsed_graph.persistence``.

The broker values an agent by its prior shrunk toward this evidence (see ``values``), so the
record keeps sums and counts, from which any mean can be recomputed exactly after a merge, and
the derived means beside them for people and logs reading the file.

One observation per agent per round::

    {"agent": id, "round": t, "calls": n, "failures": n, "timeouts": n,
     "latency_s": total seconds, "tokens": n, "support": float | None, "won": bool,
     "reliability": float | None}

``support`` is the quadratic-vote support the agent's proposal received (None when it did not
propose or nobody scored it); ``won`` counts only in scored rounds. ``reliability`` (optional)
is the share of the agent's review weights whose sign agreed with the round's winner.

The record of one agent::

    {"rounds", "calls", "failures", "timeouts", "tokens", "latency_s",
     "scored_rounds", "support_sum", "wins", "reliability_rounds", "reliability_sum",
     "review_right_endorsed", "review_right_scored", "review_wrong_rejected",
     "review_wrong_scored", "below_threshold_streak", "last_round",
     "mean_support", "win_rate", "success_rate", "mean_latency_s", "mean_tokens",
     "mean_reliability", "review_accuracy"}

The ``review_*`` counts say, of the right candidates the agent scored as a reviewer, how many it
endorsed, and of the wrong ones, how many it rejected; they are learned at the end of a run from
a known answer or the final answer (``protocol.worth``; ``add_review_outcomes``).
``review_accuracy`` is the mean of the two rates (balanced accuracy, 0.5 at chance; a side
with no candidate yet counts as chance, so rejecting everything at a table of wrong answers
reads 0.75, not 1).

``mean_latency_s`` and ``mean_tokens`` are per call; a mean without data is None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nsed_graph.protocol.worth import (
    OUTCOME_FIELDS,
    REVIEW_PREFIX,
    observed_accuracy,
    outcome_of,
)

_COUNTS = ("calls", "failures", "timeouts", "tokens")
_REVIEW_COUNTS = tuple(REVIEW_PREFIX + name for name in OUTCOME_FIELDS)


def empty_record() -> dict[str, Any]:
    """The record of an agent never seen: every count zero, every mean unknown."""
    return _with_means(
        {
            "rounds": 0,
            "calls": 0,
            "failures": 0,
            "timeouts": 0,
            "tokens": 0,
            "latency_s": 0.0,
            "scored_rounds": 0,
            "support_sum": 0.0,
            "wins": 0,
            "reliability_rounds": 0,
            "reliability_sum": 0.0,
            **dict.fromkeys(_REVIEW_COUNTS, 0),
            "below_threshold_streak": 0,
            "last_round": None,
        }
    )


def update_telemetry(
    telemetry: Mapping[str, Mapping[str, Any]],
    observations: list[dict[str, Any]],
    *,
    bench_threshold: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Fold one round's observations into the telemetry; the input is left untouched.

    ``bench_threshold`` (``NSEDConfig.bench_support_threshold``) drives the streak of
    consecutive scored rounds below it, which the broker compares with ``bench_rounds``; a
    round without support neither extends nor breaks the streak, since the agent was not judged.
    """
    updated = {agent: dict(record) for agent, record in telemetry.items()}
    for observation in observations:
        agent = _check_observation(observation)
        record = updated.get(agent) or empty_record()
        updated[agent] = _fold(record, observation, bench_threshold)
    return updated


def add_review_outcomes(
    telemetry: Mapping[str, Mapping[str, Any]],
    outcomes: Mapping[str, tuple[int, int, int, int]],
) -> dict[str, dict[str, Any]]:
    """Fold a run's review outcomes (``protocol.worth.Outcome`` per reviewer) into the
    telemetry."""
    updated = {agent: dict(record) for agent, record in telemetry.items()}
    for agent, outcome in outcomes.items():
        endorsed, seen_right, rejected, seen_wrong = outcome
        if min(outcome) < 0 or endorsed > seen_right or rejected > seen_wrong:
            raise ValueError(
                f"review outcomes of {agent!r}: counts must be >= 0, and no more endorsed "
                f"(rejected) than scored, got {outcome!r}"
            )
        record = updated.get(agent) or empty_record()
        for key, count in zip(_REVIEW_COUNTS, outcome, strict=True):
            record[key] += count
        updated[agent] = _with_means(record)
    return updated


def _check_observation(observation: Mapping[str, Any]) -> str:
    """Refuse malformed observations early: a silent bad count would skew every later binding."""
    agent = observation.get("agent")
    if not isinstance(agent, str) or not agent:
        raise ValueError(f"telemetry observation needs an 'agent' id string, got {agent!r}")
    for key in _COUNTS:
        value = observation.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"telemetry of {agent!r}: {key!r} must be an int >= 0, got {value!r}")
    if observation.get("failures", 0) + observation.get("timeouts", 0) > observation.get(
        "calls", 0
    ):
        raise ValueError(
            f"telemetry of {agent!r}: failures + timeouts exceed calls; count every attempt "
            "(retries included) in 'calls'"
        )
    latency = observation.get("latency_s", 0.0)
    if not _finite(latency) or latency < 0:
        raise ValueError(f"telemetry of {agent!r}: 'latency_s' must be >= 0, got {latency!r}")
    _check_unit(agent, "support", observation.get("support"), -1.0)
    _check_unit(agent, "reliability", observation.get("reliability"), 0.0)
    return agent


def _check_unit(agent: str, key: str, value: Any, low: float) -> None:
    if value is not None and not (_finite(value) and low <= value <= 1.0):
        raise ValueError(f"telemetry of {agent!r}: {key!r} must lie in [{low}, 1], got {value!r}")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _fold(
    record: Mapping[str, Any], observation: Mapping[str, Any], bench_threshold: float | None
) -> dict[str, Any]:
    new = dict(record)
    new["rounds"] += 1
    for key in _COUNTS:
        new[key] += observation.get(key, 0)
    new["latency_s"] += float(observation.get("latency_s", 0.0))
    support = observation.get("support")
    if support is not None:
        new["scored_rounds"] += 1
        new["support_sum"] += float(support)
        new["wins"] += int(bool(observation.get("won", False)))
        if bench_threshold is not None:
            below = support < bench_threshold
            new["below_threshold_streak"] = new["below_threshold_streak"] + 1 if below else 0
    reliability = observation.get("reliability")
    if reliability is not None:
        new["reliability_rounds"] += 1
        new["reliability_sum"] += float(reliability)
    if "round" in observation:
        new["last_round"] = observation["round"]
    return _with_means(new)


def _with_means(record: dict[str, Any]) -> dict[str, Any]:
    calls, scored = record["calls"], record["scored_rounds"]
    failed = record["failures"] + record["timeouts"]
    record["mean_support"] = _ratio(record["support_sum"], scored)
    record["win_rate"] = _ratio(record["wins"], scored)
    record["success_rate"] = _ratio(calls - failed, calls)
    record["mean_latency_s"] = _ratio(record["latency_s"], calls)
    record["mean_tokens"] = _ratio(record["tokens"], calls)
    record["mean_reliability"] = _ratio(record["reliability_sum"], record["reliability_rounds"])
    record["review_accuracy"] = observed_accuracy(outcome_of(record, REVIEW_PREFIX))
    return record


def _ratio(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def normalize_telemetry(agents: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Telemetry read from anywhere (a file, a store), with every field present: an older or
    partial record gets zero counts for what it lacks, and its means are recomputed."""
    return {agent: _with_means({**empty_record(), **record}) for agent, record in agents.items()}
