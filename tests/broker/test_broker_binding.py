"""``bind_seats`` end to end: defaults, user constraints, budgets, fallbacks, rebinding."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from nsed_graph.agents import Agent
from nsed_graph.broker import bind_seats, update_telemetry
from nsed_graph.broker import binding as binding_module
from nsed_graph.broker.solver import SolveResult
from nsed_graph.config import Budget, NSEDConfig, RoleSpec

MODEL = FakeListChatModel(responses=["ANSWER: 1"])


def agent(agent_id: str, prior: float = 0.5, **fields: Any) -> Agent:
    fields.setdefault("family", agent_id)
    return Agent(id=agent_id, model=MODEL, prior=prior, **fields)


def six(**fields: Any) -> list[Agent]:
    """Six agents of distinct families whose priors rank them a > b > ... > f."""
    return [agent(name, 0.9 - 0.1 * i, **fields) for i, name in enumerate("abcdef")]


def bind(agents: list[Agent], config: NSEDConfig, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("previous", None)
    kwargs.setdefault("round_number", 1)
    telemetry = kwargs.pop("telemetry", {})
    return bind_seats(agents, config, telemetry, **kwargs)


def seated(binding: dict[str, Any]) -> list[str]:
    return [seat["agent"] for seat in binding["seats"]]


def reason(binding: dict[str, Any], agent_id: str) -> str:
    return str(binding["receipt"]["agents"][agent_id]["reason"])


def test_default_seats_everyone_but_the_excluded_without_a_solver() -> None:
    agents = [*six()[:3], agent("x", excluded=True)]
    binding = bind(agents, NSEDConfig())
    assert binding["seats"] == [{"agent": a, "role": "proposer_reviewer"} for a in "abc"]
    receipt = binding["receipt"]
    assert receipt["status"] == "fixed"
    assert "fixed binding: everyone sits" in reason(binding, "a")
    assert reason(binding, "x") == "excluded by user"
    assert receipt["solver"]["status"] is None
    assert receipt["violations"] == []


def test_default_binding_does_not_import_ortools() -> None:
    script = (
        "import sys\n"
        "from langchain_core.language_models.fake_chat_models import FakeListChatModel as F\n"
        "from nsed_graph.agents import Agent\n"
        "from nsed_graph.broker import bind_seats\n"
        "from nsed_graph.config import NSEDConfig\n"
        "agents = [Agent(id=i, model=F(responses=['x'])) for i in 'ab']\n"
        "bind_seats(agents, NSEDConfig(), {}, previous=None, round_number=1)\n"
        "assert not [m for m in sys.modules if m.startswith('ortools')], 'ortools imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_the_binding_is_plain_json() -> None:
    binding = bind(six(), NSEDConfig(table_size=3))
    assert json.loads(json.dumps(binding)) == binding


def test_best_table_and_reasons_for_everyone() -> None:
    binding = bind(six(), NSEDConfig(table_size=3))
    assert seated(binding) == ["a", "b", "c"]
    receipt = binding["receipt"]
    assert receipt["status"] == "optimal"
    assert receipt["objective"] == pytest.approx(0.9 + 0.8 + 0.7)
    assert reason(binding, "a") == "seated as proposer_reviewer (value 0.90)"
    assert (
        reason(binding, "d") == "not chosen: lower value (0.60 as proposer_reviewer) than c (0.70)"
    )
    assert set(receipt["agents"]) == set("abcdef")


def test_scenario_a_failed_agent_is_replaced_in_round_two() -> None:
    agents, config = six(), NSEDConfig(table_size=3)
    first = bind(agents, config)
    assert seated(first) == ["a", "b", "c"]
    observations = [
        {"agent": "a", "round": 1, "calls": 2, "latency_s": 4.0, "tokens": 900, "support": 0.4},
        {"agent": "b", "round": 1, "calls": 3, "timeouts": 3, "latency_s": 360.0, "tokens": 0},
        {"agent": "c", "round": 1, "calls": 2, "latency_s": 5.0, "tokens": 800, "support": 0.2},
    ]
    telemetry = update_telemetry({}, observations)
    second = bind(agents, config, telemetry=telemetry, previous=first, round_number=2, failed=["b"])
    assert seated(second) == ["a", "c", "d"]
    assert second["receipt"]["table_size"] == 3
    assert reason(second, "b") == "failed last round; a substitute takes its seat"
    assert second["receipt"]["failed"] == ["b"]


def test_a_failed_agent_stays_when_no_substitute_fits() -> None:
    agents = [*six(memory_gb=10.0)[:3], agent("d", 0.6, memory_gb=20.0)]
    config = NSEDConfig(table_size=3, budget=Budget(memory_gb=30.0))
    binding = bind(agents, config, failed=["b"], round_number=2)
    assert seated(binding) == ["a", "b", "c"]
    assert "failed last round, kept: no substitute fits" in reason(binding, "b")


def test_pinned_and_excluded() -> None:
    agents = six()
    agents[5] = agent("f", 0.1, pinned=True)
    agents[0] = agent("a", 0.9, excluded=True)
    binding = bind(agents, NSEDConfig(table_size=3))
    assert seated(binding) == ["b", "c", "f"]
    assert reason(binding, "a") == "excluded by user"
    assert reason(binding, "f") == "seated as proposer_reviewer (value 0.10); pinned by user"


def test_role_tags_and_bounds() -> None:
    agents = [
        agent("a", 0.9),
        agent("b", 0.8, tags={"math"}),
        agent("c", 0.7),
        agent("d", 0.3, tags={"math"}),
    ]
    roles = {
        "proposer": RoleSpec(min_seats=2, max_seats=2, tags=frozenset({"math"})),
        "reviewer": RoleSpec(min_seats=1, max_seats=1),
    }
    binding = bind(agents, NSEDConfig(table_size=3, roles=roles))
    assert {(s["agent"], s["role"]) for s in binding["seats"]} == {
        ("b", "proposer"),
        ("d", "proposer"),
        ("a", "reviewer"),
    }
    assert reason(binding, "c") == "not chosen: lower value (0.70 as reviewer) than a (0.90)"


def test_diversity_constraints() -> None:
    same = [agent(n, p, family="qwen") for n, p in zip("abc", (0.9, 0.8, 0.7), strict=True)]
    agents = [*same, agent("d", 0.3, family="llama"), agent("e", 0.2, family="gemma")]
    assert seated(bind(agents, NSEDConfig(table_size=3, min_families=2))) == ["a", "b", "d"]
    capped = bind(agents, NSEDConfig(table_size=3, max_per_family=1))
    assert seated(capped) == ["a", "d", "e"]
    assert reason(capped, "b") == "not chosen: family qwen already holds 1 seat (max_per_family 1)"


CATALOGUE = [  # local models, memory at 8-bit with a working context, prior from benchmarks
    ("gpt-oss-20b", "openai", 16.0, 0.72),
    ("qwen3-32b", "qwen", 36.0, 0.78),
    ("qwen3-8b", "qwen", 17.0, 0.62),
    ("gemma-3-12b", "gemma", 25.0, 0.58),
    ("gemma-3-27b", "gemma", 55.0, 0.66),
    ("llama-3.1-8b", "llama", 17.0, 0.45),
    ("mistral-nemo-12b", "mistral", 25.0, 0.50),
    ("phi-4-14b", "phi", 29.0, 0.64),
    ("llama-3.3-70b", "llama", 75.0, 0.80),
]


def test_memory_knapsack_picks_the_best_heterogeneous_table_in_64_gb() -> None:
    agents = [agent(i, p, family=f, memory_gb=m) for i, f, m, p in CATALOGUE]
    config = NSEDConfig(table_size=3, max_per_family=1, budget=Budget(memory_gb=64.0))
    binding = bind(agents, config)
    assert seated(binding) == ["gpt-oss-20b", "qwen3-8b", "phi-4-14b"]
    memory = binding["receipt"]["budget"]["memory_gb"]
    assert memory == {"used": pytest.approx(62.0), "limit": 64.0}
    assert reason(binding, "llama-3.3-70b") == "over memory budget (75 GB > 64 GB)"
    assert reason(binding, "gemma-3-27b") == (
        "not chosen: in place of qwen3-8b it would exceed the memory_gb budget (100 > 64)"
    )
    assert "family qwen already holds 1 seat" in reason(binding, "qwen3-32b")


def test_latency_and_money_caps_rule_out_seats() -> None:
    telemetry = update_telemetry(
        {}, [{"agent": "a", "calls": 2, "latency_s": 60.0, "tokens": 200, "support": 0.9}]
    )
    agents = [*six()[:3], agent("d", 0.6, cost=1.0)]
    limits = Budget(latency_s=40.0, money_per_round=1.0)
    config = NSEDConfig(table_size=3, budget=limits, skip_uncounted_reviews=False)
    binding = bind(agents, config, telemetry=telemetry)
    assert seated(binding) == ["b", "c"]
    assert reason(binding, "a") == (
        "no eligible role: proposer_reviewer over latency_s budget (60 > 40)"
    )
    assert reason(binding, "d") == (
        "no eligible role: proposer_reviewer over money_per_round budget (2 > 1)"
    )
    assert "2 seats instead of the target 3" in binding["receipt"]["message"]


def test_a_seat_whose_reviews_would_be_skipped_is_costed_as_one_proposal() -> None:
    """At review_weight 0 the default skips the reviews (skip_uncounted_reviews): a
    proposer_reviewer seat makes one call, so the budget that ruled a and d out admits them."""
    telemetry = update_telemetry(
        {}, [{"agent": "a", "calls": 2, "latency_s": 60.0, "tokens": 200, "support": 0.9}]
    )
    agents = [*six()[:3], agent("d", 0.6, cost=1.0)]
    config = NSEDConfig(table_size=3, budget=Budget(latency_s=40.0, money_per_round=1.0))
    binding = bind(agents, config, telemetry=telemetry)
    assert seated(binding) == ["a", "b", "c"]  # a's one call takes 30 s
    assert binding["receipt"]["budget"]["latency_s"]["used"] == pytest.approx(30.0)
    assert reason(binding, "d").startswith("not chosen")  # eligible now, outbid on value


def test_budget_shrinks_the_table_only_when_it_must() -> None:
    agents = six(memory_gb=10.0)
    config = NSEDConfig(table_size=3, budget=Budget(memory_gb=25.0))
    binding = bind(agents, config)
    assert seated(binding) == ["a", "b"]
    assert binding["receipt"]["status"] == "optimal"
    assert binding["receipt"]["budget"]["memory_gb"]["used"] == pytest.approx(20.0)


def test_without_table_size_the_previous_size_is_kept() -> None:
    config = NSEDConfig(budget=Budget(memory_gb=100.0))
    first = bind(six(memory_gb=10.0), config)
    assert len(first["seats"]) == 6
    previous = {"seats": first["seats"][:4]}
    second = bind(six(memory_gb=10.0), config, previous=previous, round_number=2)
    assert seated(second) == ["a", "b", "c", "d"]


def test_infeasible_problem_reuses_the_previous_binding() -> None:
    agents = [*six(memory_gb=10.0)[:3], agent("p", 0.5, memory_gb=50.0, pinned=True)]
    config = NSEDConfig(table_size=3, budget=Budget(memory_gb=40.0))
    previous = {"seats": [{"agent": a, "role": "proposer_reviewer"} for a in "abc"]}
    binding = bind(agents, config, previous=previous, round_number=2)
    receipt = binding["receipt"]
    assert receipt["status"] == "previous"
    assert seated(binding) == ["a", "b", "c"]
    assert "CP-SAT INFEASIBLE" in receipt["message"]
    assert "previous binding is reused" in receipt["message"]
    assert "pinned p is not seated" in receipt["violations"]
    assert "previous binding reused" in reason(binding, "a")
    assert reason(binding, "p") == "pinned, but cannot sit: over memory budget (50 GB > 40 GB)"


def test_infeasible_problem_without_previous_relaxes_and_says_what() -> None:
    agents = [*six(memory_gb=10.0)[:3], agent("p", 0.5, memory_gb=50.0, pinned=True)]
    config = NSEDConfig(table_size=3, budget=Budget(memory_gb=40.0))
    binding = bind(agents, config)
    receipt = binding["receipt"]
    assert receipt["status"] == "relaxed"
    assert receipt["relaxed"] == ["diversity", "roles", "budget"]
    assert "p" in seated(binding)
    assert any("memory_gb" in v for v in receipt["violations"])
    assert "constraints relaxed: diversity, roles, budget" in reason(binding, "p")


def test_roles_nobody_can_take_are_relaxed() -> None:
    roles = {
        "proposer": RoleSpec(min_seats=2, tags=frozenset({"code"})),
        "reviewer": RoleSpec(min_seats=1),
    }
    binding = bind(six(), NSEDConfig(table_size=3, roles=roles))
    receipt = binding["receipt"]
    assert receipt["status"] == "relaxed"
    assert receipt["relaxed"] == ["diversity", "roles"]
    assert seated(binding) == ["a", "b", "c"]
    assert "role proposer_reviewer is not offered" in receipt["violations"]


def test_solver_failure_falls_back_to_greedy_then_previous(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def timed_out(*_: object, **__: object) -> SolveResult:
        return SolveResult("unknown", (), 1.0, "CP-SAT UNKNOWN")

    monkeypatch.setattr(binding_module, "solve_exact", timed_out)
    binding = bind(six(), NSEDConfig(table_size=3))
    assert binding["receipt"]["status"] == "greedy"
    assert seated(binding) == ["a", "b", "c"]
    assert binding["receipt"]["message"].startswith("CP-SAT UNKNOWN after 1000.0 ms")

    monkeypatch.setattr(binding_module, "greedy", lambda _: None)
    previous = {"seats": [{"agent": a, "role": "proposer_reviewer"} for a in "def"]}
    binding = bind(six(), NSEDConfig(table_size=3), previous=previous, round_number=2)
    assert binding["receipt"]["status"] == "previous"
    assert seated(binding) == ["d", "e", "f"]
    binding = bind(six(), NSEDConfig(table_size=3))
    assert binding["receipt"]["status"] == "everyone"
    assert seated(binding) == list("abcdef")


def test_low_support_benches_an_agent_between_rounds() -> None:
    config = NSEDConfig(table_size=3, bench_support_threshold=0.0, bench_rounds=2)
    low = [{"agent": "a", "round": t, "calls": 2, "support": -0.4} for t in (1, 2)]
    telemetry = update_telemetry({}, low, bench_threshold=0.0)
    assert seated(bind(six(), config, telemetry=telemetry, round_number=1))[0] == "a"
    second = bind(six(), config, telemetry=telemetry, round_number=2)
    assert seated(second) == ["b", "c", "d"]
    assert reason(second, "a") == "benched: support below 0 for 2 rounds"
    assert second["receipt"]["benched"] == ["a"]
    third = bind(six(), config, round_number=3, benched=second["receipt"]["benched"])
    assert reason(third, "a") == "benched earlier in this run"


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[Agent], NSEDConfig, list[str]]:
    n = draw(st.integers(2, 6))
    agents = [
        agent(
            f"m{i}",
            draw(st.integers(0, 10)) / 10,
            family=f"f{draw(st.integers(0, 2))}",
            memory_gb=float(draw(st.integers(0, 30))),
            pinned=(flag := draw(st.integers(0, 7))) == 0,
            excluded=flag == 1,
            tags=draw(st.sets(st.sampled_from(["math", "code"]))),
        )
        for i in range(n)
    ]
    if sum(not a.excluded for a in agents) < 2:
        agents = [a.model_copy(update={"excluded": False}) for a in agents]
    table = draw(st.one_of(st.none(), st.integers(2, 4)))
    budget = draw(st.one_of(st.none(), st.integers(10, 80).map(lambda m: Budget(memory_gb=m))))
    roles = draw(
        st.one_of(
            st.none(),
            st.just(
                {
                    "proposer": RoleSpec(max_seats=3, tags=frozenset({"math"})),
                    "reviewer": RoleSpec(min_seats=1),
                    "proposer_reviewer": RoleSpec(),
                }
            ),
        )
    )
    config = NSEDConfig(
        table_size=table,
        budget=budget,
        roles=roles,
        max_per_family=draw(st.one_of(st.none(), st.integers(1, 2))),
    )
    failed = draw(st.lists(st.sampled_from([a.id for a in agents]), max_size=2))
    return agents, config, failed


@settings(max_examples=40, deadline=None, derandomize=True)
@given(tables())
def test_any_input_gives_a_consistent_receipt(
    case: tuple[list[Agent], NSEDConfig, list[str]],
) -> None:
    agents, config, failed = case
    binding = bind(agents, config, failed=failed, round_number=2)
    receipt = binding["receipt"]
    assert json.loads(json.dumps(binding)) == binding
    ids = seated(binding)
    assert len(ids) == len(set(ids)) >= 2
    assert set(receipt["agents"]) == {a.id for a in agents}
    for a in agents:
        entry = receipt["agents"][a.id]
        assert entry["seated"] == (a.id in ids)
        assert entry["reason"]
        assert not (a.excluded and entry["seated"])
    if receipt["status"] in ("fixed", "optimal", "feasible", "greedy"):
        assert receipt["violations"] == []
        assert all(a.id in ids for a in agents if a.pinned)
