"""The graph's nodes and edges, the cycle included."""

from panels import panel

from nsed_graph import NSEDConfig, create_nsed_graph, recursion_limit_for
from nsed_graph.testing import constant_judge


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
