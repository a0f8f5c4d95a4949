"""The shipped examples and the LangGraph Server entry stay runnable."""

from __future__ import annotations

import importlib.util
import json
import runpy
import sys
from pathlib import Path

import pytest

from nsed_graph.ensemble import load_ensemble_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("ensemble-*.yaml")))
def test_every_example_ensemble_loads(path: Path) -> None:
    assert load_ensemble_file(path).agents


def test_memory_budget_example_picks_a_heterogeneous_table(capsys) -> None:
    runpy.run_path(str(ROOT / "examples" / "memory_budget.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "status: optimal" in out
    assert "memory: 64 of 64 GB" in out
    seated = [line.split()[0] for line in out.splitlines() if "seated as" in line]
    assert seated == ["gpt-oss-20b", "qwen3-8b", "phi-4-14b"]


def test_langgraph_json_points_at_a_compiled_graph(monkeypatch) -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    module_path, name = config["graphs"]["nsed"].split(":")
    monkeypatch.setenv("NSED_ENSEMBLE", str(ROOT / "examples" / "ensemble-served.yaml"))
    spec = importlib.util.spec_from_file_location("served_graph", ROOT / module_path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["served_graph"] = module
    spec.loader.exec_module(module)
    graph = getattr(module, name)
    assert graph.name == "nsed"
    assert "broker" in graph.get_graph().nodes


def test_quickstart_notebook_runs(capsys) -> None:
    """Every cell that needs no model server runs as written, in order."""
    notebook = json.loads((ROOT / "notebooks" / "quickstart.ipynb").read_text())
    namespace: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code" or "needs-servers" in cell["metadata"].get("tags", []):
            continue
        exec(compile("".join(cell["source"]), "quickstart.ipynb", "exec"), namespace)
    out = capsys.readouterr().out
    assert "majority over answers: 41" in out
    assert "NSED: 42" in out
    assert "'event': 'stop'" in out
