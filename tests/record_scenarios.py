"""Scripted deliberations whose records are kept as a golden file: a reshaping of the shell must
leave every per-round record exactly as it was (only timings may differ).

Run ``python tests/record_scenarios.py`` to rewrite ``fixtures/round_records.json`` after a
deliberate change of behaviour; the test compares a fresh run with it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from panels import panel, proposal_vote

from nsed_graph import Agent, Budget, NSEDConfig, RoleSpec, create_nsed_graph
from nsed_graph.testing import (
    WORKED,
    ScriptedCall,
    ScriptedChatModel,
    constant_judge,
    scripted_agent_model,
)

GOLDEN = Path(__file__).parent / "fixtures" / "round_records.json"
TASK = "What is 6 x 7? Answer with a number."
_VOLATILE = {"latency_s", "mean_latency_s", "wall_s", "started_at", "round_started_at", "seconds"}
_MILLISECONDS = re.compile(r"\d+(\.\d+)? ms")


def _counting(answers: list[str]) -> Callable[[ScriptedCall], str]:
    seen = {"n": 0}

    def answer(call: ScriptedCall) -> str:
        seen["n"] += 1
        return answers[min(seen["n"], len(answers)) - 1]

    return answer


def _drifting_panel() -> tuple[list[Agent], NSEDConfig]:
    judge = constant_judge({"41": -40, "42": 90, "43": 10, "40": -100})
    answers = {
        "alpha": _counting(["41", "42", "42"]),
        "beta": _counting(["42", "42", "43"]),
        "gamma": _counting(["40", "41", "42"]),
    }
    agents, _ = panel(answers, dict.fromkeys(answers, judge))
    return agents, proposal_vote(max_rounds=3, min_rounds=3, answer_format="number", seed=7)


def _failing_panel() -> tuple[list[Agent], NSEDConfig]:
    judge = constant_judge({"42": 100, "41": -50})
    agents, _ = panel(
        {"ok-1": "42", "ok-2": "41", "ok-3": "42"}, dict.fromkeys(("ok-1", "ok-2", "ok-3"), judge)
    )

    def broken(call: ScriptedCall) -> str:
        raise RuntimeError("endpoint down")

    agents.append(Agent(id="dead", model=ScriptedChatModel(respond=broken), family="family-dead"))
    config = proposal_vote(
        max_rounds=2,
        min_rounds=2,
        answer_format="number",
        max_retries=1,
        calibration="center",
    )
    return agents, config


def _brokered_panel() -> tuple[list[Agent], NSEDConfig]:
    judge = constant_judge({"42": 80, "41": -30})
    models = {
        name: scripted_agent_model(answer, judge, name=f"model-of-{name}")
        for name, answer in {"p1": "42", "p2": "41", "p3": "42", "p4": "42"}.items()
    }
    agents = [
        Agent(id=name, model=model, family=f"family-{name}", cost=1.0 + i)
        for i, (name, model) in enumerate(models.items())
    ]
    scribe = ScriptedChatModel(respond=lambda call: "Agreed: 6 x 7 = 42. Leading answer 42.")
    agents.append(Agent(id="scribe", model=scribe, tags={"writer"}))
    config = proposal_vote(
        unanimous_exit=False,
        max_rounds=2,
        min_rounds=1,
        patience=2,  # the stop rule of the time: this scenario records two rounds of the broker
        convergence_threshold=0.5,
        answer_format="number",
        table_size=4,
        roles={
            "proposer_reviewer": RoleSpec(min_seats=3),
            "compressor": RoleSpec(min_seats=1, max_seats=1, tags=frozenset({"writer"})),
        },
        budget=Budget(money_per_round=100.0),
        answer_pooling=True,
        reviewer_weighting="reliability",
    )
    return agents, config


def _silent_reviewers() -> tuple[list[Agent], NSEDConfig]:
    """Round 1 completes; in round 2 no review parses, so the vote cannot be taken."""

    def model(answer: str) -> ScriptedChatModel:
        seen = {"reviews": 0}

        def respond(call: ScriptedCall) -> str | dict[str, Any]:
            if call.structured and "Candidates:" in call.prompt:
                seen["reviews"] += 1
                if seen["reviews"] > 1:
                    return "not json at all"
                return {label: {"critique": "fine", "weight": 50} for label in "AB"}
            return f"{WORKED}\nANSWER: {answer}"

        return ScriptedChatModel(respond=respond)

    agents = [Agent(id=n, model=model(a)) for n, a in (("x", "1"), ("y", "2"), ("z", "1"))]
    return agents, proposal_vote(max_rounds=3, min_rounds=3, max_retries=0, answer_format="number")


def _lone_proposer() -> tuple[list[Agent], NSEDConfig]:
    """Only one proposal can be read: the round cannot be reviewed."""
    agents = [
        Agent(id="talker", model=ScriptedChatModel(respond=lambda call: f"{WORKED}\nANSWER: 5")),
        Agent(id="mute-1", model=ScriptedChatModel(respond=lambda call: "")),
        Agent(id="mute-2", model=ScriptedChatModel(respond=lambda call: "")),
    ]
    return agents, proposal_vote(max_rounds=2, max_retries=0, answer_format="number")


SCENARIOS: dict[str, Callable[[], tuple[list[Agent], NSEDConfig]]] = {
    "drifting": _drifting_panel,
    "failing": _failing_panel,
    "brokered": _brokered_panel,
    "silent_reviewers": _silent_reviewers,
    "lone_proposer": _lone_proposer,
}


def _stable(value: Any) -> Any:
    """The record with timings removed: what must not change when only the shell is reshaped."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str):
        return _MILLISECONDS.sub("<t> ms", value)
    return value


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a record by its path, so two records can be compared leaf by leaf."""
    if isinstance(value, dict):
        return {k: v for key in value for k, v in flatten(value[key], f"{path}/{key}").items()}
    if isinstance(value, list):
        return {
            k: v for i, item in enumerate(value) for k, v in flatten(item, f"{path}[{i}]").items()
        }
    return {path: value}


def differences(fresh: Any, golden: Any) -> list[str]:
    """Leaves that differ; floats within 1e-3 are equal (the broker's values move a little with
    the latency that telemetry measured)."""
    now, then = flatten(fresh), flatten(golden)
    found = [f"{p}: missing now" for p in then if p not in now]
    found += [f"{p}: new" for p in now if p not in then]
    for p in now.keys() & then.keys():
        a, b = now[p], then[p]
        if isinstance(a, float) and isinstance(b, float | int) and abs(a - b) <= 1e-3:
            continue
        if a != b:
            found.append(f"{p}: {a!r} (was {b!r})")
    return sorted(found)


def run_scenario(name: str, *, use_async: bool = False) -> dict[str, Any]:
    agents, config = SCENARIOS[name]()
    graph = create_nsed_graph(agents, config)
    task = {"task": TASK}
    out = asyncio.run(graph.ainvoke(task)) if use_async else graph.invoke(task)
    keys = ("answer", "winner", "rounds", "stop_reason", "degraded", "failures", "error")
    keys += ("warning", "usage", "telemetry", "task")
    record = {key: out.get(key) for key in keys}
    record["calls"] = sorted(
        (c["round"], c["agent"], c["phase"], c["purpose"], c["attempt"], c["ok"])
        for c in out["calls"]
    )
    record["receipts"] = out["receipts"]
    return json.loads(json.dumps(_stable(record)))


def main() -> None:
    GOLDEN.write_text(
        json.dumps({name: run_scenario(name) for name in SCENARIOS}, indent=1, sort_keys=True)
        + "\n"
    )


if __name__ == "__main__":
    main()
