"""The broker inside the graph: best table within budget, rebinding after a failure,
telemetry carried from one run to the next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.store.memory import InMemoryStore
from panels import panel, reviewed

from nsed_graph import Agent, Budget, NSEDConfig, RoleSpec, create_nsed_graph
from nsed_graph.testing import ScriptedCall, ScriptedChatModel, constant_judge

TASK = "What is 6 x 7? Answer with a number."
JUDGE = constant_judge({"42": 80, "41": -40})
WITH_SCRIBE: dict[str, Any] = {
    "table_size": 4,
    "roles": {
        "proposer_reviewer": RoleSpec(min_seats=3),
        "compressor": RoleSpec(min_seats=1, max_seats=1, tags=frozenset({"writer"})),
    },
}
"""Three deliberating seats and one compressor seat for an agent tagged ``writer``."""
PRIORS = {"a1": 0.9, "a2": 0.8, "a3": 0.7, "a4": 0.6, "a5": 0.5, "a6": 0.4}


def six_agents(failing: str | None = None) -> list[Agent]:
    agents, _ = panel(dict.fromkeys(PRIORS, "42"), dict.fromkeys(PRIORS, JUDGE))
    seated = []
    for agent in agents:
        model = agent.model
        if agent.id == failing:
            model = ScriptedChatModel(respond=lambda call: RuntimeError("GPU fell off the bus"))
        seated.append(
            agent.model_copy(update={"prior": PRIORS[agent.id], "cost": 1.0, "model": model})
        )
    return seated


def seats_of(record: dict) -> dict[str, str]:
    return {seat["agent"]: seat["role"] for seat in record["seats"]}


def test_best_three_seated_then_a_failed_agent_is_replaced() -> None:
    # a proposer+reviewer seat makes two calls at cost 1.0: a budget of 6 pays for three seats
    config = reviewed(
        unanimous_exit=False,
        max_rounds=2,
        min_rounds=2,
        answer_format="number",
        table_size=3,
        budget=Budget(money_per_round=6.0),
        max_retries=0,
    )
    out = create_nsed_graph(six_agents(failing="a1"), config).invoke({"task": TASK})
    first, second = out["rounds"]
    assert seats_of(first) == dict.fromkeys(("a1", "a2", "a3"), "proposer_reviewer")
    assert {f["agent"] for f in first["failures"]} == {"a1"}
    assert seats_of(second) == dict.fromkeys(("a2", "a3", "a4"), "proposer_reviewer")
    receipt = out["receipts"][1]
    assert receipt["failed"] == ["a1"]
    assert "every call failed in round 1" in receipt["agents"]["a1"]["reason"]
    assert receipt["agents"]["a4"]["seated"] is True
    assert receipt["budget"]["money_per_round"]["used"] <= 6.0
    assert out["answer"] == "42"
    assert out["telemetry"]["a1"]["failures"] >= 2


def test_proposer_only_and_reviewer_only_seats() -> None:
    config = reviewed(
        unanimous_exit=False,
        max_rounds=1,
        min_rounds=1,
        answer_format="number",
        table_size=4,
        roles={
            "proposer": RoleSpec(min_seats=2, max_seats=2),
            "reviewer": RoleSpec(min_seats=2, max_seats=2),
        },
    )
    out = create_nsed_graph(six_agents(), config).invoke({"task": TASK})
    record = out["rounds"][0]
    roles = seats_of(record)
    proposers = {a for a, r in roles.items() if r == "proposer"}
    reviewers = {a for a, r in roles.items() if r == "reviewer"}
    assert len(proposers) == 2
    assert len(reviewers) == 2
    assert {p["agent"] for p in record["proposals"]} == proposers
    assert {r["reviewer"] for r in record["reviews"]} == reviewers


def test_compressor_seat_rewrites_the_brief() -> None:
    def minutes(call: ScriptedCall):
        return "Agreed: 6 x 7 = 42. Leading answer 42."

    agents = [
        *six_agents()[:3],
        Agent(id="scribe", model=ScriptedChatModel(respond=minutes), tags={"writer"}),
    ]
    config = NSEDConfig(
        unanimous_exit=False,
        max_rounds=2,
        min_rounds=2,
        answer_format="number",
        state_token_budget=50,  # the gate must cut three proposals: the scribe has work
        **WITH_SCRIBE,
    )
    out = create_nsed_graph(agents, config).invoke({"task": TASK})
    assert seats_of(out["rounds"][0])["scribe"] == "compressor"
    assert out["rounds"][0]["brief"] == "Agreed: 6 x 7 = 42. Leading answer 42."
    later = [c for c in agents[0].model.calls if not c.structured][1]
    assert "Agreed: 6 x 7 = 42" in later.prompt


def test_a_brief_within_its_budget_is_not_sent_to_the_compressor() -> None:
    """Issue 14: the compressor was a serial call every round, even when the gate's brief
    already fit; now it runs only where the gate had to cut."""
    scribe = ScriptedChatModel(respond=lambda call: "Agreed: 42.")
    agents = [*six_agents()[:3], Agent(id="scribe", model=scribe, tags={"writer"})]
    config = NSEDConfig(
        unanimous_exit=False, max_rounds=2, min_rounds=2, answer_format="number", **WITH_SCRIBE
    )
    out = create_nsed_graph(agents, config).invoke({"task": TASK})
    assert seats_of(out["rounds"][0])["scribe"] == "compressor"
    assert scribe.calls == []
    assert out["rounds"][0]["brief"].startswith("[1] round 1")


def test_telemetry_persists_across_runs_in_a_file_and_in_the_store(tmp_path: Path) -> None:
    path = tmp_path / "telemetry.json"
    config = NSEDConfig(max_rounds=1, min_rounds=1, telemetry_file=str(path))
    create_nsed_graph(six_agents(), config).invoke({"task": TASK})
    second = create_nsed_graph(six_agents(), config).invoke({"task": TASK})
    assert second["telemetry"]["a1"]["rounds"] == 2
    assert path.exists()

    store = InMemoryStore()
    plain = NSEDConfig(max_rounds=1, min_rounds=1)
    for _ in range(3):
        out = create_nsed_graph(six_agents(), plain, store=store).invoke({"task": TASK})
    assert out["telemetry"]["a2"]["rounds"] == 3


def test_a_unanimous_round_ends_the_run_without_calling_the_compressor() -> None:
    scribe = ScriptedChatModel(respond=lambda call: "Agreed: 42.")
    proposers, _ = panel(
        dict.fromkeys(("p1", "p2", "p3"), "42"), dict.fromkeys(("p1", "p2", "p3"), JUDGE)
    )
    config = NSEDConfig(
        max_rounds=2,
        answer_format="number",
        **WITH_SCRIBE,
    )
    writer = Agent(id="scribe", model=scribe, tags={"writer"})
    out = create_nsed_graph([*proposers, writer], config).invoke({"task": TASK})
    assert out["stop_reason"] == "unanimous"
    assert scribe.calls == []


def test_a_failing_compressor_leaves_the_gate_brief_and_is_recorded() -> None:
    agents = [
        *six_agents()[:3],
        Agent(
            id="scribe",
            model=ScriptedChatModel(respond=lambda call: RuntimeError("out of memory")),
            tags={"writer"},
        ),
    ]
    config = NSEDConfig(
        unanimous_exit=False,
        max_rounds=1,
        min_rounds=1,
        answer_format="number",
        table_size=4,
        max_retries=0,
        state_token_budget=50,
        roles={
            "proposer_reviewer": RoleSpec(min_seats=3),
            "compressor": RoleSpec(min_seats=1, max_seats=1, tags=frozenset({"writer"})),
        },
    )
    out = create_nsed_graph(agents, config).invoke({"task": TASK})
    record = out["rounds"][0]
    assert record["brief"].startswith("[1] round 1")  # the gate's own rendering stands
    assert [(f["agent"], f["phase"]) for f in record["failures"]] == [("scribe", "compress")]
    assert record["usage"]["agents"]["scribe"]["failed_calls"] == 1
    assert out["degraded"] is True
