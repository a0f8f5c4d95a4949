"""nsed-graph: N-Way Self-Evaluating Deliberation (arXiv 2601.16863) as a LangGraph subgraph."""

from nsed_graph.agents import Agent
from nsed_graph.config import Budget, FatigueParams, NSEDConfig, RoleSpec
from nsed_graph.graph import build_nsed_graph, create_nsed_graph, recursion_limit_for
from nsed_graph.state import NSEDInput, NSEDOutput, NSEDState

__all__ = [
    "Agent",
    "Budget",
    "FatigueParams",
    "NSEDConfig",
    "NSEDInput",
    "NSEDOutput",
    "NSEDState",
    "RoleSpec",
    "build_nsed_graph",
    "create_nsed_graph",
    "recursion_limit_for",
]
