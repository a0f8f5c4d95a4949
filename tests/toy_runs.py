"""A recorded ``nsed bench`` run in miniature, for the tests of the tools that read runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from panels import panel, reviewed

from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.runner import ROWS_FILE, BenchSettings, run_benchmark

ANSWERS = {"a": "42", "b": "41", "c": "41"}
"""a alone is right (6 x 7 = 42); b and c agree on a wrong answer."""


def toy_run(out: Path, judges: Mapping[str, Callable[[str], float]], n: int) -> list[BenchItem]:
    """A one-round NSED run over ``n`` copies of 6 x 7 by the ``ANSWERS`` panel, each agent
    reviewing with its judge; the run's directory is ``out``."""
    agents, _ = panel(dict(ANSWERS), dict(judges))
    items = [BenchItem(f"q{i}", "toy", f"What is 6 x 7? (#{i})", "42", "number") for i in range(n)]
    settings = BenchSettings(nsed=reviewed(max_rounds=1, min_rounds=1))
    run_benchmark(agents, items, ["nsed"], out, settings=settings)
    return items


def journal(out: Path) -> list[dict[str, Any]]:
    """The rows the run wrote, in order."""
    return [json.loads(line) for line in (out / ROWS_FILE).read_text().splitlines()]


def user_file(path: Path, items: list[BenchItem]) -> Path:
    """The items as a user's JSONL file in the generic format, as ``--dataset PATH`` reads it."""
    fields = [
        {"id": i.id, "question": i.question, "answer": i.answer, "format": "number"} for i in items
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in fields))
    return path
