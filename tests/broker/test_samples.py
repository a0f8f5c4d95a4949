"""Seats are samples (issue 13, defect 8): the broker may seat one model more than once, each
seat a draw with its own seed, where its value says so."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from nsed_graph import NSEDConfig, create_nsed_graph
from nsed_graph.agents import Agent, sample_seats
from nsed_graph.broker import bind_seats
from nsed_graph.ensemble import EnsembleSpec
from nsed_graph.testing import ScriptedCall, scripted_agent_model

MODEL = FakeListChatModel(responses=["ANSWER: 1"])


def agent(agent_id: str, prior: float, **fields: Any) -> Agent:
    return Agent(id=agent_id, model=MODEL, prior=prior, family=agent_id, **fields)


def seated(agents: list[Agent], config: NSEDConfig) -> list[str]:
    binding = bind_seats(
        sample_seats(agents, temperature=None), config, {}, previous=None, round_number=1
    )
    return sorted(seat["agent"] for seat in binding["seats"])


def test_a_strong_model_takes_every_seat_of_a_small_table_when_its_samples_outbid_the_rest() -> (
    None
):
    agents = [agent("strong", 0.6, samples=3), agent("mid", 0.4), agent("weak", 0.2)]
    assert seated(agents, NSEDConfig(table_size=3)) == ["strong", "strong@2", "strong@3"]


def test_a_further_sample_is_worth_less_than_the_one_before() -> None:
    agents = [agent("strong", 0.6, samples=3), agent("mid", 0.5), agent("weak", 0.2)]
    assert seated(agents, NSEDConfig(table_size=3)) == ["mid", "strong", "strong@2"]
    no_discount = NSEDConfig(table_size=3, sample_discount=1.0)
    assert seated(agents, no_discount) == ["strong", "strong@2", "strong@3"]


def test_diversity_stays_a_constraint_the_user_can_require() -> None:
    agents = [agent("strong", 0.6, samples=3), agent("mid", 0.4), agent("weak", 0.2)]
    assert seated(agents, NSEDConfig(table_size=3, max_per_family=1)) == ["mid", "strong", "weak"]
    assert seated(agents, NSEDConfig(table_size=3, min_families=2)) == [
        "mid",
        "strong",
        "strong@2",
    ]


def test_only_the_agent_itself_is_pinned_and_one_sample_is_the_paper_table() -> None:
    expanded = sample_seats([agent("a", 0.5, samples=2, pinned=True)], temperature=None)
    assert [(a.id, a.sample_index, a.pinned) for a in expanded] == [
        ("a", 1, True),
        ("a@2", 2, False),
    ]
    assert [a.id for a in sample_seats([agent("a", 0.5)], temperature=None)] == ["a"]


def test_samples_at_temperature_zero_are_refused_naming_the_fix() -> None:
    greedy = scripted_agent_model("1", lambda answer: 0.0)
    with pytest.raises(ValueError, match=r"'a' has samples=3 at temperature 0.*sample_temperature"):
        sample_seats([Agent(id="a", model=greedy, samples=3)], temperature=0.0)
    with pytest.raises(ValueError, match="sample_temperature"):
        sample_seats([agent("a", 0.5, samples=2, sample_temperature=0.0)], temperature=None)
    kept = sample_seats([agent("a", 0.5, samples=2, sample_temperature=0.7)], temperature=0.0)
    assert len(kept) == 2


def test_each_seat_of_one_model_draws_with_its_own_seed_and_temperature() -> None:
    def by_seed(call: ScriptedCall) -> str:
        return "8" if call.settings.get("seed") == 2000 else "7"

    solo = scripted_agent_model(by_seed, lambda answer: 50.0 if answer == "7" else -50.0)
    other = scripted_agent_model("9", lambda answer: 0.0)
    agents = [
        Agent(id="solo", model=solo, samples=3, sample_temperature=0.7),
        Agent(id="other", model=other),
    ]
    config = NSEDConfig(max_rounds=1, min_rounds=1, sampling_seed=0)
    result = create_nsed_graph(agents, config).invoke({"task": "What is 3 + 4?"})
    proposals = result["rounds"][0]["proposals"]
    assert {p["agent"]: p["answer"] for p in proposals} == {
        "solo": "7",
        "solo@2": "7",
        "solo@3": "8",
        "other": "9",
    }
    drawn = [call.settings for call in solo.calls if not call.structured]
    assert sorted(s["seed"] for s in drawn) == [0, 1000, 2000]
    assert {s["temperature"] for s in drawn} == {0.7}
    assert {s.get("seed") for s in (c.settings for c in other.calls if not c.structured)} == {0}
    assert result["answer"] == "7"


def test_an_ensemble_file_sets_samples() -> None:
    spec = EnsembleSpec.model_validate(
        {
            "agents": [
                {
                    "id": "a",
                    "base_url": "http://127.0.0.1:1/v1",
                    "model": "m",
                    "samples": 3,
                    "sample_temperature": 0.8,
                },
                {"id": "b", "base_url": "http://127.0.0.1:1/v1", "model": "m"},
            ]
        }
    )
    built = spec.build_agents()
    assert [(a.samples, a.sample_temperature) for a in built] == [(3, 0.8), (1, None)]


def test_the_paper_preset_seats_each_model_once_and_runs_fixed_rounds() -> None:
    paper = NSEDConfig.paper()
    assert (paper.max_rounds, paper.min_rounds, paper.max_samples) == (7, 7, 1)
    assert (paper.unanimous_exit, paper.vote_unit, paper.min_resolve_chars) == (
        False,
        "proposals",
        0,
    )
    assert NSEDConfig.paper(max_rounds=3).min_rounds == 3
    capped = sample_seats(
        [agent("a", 0.5, samples=3, sample_temperature=0.7)], temperature=None, cap=1
    )
    assert [(a.id, a.samples) for a in capped] == [("a", 1)]
