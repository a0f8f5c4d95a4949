"""benchmarks/revote.py: round 1 of recorded NSED runs re-tallied under other vote rules."""

from __future__ import annotations

import json
from pathlib import Path

from panels import panel
from scripts import load_script

from nsed_graph import NSEDConfig
from nsed_graph.bench.datasets import BenchItem
from nsed_graph.bench.runner import ROWS_FILE, BenchSettings, run_benchmark
from nsed_graph.testing import constant_judge


def test_a_lone_right_answer_is_found_by_the_weights_and_missed_by_plurality(
    tmp_path: Path,
) -> None:
    # a alone is right; b and c agree on a wrong answer; every reviewer can tell right from wrong.
    agents, _ = panel(
        {"a": "42", "b": "41", "c": "41"},
        dict.fromkeys("abc", constant_judge({"42": 100}, default=-100)),
    )
    items = [BenchItem(f"q{i}", "toy", f"What is 6 x 7? (#{i})", "42", "number") for i in range(2)]
    settings = BenchSettings(nsed=NSEDConfig(max_rounds=1, min_rounds=1))
    run_benchmark(agents, items, ["nsed"], tmp_path, settings=settings)
    rows = [json.loads(line) for line in (tmp_path / ROWS_FILE).read_text().splitlines()]

    outcomes = load_script("revote").revote(rows, {item.id: item for item in items})

    assert outcomes["any proposal right (ceiling)"] == [True, True]
    assert outcomes["a alone"] == [True, True]
    assert outcomes["b alone"] == [False, False]
    assert outcomes["plurality (a tie counts as wrong)"] == [False, False]
    assert outcomes["vote quadratic, calibration none"] == [True, True]
    assert outcomes["vote linear, calibration center, pooled"] == [True, True]
    assert len(outcomes) == 1 + 3 + 1 + 3 * 3 * 2
