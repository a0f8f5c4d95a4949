"""nsed-graph: N-Way Self-Evaluating Deliberation (arXiv 2601.16863) as a LangGraph subgraph.

The public surface: the names below, and the modules ``nsed_graph.records`` (the plain records a
run keeps), ``nsed_graph.calls`` (the model-call runner: deadlines, retries, accounting),
``nsed_graph.accounting`` (usage totals), ``nsed_graph.config`` (every option),
``nsed_graph.schemas`` (the structured-output schemas, and the string cap they use),
``nsed_graph.files`` (atomic file writes), ``nsed_graph.protocol`` (the pure core) and
``nsed_graph.testing`` (scripted chat models). Everything else is internal: the benchmark
harness (``nsed_graph.bench``) is held to this surface by an import contract (``make lint``).
"""

from nsed_graph.agents import Agent
from nsed_graph.config import Budget, FatigueParams, NSEDConfig, RoleSpec
from nsed_graph.graph import (
    build_nsed_graph,
    create_nsed_graph,
    fan_out_width,
    recursion_limit_for,
)
from nsed_graph.prompts import propose_messages
from nsed_graph.state import NSEDInput, NSEDOutput, NSEDState
from nsed_graph.steps.propose import apropose_once, propose_once

__all__ = [
    "Agent",
    "Budget",
    "FatigueParams",
    "NSEDConfig",
    "NSEDInput",
    "NSEDOutput",
    "NSEDState",
    "RoleSpec",
    "apropose_once",
    "build_nsed_graph",
    "create_nsed_graph",
    "fan_out_width",
    "propose_messages",
    "propose_once",
    "recursion_limit_for",
]
