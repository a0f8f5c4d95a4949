"""NSED as a ready graph for ``langgraph dev`` and LangGraph Server (see ``langgraph.json``).

The ensemble comes from the file named by ``NSED_ENSEMBLE`` (YAML or TOML, see ``examples/``);
by default ``examples/ensemble-served.yaml``, the embedded local models as started by
``nsed models serve --port-base 8081``. ``NSED_MAX_ROUNDS`` caps the rounds. Input is
``{"task": ...}`` or chat ``{"messages": [...]}``; the custom stream carries progress events.
"""

from __future__ import annotations

import os
from pathlib import Path

from nsed_graph import NSEDConfig, create_nsed_graph
from nsed_graph.ensemble import load_ensemble_file

ROOT = Path(__file__).resolve().parent.parent
ENSEMBLE = Path(os.environ.get("NSED_ENSEMBLE", ROOT / "examples" / "ensemble-served.yaml"))

graph = create_nsed_graph(
    load_ensemble_file(ENSEMBLE).build_agents(),
    NSEDConfig(max_rounds=int(os.environ.get("NSED_MAX_ROUNDS", "3")), timeout_s=300),
    name="nsed",
)
