"""A seat whose endpoint is down sits out the rest of the run while others can sit (issue 14:
a hung seat cost a timeout every round; issue 16: a dead high-prior agent came back every
other round)."""

from __future__ import annotations

import time

import pytest
from panels import panel

from nsed_graph import Agent, NSEDConfig, create_nsed_graph
from nsed_graph.testing import ScriptedCall, ScriptedChatModel, constant_judge

TASK = "What is 6 x 7? Answer with a number."


def hangs(call: ScriptedCall) -> str:
    time.sleep(1.0)
    return "ANSWER: 42"


def table(dead_prior: float = 0.5) -> list[Agent]:
    answers = {"a": "42", "b": "41", "c": "40"}  # never unanimous: every round is played
    healthy, _ = panel(answers, dict.fromkeys(answers, constant_judge({})))
    dead = Agent(id="dead", model=ScriptedChatModel(respond=hangs), prior=dead_prior)
    return [dead, *healthy]


def seated(out: dict) -> list[list[str]]:
    return [sorted(seat["agent"] for seat in record["seats"]) for record in out["rounds"]]


@pytest.mark.parametrize("table_size", [None, 3])
def test_a_seat_that_timed_out_is_not_seated_again(table_size: int | None) -> None:
    config = NSEDConfig(
        max_rounds=3,
        min_rounds=3,
        answer_format="number",
        timeout_s=0.3,
        table_size=table_size,
    )
    out = create_nsed_graph(table(dead_prior=0.9), config).invoke({"task": TASK})
    rounds = seated(out)
    assert "dead" in rounds[0]  # its prior seats it first
    assert all("dead" not in seats for seats in rounds[1:])
    assert len([c for c in out["calls"] if c["agent"] == "dead"]) == 1  # one timeout, once
    assert "every call failed in round 1" in out["receipts"][1]["agents"]["dead"]["reason"]
    assert out["receipts"][2]["agents"]["dead"]["reason"] == "benched earlier in this run"


def test_a_dead_seat_is_kept_where_the_table_needs_it() -> None:
    healthy, _ = panel({"a": "42"}, {"a": constant_judge({})})
    dead = Agent(id="dead", model=ScriptedChatModel(respond=hangs))
    config = NSEDConfig(max_rounds=2, min_rounds=2, answer_format="number", timeout_s=0.3)
    out = create_nsed_graph([dead, *healthy], config).invoke({"task": TASK})
    # a table of two cannot lose a seat: round 1 halts with one proposal, which answers
    assert out["answer"] == "42"
    assert out["stop_reason"] == "degraded"
