"""Shared draws: an identical question is asked once per run, and every method is charged it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from panels import panel

from nsed_graph import Agent, NSEDConfig
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.draws import DRAWS_FILE, SharedDraws, draw_key
from nsed_graph.bench.methods import Sizing, run_majority, run_moa, run_self_consistency, run_single
from nsed_graph.bench.runner import BenchSettings, run_benchmark
from nsed_graph.testing import ScriptedChatModel, constant_judge

TASK = "What is 6 x 7?"
CONFIG = NSEDConfig(answer_format="number")
RIGHT = constant_judge({"42": 100}, default=-100)


def trio() -> tuple[list[Agent], dict[str, ScriptedChatModel]]:
    return panel({"a": "42", "b": "41", "c": "42"}, dict.fromkeys("abc", RIGHT))


async def test_moa_reuses_the_single_answers_and_is_still_charged_for_them() -> None:
    agents, models = trio()
    draws = SharedDraws()
    singles = [await run_single(agent, TASK, CONFIG, propose=draws) for agent in agents]
    moa = await run_moa(agents, agents[0], TASK, CONFIG, propose=draws)

    assert [len(models[k].calls) for k in "abc"] == [2, 1, 1]  # only the aggregation is new
    assert (draws.asked, draws.shared) == (7, 3)
    assert moa.usage()["calls"] == 4  # three proposals and the aggregation, as if run alone
    assert [p["answer"] for p in moa.details["proposals"]] == [s.answer for s in singles]


async def test_self_consistency_draw_i_is_majority_repetition_i_of_the_same_agent() -> None:
    agents, models = trio()
    draws = SharedDraws()
    options = {"temperature": 0.7, "seed": 5, "propose": draws}
    consistent = await run_self_consistency(agents[0], TASK, CONFIG, Sizing(fixed=3), **options)
    majority = await run_majority(agents, TASK, CONFIG, Sizing(fixed=2), **options)

    assert [len(models[k].calls) for k in "abc"] == [3, 2, 2]  # a's first two draws are shared
    assert draws.shared == 2
    assert consistent.usage()["calls"] == 3
    assert majority.usage()["calls"] == 6


async def test_other_settings_or_another_task_are_other_draws() -> None:
    agents, _ = trio()
    agent = agents[0]
    key = draw_key(agent, TASK, CONFIG)
    assert key == draw_key(agent, TASK, NSEDConfig(answer_format="number"))
    assert key != draw_key(agent, TASK + " ", CONFIG)
    assert key != draw_key(agents[1], TASK, CONFIG)
    assert key != draw_key(agent, TASK, CONFIG.model_copy(update={"sampling_seed": 1}))
    assert key != draw_key(agent, TASK, CONFIG.model_copy(update={"temperature": 0.5}))
    assert key != draw_key(agent, TASK, CONFIG.model_copy(update={"answer_format": "choice"}))
    assert key != draw_key(agent, TASK, CONFIG.model_copy(update={"answer_max_chars": 99}))


async def test_concurrent_askers_of_one_question_wait_for_one_call() -> None:
    agents, models = panel({"a": "42"}, {"a": RIGHT}, latency_s=0.05)
    draws = SharedDraws()
    answered = await asyncio.gather(*(draws(agents[0], TASK, CONFIG) for _ in range(4)))
    assert len(models["a"].calls) == 1
    assert {proposal["answer"] for proposal, _ in answered} == {"42"}
    assert all(len(log.calls) == 1 for _, log in answered)
    # Each asker gets its own copies: changing one result leaves the others alone.
    answered[0][0]["answer"] = "changed"
    answered[0][1].calls.clear()
    assert answered[1][0]["answer"] == "42"
    assert len(answered[1][1].calls) == 1


async def test_what_one_asker_changes_never_reaches_the_next() -> None:
    agents, _ = trio()
    draws = SharedDraws()
    proposal, log = await draws(agents[0], TASK, CONFIG)
    proposal["answer"] = "changed"
    log.calls[0]["input_tokens"] = -1
    again, again_log = await draws(agents[0], TASK, CONFIG)
    again["text"] = "changed too"
    third, third_log = await draws(agents[0], TASK, CONFIG)
    assert (again["answer"], third["answer"]) == ("42", "42")
    assert third["text"] != "changed too"
    assert again_log.calls[0]["input_tokens"] > 0
    assert third_log.calls[0]["input_tokens"] > 0


async def test_a_waiter_asks_for_itself_when_the_shared_call_fails_or_is_cancelled() -> None:
    replies = [RuntimeError("down"), "ANSWER: 42", "ANSWER: 42", "ANSWER: 42"]
    model = ScriptedChatModel(responses=replies, latency_s=0.05)
    agent = Agent(id="slow", model=model)
    config = CONFIG.model_copy(update={"max_retries": 0})
    draws = SharedDraws()
    first, second = await asyncio.gather(draws(agent, TASK, config), draws(agent, TASK, config))
    assert not first[0]["ok"]  # the asker that made the failed call gets its failure
    assert second[0]["answer"] == "42"  # the waiter did not inherit it
    assert draws.shared == 0

    other = SharedDraws()
    owner = asyncio.ensure_future(other(agent, TASK, config))
    await asyncio.sleep(0.01)
    waiter = asyncio.ensure_future(other(agent, TASK, config))
    await asyncio.sleep(0.01)
    owner.cancel()
    proposal, _ = await waiter
    assert proposal["answer"] == "42"
    assert owner.cancelled()
    assert len(model.calls) == 4


async def test_a_failed_draw_is_asked_again_and_not_kept(tmp_path: Path) -> None:
    replies = [RuntimeError("down"), "ANSWER: 42"]
    agent = Agent(id="flaky", model=ScriptedChatModel(responses=replies))
    draws = SharedDraws(tmp_path / DRAWS_FILE)
    config = CONFIG.model_copy(update={"max_retries": 0})
    failed, _ = await draws(agent, TASK, config)
    assert not failed["ok"]
    assert not (tmp_path / DRAWS_FILE).exists()
    answered, _ = await draws(agent, TASK, config)
    assert answered["answer"] == "42"
    assert draws.shared == 0


async def test_answered_draws_survive_a_restart_and_a_cut_line_is_asked_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / DRAWS_FILE
    agents, models = trio()
    first = SharedDraws(path)
    for agent in agents:
        await first(agent, TASK, CONFIG)
    kept = path.read_text().splitlines()
    path.write_text("\n".join(kept[:2]) + "\n" + kept[2][:40])  # the last line cut mid-write

    again = SharedDraws(path)
    answered = [await again(agent, TASK, CONFIG) for agent in agents]
    assert [len(models[k].calls) for k in "abc"] == [1, 1, 2]
    assert again.shared == 2
    assert [proposal["answer"] for proposal, _ in answered] == ["42", "41", "42"]
    assert all(log.calls and log.calls[0]["input_tokens"] > 0 for _, log in answered)

    # The draw asked again after the cut is kept whole, on a line of its own.
    third = SharedDraws(path)
    for agent in agents:
        await third(agent, TASK, CONFIG)
    assert third.shared == 3
    assert [len(models[k].calls) for k in "abc"] == [1, 1, 2]


def test_a_benchmark_run_asks_each_distinct_question_once(tmp_path: Path) -> None:
    agents, models = trio()
    item = [BenchItem("q0", "toy", TASK, "42", "number")]
    methods = ["single", "moa", "self-consistency", "majority"]
    summary = run_benchmark(agents, item, methods, tmp_path, settings=BenchSettings(samples=2))

    # single: 3; moa: the aggregation only; majority: 2 repetitions x 3 agents, of which the
    # best single agent's 2 are self-consistency's draws.
    assert sum(len(model.calls) for model in models.values()) == 3 + 1 + 6
    assert summary["draws_this_session"] == {"asked": 3 + 4 + 2 + 6, "shared": 3 + 2}
    per_item = {label: m["per_item"]["calls"] for label, m in summary["methods"].items()}
    assert per_item["moa"] == 4
    assert per_item["self-consistency"] == 2
    assert per_item["majority"] == 6
    assert "asked once per run" in (tmp_path / "report.md").read_text()
    assert all(json.loads(line)["proposal"]["ok"] for line in (tmp_path / DRAWS_FILE).open())
