"""The fault path against a real OpenAI client on loopback (issue 14): a retry only where one
can help, after a backoff that honours Retry-After, and no request the record does not show."""

from __future__ import annotations

import pytest
from endpoint_stub import Step, scripted_endpoint
from panels import panel

from nsed_graph import Agent, NSEDConfig, create_nsed_graph
from nsed_graph.ensemble import parse_ensemble
from nsed_graph.testing import WORKED, constant_judge

TASK = "What is 6 x 7? Answer with a number."
RIGHT = f"{WORKED}\nANSWER: 42"


def remote_agent(url: str) -> Agent:
    """An agent built as a user's ensemble file builds it: ChatOpenAI on ``url``."""
    entries = [{"id": name, "base_url": url, "model": "stub"} for name in ("remote", "spare")]
    return parse_ensemble({"agents": entries}).build_agents()[0]


async def run(url: str, mode: str = "invoke", **options: object) -> dict:
    helpers, _ = panel({"h1": "42", "h2": "42"}, dict.fromkeys(("h1", "h2"), constant_judge({})))
    settings = {"max_rounds": 1, "min_rounds": 1, "answer_format": "number", **options}
    graph = create_nsed_graph([remote_agent(url), *helpers], NSEDConfig(**settings))  # type: ignore[arg-type]
    if mode == "invoke":
        return graph.invoke({"task": TASK})
    return await graph.ainvoke({"task": TASK})


def attempts(out: dict) -> list[dict]:
    return [c for c in out["calls"] if c["agent"] == "remote"]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_server_errors_are_retried_and_every_request_is_in_the_record(mode: str) -> None:
    with scripted_endpoint(Step(500), Step(503), Step(content=RIGHT)) as endpoint:
        out = await run(endpoint.url, mode, retry_backoff_s=0.05)
    records = attempts(out)
    assert len(endpoint.arrivals) == len(records) == 3  # the client retried nothing of its own
    assert [c["ok"] for c in records] == [False, False, True]
    assert out["answer"] == "42"
    assert out["failures"] == []


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_a_rate_limit_waits_for_its_retry_after(mode: str) -> None:
    """The wait is not part of the retry's deadline: a 0.3 s timeout survives a 0.4 s wait."""
    with scripted_endpoint(Step(429, headers={"Retry-After": "0.4"}), Step(content=RIGHT)) as e:
        out = await run(e.url, mode, retry_backoff_s=0.0, timeout_s=0.3)
    first, second = e.arrivals
    assert second - first >= 0.4
    assert [c["ok"] for c in attempts(out)] == [False, True]
    assert "429" in attempts(out)[0]["error"]


async def test_a_retry_after_beyond_the_longest_wait_is_not_waited_for() -> None:
    with scripted_endpoint(Step(429, headers={"Retry-After": "120"})) as e:
        out = await run(e.url, retry_max_wait_s=5.0)
    assert len(e.arrivals) == 1
    assert [(f["agent"], f["kind"]) for f in out["failures"]] == [("remote", "error")]
    assert out["answer"] == "42"  # the round degrades, the run answers


async def test_a_client_error_is_not_retried() -> None:
    with scripted_endpoint(Step(401)) as e:
        out = await run(e.url, max_retries=3)
    assert len(e.arrivals) == len(attempts(out)) == 1


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_a_timeout_is_not_retried(mode: str) -> None:
    """A hung endpoint costs one timeout, not one per retry (issue 14)."""
    with scripted_endpoint(Step(delay_s=1.5, content=RIGHT)) as e:
        out = await run(e.url, mode, timeout_s=0.3, max_retries=2)
    assert len(attempts(out)) == 1
    assert attempts(out)[0]["error"].startswith("timeout")
    assert len(e.arrivals) == 1


@pytest.mark.parametrize("weight", ["NaN", "Infinity"])
async def test_a_nan_or_infinite_weight_is_an_unparseable_review(weight: str) -> None:
    """Issue 16: JSON as Python reads it allows NaN and Infinity; such a weight is a reply that
    does not read, not a generic error and not a number."""
    review = "{" + ", ".join(f'"{x}": {{"critique": "ok", "weight": {weight}}}' for x in "AB") + "}"
    proposal = Step(content=f"{WORKED}\nANSWER: 41")
    with scripted_endpoint(proposal, Step(content=review)) as e:
        out = await run(e.url, vote_unit="proposals", max_retries=0)
    mine = [(f["phase"], f["kind"]) for f in out["failures"] if f["agent"] == "remote"]
    assert mine == [("review", "unparseable")]
