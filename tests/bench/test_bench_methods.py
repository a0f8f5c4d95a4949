"""Benchmark methods on scripted agents: what each asks, what it answers, what it counts."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from langchain_core.outputs import ChatResult
from panels import panel
from pydantic import Field

from nsed_graph import Agent, NSEDConfig
from nsed_graph.bench.methods import (
    MOA_INSTRUCTIONS,
    MethodSpec,
    Sizing,
    majority_answer,
    parse_methods,
    run_majority,
    run_moa,
    run_nsed,
    run_self_consistency,
    run_single,
)
from nsed_graph.records import Proposal
from nsed_graph.testing import ScriptedCall, ScriptedChatModel, constant_judge

TASK = "What is 6 x 7?"
CONFIG = NSEDConfig(answer_format="number", max_rounds=2, min_rounds=2)
RIGHT = constant_judge({"42": 100}, default=-100)


class RecordingModel(ScriptedChatModel):
    """Also keeps the call settings (temperature, seed) that ``propose_once`` binds."""

    settings: list[dict[str, Any]] = Field(default_factory=list)

    async def _agenerate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        self.settings.append({k: kw.get(k) for k in ("temperature", "seed")})
        return await super()._agenerate(messages, stop, run_manager, **kw)


def cycling(*answers: str):
    """An answer function that cycles through ``answers``, one per proposal."""
    turns = itertools.cycle(answers)
    return lambda call: next(turns)


def proposal(answer: str | None) -> Proposal:
    return {
        "round": 1,
        "agent": "x",
        "ok": answer is not None,
        "answer": answer,
        "text": f"ANSWER: {answer}",
        "answer_source": "marker",
    }


def test_method_names_parse_to_specs_and_back() -> None:
    specs = parse_methods(
        "single, single[a], self-consistency[b], moa, nsed, "
        "nsed[aggregation=linear,gamma=0.9], nsed[no-masking]"
    )
    assert [s.label for s in specs] == [
        "single",
        "single[a]",
        "self-consistency[b]",
        "moa",
        "nsed",
        "nsed[aggregation=linear,gamma=0.9]",
        "nsed[masking=false]",
    ]
    ablation = specs[5].config(CONFIG)
    assert (ablation.aggregation, ablation.gamma, ablation.answer_format) == (
        "linear",
        0.9,
        "number",
    )
    assert specs[6].config(CONFIG).masking is False
    assert specs[4].config(CONFIG) is CONFIG


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nsed,bogus", "unknown method"),
        ("majority[a]", "takes no argument"),
        ("nsed[colour=red]", "NSEDConfig field"),
        ("nsed,nsed", "listed twice"),
        ("nsed[]", "something inside"),
        (" , ", "no methods"),
    ],
)
def test_bad_method_names_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_methods(text)


def test_majority_answer_counts_and_breaks_ties_by_first_given() -> None:
    chosen, counts = majority_answer([proposal("7"), proposal(None), proposal("8")])
    assert chosen is not None
    assert chosen["answer"] == "7"
    assert counts == {"7": 1, "8": 1}
    chosen, _ = majority_answer([proposal("7"), proposal("8"), proposal("8")])
    assert chosen is not None
    assert chosen["answer"] == "8"
    assert majority_answer([proposal(None)]) == (None, {})


def test_sizing_takes_a_count_or_a_token_target() -> None:
    with pytest.raises(ValueError, match="either"):
        Sizing()
    with pytest.raises(ValueError, match="either"):
        Sizing(fixed=2, target_tokens=10)
    with pytest.raises(ValueError, match="at least one"):
        Sizing(fixed=0)
    fixed = Sizing(fixed=3, max_draws=2)  # a fixed count is what was asked, not capped
    assert [fixed.wants_more(n, 0) for n in range(4)] == [True, True, True, False]
    target = Sizing(target_tokens=340, max_draws=5)
    # 100 tokens a draw: 3 draws (300) are nearer 340 than 4 (400).
    assert [target.wants_more(n, 100 * n) for n in range(5)] == [True, True, True, False, False]
    assert not Sizing(target_tokens=10_000, max_draws=2).wants_more(2, 20)


async def test_single_asks_the_proposer_question_and_counts_its_call() -> None:
    agents, models = panel({"a": "42", "b": "41"}, {"a": RIGHT, "b": RIGHT})
    result = await run_single(agents[0], TASK, CONFIG)
    assert (result.answer, result.error) == ("42", None)
    assert result.details == {"agent": "a", "answer_source": "marker"}
    assert "Task:\nWhat is 6 x 7?" in models["a"].prompts[0]
    usage = result.usage()
    assert usage["calls"] == 1
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > 0
    assert not models["b"].calls


async def test_single_records_a_failing_model_as_an_error() -> None:
    model = ScriptedChatModel(respond=lambda call: RuntimeError("endpoint down"))
    agent = Agent(id="broken", model=model)
    result = await run_single(agent, TASK, CONFIG.model_copy(update={"max_retries": 1}))
    assert result.answer is None
    assert result.error is not None
    assert "endpoint down" in result.error
    assert len(result.calls) == 2  # the call and its one retry are both counted


async def test_self_consistency_samples_with_temperature_and_a_seed_per_draw() -> None:
    answers = cycling("41", "42", "42")

    def respond(call: ScriptedCall) -> str:
        return f"Working.\nANSWER: {answers(call)}"

    model = RecordingModel(respond=respond)
    agent = Agent(id="solo", model=model)
    result = await run_self_consistency(
        agent, TASK, CONFIG, Sizing(fixed=3), temperature=0.8, seed=10
    )
    assert result.answer == "42"
    assert result.details["votes"] == {"41": 1, "42": 2}
    assert result.details["draws"] == 3
    assert model.settings == [{"temperature": 0.8, "seed": s} for s in (10, 11, 12)]
    assert result.usage()["calls"] == 3


async def test_self_consistency_sized_to_a_token_target() -> None:
    agents, _ = panel({"a": "42", "b": "42"}, {"a": RIGHT, "b": RIGHT})
    one = (await run_single(agents[0], TASK, CONFIG)).usage()["total_tokens"]
    result = await run_self_consistency(
        agents[0], TASK, CONFIG, Sizing(target_tokens=4.2 * one), temperature=0.7
    )
    assert result.details["draws"] == 4
    assert result.usage()["total_tokens"] == 4 * one


async def test_majority_repeats_the_whole_table_and_votes_over_all_answers() -> None:
    agents, models = panel(
        {"a": "42", "b": cycling("41", "42"), "c": "41"}, dict.fromkeys("abc", RIGHT)
    )
    result = await run_majority(agents, TASK, CONFIG, Sizing(fixed=2), temperature=0.7)
    assert result.details["repetitions"] == 2
    assert result.details["votes"] == {"42": 3, "41": 3}
    assert result.answer == "42"  # the tie goes to the answer given first
    assert all(len(model.calls) == 2 for model in models.values())
    assert result.usage()["calls"] == 6


async def test_moa_shows_the_aggregator_every_usable_response_fenced() -> None:
    agents, models = panel({"a": "41", "b": "42", "c": "43"}, dict.fromkeys("abc", RIGHT))
    result = await run_moa(agents, agents[1], TASK, CONFIG)
    assert result.answer == "42"
    assert result.details["aggregator"] == "b"
    assert [p["answer"] for p in result.details["proposals"]] == ["41", "42", "43"]
    aggregation = models["b"].prompts[-1]
    assert MOA_INSTRUCTIONS in aggregation
    for label, answer in zip("ABC", ("41", "42", "43"), strict=True):
        assert f"<<<CANDIDATE {label}>>>" in aggregation
        assert f"ANSWER: {answer}" in aggregation
    assert result.usage()["calls"] == 4


async def test_moa_without_any_proposal_reports_an_error_and_asks_no_aggregator() -> None:
    broken = [
        Agent(id=f"x{i}", model=ScriptedChatModel(respond=lambda c: RuntimeError("down")))
        for i in range(2)
    ]
    result = await run_moa(broken, broken[0], TASK, CONFIG.model_copy(update={"max_retries": 0}))
    assert result.answer is None
    assert result.error is not None
    assert "down" in result.error
    assert len(result.calls) == 2


async def test_nsed_keeps_the_run_record_and_each_rounds_winner() -> None:
    agents, _ = panel({"a": "42", "b": "41", "c": "42"}, dict.fromkeys("abc", RIGHT))
    result = await run_nsed(agents, TASK, CONFIG)
    record = result.details["record"]
    assert result.answer == record["answer"] == "42"
    assert result.round_answers == ("42", "42")
    assert len(record["rounds"]) == 2
    assert "messages" not in record
    assert result.calls == record["calls"]
    assert result.usage()["total_tokens"] == record["usage"]["total"]["total_tokens"]
    assert result.response == record["winner"]["text"]


def test_override_values_are_validated_against_the_base_configuration() -> None:
    (cubic,) = parse_methods("nsed[aggregation=cubic]")
    with pytest.raises(ValueError, match=r"nsed\[aggregation=cubic\]"):
        cubic.config(CONFIG)
    with pytest.raises(ValueError, match="gamma"):
        MethodSpec("nsed", overrides=(("gamma", "2"),)).config(CONFIG)
    (longer,) = parse_methods("nsed[min_rounds=9]")
    assert longer.config(NSEDConfig(max_rounds=10)).min_rounds == 9
    with pytest.raises(ValueError, match="min_rounds"):
        longer.config(CONFIG)
