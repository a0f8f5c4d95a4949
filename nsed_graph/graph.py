"""The wiring: NSED as a cyclic LangGraph.

::

    START -> broker -(Send per proposer)-> propose -> gather -(Send per reviewer)-> review
          -> vote -> forget_gate -(compressor seated: Send)-> compress -> stop
                                 -(otherwise)----------------------------> stop
          stop -(go on)-> broker
               -(done)--> END

          (vote -(no vote could be taken)-> stop)

Each node is one step of the protocol, one file of ``steps/`` (docs/protocol.md). ``gather`` is
the barrier between the two fan-outs: it runs once after every proposal is in. A round that
cannot go on (fewer than two usable proposals, or no vote) is routed to ``stop`` by the edge
after the step that found it. The loop ends by its own stopping rule; the compiled graph's
recursion limit is set above what ``max_rounds`` can need.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from nsed_graph.agents import Agent, index_agents, sample_seats
from nsed_graph.config import NSEDConfig
from nsed_graph.state import NSEDInput, NSEDOutput, NSEDState
from nsed_graph.steps.gate import compress_node, make_forget_gate, send_compressor
from nsed_graph.steps.propose import propose_node, send_proposals
from nsed_graph.steps.review import gather, review_node, send_reviews
from nsed_graph.steps.seat import Table
from nsed_graph.steps.start import Binder, broker_binding, make_start
from nsed_graph.steps.stop import make_stop, route_after_stop
from nsed_graph.steps.vote import make_vote, route_after_vote

SUPERSTEPS_PER_ROUND = 8
"""broker, propose, gather, review, vote, forget_gate, compress, stop."""


def build_nsed_graph(
    agents: Iterable[Agent],
    config: NSEDConfig | None = None,
    *,
    binder: Binder | None = None,
) -> StateGraph[NSEDState, Any, NSEDInput, NSEDOutput]:
    """Build the uncompiled NSED graph, for users who choose their own checkpointer and store.

    Args:
        agents: at least two ``Agent``s with unique ids. Model objects stay in the nodes'
            closures; the state only carries ids.
        config: the protocol's knobs (``NSEDConfig()`` by default).
        binder: who sits in which seat each round: ``(agents, config, state) -> {"seats",
            "receipt"}``. Defaults to the broker (``broker_binding``): everyone as
            proposer+reviewer unless a table size, roles, budget or diversity rule is set, in
            which case the CP-SAT knapsack chooses, and rebinds between rounds from telemetry.

    Compile with ``recursion_limit_for(config)`` in mind, or use ``create_nsed_graph``.
    """
    config = config or NSEDConfig()
    if not isinstance(config, NSEDConfig):
        raise TypeError(f"config: expected NSEDConfig, got {type(config).__name__}")
    seats = sample_seats(
        list(index_agents(agents).values()), temperature=config.temperature, cap=config.max_samples
    )
    table = Table.of({agent.id: agent for agent in seats}, config)
    graph = StateGraph(NSEDState, input_schema=NSEDInput, output_schema=NSEDOutput)
    graph.add_node("broker", make_start(table, binder or broker_binding))
    graph.add_node("propose", propose_node(table))
    graph.add_node("gather", gather)
    graph.add_node("review", review_node(table))
    graph.add_node("vote", make_vote(table))
    graph.add_node("forget_gate", make_forget_gate(table))
    graph.add_node("compress", compress_node(table))
    graph.add_node("stop", make_stop(table))
    graph.add_edge(START, "broker")
    graph.add_conditional_edges("broker", partial(send_proposals, table), ["propose"])
    graph.add_edge("propose", "gather")
    graph.add_conditional_edges("gather", partial(send_reviews, table), ["review", "vote", "stop"])
    graph.add_edge("review", "vote")
    graph.add_conditional_edges("vote", route_after_vote, ["forget_gate", "stop"])
    graph.add_conditional_edges("forget_gate", send_compressor, ["compress", "stop"])
    graph.add_edge("compress", "stop")
    graph.add_conditional_edges("stop", route_after_stop, {"broker": "broker", "end": END})
    return graph


def recursion_limit_for(config: NSEDConfig) -> int:
    """Supersteps a run of ``config.max_rounds`` rounds can take, with room to spare."""
    return SUPERSTEPS_PER_ROUND * config.max_rounds + 10


def create_nsed_graph(
    agents: Iterable[Agent],
    config: NSEDConfig | None = None,
    *,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    store: BaseStore | None = None,
    name: str = "nsed",
    binder: Binder | None = None,
) -> CompiledStateGraph[NSEDState, Any, NSEDInput, NSEDOutput]:
    """Build and compile the NSED graph, ready for ``invoke``/``ainvoke``/``stream``/``astream``.

    The returned graph carries a recursion limit large enough for ``config.max_rounds``, so the
    loop is always ended by the protocol's stopping rule, and a ``max_concurrency`` that lets
    every seat of a phase run at once under ``invoke`` (``fan_out_width``).
    """
    config = config or NSEDConfig()
    agents = list(agents)  # read once: it may be a generator
    compiled = build_nsed_graph(agents, config, binder=binder).compile(
        checkpointer=checkpointer, store=store, name=name
    )
    return compiled.with_config(
        recursion_limit=recursion_limit_for(config), max_concurrency=fan_out_width(agents, config)
    )


def fan_out_width(agents: Iterable[Agent], config: NSEDConfig) -> int:
    """Seat nodes that may run at once: every seat of the widest table, and one to spare.

    Under ``invoke``/``stream`` LangGraph runs a superstep's nodes on a thread pool of
    ``max_concurrency`` workers, by default min(32, cores + 4): 6 on two cores, so the 7th and
    8th seat of a phase waited for a whole call (issue 14: 2.09x the critical path at N = 8).
    A caller's own ``max_concurrency`` still overrides this one."""
    seats = sample_seats(list(agents), temperature=config.temperature, cap=config.max_samples)
    return len(seats) + 1
