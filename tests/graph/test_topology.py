"""The graph's nodes and edges, the cycle included, and how wide its fan-outs run."""

import threading
import time

import pytest
from panels import panel

from nsed_graph import Agent, NSEDConfig, create_nsed_graph, recursion_limit_for
from nsed_graph.testing import WORKED, ScriptedCall, ScriptedChatModel, constant_judge


def test_nodes_edges_and_cycle() -> None:
    agents, _ = panel({"a": "1", "b": "2"}, dict.fromkeys("ab", constant_judge({})))
    graph = create_nsed_graph(agents)
    drawn = graph.get_graph()
    assert set(drawn.nodes) == {
        "__start__",
        "broker",
        "propose",
        "gather",
        "review",
        "vote",
        "forget_gate",
        "compress",
        "stop",
        "__end__",
    }
    edges = {(e.source, e.target, e.conditional) for e in drawn.edges}
    assert edges == {
        ("__start__", "broker", False),
        ("broker", "propose", True),
        ("propose", "gather", False),
        ("gather", "review", True),
        ("gather", "stop", True),
        ("gather", "vote", True),
        ("review", "vote", False),
        ("vote", "forget_gate", True),
        ("vote", "stop", True),
        ("forget_gate", "compress", True),
        ("forget_gate", "stop", True),
        ("compress", "stop", False),
        ("stop", "broker", True),
        ("stop", "__end__", True),
    }
    assert graph.name == "nsed"


def test_recursion_limit_leaves_the_loop_to_its_own_rule() -> None:
    agents, _ = panel({"a": "1", "b": "2"}, dict.fromkeys("ab", constant_judge({"1": 5, "2": 5})))
    config = NSEDConfig(max_rounds=12, min_rounds=12)
    graph = create_nsed_graph(agents, config)
    assert graph.config["recursion_limit"] == recursion_limit_for(config)
    out = graph.invoke({"task": "pick"})
    assert len(out["rounds"]) == 12
    assert out["stop_reason"] == "max_rounds"


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_every_seat_of_a_phase_runs_at_once_under_the_sync_api(mode: str) -> None:
    """LangGraph's sync pool defaults to min(32, cores + 4) workers: 6 on two cores, so seats 7
    and up waited for a whole call (issue 14). Twelve seats must be in flight together."""
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def slow(call: ScriptedCall) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.5)
        with lock:
            state["now"] -= 1
        return f"{WORKED}\nANSWER: {len(call.prompt) % 3}"

    agents = [Agent(id=f"seat-{i:02d}", model=ScriptedChatModel(respond=slow)) for i in range(12)]
    graph = create_nsed_graph(agents, NSEDConfig(max_rounds=1, min_rounds=1))
    if mode == "invoke":
        graph.invoke({"task": "Pick 0, 1 or 2."})
    else:
        list(graph.stream({"task": "Pick 0, 1 or 2."}))
    assert state["peak"] == 12
